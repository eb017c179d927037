import Datasets
import Foundation
import GenerativeMetrics
import TensorEngine

extension Evaluation {
    /// The metrics that are means over held-out examples: -ELBO, -log p(x) (nats or bits per
    /// dimension), reconstruction MSE, clustering or classification accuracy. Under mpirun the
    /// ranks share the batches and add their sums; batch b's noise is keyed by its first
    /// example, so the figure does not depend on the number of ranks.
    func sumOverExamples(_ metric: Metric) throws -> Measurement? {
        let data = try data(settings.split)
        let count = min(settings.limit ?? data.count, data.count)
        let likelihood = model as? LikelihoodModel
        let samples = [.nll, .bpd].contains(metric) && likelihood?.likelihoodIsEstimated == true ? settings.k : 1
        let (rank, ranks) = (settings.communicator.rank, settings.communicator.size)
        let progress = rank == 0 ? Progress(total: count, label: metric.rawValue, unit: "images") : nil
        let batchSize = settings.batchSize
        var total = 0.0, done = 0
        var found: [Int] = [], labels: [Int] = []
        let batches = (count + batchSize - 1) / batchSize
        for b in stride(from: rank, to: batches, by: ranks) {
            let indices = Array(b * batchSize..<min((b + 1) * batchSize, count))
            // the data's own noise (binarisation)
            var dataGenerator = RandomGenerator(seed: settings.seed).derived(UInt64(indices[0]))
            var generator = dataGenerator.derived(1) // the model's
            let batch = data.batch(indices, generator: &dataGenerator)
            done += indices.count
            if metric == .accuracy {
                guard let batchLabels = batch.labels else {
                    throw TrainingError("\(config.dataset) has no labels to measure accuracy against")
                }
                found += withoutGradients {
                    (model as? Clustering)?.clusters(batch.images) ?? (model as! Classifying).predictions(batch.images)
                }
                labels += batchLabels
                progress?.update(min(done * ranks, count))
                continue
            }
            let values: Tensor = withoutGradients {
                switch metric {
                case .nll: return likelihood!.negativeLogLikelihood(batch, k: settings.k, generator: &generator)
                case .bpd:
                    // A density of dequantised levels: -log P(k) <= -log p(x) + D log 256.
                    let dimensions = Double(Shape.count(config.imageShape))
                    let binWidths = (data as? DequantizedImages).map { dimensions * Foundation.log(Double($0.levels)) }
                    return
                        (likelihood!.negativeLogLikelihood(batch, k: settings.k, generator: &generator)
                        + Float(binWidths ?? 0)) / Float(dimensions * Foundation.log(2))
                case .elbo: return (model as! EvidenceBound).negativeELBO(batch.images, generator: &generator)
                default:
                    return ((model as! Reconstructing).reconstruct(batch.images) - batch.images).squared().flattened()
                        .mean(alongAxis: 1)
                }
            }
            total += values.scalars.reduce(0) { $0 + Double($1) }
            progress?.update(min(done * ranks, count), figures: [(metric.rawValue, total / Double(done))])
        }
        progress?.finish()
        if ranks > 1 {
            total = settings.communicator.sumOverRanks([total])[0]
            let capacity = ((batches + ranks - 1) / ranks) * batchSize
            found = settings.communicator.gatherIntegers(found, capacity: capacity)
            labels = settings.communicator.gatherIntegers(labels, capacity: capacity)
        }
        guard rank == 0 else { return nil }
        let value =
            metric != .accuracy
            ? total / Double(count)
            : model is Clustering
                ? 100 * clusteringAccuracy(clusters: found, labels: labels)
                : 100 * Double(zip(found, labels).filter { $0.0 == $0.1 }.count) / Double(count)
        let text =
            "\(config.model) \(metric.rawValue) on \(config.dataset) \(settings.split.rawValue) (\(count) images, k "
            + "= \(samples)): "
            + "\(String(format: "%.4f", value)) \(metric.unit)"
        return Measurement(
            model: config.model, metric: metric, value: value, dataset: config.dataset, split: settings.split.rawValue,
            count: count, k: samples, text: text)
    }

    /// FID and class coverage of `count` samples against the classifier's test set; for a
    /// classifier run, of as many training images (the baseline no generator can beat). The
    /// floor beside it: real training images against the same test set, at the same count.
    func frechetDistance() throws -> Measurement {
        let isJudge = model is Classifying
        let (classifierConfig, network) = try classifier(isJudge ? run : settings.classifier)
        let reference = { (split: MNIST.Split) in
            try Catalog.dataset(
                classifierConfig.dataset, split: split, dataDirectory: settings.dataDirectory,
                imageSize: classifierConfig.imageShape[1], channels: classifierConfig.imageShape[0])
        }
        let test = try reference(.test), train = try reference(.train)
        let evaluator = try FIDEvaluator(classifier: network, test: test)
        var generator = RandomGenerator(seed: settings.seed)
        let total = min(settings.count, train.count)
        var done = 0
        let progress = Progress(total: total, label: "fid", unit: "images")
        let style = model as? StyleMixing
        let (fid, coverage, _) = try evaluator.evaluate(count: total, progress: progress) { n in
            defer { done += n }
            if isJudge { return train.batch(Array(done..<(done + n)), generator: &generator).images }
            let samples = withoutGradients {
                if let truncation = settings.truncation, let style {
                    return style.sample(count: n, psi: truncation, generator: &generator)
                }
                return model.sample(count: n, generator: &generator)
            }
            return centreCrop(samples, to: network.imageShape)
        }
        progress.finish()
        let floor = isJudge ? fid : try evaluator.floor(count: total, real: train)
        let shares = coverage.shares.map { String(format: "%.4f", $0) }.joined(separator: ", ")
        let text =
            "\(isJudge ? "training images" : config.model) FID against \(test.name) test: "
            + "\(String(format: "%.3f", fid)) (\(total) images; "
            + "real training images score \(String(format: "%.3f", floor)) at that count; classifier test accuracy "
            + "\(String(format: "%.2f", 100 * evaluator.classifierAccuracy))%)\nclass shares: \(shares); classes "
            + "below 5%: \(coverage.rareClasses)"
        return Measurement(
            model: config.model, metric: .fid, value: fid, dataset: test.name, split: "test", count: total, k: 1,
            extra: [
                Figure("real_floor", floor), Figure("classifier_accuracy", 100 * evaluator.classifierAccuracy),
                Figure("class_shares", list: coverage.shares.map { Double($0) }, digits: 4),
                Figure("rare_classes", list: coverage.rareClasses.map { Double($0) }, digits: 0)
            ],
            text: text)
    }

    /// The share of `count` samples the classifier reads as some class with probability above
    /// 0.9 (`threshold`): whether the model draws anything a reader would name, whatever the
    /// class. The class shares of those read beside it.
    func recognisable(threshold: Float = 0.9) throws -> Measurement {
        let network = try classifier(settings.classifier).network
        let count = settings.count
        let progress = Progress(total: count, label: "recognisable", unit: "images")
        var generator = RandomGenerator(seed: settings.seed)
        var (read, done) = ([Int](repeating: 0, count: network.options.classes), 0)
        while done < count {
            let n = min(settings.batchSize, count - done)
            let samples = withoutGradients { model.sample(count: n, generator: &generator) }
            let probabilities = withoutGradients {
                softmax(network.logits(centreCrop(samples, to: network.imageShape)), axis: 1)
            }
            for (c, k) in Self.confidentReadings(probabilities, threshold: threshold).enumerated() { read[c] += k }
            done += n
            progress.update(done, figures: [("recognisable", 100 * Double(read.reduce(0, +)) / Double(done))])
        }
        progress.finish()
        let value = 100 * Double(read.reduce(0, +)) / Double(count)
        let text =
            "\(config.model): the classifier reads \(String(format: "%.1f", value))% of \(count) samples as some "
            + "class with probability above \(threshold)\nby class: "
            + read.enumerated().map { "\($0.offset): \($0.element)" }.joined(separator: ", ")
        return Measurement(
            model: config.model, metric: .recognisable, value: value, dataset: config.dataset, split: "samples",
            count: count, k: 1, extra: [Figure("by_class", list: read.map(Double.init), digits: 0)], text: text)
    }

    /// Per class, the rows of `probabilities` [N, classes] whose largest probability, that
    /// class's, is above `threshold`.
    static func confidentReadings(_ probabilities: Tensor, threshold: Float) -> [Int] {
        let classes = probabilities.shape[1], p = probabilities.scalars
        var read = [Int](repeating: 0, count: classes)
        for row in 0..<probabilities.shape[0] {
            let values = p[row * classes..<(row + 1) * classes]
            if let best = values.indices.max(by: { values[$0] < values[$1] }), values[best] > threshold {
                read[best - row * classes] += 1
            }
        }
        return read
    }

    /// A class-conditional model's samples, `count` of them drawn for the classes in turn
    /// (`batchSize` at a time): the share the classifier reads as the class each was drawn for,
    /// overall and per class.
    func labelAgreement() throws -> Measurement {
        let model = model as! ConditionalSampling
        let network = try classifier(settings.classifier).network
        let count = settings.count
        let progress = Progress(total: count, label: "labels", unit: "images")
        var generator = RandomGenerator(seed: settings.seed)
        var (kept, done) = ([Int](repeating: 0, count: model.classes), 0)
        while done < count {
            let wanted = (done..<min(done + settings.batchSize, count)).map { $0 % model.classes }
            let samples = withoutGradients { model.sample(labels: wanted, count: wanted.count, generator: &generator) }
            let read = withoutGradients { network.predictions(centreCrop(samples, to: network.imageShape)) }
            for (r, w) in zip(read, wanted) where r == w { kept[w] += 1 }
            done += wanted.count
            progress.update(done, figures: [("agreement", 100 * Double(kept.reduce(0, +)) / Double(done))])
        }
        progress.finish()
        let value = 100 * Double(kept.reduce(0, +)) / Double(count)
        let perClass = (0..<model.classes).map { c in
            100 * Double(kept[c]) / Double(max(1, (0..<count).filter { $0 % model.classes == c }.count))
        }
        let text =
            "\(config.model): the classifier reads \(String(format: "%.2f", value))% of \(count) samples as the "
            + "class they were drawn for\n"
            + "per class: "
            + perClass.enumerated().map { String(format: "%d: %.0f%%", $0.offset, $0.element) }.joined(separator: ", ")
        return Measurement(
            model: config.model, metric: .labels, value: value, dataset: config.dataset, split: "samples", count: count,
            k: 1,
            extra: [Figure("per_class", list: perClass)], text: text)
    }
}
