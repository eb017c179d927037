import ArgumentParser
import Datasets
import Foundation
import GenerativeModels
import TensorEngine

/// `deepgen eval RUN_DIR --metric METRIC`: a trained model measured on held-out data.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Evaluate a trained model; --json prints exactly one JSON object.")

    @Argument(help: "A run directory written by `deepgen train`.") var runDir: String
    @Option(help: "elbo or nll (nats per image; vae, iwae), mse (per pixel; pca, ae).") var metric: String
    @Option(help: "Importance samples for nll.") var k = 5000
    @Option(help: "The split to evaluate.") var split = "test"
    @Option(help: "Evaluate the first N examples only.") var limit: Int?
    @Option(help: "Examples per batch.") var batchSize = 100
    @Option(help: "Seed of the sampling noise.") var seed: UInt64 = 0
    @Option(help: "Where MNIST is (default: $DEEPGEN_DATA, else ./data).") var dataDir: String?
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        guard ["elbo", "nll", "mse"].contains(metric) else { throw ValidationError("unknown metric '\(metric)'; this version measures elbo, nll and mse") }
        guard ["train", "test"].contains(split) else { throw ValidationError("--split is train or test") }
        guard k >= 1, batchSize >= 1, (limit ?? 1) >= 1 else { throw ValidationError("--k, --batch-size and --limit must be positive") }
    }

    func run() throws {
        let run = RunDirectory(URL(fileURLWithPath: runDir))
        let (config, model) = try Catalog.load(run)
        let vae = model as? VAE
        let reconstruct: ((Tensor) -> Tensor)? = (model as? Autoencoder)?.reconstruct ?? (model as? PCAModel)?.reconstruct
        guard metric == "mse" ? reconstruct != nil : vae != nil else {
            throw TrainingError("\(metric) is not a metric of \(config.model) (elbo and nll: vae, iwae; mse: pca, ae)")
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
        while done < count {
            let indices = Array(done..<min(done + batchSize, count))
            // The data's own noise (fixed binarisation) is keyed by example; the model's noise by seed.
            var dataGenerator = RandomGenerator(seed: seed).derived(UInt64(done))
            let images = data.batch(indices, generator: &dataGenerator).images
            let values: Tensor = withoutGradients {
                switch metric {
                case "nll": return importanceSampledNLL(vae!, images.flattened(), k: k, generator: &generator)
                case "elbo": return -vae!.elbo(images.flattened(), generator: &generator).elbo
                default: return (reconstruct!(images) - images).squared().flattened().mean(alongAxis: 1)
                }
            }
            total += values.scalars.reduce(0) { $0 + Double($1) }
            done += indices.count
            progress.update(done, figures: [(metric, total / Double(done))])
        }
        progress.finish()
        let value = total / Double(count)
        let unit = metric == "mse" ? "per pixel" : "nats"
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
