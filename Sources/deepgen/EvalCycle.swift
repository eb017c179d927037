import Datasets
import Foundation
import GenerativeModels
import Metrics
import TensorEngine

extension Eval {
    /// CycleGAN on the held-out images of both domains, each direction on its own: the cycle
    /// (reconstruction) L1 |F(G(a)) - a| and |G(F(b)) - b|, or the FID of G(a) against the B
    /// images (and of F(b) against the A images) with the share of translations the classifier
    /// reads as their source's label. `value` is the mean of the two directions.
    func cycleConsistency(_ config: RunConfig, _ model: CycleGAN) throws {
        guard ["cycle", "fid"].contains(metric) else { throw TrainingError("\(metric) is not a metric of cyclegan (cycle, fid)") }
        let directory = dataDir.map { URL(fileURLWithPath: $0) } ?? MNIST.defaultDirectory
        guard let data = try Catalog.dataset(config.dataset, split: MNIST.Split(rawValue: split)!, dataDirectory: directory,
                                             imageSize: config.imageShape[1], channels: config.imageShape[0], pairing: .unpaired) as? UnpairedDataset
        else { throw TrainingError("\(config.dataset) does not hold two domains") }
        let network: Classifier? = metric == "fid" ? try Catalog.load(RunDirectory(URL(fileURLWithPath: classifier))).1 as? Classifier : nil
        if metric == "fid" && network == nil { throw TrainingError("\(classifier) does not hold a classifier") }
        var values: [Double] = [], extra: [Figure] = [], counts: [Int] = []
        for (name, source, target, reverse) in [("a_to_b", data.a, data.b, false), ("b_to_a", data.b, data.a, true)] {
            let total = min(limit ?? source.count, source.count)
            let progress = Progress(total: total, label: "\(metric) \(name)", unit: "images")
            var generator = RandomGenerator(seed: seed)
            var done = 0
            if let network {
                let evaluator = try FIDEvaluator(classifier: network, test: target)
                var labels: [Int] = []
                let (fid, _, predictions) = try evaluator.evaluate(count: total, batchSize: batchSize, progress: progress) { n in
                    defer { done += n }
                    let batch = source.batch(Array(done..<(done + n)), generator: &generator)
                    labels += batch.labels ?? []
                    return withoutGradients { model.translate(batch.images, reverse: reverse) }
                }
                values.append(fid)
                // The floor: as many real training images of the target domain.
                let real = try Catalog.dataset(config.dataset, split: .train, dataDirectory: directory, imageSize: config.imageShape[1],
                                               channels: config.imageShape[0], pairing: .unpaired) as? UnpairedDataset
                if let real { extra.append(Figure("real_floor_\(name)", try evaluator.floor(count: min(total, reverse ? real.a.count : real.b.count), real: reverse ? real.a : real.b))) }
                if labels.count == predictions.count {
                    let kept = 100 * Double(zip(labels, predictions).filter { $0.0 == $0.1 }.count) / Double(labels.count)
                    extra.append(Figure("label_accuracy_\(name)", kept))
                }
            } else {
                var sum = 0.0
                while done < total {
                    let images = source.batch(Array(done..<min(done + batchSize, total)), generator: &generator).images
                    let cycled = withoutGradients { model.translate(model.translate(images, reverse: reverse), reverse: !reverse) }
                    sum += Double((cycled - images).abs().sum().scalar) / Double(images.count / images.shape[0])
                    done += images.shape[0]
                    progress.update(done, figures: [("cycle", sum / Double(done))])
                }
                values.append(sum / Double(total))
            }
            progress.finish()
            extra.insert(Figure(name, values.last!), at: 0)
            counts.append(total)
        }
        let value = values.reduce(0, +) / 2
        if json {
            printJSON(model: config.model, value: value, unit: metric == "fid" ? "fid" : "per pixel", dataset: config.dataset, split: split,
                      count: counts.reduce(0, +), k: 1, extra: extra)
        } else {
            print("cyclegan \(metric) on \(config.dataset) \(split): A -> B \(String(format: "%.4f", values[0])), B -> A \(String(format: "%.4f", values[1]))"
                  + "; " + extra.filter { !["a_to_b", "b_to_a"].contains($0.name) }.map(\.text).joined(separator: ", "))
        }
    }
}
