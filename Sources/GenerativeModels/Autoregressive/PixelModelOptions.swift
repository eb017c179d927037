import ArgumentParser
import Datasets
import TensorEngine

/// One network of the autoregressive family, as a type: the registry's options of each model
/// are `PixelModelOptions<ItsArchitecture>`, so five models share one set of fields and each
/// still builds its own network.
public protocol PixelArchitecture: Sendable {
    /// The options of a new model.
    static var defaults: PixelCNNOptions { get }
    static func network(
        _ options: PixelCNNOptions, imageShape: [Int], generator: inout RandomGenerator
    ) throws -> any PixelNetwork
    static func check(_ options: PixelCNNOptions, imageShape: [Int]) throws
}

extension PixelArchitecture {
    public static var defaults: PixelCNNOptions { PixelCNNOptions() }
    public static func check(_ options: PixelCNNOptions, imageShape: [Int]) throws {}
}

public enum PixelCNN: PixelArchitecture {
    public static func network(
        _ o: PixelCNNOptions, imageShape: [Int], generator: inout RandomGenerator
    ) -> any PixelNetwork {
        PixelCNNNetwork(o, channels: imageShape[0], generator: &generator)
    }
    public static func check(_ o: PixelCNNOptions, imageShape: [Int]) throws {
        try requireColourGroups(o.features, multiple: 2 * imageShape[0], "pixelcnn", "of whole halves")
    }
}

public enum GatedPixelCNN: PixelArchitecture {
    public static func network(
        _ o: PixelCNNOptions, imageShape: [Int], generator: inout RandomGenerator
    ) -> any PixelNetwork {
        GatedPixelCNNNetwork(o, imageShape: imageShape, generator: &generator)
    }
    public static func check(_ o: PixelCNNOptions, imageShape: [Int]) throws {
        let c = imageShape[0]
        try requireColourGroups(o.features, multiple: c % 2 == 0 ? c : 2 * c, "gated-pixelcnn", "(and even)")
    }
}

/// The features of every layer split into one group per colour channel: `features` must be a
/// multiple of `multiple`; the error names the nearest multiples.
func requireColourGroups(_ features: Int, multiple: Int, _ model: String, _ detail: String) throws {
    guard features % multiple != 0 else { return }
    let below = features / multiple * multiple, above = below + multiple
    throw TrainingError(
        "\(model) splits its \(features) features into colour groups \(detail), so --features must be a multiple of "
            + "\(multiple): \(below > 0 ? "\(below) or " : "")\(above)")
}

public enum RowLSTM: PixelArchitecture {
    public static func network(
        _ o: PixelCNNOptions, imageShape: [Int], generator: inout RandomGenerator
    ) -> any PixelNetwork {
        PixelRNNNetwork(.row, o, channels: imageShape[0], generator: &generator)
    }
    public static func check(_ o: PixelCNNOptions, imageShape: [Int]) throws {
        try requireColourGroups(o.features, multiple: 2 * imageShape[0], "row-lstm", "of whole halves (its units)")
    }
}

public enum DiagonalBiLSTM: PixelArchitecture {
    public static func network(
        _ o: PixelCNNOptions, imageShape: [Int], generator: inout RandomGenerator
    ) -> any PixelNetwork {
        PixelRNNNetwork(.diagonalBidirectional, o, channels: imageShape[0], generator: &generator)
    }
    public static func check(_ o: PixelCNNOptions, imageShape: [Int]) throws {
        try requireColourGroups(
            o.features, multiple: 2 * imageShape[0], "diagonal-bilstm", "of whole halves (its units)")
    }
}

public enum PixelCNNPlusPlus: PixelArchitecture {
    public static var defaults: PixelCNNOptions { var o = PixelCNNOptions(); o.likelihood = .logisticMixture; return o }
    public static func network(
        _ o: PixelCNNOptions, imageShape: [Int], generator: inout RandomGenerator
    ) -> any PixelNetwork {
        PixelCNNPlusPlusNetwork(o, channels: imageShape[0], generator: &generator)
    }
    public static func check(_ o: PixelCNNOptions, imageShape: [Int]) throws {
        try requireQuartered(imageShape, "pixelcnn++")
    }
}

/// The options of one autoregressive model: the fields its family shares, typed by its network.
/// Saved as the fields alone (the model's name says the network), as before the registry.
@dynamicMemberLookup
public struct PixelModelOptions<Architecture: PixelArchitecture>: ModelOptions {
    public var network: PixelCNNOptions

    public init() { network = Architecture.defaults }
    public init(from decoder: Decoder) throws { network = try PixelCNNOptions(from: decoder) }
    public func encode(to encoder: Encoder) throws { try network.encode(to: encoder) }

    public subscript<T>(dynamicMember path: WritableKeyPath<PixelCNNOptions, T>) -> T {
        get { network[keyPath: path] }
        set { network[keyPath: path] = newValue }
    }

    public func makeModel(imageShape: [Int], generator: inout RandomGenerator) throws -> TrainableModel {
        AutoregressiveModel(
            network: try Architecture.network(network, imageShape: imageShape, generator: &generator),
            likelihood: network.likelihood, imageShape: imageShape, classes: network.classes,
            components: network.components, learningRate: network.learningRate)
    }
    public func check(imageShape: [Int]) throws { try Architecture.check(network, imageShape: imageShape) }
    /// Binary pixels for the Bernoulli likelihood, 8-bit intensities for the others.
    public var defaultDataset: String { network.likelihood == .bernoulli ? "binarized-mnist" : "mnist" }
    public var needsLabels: Bool { network.classes > 0 }
    public func adapted(to data: Dataset) throws -> Self {
        // A Bernoulli pixel is 0 or 1: other values would be scored as if they were.
        if network.likelihood == .bernoulli {
            var generator = RandomGenerator(seed: 0)
            let probe = data.batch(Array(0..<min(64, data.count)), generator: &generator).images.scalars
            if let value = probe.first(where: { $0 != 0 && $0 != 1 }) {
                throw TrainingError(
                    "--likelihood bernoulli models binary pixels, and \(data.name) has values such as \(value); use "
                        + "--likelihood categorical for 8-bit images, or a binarised data set (binarized-mnist)")
            }
        }
        if network.classes > 0, let largest = (data as? ByteImageDataset)?.labels?.max(), largest >= network.classes {
            throw TrainingError(
                "\(data.name)'s labels go up to \(largest); a conditional model of them needs --classes "
                    + "\(largest + 1) or more"
            )
        }
        return self
    }
}

extension PixelLikelihood: ExpressibleByArgument {}

/// What every autoregressive model has: width, depth, rate.
public struct PixelNetworkFlags: ParsableArguments {
    @Option(
        help:
            "Feature maps (pixelcnn, row-lstm, diagonal-bilstm: 2h of the residual stream, the LSTMs having h units; gated-pixelcnn: per stack; pixelcnn++: of every layer); default 64."
    )
    var features: Int?
    @Option(
        help:
            "Residual blocks (pixelcnn), gated layers (gated-pixelcnn) or LSTM layers (row-lstm, diagonal-bilstm) after the first layer; gated ResNet blocks per resolution (pixelcnn++); default 7."
    )
    var layers: Int?
    @Option(help: "Adam's learning rate (default 1e-3).") var learningRate: Float?
    public init() {}
    public func validate() throws {
        try ValidationError.require(
            (features ?? 2) >= 2 && (features ?? 2) % 2 == 0 && (features ?? 2) <= 4096,
            "--features must be even, between 2 and 4096")
        try ValidationError.require((0...256).contains(layers ?? 0), "--layers must be between 0 and 256")
        try ValidationError.requirePositive(learningRate, "--learning-rate")
    }
    func apply(to o: inout PixelCNNOptions) {
        o.features = features ?? o.features
        o.layers = layers ?? o.layers
        o.learningRate = learningRate ?? o.learningRate
    }
}

/// The flags of the softmax models (pixelcnn, row-lstm, diagonal-bilstm; gated-pixelcnn adds
/// its classes): the network's shape and rate, the pixel likelihood and the first, mask-A
/// convolution's side.
public struct SoftmaxPixelFlags<Architecture: PixelArchitecture>: OptionFlags {
    @OptionGroup var network: PixelNetworkFlags
    @Option(
        help:
            "Pixel likelihood: bernoulli (binary pixels, the default) or categorical (a 256-way softmax on 8-bit images)."
    )
    var likelihood: PixelLikelihood?
    @Option(help: "Side of the first, mask-A convolution: odd, 1 to 15 (default 7).") var firstKernel: Int?
    public init() {}
    public func validate() throws {
        try ValidationError.require(
            likelihood != .logisticMixture, "--likelihood is bernoulli or categorical (the mixture is pixelcnn++'s)")
        try ValidationError.require(
            firstKernel.map { (1...15).contains($0) && $0 % 2 == 1 } ?? true,
            "--first-kernel must be odd, between 1 and 15")
    }
    public func apply(to o: inout PixelModelOptions<Architecture>) {
        network.apply(to: &o.network)
        o.likelihood = likelihood ?? o.likelihood
        o.firstKernel = firstKernel ?? o.firstKernel
    }
}

public struct RowLSTMFlags: OptionFlags {
    @OptionGroup var softmax: SoftmaxPixelFlags<RowLSTM>
    @Option(
        help:
            "k, the row kernel: the input-to-state convolution sees the k/2 + 1 columns up to the current one, the state-to-state one k columns of the row above; odd, 3 to 15 (default 3)."
    )
    var rowKernel: Int?
    public init() {}
    public func validate() throws {
        try ValidationError.require(
            rowKernel.map { (3...15).contains($0) && $0 % 2 == 1 } ?? true,
            "--row-kernel must be odd, between 3 and 15")
    }
    public func apply(to o: inout PixelModelOptions<RowLSTM>) {
        softmax.apply(to: &o)
        o.rowKernel = rowKernel ?? o.rowKernel
    }
}

public struct GatedPixelCNNFlags: OptionFlags {
    @OptionGroup var softmax: SoftmaxPixelFlags<GatedPixelCNN>
    @Option(help: "Label classes of a class-conditional model (default 0: unconditional).") var classes: Int?
    @Option(
        help:
            "Channels of a learned map per class that every gate reads (the paper's location-dependent conditioning); default 0: a label adds one vector per gate, the same at every pixel."
    )
    var labelMaps: Int?
    public init() {}
    public func validate() throws {
        try ValidationError.require((0...1000).contains(classes ?? 0), "--classes must be between 0 and 1000")
        try ValidationError.require((0...64).contains(labelMaps ?? 0), "--label-maps must be between 0 and 64")
    }
    public func apply(to o: inout PixelModelOptions<GatedPixelCNN>) throws {
        softmax.apply(to: &o)
        o.classes = classes ?? o.classes
        o.labelMaps = labelMaps ?? o.labelMaps
        // Checked on the merged options: the classes may come from a saved run's configuration.
        if o.labelMaps > 0 && o.classes == 0 {
            throw ValidationError("--label-maps conditions on labels: give --classes too")
        }
    }
}

public struct PixelCNNPlusPlusFlags: OptionFlags {
    @OptionGroup var network: PixelNetworkFlags
    @Option(help: "Logistics in the output mixture (default 10).") var logistics: Int?
    @Option(help: "Dropout in the gated ResNet blocks (default 0.5).") var dropout: Float?
    public init() {}
    public func validate() throws {
        try ValidationError.require((1...100).contains(logistics ?? 1), "--logistics must be between 1 and 100")
        try ValidationError.require(dropout.map { (0..<1).contains($0) } ?? true, "--dropout must be in [0, 1)")
    }
    public func apply(to o: inout PixelModelOptions<PixelCNNPlusPlus>) {
        network.apply(to: &o.network)
        o.components = logistics ?? o.components
        o.dropout = dropout ?? o.dropout
    }
}

extension AutoregressiveModel: LikelihoodModel, ConditionalSampling {
    /// Exact: one pass of the network.
    public func negativeLogLikelihood(_ batch: Batch, k: Int, generator: inout RandomGenerator) -> Tensor {
        -logLikelihood(batch.images, labels: batch.labels)
    }
    public var likelihoodIsEstimated: Bool { false }
    public func sample(labels: [Int], count: Int, generator: inout RandomGenerator) -> Tensor {
        sample(labels: labels as [Int]?, count: count, generator: &generator)
    }
}
