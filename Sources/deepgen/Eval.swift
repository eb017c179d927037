import ArgumentParser
import Datasets
import Foundation
import GenerativeModels
import Metrics
import TensorEngine

/// `deepgen eval RUN_DIR --metric METRIC`: a trained model measured on held-out data.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Evaluate a trained model; --json prints exactly one JSON object.")

    @Argument(help: "A run directory written by `deepgen train`.") var runDir: String
    @Option(help: "elbo or nll (nats per image; vae, iwae; elbo also vade), mse (per pixel; pca, ae), accuracy (clustering, vade).") var metric: String
    @Option(help: "Importance samples for nll.") var k = 5000
    @Option(help: "The split to evaluate.") var split = "test"
    @Option(help: "Evaluate the first N examples only.") var limit: Int?
    @Option(help: "Examples per batch.") var batchSize = 100
    @Option(help: "Seed of the sampling noise.") var seed: UInt64 = 0
    @Option(help: "Where MNIST is (default: $DEEPGEN_DATA, else ./data).") var dataDir: String?
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        guard ["elbo", "nll", "mse", "accuracy"].contains(metric) else {
            throw ValidationError("unknown metric '\(metric)'; this version measures elbo, nll, mse and accuracy")
        }
        guard ["train", "test"].contains(split) else { throw ValidationError("--split is train or test") }
        guard k >= 1, batchSize >= 1, (limit ?? 1) >= 1 else { throw ValidationError("--k, --batch-size and --limit must be positive") }
    }

    func run() throws {
        let run = RunDirectory(URL(fileURLWithPath: runDir))
        let (config, model) = try Catalog.load(run)
        let vae = model as? VAE, vade = model as? VaDE
        let reconstruct: ((Tensor) -> Tensor)? = (model as? Autoencoder)?.reconstruct ?? (model as? PCAModel)?.reconstruct
        let applies = switch metric {
        case "mse": reconstruct != nil
        case "nll": vae != nil
        case "elbo": vae != nil || vade != nil
        default: vade != nil
        }
        guard applies else {
            throw TrainingError("\(metric) is not a metric of \(config.model) (elbo: vae, iwae, vade; nll: vae, iwae; mse: pca, ae; accuracy: vade)")
        }
        let data = try Catalog.dataset(config.dataset, split: MNIST.Split(rawValue: split)!,
                                       dataDirectory: dataDir.map { URL(fileURLWithPath: $0) } ?? MNIST.defaultDirectory,
                                       imageSize: config.imageShape[1], channels: config.imageShape[0])
        let count = min(limit ?? data.count, data.count)
        let samples = metric == "nll" ? k : 1
        let progress = Progress(total: count, label: metric)
        var total = 0.0
        var generator = RandomGenerator(seed: seed)
        var done = 0
        var clusters: [Int] = [], labels: [Int] = []
        while done < count {
            let indices = Array(done..<min(done + batchSize, count))
            // The data's own noise (fixed binarisation) is keyed by example; the model's noise by seed.
            var dataGenerator = RandomGenerator(seed: seed).derived(UInt64(done))
            let batch = data.batch(indices, generator: &dataGenerator)
            let images = batch.images
            done += indices.count
            if metric == "accuracy" {
                guard let batchLabels = batch.labels else { throw TrainingError("\(config.dataset) has no labels to measure accuracy against") }
                clusters += vade!.clusters(images)
                labels += batchLabels
                progress.update(done, figures: [(metric, 100 * clusteringAccuracy(clusters: clusters, labels: labels))])
                continue
            }
            let values: Tensor = withoutGradients {
                switch metric {
                case "nll": return importanceSampledNLL(vae!, images.flattened(), k: k, generator: &generator)
                case "elbo": return vade.map { -$0.elbo(images.flattened(), generator: &generator).elbo }
                    ?? -vae!.elbo(images.flattened(), generator: &generator).elbo
                default: return (reconstruct!(images) - images).squared().flattened().mean(alongAxis: 1)
                }
            }
            total += values.scalars.reduce(0) { $0 + Double($1) }
            progress.update(done, figures: [(metric, total / Double(done))])
        }
        progress.finish()
        let value = metric == "accuracy" ? 100 * clusteringAccuracy(clusters: clusters, labels: labels) : total / Double(count)
        let unit = metric == "mse" ? "per pixel" : metric == "accuracy" ? "percent" : "nats"
        if json {
            let fields = ["\"model\": \"\(config.model)\"", "\"metric\": \"\(metric)\"", "\"value\": \(String(format: "%.4f", value))",
                          "\"unit\": \"\(unit)\"", "\"dataset\": \"\(config.dataset)\"", "\"split\": \"\(split)\"", "\"count\": \(count)",
                          "\"k\": \(samples)"]
            print("{" + fields.joined(separator: ", ") + "}")
        } else {
            print("\(config.model) \(metric) on \(config.dataset) \(split) (\(count) images, k = \(samples)): \(String(format: "%.4f", value)) \(unit)")
        }
    }
}
