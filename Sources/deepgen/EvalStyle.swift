import Datasets
import Foundation
import GenerativeModels
import Metrics
import TensorEngine

extension Eval {
    /// StyleGAN's projection on held-out images: the first `--limit` (default 100) images of the
    /// run's data set, `--batch-size` projected together (each on its own, see `project`), with
    /// the pixel and classifier-feature losses of `deepgen project`. Reports the reconstructions'
    /// mean PSNR and the share the classifier reads with the original's label.
    func projection(_ config: RunConfig, _ model: StyleGAN) throws {
        let directory = dataDir.map { URL(fileURLWithPath: $0) } ?? MNIST.defaultDirectory
        let data = try Catalog.dataset(config.dataset, split: MNIST.Split(rawValue: split)!, dataDirectory: directory,
                                       imageSize: config.imageShape[1], channels: config.imageShape[0])
        let network = try loadClassifier(classifier, for: model.imageShape)
        let total = min(limit ?? 100, data.count)
        let progress = Progress(total: total * projectionSteps, label: "projection")
        var generator = RandomGenerator(seed: seed)
        var (psnr, kept, labelled, done) = (0.0, 0, 0, 0)
        while done < total {
            let batch = data.batch(Array(done..<min(done + batchSize, total)), generator: &generator)
            let projection = model.project(batch.images, steps: projectionSteps, features: { network.features(centreCrop($0, to: network.imageShape)) },
                                           generator: &generator) { step, loss in
                progress.update(done * projectionSteps + step * batch.indices.count, figures: [("loss", Double(loss) / Double(batch.indices.count))])
            }
            let size = Shape.count(config.imageShape)
            let (found, wanted) = (projection.image.scalars, batch.images.scalars)
            for i in 0..<batch.indices.count {
                psnr += ImageQuality.psnr(Array(found[i * size..<(i + 1) * size]), Array(wanted[i * size..<(i + 1) * size]))
            }
            let read = withoutGradients { network.predictions(centreCrop(projection.image, to: network.imageShape)) }
            if let labels = batch.labels {
                kept += zip(read, labels).filter { $0.0 == $0.1 }.count
                labelled += labels.count
            }
            done += batch.indices.count
        }
        progress.finish()
        let value = psnr / Double(total)
        let agreement = labelled == 0 ? nil : 100 * Double(kept) / Double(labelled)
        let extra = ["\"steps\": \(projectionSteps)"] + (agreement.map { ["\"label_accuracy\": \(String(format: "%.4f", $0))"] } ?? [])
        if json {
            printJSON(model: config.model, value: value, unit: "dB", dataset: config.dataset, split: split, count: total, k: 1, extra: extra)
        } else {
            print("\(config.model) projection of \(total) \(config.dataset) \(split) images (\(projectionSteps) steps): mean PSNR \(String(format: "%.2f", value)) dB"
                  + (agreement.map { String(format: "; the classifier reads %.2f%% with the original's label", $0) } ?? ""))
        }
    }
}

/// A classifier run for images of `shape` (read in its central crop), or a clear error.
func loadClassifier(_ path: String, for shape: [Int]) throws -> Classifier {
    guard let network = try Catalog.load(RunDirectory(URL(fileURLWithPath: path))).1 as? Classifier else {
        throw TrainingError("\(path) does not hold a classifier (train one: deepgen train classifier)")
    }
    guard shape[0] == network.imageShape[0], shape[1] >= network.imageShape[1], shape[2] >= network.imageShape[2] else {
        throw TrainingError("the classifier takes \(network.imageShape) images, the model draws \(shape)")
    }
    return network
}
