import ArgumentParser
import Datasets
import Foundation
import GenerativeModels
import NeuralNetwork
import TensorEngine

/// `deepgen sample RUN_DIR`: new images from a trained model, as a PNG grid.
struct Sample: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Draw samples from a trained model into a PNG grid.")

    @Argument(help: "A run directory written by `deepgen train`.", completion: .directory) var runDir: String
    @Option(help: "How many samples (default 64; 2500 points of a toy mixture).") var count: Int?
    @Option(help: "Seed of the samples.") var seed: UInt64 = 0
    @Option(help: "The PNG to write (default: RUN_DIR/samples-seedS.png, or manifold.png).") var out: String?
    @Flag(help: "For a 2-D latent space (vae): decode a 20x20 grid of codes over [-2, 2]^2 instead.") var manifold =
        false
    @Option(help: "The class of every sample (class-conditional gated-pixelcnn); without it, one row per class.")
    var label: Int?
    @Option(help: "Where MNIST is, for the held-out pairs of pix2pix (default: $DEEPGEN_DATA, else ./data).")
    var dataDir: String?
    @Option(help: "Truncation psi (stylegan): 1 leaves w alone, 0 gives the average image.") var truncation: Float?
    @Flag(help: "The style-mixing grid (stylegan): sources along the top, destinations down the side.") var mixingGrid =
        false
    @Option(help: "The layers a mixing grid takes from the sources: coarse, middle or fine (stylegan).") var layers =
        StyleLayers.coarse
    @Option(
        help:
            "Another run whose samples (as many, the same seed) are drawn beside these, each grid under its model's name: e.g. an autoencoder's decodings of N(0, I) beside a VAE's."
    )
    var beside: String?
    @Option(
        help:
            "Where an autoencoder's codes come from (ae): fitted (a Gaussian fitted to the training codes) or standard (N(0, I), a VAE's prior, which an autoencoder never learnt to decode)."
    )
    var prior: Autoencoder.Prior?
    @Option(
        help:
            "How an autoregressive model (pixelcnn, gated-pixelcnn, row-lstm, diagonal-bilstm, pixelcnn++) draws: cached (each draw computes only what it changes; the default) or naive (a pass of the network per pixel, the reference). Both draw the same images."
    )
    var sampler: PixelSampler?
    @Flag(
        help:
            "With a gaussian decoder (vae --likelihood gaussian): each sample's mean beside the decoder's standard deviation sigma(z) (or its one per pixel), white at the largest or at 0.5."
    )
    var deviation = false

    func validate() throws {
        guard (1...Self.maximumCount).contains(count ?? 1) else {
            throw ValidationError("--count must be between 1 and \(Self.maximumCount)")
        }
        guard (truncation ?? 0) >= 0, (truncation ?? 0).isFinite else {
            throw ValidationError("--truncation must be a number, 0 or more")
        }
    }
    static let maximumCount = 10_000

    func run() throws {
        let run = RunDirectory(URL(fileURLWithPath: runDir))
        let (config, model) = try Catalog.load(run)
        guard model.drawsSamples else {
            throw TrainingError("\(config.model) draws no samples: it is not a generative model")
        }
        (model as? SequentialSampling)?.showsSamplingProgress = true
        if let sampler {
            guard let sequential = model as? SequentialSampling else {
                throw ValidationError("--sampler is for the autoregressive models; \(runDir) holds \(config.model)")
            }
            sequential.sampler = sampler
        }
        func refuse(_ option: String, unless capable: Bool, _ what: String) throws {
            if !capable { throw TrainingError("\(option) is for \(what); \(runDir) holds \(config.model)") }
        }
        try refuse("--prior", unless: prior == nil || model is PriorSampling, "an autoencoder (ae)")
        try refuse(
            "--manifold", unless: !manifold || (model as? LatentManifold)?.latentDimension == 2,
            "a vae or iwae with a 2-D latent space")
        try refuse(
            "--truncation and --mixing-grid", unless: (truncation == nil && !mixingGrid) || model is StyleMixing,
            "stylegan")
        try refuse(
            "--label", unless: label == nil || ((model as? ConditionalSampling)?.classes ?? 0) > 0,
            "a class-conditional model")
        try refuse(
            "--deviation", unless: !deviation || (model as? GaussianDecoding)?.decodesGaussians == true,
            "a vae with a gaussian decoder (--likelihood gaussian)")
        var generator = RandomGenerator(seed: seed)
        let target = URL(
            fileURLWithPath: out
                ?? run.url.appendingPathComponent(
                    manifold ? "manifold.png" : deviation ? "deviation-seed\(seed).png" : "samples-seed\(seed).png"
                ).path)
        if PointMixture(config.dataset, count: 1, seed: 0) != nil {
            let plot = try SampleGrid.draw(model, config: config, count: count, generator: &generator)
            try PNG.write(plot, to: target)
            return print(target.path)
        }
        let count = self.count ?? 64
        var grid: Image
        if deviation, let decoder = model as? GaussianDecoding {
            let (mean, sigma) = withoutGradients { decoder.decodedGaussians(count: count, generator: &generator) }
            // White at the largest sigma, or at 0.5 (no information about a value in [0, 1]):
            // a code off the training codes can be given a huge one, which would blacken the rest.
            let white = min(sigma.scalars.max() ?? 0.5, 0.5)
            grid = sideBySide([
                ("mean", Image.grid(mean)),
                (
                    "sigma, white " + String(format: "%.3g", white),
                    Image.grid((sigma / max(white, 1e-12)).clamped(min: 0, max: 1))
                )
            ])
        } else if manifold, let latent = model as? LatentManifold {
            grid = Image.grid(withoutGradients { latent.manifold(size: 20) }, columns: 20, border: 0)
        } else if mixingGrid, let style = model as? StyleMixing {
            grid = Image.grid(
                withoutGradients {
                    style.mixingGrid(
                        sources: 5, destinations: 5, layers: style.layers(layers), psi: truncation ?? style.truncation,
                        generator: &generator)
                },
                columns: 6)
        } else if let prior, let autoencoder = model as? PriorSampling {
            grid = Image.grid(
                withoutGradients { autoencoder.sample(count: count, prior: prior, generator: &generator) })
        } else {
            grid = try SampleGrid.draw(
                model, config: config, count: count, psi: truncation, label: label, dataDirectory: dataDirectory,
                generator: &generator)
        }
        if let beside {
            let (otherConfig, other) = try Catalog.load(RunDirectory(URL(fileURLWithPath: beside)))
            guard other.drawsSamples, otherConfig.imageShape == config.imageShape else {
                throw TrainingError(
                    "--beside needs a run that draws \(config.imageShape) images; \(beside) holds "
                        + "\(otherConfig.model) of \(otherConfig.imageShape)"
                )
            }
            var otherGenerator = RandomGenerator(seed: seed)
            let others = Image.grid(withoutGradients { other.sample(count: count, generator: &otherGenerator) })
            guard others.width == grid.width, others.height == grid.height else {
                throw TrainingError(
                    "--beside sets plain samples side by side; this run's grid is \(grid.width)x\(grid.height), "
                        + "\(beside)'s \(others.width)x\(others.height)"
                )
            }
            // A VAE's samples decode its prior, N(0, I), too.
            let prior = { (model: TrainableModel, standard: Bool) in
                standard || model is LatentManifold ? " from n(0, i)" : ""
            }
            grid = sideBySide([
                (config.model + prior(model, self.prior == .standard), grid),
                (otherConfig.model + prior(other, false), others)
            ])
        }
        try PNG.write(grid, to: target)
        print(target.path)
    }

    var dataDirectory: URL { dataDir.map { URL(fileURLWithPath: $0) } ?? MNIST.defaultDirectory }
}

extension StyleLayers: ExpressibleByArgument {}
extension Autoencoder.Prior: ExpressibleByArgument {}

/// Grids of the same size side by side, each under its title.
func sideBySide(_ grids: [(title: String, image: Image)]) -> Image {
    let channels = grids.contains { $0.image.channels >= 3 } ? 3 : 1
    let (width, height) = (grids[0].image.width, grids[0].image.height)
    let stacked = Tensor.stack(grids.map { $0.image.tensor(channels: channels) })
    return GridHeadings(columns: grids.map(\.title)).apply(
        to: Image.grid(stacked, columns: grids.count, border: 6, borderValue: 1),
        cell: (width, height), border: 6)
}

/// `deepgen interpolate RUN_DIR`: decoded points on lines between the codes of test images.
struct Interpolate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Interpolate in latent space: between the codes of pairs of test images (vae, iwae), or of random codes (GANs); for stylegan, the truncation strip (psi from 1 to 0 along each row)."
    )

    @Argument(help: "A run directory written by `deepgen train`.", completion: .directory) var runDir: String
    @Option(help: "Images per line, ends included.") var steps = 10
    @Option(help: "How many pairs (rows).") var pairs = 8
    @Option(help: "Seed of the codes (GANs interpolate between random codes).") var seed: UInt64 = 0
    @Option(help: "Where MNIST is (default: $DEEPGEN_DATA, else ./data).") var dataDir: String?
    @Option(help: "The PNG to write (default: RUN_DIR/interpolation.png).") var out: String?
    @Flag(
        help:
            "An animated PNG instead: frame t shows every pair at step t along its line, there and back (RUN_DIR/interpolation-animated.png by default)."
    )
    var animate = false

    func validate() throws {
        guard (2...1000).contains(steps), (1...1000).contains(pairs) else {
            throw ValidationError("--steps must be between 2 and 1000, --pairs between 1 and 1000")
        }
    }

    func run() throws {
        let run = RunDirectory(URL(fileURLWithPath: runDir))
        let (config, model) = try Catalog.load(run)
        guard let latent = model as? LatentInterpolation else {
            throw TrainingError("\(config.model) has no latent space to interpolate in")
        }
        var generator = RandomGenerator(seed: seed)
        let test = {
            try Catalog.dataset(
                config.dataset, split: .test,
                dataDirectory: dataDir.map { URL(fileURLWithPath: $0) } ?? MNIST.defaultDirectory,
                imageSize: config.imageShape[1], channels: config.imageShape[0])
        }
        let grid = try withoutGradients {
            try latent.interpolationGrid(pairs: pairs, steps: steps, test: test, generator: &generator)
        }
        let name = animate ? "interpolation-animated.png" : "interpolation.png"
        let target = URL(fileURLWithPath: out ?? run.url.appendingPathComponent(name).path)
        guard animate else {
            try PNG.write(Image.grid(grid, columns: steps), to: target)
            return print(target.path)
        }
        // Rows of `steps` images, one per pair: frame t holds image t of every row, and the
        // frames run out along the lines and back.
        let frames = (Array(0..<steps) + Array((1..<steps - 1).reversed())).map { t in
            Image.grid(
                Tensor.stack((0..<pairs).map { grid.sliced(axis: 0, $0 * steps + t..<$0 * steps + t + 1).squeezed(0) }),
                columns: min(pairs, 8))
        }
        try writeAtomically(PNG.encodeAnimation(frames, delay: 0.12), to: target)
        print(target.path)
    }
}

/// `deepgen translate RUN_DIR INPUT`: a translation model applied to the user's own images.
struct Translate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Translate PNG images with a trained pix2pix or cyclegan run: one file, or every PNG of a folder.")

    @Argument(help: "A pix2pix or cyclegan run directory.", completion: .directory) var runDir: String
    @Argument(help: "A PNG image, or a folder of them.") var input: String
    @Option(help: "The output PNG (for one image) or folder (for a folder).") var out: String
    @Option(help: "AtoB or BtoA (cyclegan; pix2pix goes from A to B only).") var direction = Direction.AtoB
    enum Direction: String, ExpressibleByArgument, CaseIterable { case AtoB, BtoA }

    func run() throws {
        let (config, model) = try Catalog.load(RunDirectory(URL(fileURLWithPath: runDir)))
        guard let translator = model as? Translating, direction == .AtoB || translator.pairing == .unpaired else {
            throw TrainingError("\(runDir) holds \(config.model), which does not translate \(direction.rawValue)")
        }
        let translate = { translator.translate($0, reverse: direction == .BtoA) }
        let source = URL(fileURLWithPath: input), target = URL(fileURLWithPath: out)
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: source.path, isDirectory: &isFolder) else {
            throw TrainingError("\(input) does not exist")
        }
        let files =
            isFolder.boolValue
            ? try FileManager.default.contentsOfDirectory(at: source, includingPropertiesForKeys: nil)
                .filter { ImageFile.extensions.contains($0.pathExtension.lowercased()) }.sorted {
                    $0.lastPathComponent < $1.lastPathComponent
                }
            : [source]
        guard !files.isEmpty else { throw TrainingError("\(input) holds no .png or .jpg files") }
        if isFolder.boolValue { try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true) }
        let (c, size) = (config.imageShape[0], config.imageShape[1])
        for file in files {
            let image = try ImageFile.read(file).fitted(to: size).tensor(channels: c).reshaped([1, c, size, size])
            let translated = withoutGradients { translate(image) }.reshaped([c, size, size])
            let destination =
                isFolder.boolValue
                ? target.appendingPathComponent(file.deletingPathExtension().lastPathComponent + ".png") : target
            try PNG.write(Image(tensor: translated), to: destination)
            print(destination.path)
        }
    }
}
