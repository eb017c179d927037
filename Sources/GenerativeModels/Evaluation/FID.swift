import Datasets
import GenerativeMetrics
import TensorEngine

/// The Fréchet distance of generated (or real) images to the test set, in the features of a
/// trained classifier, with the class coverage of the same images. The test statistics and the
/// classifier's own test accuracy are computed once.
public final class FIDEvaluator {
    public let classifier: Classifier
    public let reference: FeatureStatistics
    /// The classifier's accuracy on the reference images, reported beside every FID.
    public let classifierAccuracy: Double

    public init(classifier: Classifier, test: Dataset, batchSize: Int = 500) throws {
        guard classifier.imageShape == test.imageShape else {
            throw TrainingError(
                "the classifier takes \(classifier.imageShape) images, the test set holds \(test.imageShape)")
        }
        self.classifier = classifier
        classifier.eval()
        var generator = RandomGenerator(seed: 0)
        var features: [Tensor] = [], correct = 0
        for start in stride(from: 0, to: test.count, by: batchSize) {
            let batch = test.batch(Array(start..<min(start + batchSize, test.count)), generator: &generator)
            let (f, predictions) = withoutGradients { () -> (Tensor, [Int]) in
                let f = classifier.features(batch.images)
                return (f, classifier.head(f).argmax(alongAxis: 1).scalars.map { Int($0) })
            }
            features.append(f)
            if let labels = batch.labels { correct += zip(predictions, labels).filter { $0.0 == $0.1 }.count }
        }
        reference = FeatureStatistics(features: Tensor.concatenate(features, axis: 0))
        classifierAccuracy = Double(correct) / Double(test.count)
    }

    /// FID and class coverage of `count` images that `images(n)` hands out `batchSize` at a time,
    /// with the class the classifier reads in each (in order).
    public func evaluate(
        count: Int, batchSize: Int = 500, progress: Progress? = nil,
        images: (Int) throws -> Tensor
    ) throws -> (fid: Double, coverage: ClassCoverage, predictions: [Int]) {
        var features: [Tensor] = [], predictions: [Int] = []
        var done = 0
        while done < count {
            let n = min(batchSize, count - done)
            let batch = try images(n)
            let f = withoutGradients { classifier.features(batch) }
            features.append(f)
            predictions += withoutGradients { classifier.head(f).argmax(alongAxis: 1).scalars.map { Int($0) } }
            done += n
            progress?.update(done)
        }
        let statistics = FeatureStatistics(features: Tensor.concatenate(features, axis: 0))
        return (
            try frechetDistance(statistics, reference),
            ClassCoverage(predictions: predictions, classes: classifier.options.classes), predictions
        )
    }

    /// The floor of an FID of `count` images: as many real images from `real` (a split other
    /// than the reference's, the training set) against the same reference. An FID depends on
    /// how many images it is taken over, so every FID is shown beside the floor at its count.
    public func floor(count: Int, real: Dataset, batchSize: Int = 500) throws -> Double {
        guard count <= real.count else {
            throw TrainingError(
                "the floor of \(count) images needs as many real ones; \(real.name) holds \(real.count)")
        }
        var generator = RandomGenerator(seed: 0)
        var done = 0
        return try evaluate(count: count, batchSize: batchSize) { n in
            defer { done += n }
            return centreCrop(
                real.batch(Array(done..<(done + n)), generator: &generator).images, to: classifier.imageShape)
        }.fid
    }
}

/// The central H x W of images [N, C, H', W'] (models of padded digits, read by the classifier
/// in its own 28 x 28).
public func centreCrop(_ images: Tensor, to shape: [Int]) -> Tensor {
    let (h, w) = (shape[1], shape[2])
    let top = (images.shape[2] - h) / 2, left = (images.shape[3] - w) / 2
    return images.sliced(axis: 2, top..<top + h).sliced(axis: 3, left..<left + w)
}
