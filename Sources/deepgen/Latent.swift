import ArgumentParser
import Datasets
import Foundation
import GenerativeModels
import TensorEngine

/// `deepgen latent RUN_DIR`: the codes of held-out images, plotted and compared.
struct Latent: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Plot the codes of test images coloured by label (pca, ae, vae, iwae, vade); with --angles-to, compare a linear autoencoder's subspace with PCA's."
    )

    @Argument(help: "A run directory written by `deepgen train`.", completion: .directory) var runDir: String
    @Option(help: "The PNG to write (default: RUN_DIR/latent.png).") var out: String?
    @Option(help: "The split whose images are encoded.") var split = MNIST.Split.test
    @Option(help: "Encode the first N images only.") var limit = 5000
    @Option(
        help:
            "A pca run directory: print the principal angles between its components and this linear autoencoder's subspace."
    )
    var anglesTo: String?
    @Option(help: "Where MNIST is (default: $DEEPGEN_DATA, else ./data).") var dataDir: String?

    func validate() throws {
        guard limit >= 1 else { throw ValidationError("--limit must be positive") }
    }

    func run() throws {
        let run = RunDirectory(URL(fileURLWithPath: runDir))
        let (config, model) = try Catalog.load(run)
        if let anglesTo { return try printAngles(config, model, pcaRun: anglesTo) }
        guard let encoding = model as? Encoding else { throw TrainingError("\(config.model) has no codes to plot") }
        let data = try Catalog.dataset(
            config.dataset, split: split,
            dataDirectory: dataDir.map { URL(fileURLWithPath: $0) } ?? MNIST.defaultDirectory,
            imageSize: config.imageShape[1], channels: config.imageShape[0])
        let count = min(limit, data.count)
        var generator = RandomGenerator(seed: 0)
        var codes: [Tensor] = [], labels: [Int] = []
        for start in stride(from: 0, to: count, by: 500) {
            let batch = data.batch(Array(start..<min(start + 500, count)), generator: &generator)
            codes.append(withoutGradients { encoding.codes(batch.images) })
            labels += batch.labels ?? Array(repeating: 0, count: batch.indices.count)
        }
        var points = Tensor.concatenate(codes, axis: 0)
        var axes = "the two latent coordinates"
        if points.shape[1] > 2 {
            // More than two dimensions: the plane of the codes' two largest principal directions.
            points = try PCA(fitting: points, components: 2).encode(points)
            axes = "the first two principal components of the \(codes[0].shape[1])-D codes"
        } else if points.shape[1] == 1 {
            points = Tensor.concatenate([points, Tensor.zeros([count, 1])], axis: 1)
            axes = "the one latent coordinate"
        }
        let xy = points.scalars
        let image = ScatterPlot.render(
            x: stride(from: 0, to: xy.count, by: 2).map { xy[$0] },
            y: stride(from: 1, to: xy.count, by: 2).map { xy[$0] }, labels: labels)
        let target = URL(fileURLWithPath: out ?? run.url.appendingPathComponent("latent.png").path)
        try PNG.write(image, to: target)
        print("\(target.path): \(count) \(split.rawValue) codes on \(axes), coloured by label")
    }

    func printAngles(_ config: RunConfig, _ model: TrainableModel, pcaRun: String) throws {
        guard let subspace = withoutGradients({ (model as? Reconstructing & LinearSubspace)?.subspace }),
            !(model is ClosedFormFitting)
        else {
            throw TrainingError(
                "--angles-to needs a linear autoencoder (deepgen train ae --linear); \(runDir) holds \(config.model)")
        }
        let (pcaConfig, pcaModel) = try Catalog.load(RunDirectory(URL(fileURLWithPath: pcaRun)))
        guard pcaModel is ClosedFormFitting, let components = (pcaModel as? LinearSubspace)?.subspace else {
            throw TrainingError("\(pcaRun) holds \(pcaConfig.model), not pca")
        }
        guard components.shape == subspace.shape else {
            throw TrainingError(
                "the autoencoder spans \(subspace.shape[0]) dimensions of \(subspace.shape[1]), PCA keeps "
                    + "\(components.shape[0]) of \(components.shape[1])"
            )
        }
        let degrees = try principalAngles(subspace, components).map { Double($0) * 180 / Double.pi }
        print("principal angles (degrees): " + degrees.map { String(format: "%.2f", $0) }.joined(separator: " "))
        print(String(format: "largest: %.2f degrees", degrees.max() ?? 0))
    }
}
