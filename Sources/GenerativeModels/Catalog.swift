import Datasets
import Foundation
import NeuralNetwork
import TensorEngine

/// Everything config.json says about a run: enough to rebuild the model and its data.
public struct RunConfig: Codable, Equatable, @unchecked Sendable {
    /// 2 since the registry: the model's options under `options`. Format 1 kept them under a key
    /// of their family (`vae`, `gan`, `pixelcnn`, ...), which `init(from:)` still reads.
    public var format = 2
    public var model: String
    public var dataset: String
    public var imageShape: [Int]
    public var training: TrainingOptions
    /// The model's options, of its registry entry's type.
    public var options: any ModelOptions
    /// The `deepgen train` arguments that created the run (a record for the reader).
    public var arguments: [String]?

    public init(
        model: String, dataset: String? = nil, imageShape: [Int], training: TrainingOptions,
        options: (any ModelOptions)? = nil
    ) throws {
        let entry = try ModelRegistry.entry(model)
        self.model = model; self.imageShape = imageShape; self.training = training
        self.options = options ?? entry.defaults
        self.dataset = dataset ?? self.options.defaultDataset
    }

    /// The options as their own type, or nil if they are another model's.
    public func options<Options: ModelOptions>(as type: Options.Type) -> Options? { options as? Options }

    enum CodingKeys: String, CodingKey { case format, model, dataset, imageShape, training, options, arguments }
    struct LegacyKey: CodingKey {
        var stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decode(String.self, forKey: .model)
        dataset = try c.decode(String.self, forKey: .dataset)
        imageShape = try c.decode([Int].self, forKey: .imageShape)
        training = try c.decode(TrainingOptions.self, forKey: .training)
        arguments = try c.decodeIfPresent([String].self, forKey: .arguments)
        let entry = try ModelRegistry.entry(model)
        if c.contains(.options) {
            options = try entry.decode(c.superDecoder(forKey: .options))
        } else {
            // Format 1: the options under their family's key, or none (the defaults of the time).
            let legacy = try decoder.container(keyedBy: LegacyKey.self)
            let key = LegacyKey(stringValue: entry.legacyKey)
            options = legacy.contains(key) ? try entry.decode(legacy.superDecoder(forKey: key)) : entry.defaults
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(format, forKey: .format)
        try c.encode(model, forKey: .model)
        try c.encode(dataset, forKey: .dataset)
        try c.encode(imageShape, forKey: .imageShape)
        try c.encode(training, forKey: .training)
        try options.encode(to: c.superEncoder(forKey: .options))
        try c.encodeIfPresent(arguments, forKey: .arguments)
    }

    public static func == (a: RunConfig, b: RunConfig) -> Bool {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return (try? encoder.encode(a)) == (try? encoder.encode(b))
    }

    public static func load(from run: RunDirectory) throws -> RunConfig {
        guard FileManager.default.fileExists(atPath: run.config.path) else {
            throw TrainingError("\(run.url.path) is not a run directory (no config.json)")
        }
        do { return try JSONDecoder().decode(RunConfig.self, from: Data(contentsOf: run.config)) } catch let error
            as TrainingError
        {
            throw TrainingError("\(run.config.path): \(error)")
        } catch {
            throw TrainingError("\(run.config.path) is not a DeepGenerative run configuration: \(error)")
        }
    }

    public func save(to run: RunDirectory) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try writeAtomically(encoder.encode(self), to: run.config)
    }
}

/// The data sets the command line knows by name, and the models of run directories.
public enum Catalog {
    public static let datasets =
        [
            "mnist", "binarized-mnist", "dequantized-mnist", "mnist32", "colored-mnist", "shapes", "edges2mnist",
            "thin2thick", "shapes2fill"
        ] + PointMixture.names

    /// A fresh model for `config`, its weights initialised from the config's seed.
    public static func makeModel(_ config: RunConfig) throws -> TrainableModel {
        try check(config)
        var generator = RandomGenerator(seed: config.training.seed).derived(0x1417)
        return try config.options.makeModel(imageShape: config.imageShape, generator: &generator)
    }

    /// Whether `config`'s model takes its images (or points): a clear error if not.
    public static func check(_ config: RunConfig) throws {
        let shape = config.imageShape
        if shape.count == 3, [1, 2].contains(shape[0]), shape[1] == 1, shape[2] == 1 {
            guard config.options.modelsPoints else {
                throw TrainingError(
                    "\(config.model) does not model points; the toy mixtures (\(PointMixture.names.joined(separator: ", "))) "
                        + "are for gan, and wgan or wgan-gp with --architecture mlp")
            }
        } else if !(shape.count == 3 && [1, 3].contains(shape[0]) && shape[1] >= 1 && shape[2] >= 1) {
            throw TrainingError("images of shape \(shape) are not [C, H, W] with 1 or 3 channels")
        }
        try config.options.check(imageShape: config.imageShape)
    }

    /// A data set by name or folder path. `binarized-mnist` binarises the training split afresh
    /// at every use and the test split once, with a fixed seed.
    public static func dataset(
        _ name: String, split: MNIST.Split, dataDirectory: URL = MNIST.defaultDirectory,
        imageSize: Int? = nil, channels: Int? = nil, pairing: Pairing = .none
    ) throws -> Dataset {
        switch name {
        case "edges2mnist": return EdgesToDigits(try MNISTDataset(split, directory: dataDirectory))
        case "mnist32": // MNIST padded to 32 x 32 (StyleGAN's resolutions are powers of two)
            return EdgesToDigits(try MNISTDataset(split, directory: dataDirectory)).outputs
        case "shapes2fill": // 64 px unless --image-size names another size
            return FilledShapes(
                count: split == .train ? 2000 : 200, size: imageSize ?? 64, seed: split == .train ? 3 : 4)
        case "thin2thick": return UnpairedDataset.thinToThick(try MNISTDataset(split, directory: dataDirectory))
        case "mnist": return try MNISTDataset(split, directory: dataDirectory)
        case "colored-mnist":
            return ColoredDigits(try MNISTDataset(split, directory: dataDirectory), seed: split == .train ? 7 : 8)
        case let name where name.hasPrefix("dequantized-") && !name.contains("/"):
            let base = String(name.dropFirst("dequantized-".count))
            guard
                let levels = try dataset(base, split: split, dataDirectory: dataDirectory, imageSize: imageSize)
                    as? ByteImageDataset
            else { throw TrainingError("\(base) is not a data set of 8-bit images to dequantise") }
            return DequantizedImages(levels, fixedNoise: split == .test)
        case "binarized-mnist":
            return try MNISTDataset(split, directory: dataDirectory, binarization: split == .train ? .dynamic : .fixed)
        case "ring8", "grid25", "mixture1d":
            return PointMixture(name, count: split == .train ? 50_000 : 10_000, seed: split == .train ? 5 : 6)!
        case "shapes":
            return ShapesDataset(
                count: split == .train ? 6000 : 1000, size: imageSize ?? 28, seed: split == .train ? 1 : 2)
        default:
            guard name.contains("/") || FileManager.default.fileExists(atPath: name) else {
                throw TrainingError(
                    "unknown data set '\(name)'; use \(datasets.joined(separator: ", ")) or a folder of PNG or JPEG "
                        + "images"
                )
            }
            let folder = URL(fileURLWithPath: name)
            if pairing == .unpaired {
                let domains = try UnpairedFolders(folder, split: split, size: imageSize, channels: channels)
                return UnpairedDataset(name: folder.lastPathComponent, a: domains.a, b: domains.b)
            }
            let splitFolder = folder.appendingPathComponent(split.rawValue)
            let chosen = FileManager.default.fileExists(atPath: splitFolder.path) ? splitFolder : folder
            return pairing == .paired
                ? try PairedFolderDataset(chosen, size: imageSize, channels: channels)
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
