import Datasets
import Foundation
import GenerativeMetrics
import TensorEngine

extension Evaluation {
    /// Pix2Pix on the held-out pairs: the mean L1, PSNR or SSIM of its outputs against the targets.
    func pairedQuality(_ metric: Metric) throws -> Measurement {
        let model = model as! Translating
        let data = try data(settings.split, pairing: .paired)
        let total = min(settings.limit ?? data.count, data.count)
        let progress = Progress(total: total, label: metric.rawValue, unit: "images")
        var generator = RandomGenerator(seed: settings.seed)
        var (sum, done) = (0.0, 0)
        let (c, h, w) = (config.imageShape[0], config.imageShape[1], config.imageShape[2])
        let size = c * h * w
        while done < total {
            let batch = data.batch(Array(done..<min(done + settings.batchSize, total)), generator: &generator)
            let outputs = withoutGradients { model.translate(batch.images, reverse: false) }.scalars,
                targets = batch.targets!.scalars
            for i in 0..<batch.indices.count {
                let (a, b) = (Array(outputs[i * size..<(i + 1) * size]), Array(targets[i * size..<(i + 1) * size]))
                sum +=
                    metric == .l1
                    ? ImageQuality.l1(a, b)
                    : metric == .psnr
                        ? ImageQuality.psnr(a, b)
                        : ImageQuality.ssim(a, b, channels: c, height: h, width: w)
            }
            done += batch.indices.count
            progress.update(done, figures: [(metric.rawValue, sum / Double(done))])
        }
        progress.finish()
        let value = sum / Double(total)
        return Measurement(
            model: config.model, metric: metric, value: value, dataset: config.dataset, split: settings.split.rawValue,
            count: total,
            k: 1,
            text:
                "\(config.model) \(metric.rawValue) on \(config.dataset) \(settings.split.rawValue) (\(total) pairs): "
                + "\(String(format: "%.4f", value)) \(metric.unit)")
    }

    /// The FID of a translation model's outputs against the classifier's test images (the
    /// reference of every FID), with its floor and the share of outputs the classifier reads as
    /// their source's label; for CycleGAN, each direction against the other domain, and the mean.
    func translationFID() throws -> Measurement {
        let model = model as! Translating
        let (classifierConfig, network) = try classifier(settings.classifier)
        var values: [Double] = [], extra: [Figure] = [], counts: [Int] = []
        let directions: [(name: String, reverse: Bool)] =
            model.pairing == .paired ? [("", false)] : [("_a_to_b", false), ("_b_to_a", true)]
        let (source, reference): ((Bool) throws -> Dataset, (Bool, MNIST.Split) throws -> Dataset)
        if model.pairing == .paired {
            let pairs = try data(settings.split, pairing: .paired)
            source = { _ in pairs }
            reference = { _, split in
                try Catalog.dataset(
                    classifierConfig.dataset, split: split, dataDirectory: settings.dataDirectory,
                    imageSize: classifierConfig.imageShape[1], channels: classifierConfig.imageShape[0])
            }
        } else {
            let domains = try unpaired(settings.split), real = try unpaired(.train)
            source = { $0 ? domains.b : domains.a }
            reference = { reverse, split in
                split == .train ? (reverse ? real.a : real.b) : (reverse ? domains.a : domains.b)
            }
        }
        for (name, reverse) in directions {
            let inputs = try source(reverse)
            let total = min(settings.limit ?? inputs.count, inputs.count)
            let progress = Progress(
                total: total, label: "fid\(name.replacingOccurrences(of: "_", with: " "))", unit: "images")
            var generator = RandomGenerator(seed: settings.seed)
            let evaluator = try FIDEvaluator(classifier: network, test: try reference(reverse, .test))
            var (labels, done) = ([Int](), 0)
            let (fid, _, predictions) = try evaluator.evaluate(
                count: total, batchSize: settings.batchSize, progress: progress
            ) { n in
                defer { done += n }
                let batch = inputs.batch(Array(done..<(done + n)), generator: &generator)
                labels += batch.labels ?? []
                return centreCrop(
                    withoutGradients { model.translate(batch.images, reverse: reverse) }, to: network.imageShape)
            }
            progress.finish()
            values.append(fid)
            if !name.isEmpty { extra.append(Figure(String(name.dropFirst()), fid)) }
            let real = try reference(reverse, .train)
            extra.append(Figure("real_floor\(name)", try evaluator.floor(count: min(total, real.count), real: real)))
            if model.pairing == .paired {
                extra.append(Figure("classifier_accuracy", 100 * evaluator.classifierAccuracy))
            }
            if labels.count == predictions.count && !labels.isEmpty {
                extra.append(
                    Figure(
                        "label_accuracy\(name)",
                        100 * Double(zip(labels, predictions).filter { $0.0 == $0.1 }.count) / Double(labels.count)))
            }
            counts.append(total)
        }
        let value = values.reduce(0, +) / Double(values.count)
        return Measurement(
            model: config.model, metric: .fid, value: value, dataset: config.dataset, split: settings.split.rawValue,
            count: counts.reduce(0, +), k: 1, extra: extra,
            text:
                "\(config.model) fid on \(config.dataset) \(settings.split.rawValue): "
                    + "\(String(format: "%.4f", value)); "
                + extra.map(\.text).joined(separator: ", "))
    }

    /// CycleGAN's two domains, split `split`.
    func unpaired(_ split: MNIST.Split) throws -> UnpairedDataset {
        guard let domains = try data(split, pairing: .unpaired) as? UnpairedDataset else {
            throw TrainingError("\(config.dataset) does not hold two domains")
        }
        return domains
    }

    /// CycleGAN on the held-out images of both domains, each direction on its own: the cycle
    /// (reconstruction) L1 |F(G(a)) - a| and |G(F(b)) - b|; `value` is their mean.
    func cycleConsistency() throws -> Measurement {
        let model = model as! Translating
        let data = try unpaired(settings.split)
        var values: [Double] = [], counts: [Int] = []
        for (source, reverse) in [(data.a, false), (data.b, true)] {
            let total = min(settings.limit ?? source.count, source.count)
            let progress = Progress(total: total, label: "cycle \(reverse ? "b to a" : "a to b")", unit: "images")
            var generator = RandomGenerator(seed: settings.seed)
            var (sum, done) = (0.0, 0)
            while done < total {
                let images = source.batch(Array(done..<min(done + settings.batchSize, total)), generator: &generator)
                    .images
                let cycled = withoutGradients {
                    model.translate(model.translate(images, reverse: reverse), reverse: !reverse)
                }
                sum += Double((cycled - images).abs().sum().scalar) / Double(images.count / images.shape[0])
                done += images.shape[0]
                progress.update(done, figures: [("cycle", sum / Double(done))])
            }
            progress.finish()
            values.append(sum / Double(total))
            counts.append(total)
        }
        let value = values.reduce(0, +) / 2
        return Measurement(
            model: config.model, metric: .cycle, value: value, dataset: config.dataset, split: settings.split.rawValue,
            count: counts.reduce(0, +), k: 1, extra: [Figure("a_to_b", values[0]), Figure("b_to_a", values[1])],
            text:
                "\(config.model) cycle on \(config.dataset) \(settings.split.rawValue): A -> B "
                    + "\(String(format: "%.4f", values[0])), "
                + "B -> A \(String(format: "%.4f", values[1]))")
    }
}
