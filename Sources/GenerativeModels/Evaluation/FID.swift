import Datasets
import Metrics
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
            throw TrainingError("the classifier takes \(classifier.imageShape) images, the test set holds \(test.imageShape)")
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
    public func evaluate(count: Int, batchSize: Int = 500, progress: Progress? = nil,
                         images: (Int) throws -> Tensor) throws -> (fid: Double, coverage: ClassCoverage, predictions: [Int]) {
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
        return (try frechetDistance(statistics, reference), ClassCoverage(predictions: predictions, classes: classifier.options.classes), predictions)
    }
}
