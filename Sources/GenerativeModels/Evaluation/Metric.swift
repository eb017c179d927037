import Datasets
import Foundation
import TensorEngine

/// What `deepgen eval --metric` measures.
public enum Metric: String, CaseIterable, Codable, Sendable {
    /// -ELBO, nats per image.
    case elbo
    /// -log p(x), nats per image: exact, or importance-sampled with k samples.
    case nll
    /// -log p(x) in bits per dimension.
    case bpd
    /// Mean squared reconstruction error per pixel.
    case mse
    /// Clustering accuracy (Hungarian matching) or a classifier's test accuracy, percent.
    case accuracy
    /// Fréchet distance of the classifier's features of samples and of test images.
    case fid
    /// Mean absolute error, PSNR and SSIM of translations against their targets.
    case l1, psnr, ssim
    /// Mean absolute error of A -> B -> A and B -> A -> B.
    case cycle
    /// Mean PSNR of held-out images projected into StyleGAN's W+.
    case projection
    /// Share of a conditional model's samples the classifier reads as the class asked for.
    case labels
    /// Share of samples the classifier reads as some class with probability above 0.9.
    case recognisable
    /// Modes of a toy mixture (ring8, grid25) that a generator's samples cover.
    case modes
    /// Mean |D(x) - D*(x)| of a GAN's discriminator against the optimal one on a 1-D mixture.
    case discriminator

    public var unit: String {
        switch self {
        case .elbo, .nll: "nats"
        case .bpd: "bits per dimension"
        case .mse, .l1, .cycle: "per pixel"
        case .accuracy, .labels, .recognisable: "percent"
        case .fid: "fid"
        case .psnr, .projection: "dB"
        case .ssim: "ssim"
        case .modes: "modes"
        case .discriminator: "probability"
        }
    }

    /// The models that give it, for an error's reader.
    public var models: String {
        switch self {
        case .elbo: "models with an evidence bound (vae, iwae, beta-vae, vade)"
        case .nll, .bpd: "likelihood models (vae, iwae, beta-vae, the autoregressive models)"
        case .mse: "models that reconstruct (pca, ae)"
        case .accuracy: "clustering models and classifiers (vade, classifier)"
        case .fid: "models that sample, and the classifier"
        case .l1, .psnr, .ssim: "models of pairs (pix2pix)"
        case .cycle: "models of two domains (cyclegan)"
        case .projection: "stylegan"
        case .labels: "class-conditional models (gated-pixelcnn --classes N)"
        case .recognisable: "models that sample images"
        case .modes: "generators trained on toy mixtures (gan, wgan, wgan-gp with --architecture mlp on ring8, grid25)"
        case .discriminator: "classic GANs (gan, dcgan) trained on mixture1d"
        }
    }

    /// The metrics `model` can give, by what it can do.
    public static func available(for model: TrainableModel) -> [Metric] {
        allCases.filter { metric in
            switch metric {
            case .elbo: model is EvidenceBound
            case .nll, .bpd: model is LikelihoodModel
            case .mse: model is Reconstructing
            case .accuracy: model is Clustering || model is Classifying
            case .fid: model.drawsSamples || model is Classifying
            case .l1, .psnr, .ssim: (model as? Translating)?.pairing == .paired
            case .cycle: (model as? Translating)?.pairing == .unpaired
            case .projection: model is StyleMixing
            case .labels: ((model as? ConditionalSampling)?.classes ?? 0) > 0
            case .recognisable: model.drawsSamples && !(model is Translating) && !(model is Classifying)
            case .modes: model is ProbabilityDiscriminating
            case .discriminator: (model as? ProbabilityDiscriminating)?.discriminatesByProbability ?? false
            }
        }
    }
}

/// A figure reported beside a metric's value: a number or a list of numbers, by name.
public struct Figure: Sendable {
    public let name: String
    public let values: [Double]
    public let isList: Bool
    public let digits: Int

    public init(_ name: String, _ value: Double, digits: Int = 4) {
        self.name = name; values = [value]; isList = false; self.digits = digits
    }
    public init(_ name: String, list: [Double], digits: Int = 2) {
        self.name = name; values = list; isList = true; self.digits = digits
    }

    /// As words for the text line: "real floor 4.9400".
    public var text: String {
        let numbers = values.map { $0.isFinite ? String(format: "%.\(digits)f", $0) : "nan" }
        return name.replacingOccurrences(of: "_", with: " ") + " "
            + (isList ? "[" + numbers.joined(separator: ", ") + "]" : numbers[0])
    }
}

/// One measurement: `eval --json`'s object (the contract's fields, then the figures beside the
/// value, each encoded by JSONEncoder), and the line `eval` prints without --json.
public struct Measurement {
    public var model: String
    public var metric: Metric
    public var value: Double
    public var dataset: String
    public var split: String
    public var count: Int
    public var k: Int
    public var extra: [Figure] = []
    /// The sentence without --json.
    public var text: String

    /// A number at `digits` decimals; null for NaN or an infinity, which JSON cannot hold.
    static func rounded(_ v: Double, _ digits: Int) -> Double? {
        guard v.isFinite else { return nil }
        let scale = Foundation.pow(10, Double(digits))
        return (v * scale).rounded() / scale
    }

    /// The one-line JSON object, its fields in the contract's order.
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        func text(_ value: some Encodable) -> String {
            (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
        }
        func field(_ key: String, _ value: some Encodable) -> String { text(key) + ": " + text(value) }
        let fields =
            [
                field("model", model), field("metric", metric), field("value", Self.rounded(value, 4)),
                field("unit", metric.unit),
                field("dataset", dataset), field("split", split), field("count", count), field("k", k)
            ]
            + extra.map { f in
                f.isList
                    ? field(f.name, f.values.map { Self.rounded($0, f.digits) })
                    : field(f.name, Self.rounded(f.values[0], f.digits))
            }
        return "{" + fields.joined(separator: ", ") + "}"
    }
}

/// How a measurement is taken: the data, the judges and the sampling.
public struct EvaluationSettings {
    /// The classifier run whose features define the FID.
    public var classifier = "runs/classifier"
    /// A second classifier that grades projections' labels.
    public var judge = "runs/judge"
    /// Images generated for the FID and the label agreement.
    public var count = 10_000
    /// Importance samples of an estimated likelihood.
    public var k = 5000
    public var split = MNIST.Split.test
    /// Only the first N examples.
    public var limit: Int?
    public var batchSize = 100
    public var seed: UInt64 = 0
    /// StyleGAN's truncation psi for the FID (default: the run's).
    public var truncation: Float?
    /// Optimisation steps of each projection.
    public var projectionSteps = 300
    /// Steps of the discriminator alone against the trained generator (`--metric discriminator`).
    public var discriminatorSteps = 5000
    public var dataDirectory = MNIST.defaultDirectory
    /// The ranks that share the sums over examples.
    public var communicator: Communicator = SingleProcess()
    public init() {}
}

/// A run's model measured on held-out data.
public struct Evaluation {
    /// The run directory.
    public let run: String
    public let config: RunConfig
    public let model: TrainableModel
    public let settings: EvaluationSettings

    /// The run at `run`, loaded.
    public init(run: String, settings: EvaluationSettings) throws {
        (config, model) = try Catalog.load(RunDirectory(URL(fileURLWithPath: run)))
        self.run = run; self.settings = settings
    }

    /// The metrics that are sums over examples, which ranks can share.
    public static let sharded: Set<Metric> = [.elbo, .nll, .bpd, .mse, .accuracy]

    /// `metric` of the run's model, or an error that lists the metrics it can give. Under
    /// several ranks, only rank 0's measurement is complete (the others return nil).
    public func measure(_ metric: Metric) throws -> Measurement? {
        let available = Metric.available(for: model)
        guard available.contains(metric) else {
            throw TrainingError(
                "\(metric.rawValue) is not a metric of \(config.model) but of \(metric.models); \(config.model) gives "
                    + available.map(\.rawValue).joined(separator: ", "))
        }
        guard settings.communicator.size == 1 || Self.sharded.contains(metric) else {
            throw TrainingError(
                "\(metric.rawValue) runs on one process "
                    + "(\(Self.sharded.map(\.rawValue).sorted().joined(separator: ", ")) shard across ranks); start "
                    + "it without mpirun"
            )
        }
        if settings.truncation != nil && !(model is StyleMixing) {
            throw TrainingError("--truncation is an option of stylegan, not of \(config.model)")
        }
        switch metric {
        case .fid: return try model is Translating ? translationFID() : frechetDistance()
        case .l1, .psnr, .ssim: return try pairedQuality(metric)
        case .cycle: return try cycleConsistency()
        case .projection: return try projection()
        case .labels: return try labelAgreement()
        case .recognisable: return try recognisable()
        case .modes: return try modeCoverage()
        case .discriminator: return try discriminatorGap()
        case .elbo, .nll, .bpd, .mse, .accuracy: return try sumOverExamples(metric)
        }
    }

    /// The run's data set, split `split`, at the run's image size.
    func data(_ split: MNIST.Split, pairing: Pairing = .none) throws -> Dataset {
        try Catalog.dataset(
            config.dataset, split: split, dataDirectory: settings.dataDirectory, imageSize: config.imageShape[1],
            channels: config.imageShape[0], pairing: pairing)
    }

    /// The classifier run at `path`, for images of the model's shape.
    func classifier(_ path: String) throws -> (config: RunConfig, network: Classifier) {
        try Catalog.classifier(at: path, for: config.imageShape)
    }
}

extension Catalog {
    /// The classifier run at `path`, for images of `shape` (read in its central crop), or a
    /// clear error.
    public static func classifier(at path: String, for shape: [Int]) throws -> (config: RunConfig, network: Classifier)
    {
        let directory = RunDirectory(URL(fileURLWithPath: path))
        guard FileManager.default.fileExists(atPath: directory.config.path) else {
            throw TrainingError(
                "no classifier at \(path): make one with `deepgen train classifier --dataset "
                    + (shape == [1, 32, 32] ? "mnist32" : "mnist")
                    + " --out \(path)`, or name another with --classifier")
        }
        let (config, loaded) = try load(directory)
        guard let network = loaded as? Classifier else {
            throw TrainingError(
                "\(path) holds \(config.model), not a classifier (train one: deepgen train classifier --dataset mnist)")
        }
        guard shape[0] == network.imageShape[0], shape[1] >= network.imageShape[1], shape[2] >= network.imageShape[2]
        else {
            throw TrainingError("the classifier takes \(network.imageShape) images, the model draws \(shape)")
        }
        return (config, network)
    }
}
