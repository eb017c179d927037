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
        // The classifier in the projection's loss, or none (pixels alone).
        let network = classifier == "none" ? nil : try loadClassifier(classifier, for: model.imageShape)
        let grader = try judgeOfProjections(besides: network, for: model.imageShape)
        let total = min(limit ?? 100, data.count)
        let progress = Progress(total: total * projectionSteps, label: "projection", unit: "steps")
        var generator = RandomGenerator(seed: seed)
        var (psnr, kept, labelled, done) = (0.0, 0, 0, 0)
        while done < total {
            let batch = data.batch(Array(done..<min(done + batchSize, total)), generator: &generator)
            let features = network.map { network in { network.features(centreCrop($0, to: network.imageShape)) } }
            let projection = model.project(batch.images, steps: projectionSteps, features: features, generator: &generator) { step, loss in
                progress.update(done * projectionSteps + step * batch.indices.count, figures: [("loss", Double(loss) / Double(batch.indices.count))])
            }
            let size = Shape.count(config.imageShape)
            let (found, wanted) = (projection.image.scalars, batch.images.scalars)
            for i in 0..<batch.indices.count {
                psnr += ImageQuality.psnr(Array(found[i * size..<(i + 1) * size]), Array(wanted[i * size..<(i + 1) * size]))
            }
            if let grader, let labels = batch.labels {
                let read = withoutGradients { grader.predictions(centreCrop(projection.image, to: grader.imageShape)) }
                kept += zip(read, labels).filter { $0.0 == $0.1 }.count
                labelled += labels.count
            }
            done += batch.indices.count
        }
        progress.finish()
        let value = psnr / Double(total)
        let agreement = labelled == 0 ? nil : 100 * Double(kept) / Double(labelled)
        let extra = [Figure("steps", Double(projectionSteps), digits: 0)] + (agreement.map { [Figure("label_accuracy", $0)] } ?? [])
        if json {
            printJSON(model: config.model, value: value, unit: "dB", dataset: config.dataset, split: split, count: total, k: 1, extra: extra)
        } else {
            print("\(config.model) projection of \(total) \(config.dataset) \(split) images (\(projectionSteps) steps): mean PSNR \(String(format: "%.2f", value)) dB"
                  + (agreement.map { String(format: "; the judge reads %.2f%% with the original's label", $0) } ?? ""))
        }
    }
}

extension Eval {
    /// The judge of projections' labels: a classifier other than the one in the projection's
    /// loss (a projection fitted to a classifier's features is read correctly by that classifier
    /// whatever it looks like). Nil, with a note, when there is none.
    func judgeOfProjections(besides network: Classifier?, for shape: [Int]) throws -> Classifier? {
        guard FileManager.default.fileExists(atPath: URL(fileURLWithPath: judge).appendingPathComponent("config.json").path) else {
            FileHandle.standardError.write(Data("note: no label accuracy without a judge; train one with: deepgen train classifier --hidden 16,32 --seed 1 --out \(judge)\n".utf8))
            return nil
        }
        let grader = try loadClassifier(judge, for: shape)
        if let network, grader.stateDict().map(\.tensor.scalars) == network.stateDict().map(\.tensor.scalars) {
            throw TrainingError("the judge \(judge) is the classifier of the projection's loss; give --judge a classifier trained apart (another seed and --hidden)")
        }
        return grader
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
