import Datasets
import Foundation
import NeuralNetwork
import TensorEngine

/// Everything config.json says about a run: enough to rebuild the model and its data.
public struct RunConfig: Codable, Equatable {
    public var format = 1
    public var model: String
    public var dataset: String
    public var imageShape: [Int]
    public var training: TrainingOptions
    /// The options of the VAE family (vae, iwae).
    public var vae: VAE.Options?
    /// The options of the autoencoder (ae).
    public var autoencoder: Autoencoder.Options?
    /// The options of PCA.
    public var pca: PCAModel.Options?
    /// The options of VaDE.
    public var vade: VaDE.Options?
    /// The options of the adversarial models (gan, dcgan, wgan, wgan-gp).
    public var gan: GAN.Options?
    /// The options of the MNIST classifier behind the FID.
    public var classifier: Classifier.Options?
    /// The options of Pix2Pix.
    public var pix2pix: Pix2Pix.Options?
    /// The options of CycleGAN.
    public var cyclegan: CycleGAN.Options?
    /// The options of StyleGAN.
    public var stylegan: StyleGAN.Options?
    /// The options of the autoregressive models (pixelcnn, gated-pixelcnn, row-lstm, diagonal-bilstm).
    public var pixelcnn: PixelCNNOptions?
    /// The `deepgen train` arguments that created the run, so that `--resume` can tell which of
    /// its options a new command line changes.
    public var arguments: [String]?

    public init(model: String, dataset: String, imageShape: [Int], training: TrainingOptions, vae: VAE.Options? = nil,
                autoencoder: Autoencoder.Options? = nil) {
        self.model = model; self.dataset = dataset; self.imageShape = imageShape; self.training = training
        self.vae = vae; self.autoencoder = autoencoder
    }

    public static func load(from run: RunDirectory) throws -> RunConfig {
        guard FileManager.default.fileExists(atPath: run.config.path) else {
            throw TrainingError("\(run.url.path) is not a run directory (no config.json)")
        }
        do { return try JSONDecoder().decode(RunConfig.self, from: Data(contentsOf: run.config)) } catch {
            throw TrainingError("\(run.config.path) is not a DeepGenerative run configuration: \(error)")
        }
    }

    public func save(to run: RunDirectory) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try writeAtomically(encoder.encode(self), to: run.config)
    }
}

/// The models and data sets the command line knows by name.
public enum Catalog {
    /// Every model of the specification, in its order.
    public static let models = ["pca", "ae", "vae", "iwae", "vade", "gan", "dcgan", "wgan", "wgan-gp", "pix2pix", "cyclegan",
                                "stylegan", "pixelcnn", "gated-pixelcnn", "row-lstm", "diagonal-bilstm", "pixelcnn++",
                                "classifier"]
    /// Those that can be trained in this version.
    public static let trainable = ["pca", "ae", "vae", "iwae", "vade", "gan", "dcgan", "wgan", "wgan-gp", "classifier",
                                   "pixelcnn", "gated-pixelcnn", "row-lstm", "diagonal-bilstm", "pixelcnn++", "pix2pix", "cyclegan", "stylegan"]
    /// The autoregressive models: exact likelihoods, pixel-by-pixel sampling.
    public static let autoregressive = ["pixelcnn", "gated-pixelcnn", "row-lstm", "diagonal-bilstm", "pixelcnn++"]
    /// The data set a model trains on when none is named: binary images for the likelihood
    /// models that are measured on binarized MNIST, intensities for the others.
    public static func defaultDataset(for model: String) -> String {
        if model == "pix2pix" { return "edges2mnist" }
        if model == "cyclegan" { return "thin2thick" }
        if model == "stylegan" { return "mnist32" }
        return ["pca", "ae", "vae", "iwae", "pixelcnn", "gated-pixelcnn", "row-lstm", "diagonal-bilstm"].contains(model) ? "binarized-mnist" : "mnist"
    }
    public static let datasets = ["mnist", "binarized-mnist", "mnist32", "shapes", "edges2mnist", "thin2thick", "shapes2fill"]

    /// What a model learns from besides single images.
    public enum Pairing: Sendable { case none, paired, unpaired }
    public static func pairing(for model: String) -> Pairing {
        model == "pix2pix" ? .paired : model == "cyclegan" ? .unpaired : .none
    }

    public static func checkModel(_ name: String) throws {
        guard models.contains(name) else {
            throw TrainingError("unknown model '\(name)'; models: \(models.joined(separator: " "))")
        }
        guard trainable.contains(name) else {
            throw TrainingError("model '\(name)' is not implemented yet; trainable now: \(trainable.joined(separator: " "))")
        }
    }

    /// The image sizes and widths a model's layers can take, checked before it is built (its
    /// constructors assume them): a clear error instead of a stopped process.
    static func checkShape(_ config: RunConfig) throws {
        guard config.imageShape.count == 3, [1, 3].contains(config.imageShape[0]), config.imageShape[1] >= 1, config.imageShape[2] >= 1 else {
            throw TrainingError("images of shape \(config.imageShape) are not [C, H, W] with 1 or 3 channels")
        }
        let (c, h, w) = (config.imageShape[0], config.imageShape[1], config.imageShape[2])
        func quartered(_ what: String) throws {
            guard h % 4 == 0, w % 4 == 0, h >= 8, w >= 8 else {
                throw TrainingError("\(what) halves its images twice, so their sides must be multiples of 4 of at least 8, not \(h)x\(w) (--image-size)")
            }
        }
        switch config.model {
        case "vae", "iwae": if config.vae?.architecture == .conv { try quartered("the convolutional \(config.model)") }
        case "ae": if config.autoencoder?.architecture == .conv { try quartered("the convolutional autoencoder") }
        case "dcgan", "wgan", "wgan-gp": if (config.gan ?? GAN.Options.preset(config.model)).architecture == .dcgan { try quartered(config.model) }
        case "pixelcnn++", "classifier": try quartered(config.model)
        case "pix2pix", "cyclegan":
            guard min(h, w) >= PatchGAN.minimumSide else {
                throw TrainingError("\(config.model)'s PatchGAN needs images of at least \(PatchGAN.minimumSide)x\(PatchGAN.minimumSide), not \(h)x\(w) (--image-size)")
            }
            if config.model == "cyclegan" { try quartered(config.model) }
        case "pca":
            let components = (config.pca ?? PCAModel.Options()).components
            guard components <= c * h * w else { throw TrainingError("pca keeps at most \(c * h * w) components of \(c)x\(h)x\(w) images, not \(components)") }
        case "pixelcnn":
            let f = (config.pixelcnn ?? PixelCNNOptions()).features
            guard f % (2 * c) == 0 else {
                let below = f / (2 * c) * 2 * c, above = below + 2 * c
                throw TrainingError("pixelcnn splits its \(f) features into \(c) colour groups of whole halves, so --features must be a multiple of \(2 * c): \(below > 0 ? "\(below) or " : "")\(above)")
            }
        default: break
        }
    }

    /// A fresh model for `config`, its weights initialised from the config's seed.
    public static func makeModel(_ config: RunConfig) throws -> TrainableModel {
        try checkModel(config.model)
        try checkShape(config)
        var generator = RandomGenerator(seed: config.training.seed).derived(0x1417)
        switch config.model {
        case "vae", "iwae":
            return VAE(config.vae ?? VAE.Options(), imageShape: config.imageShape, generator: &generator)
        case "pca":
            return PCAModel(config.pca ?? PCAModel.Options(), imageShape: config.imageShape)
        case "vade":
            return VaDE(config.vade ?? VaDE.Options(), imageShape: config.imageShape, generator: &generator)
        case "gan", "dcgan", "wgan", "wgan-gp":
            return GAN(config.gan ?? GAN.Options.preset(config.model), imageShape: config.imageShape, generator: &generator)
        case "pixelcnn", "gated-pixelcnn", "row-lstm", "diagonal-bilstm", "pixelcnn++":
            let options = config.pixelcnn ?? PixelCNNOptions()
            let network: any PixelNetwork
            switch config.model {
            case "pixelcnn": network = PixelCNNNetwork(options, channels: config.imageShape[0], generator: &generator)
            case "gated-pixelcnn": network = GatedPixelCNNNetwork(options, channels: config.imageShape[0], generator: &generator)
            case "pixelcnn++": network = PixelCNNPlusPlusNetwork(options, channels: config.imageShape[0], generator: &generator)
            default:
                guard config.imageShape[0] == 1 else { throw TrainingError("\(config.model) models grey images; the data has \(config.imageShape[0]) channels") }
                network = PixelRNNNetwork(config.model == "row-lstm" ? .row : .diagonalBidirectional, options, generator: &generator)
            }
            return AutoregressiveModel(network: network, likelihood: options.likelihood, imageShape: config.imageShape,
                                       classes: options.classes, components: options.components, learningRate: options.learningRate)
        case "stylegan":
            let size = config.imageShape[1]
            guard size >= 8, size & (size - 1) == 0, config.imageShape[2] == size else {
                throw TrainingError("stylegan draws square images of a power-of-two size of at least 8, not \(config.imageShape[1])x\(config.imageShape[2]) (mnist32 pads the digits to 32)")
            }
            return StyleGAN(config.stylegan ?? StyleGAN.Options(), imageShape: config.imageShape, generator: &generator)
        case "cyclegan":
            guard config.imageShape[1] % 4 == 0 && config.imageShape[2] % 4 == 0 else {
                throw TrainingError("cyclegan halves its images twice; \(config.imageShape[1])x\(config.imageShape[2]) is not divisible by 4")
            }
            return CycleGAN(config.cyclegan ?? CycleGAN.Options(), imageShape: config.imageShape, generator: &generator)
        case "pix2pix":
            guard Pix2Pix.depth(config.pix2pix ?? Pix2Pix.Options(), imageShape: config.imageShape) >= 2 else {
                throw TrainingError("pix2pix halves its images at least twice; \(config.imageShape[1])x\(config.imageShape[2]) is not divisible by 4")
            }
            return Pix2Pix(config.pix2pix ?? Pix2Pix.Options(), imageShape: config.imageShape, generator: &generator)
        case "classifier":
            return Classifier(config.classifier ?? Classifier.Options(), imageShape: config.imageShape, generator: &generator)
        case "ae":
            return Autoencoder(config.autoencoder ?? Autoencoder.Options(), imageShape: config.imageShape, generator: &generator)
        default:
            throw TrainingError("model '\(config.model)' is not implemented yet")
        }
    }

    /// A data set by name or folder path. `binarized-mnist` binarises the training split afresh
    /// at every use and the test split once, with a fixed seed.
    public static func dataset(_ name: String, split: MNIST.Split, dataDirectory: URL = MNIST.defaultDirectory,
                               imageSize: Int? = nil, channels: Int? = nil, pairing: Pairing = .none) throws -> Dataset {
        switch name {
        case "edges2mnist": return EdgesToDigits(try MNISTDataset(split, directory: dataDirectory))
        case "mnist32":   // MNIST padded to 32 x 32 (StyleGAN's resolutions are powers of two)
            return EdgesToDigits(try MNISTDataset(split, directory: dataDirectory)).outputs
        case "shapes2fill":   // 64 px unless --image-size names another size
            return FilledShapes(count: split == .train ? 2000 : 200, size: imageSize ?? 64, seed: split == .train ? 3 : 4)
        case "thin2thick": return UnpairedDataset.thinToThick(try MNISTDataset(split, directory: dataDirectory))
        case "mnist": return try MNISTDataset(split, directory: dataDirectory)
        case "binarized-mnist": return try MNISTDataset(split, directory: dataDirectory, binarization: split == .train ? .dynamic : .fixed)
        case "shapes": return ShapesDataset(count: split == .train ? 6000 : 1000, size: imageSize ?? 28, seed: split == .train ? 1 : 2)
        default:
            guard name.contains("/") || FileManager.default.fileExists(atPath: name) else {
                throw TrainingError("unknown data set '\(name)'; use \(datasets.joined(separator: ", ")) or a folder of PNG or JPEG images")
            }
            let folder = URL(fileURLWithPath: name)
            if pairing == .unpaired {
                let domains = try UnpairedFolders(folder, split: split, size: imageSize, channels: channels)
                return UnpairedDataset(name: folder.lastPathComponent, a: domains.a, b: domains.b)
            }
            let splitFolder = folder.appendingPathComponent(split.rawValue)
            let chosen = FileManager.default.fileExists(atPath: splitFolder.path) ? splitFolder : folder
            return pairing == .paired ? try PairedFolderDataset(chosen, size: imageSize, channels: channels)
                : try ImageFolderDataset(chosen, size: imageSize, channels: channels)
        }
    }

    /// The model of an existing run, with its trained weights.
    public static func load(_ run: RunDirectory) throws -> (RunConfig, TrainableModel) {
        let config = try RunConfig.load(from: run)
        let model = try makeModel(config)
        do { try Checkpoint.load(model.module, from: run.url) } catch {
            throw TrainingError("\(run.url.path) does not hold a \(config.model) checkpoint that fits: \(error)")
        }
        model.module.eval()
        return (config, model)
    }
}
