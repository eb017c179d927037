import Datasets
import Foundation
import GenerativeMetrics
import TensorEngine

extension Evaluation {
    /// StyleGAN's projection on held-out images: the first `limit` (default 100) images of the
    /// run's data set, `batchSize` projected together (each on its own), with the pixel and
    /// classifier-feature losses of `deepgen project`. Reports the reconstructions' mean PSNR and
    /// the share a judge (a classifier other than the loss's) reads with the original's label.
    func projection() throws -> Measurement {
        let model = model as! StyleMixing
        let data = try data(settings.split)
        let network = settings.classifier == "none" ? nil : try classifier(settings.classifier).network
        let grader = try judge(besides: network)
        let total = min(settings.limit ?? 100, data.count), steps = settings.projectionSteps
        let progress = Progress(total: total * steps, label: "projection", unit: "steps")
        var generator = RandomGenerator(seed: settings.seed)
        var (psnr, kept, labelled, done) = (0.0, 0, 0, 0)
        let size = Shape.count(config.imageShape)
        while done < total {
            let batch = data.batch(Array(done..<min(done + settings.batchSize, total)), generator: &generator)
            let features = network.map { network in { network.features(centreCrop($0, to: network.imageShape)) } }
            let projection = model.project(
                batch.images, steps: steps, learningRate: 0.1, features: features, generator: &generator
            ) { step, loss in
                progress.update(
                    done * steps + step * batch.indices.count,
                    figures: [("loss", Double(loss) / Double(batch.indices.count))])
            }
            let (found, wanted) = (projection.image.scalars, batch.images.scalars)
            for i in 0..<batch.indices.count {
                psnr += ImageQuality.psnr(
                    Array(found[i * size..<(i + 1) * size]), Array(wanted[i * size..<(i + 1) * size]))
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
        let text =
            "\(config.model) projection of \(total) \(config.dataset) \(settings.split.rawValue) images (\(steps) "
                + "steps): mean PSNR "
            + String(format: "%.2f", value) + " dB"
            + (agreement.map { String(format: "; the judge reads %.2f%% with the original's label", $0) } ?? "")
        return Measurement(
            model: config.model, metric: .projection, value: value, dataset: config.dataset,
            split: settings.split.rawValue,
            count: total, k: 1,
            extra: [Figure("steps", Double(steps), digits: 0)]
                + (agreement.map { [Figure("label_accuracy", $0)] } ?? []),
            text: text)
    }

    /// The judge of projections' labels: a classifier other than the one in the projection's
    /// loss (a projection fitted to a classifier's features is read correctly by that classifier
    /// whatever it looks like). Nil, with a note, when there is none.
    func judge(besides network: Classifier?) throws -> Classifier? {
        guard
            FileManager.default.fileExists(
                atPath: URL(fileURLWithPath: settings.judge).appendingPathComponent("config.json").path)
        else {
            FileHandle.standardError.write(
                Data(
                    ("note: no label accuracy without a judge; train one with: "
                        + "deepgen train classifier --hidden 16,32 --seed 1 --out \(settings.judge)\n").utf8))
            return nil
        }
        let grader = try classifier(settings.judge).network
        if let network, grader.stateDict().map(\.tensor.scalars) == network.stateDict().map(\.tensor.scalars) {
            throw TrainingError(
                "the judge \(settings.judge) is the classifier of the projection's loss; give --judge a classifier "
                    + "trained apart (another seed and --hidden)"
            )
        }
        return grader
    }
}
