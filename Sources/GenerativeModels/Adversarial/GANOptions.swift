import ArgumentParser
import Datasets
import NeuralNetwork
import TensorEngine

// The adversarial models' options as the registry takes them. The four entries share
// `GAN.Options` (their presets differ) and each has the flags of its own objective.

extension GAN.Options: ModelOptions {
    public func makeModel(imageShape: [Int], generator: inout RandomGenerator) throws -> TrainableModel {
        GAN(self, imageShape: imageShape, generator: &generator)
    }
    /// The perceptrons take any shape: points too.
    public var modelsPoints: Bool { architecture == .mlp }
    public func check(imageShape: [Int]) throws {
        let scale = 1 << depth, (h, w) = (imageShape[1], imageShape[2])
        guard architecture == .mlp || (h % scale == 0 && w % scale == 0 && min(h, w) >= 2 * scale) else {
            throw TrainingError(
                "the convolutional GAN halves its images \(depth) times (--depth), so their sides must be multiples "
                    + "of \(scale) "
                    + "of at least \(2 * scale), not \(h)x\(w) (--image-size)")
        }
    }
}

/// What every adversarial model has: a latent code, a rate, critic steps.
public struct AdversarialFlags: ParsableArguments {
    @Option(help: "Latent dimension of the generator's code (default 100).") var latentDim: Int?
    @Option(help: "The learning rate of both players (default 2e-4; wgan 5e-5, wgan-gp 1e-4).") var learningRate: Float?
    @Option(help: "Discriminator updates per generator update (default 1; 5 for wgan and wgan-gp).") var criticSteps:
        Int?
    @Option(
        help:
            "Decay of a moving average of the generator's weights that samples and the FID use (default 0.999 for gan, else 0: the generator as trained)."
    )
    var generatorAverage: Float?
    public init() {}
    public func validate() throws {
        try ValidationError.require(
            generatorAverage.map { (0..<1).contains($0) } ?? true, "--generator-average must be in [0, 1)")
        try ValidationError.require((1...4096).contains(latentDim ?? 1), "--latent-dim must be between 1 and 4096")
        try ValidationError.require((1...1000).contains(criticSteps ?? 1), "--critic-steps must be between 1 and 1000")
        try ValidationError.requirePositive(learningRate, "--learning-rate")
    }
    func apply(to o: inout GAN.Options) {
        o.latentDimension = latentDim ?? o.latentDimension
        o.learningRate = learningRate ?? o.learningRate
        o.criticSteps = criticSteps ?? o.criticSteps
        o.generatorAverage = generatorAverage ?? o.generatorAverage
    }
}

/// The convolutional players' width and depth.
public struct ConvolutionalGANFlags: ParsableArguments {
    @OptionGroup var adversarial: AdversarialFlags
    @Option(help: "Feature maps of the discriminator's first layer and the generator's last (default 64).")
    var features: Int?
    @Option(
        help:
            "Stride-1 3x3 convolutions added at each inner resolution of the generator and the discriminator (default 0)."
    )
    var refiningLayers: Int?
    @Option(
        help:
            "Halvings of the image in the discriminator, doublings in the generator (default 2; 4 for 64-pixel images)."
    ) var depth: Int?
    public init() {}
    public func validate() throws {
        try ValidationError.require((1...4096).contains(features ?? 1), "--features must be between 1 and 4096")
        try ValidationError.require(
            (0...16).contains(refiningLayers ?? 0), "--refining-layers must be between 0 and 16")
        try ValidationError.require((1...6).contains(depth ?? 1), "--depth must be between 1 and 6")
    }
    func apply(to o: inout GAN.Options) {
        adversarial.apply(to: &o)
        o.features = features ?? o.features
        o.refiningLayers = refiningLayers ?? o.refiningLayers
        o.depth = depth ?? o.depth
    }
}

/// The generator's loss of the classic objective.
public struct GeneratorLossFlag: ParsableArguments {
    @Option(help: "The generator's loss: non-saturating (the default) or minimax.") var generatorLoss: GeneratorLoss?
    public enum GeneratorLoss: String, ExpressibleByArgument, CaseIterable {
        case nonSaturating = "non-saturating", minimax
        var loss: GAN.Loss { self == .minimax ? .minimax : .nonSaturating }
    }
    public init() {}
    func apply(to o: inout GAN.Options) { o.loss = generatorLoss?.loss ?? o.loss }
}

/// What keeps the MLP discriminator from winning outright.
public struct DiscriminatorRegularisationFlags: ParsableArguments {
    @Option(help: "One-sided label smoothing: the discriminator's target for real images is 1 - S (default 0.1; 0: none).")
    var labelSmoothing: Float?
    @Option(help: "Dropout after each hidden layer of the discriminator (default 0.3; 0: none).")
    var discriminatorDropout: Float?
    public init() {}
    public func validate() throws {
        try ValidationError.require(
            labelSmoothing.map { (0..<0.5).contains($0) } ?? true, "--label-smoothing must be in [0, 0.5)")
        try ValidationError.require(
            discriminatorDropout.map { (0..<1).contains($0) } ?? true, "--discriminator-dropout must be in [0, 1)")
    }
    func apply(to o: inout GAN.Options) {
        o.labelSmoothing = labelSmoothing ?? o.labelSmoothing
        o.discriminatorDropout = discriminatorDropout ?? o.discriminatorDropout
    }
}

public struct GANFlags: OptionFlags {
    @OptionGroup var adversarial: AdversarialFlags
    @OptionGroup var loss: GeneratorLossFlag
    @OptionGroup var discriminator: DiscriminatorRegularisationFlags
    public init() {}
    public func apply(to o: inout GAN.Options) {
        adversarial.apply(to: &o); loss.apply(to: &o); discriminator.apply(to: &o)
    }
}

public struct DCGANFlags: OptionFlags {
    @OptionGroup var network: ConvolutionalGANFlags
    @OptionGroup var loss: GeneratorLossFlag
    public init() {}
    public func apply(to o: inout GAN.Options) { network.apply(to: &o); loss.apply(to: &o) }
}

public struct WGANFlags: OptionFlags {
    @OptionGroup var network: ConvolutionalGANFlags
    @OptionGroup var players: ArchitectureFlag
    @Option(help: "The critic's weights are clipped to [-c, c] after every update (default 0.01).") var clip: Float?
    public init() {}
    public func validate() throws {
        try ValidationError.requirePositive(clip, "--clip")
    }
    public func apply(to o: inout GAN.Options) {
        network.apply(to: &o)
        players.apply(to: &o)
        o.clip = clip ?? o.clip
    }
}

public struct WGANGPFlags: OptionFlags {
    @OptionGroup var network: ConvolutionalGANFlags
    @OptionGroup var players: ArchitectureFlag
    @Option(help: "Weight lambda of the gradient penalty (default 10).") var penalty: Float?
    public init() {}
    public func validate() throws {
        try ValidationError.requireWeight(penalty, "--penalty")
    }
    public func apply(to o: inout GAN.Options) {
        network.apply(to: &o)
        players.apply(to: &o)
        o.penaltyWeight = penalty ?? o.penaltyWeight
    }
}

/// The players' kind, for the Wasserstein models (convolutional by default; perceptrons for
/// the toy mixtures).
public struct ArchitectureFlag: ParsableArguments {
    @Option(help: "The players: dcgan (convolutional, the default) or mlp (perceptrons, for ring8, grid25, mixture1d).")
    var architecture: GAN.Architecture?
    public init() {}
    func apply(to o: inout GAN.Options) { o.architecture = architecture ?? o.architecture }
}

extension GAN.Architecture: ExpressibleByArgument {}

extension GAN: ProbabilityDiscriminating {
    public var discriminatesByProbability: Bool { options.loss == .minimax || options.loss == .nonSaturating }
    public func probabilityReal(_ images: Tensor) -> Tensor { discriminate(images * 2 - 1).sigmoid() }
    /// With an optimizer of its own (Adam at 1e-3): the run's is tuned to follow a moving G.
    public func fitDiscriminator(to data: Dataset, steps: Int, batchSize: Int, generator rng: inout RandomGenerator) {
        let optimizer = Adam(discriminator.trainableParameters(), learningRate: 1e-3)
        for _ in 0..<steps {
            let indices = (0..<batchSize).map { _ in rng.nextInt(below: data.count) }
            let images = data.batch(indices, generator: &rng).images
            optimizer.minimize(criticLoss(images: images, latents: noise(batchSize, generator: &rng), mix: nil).loss)
        }
    }
}

extension GAN: LatentInterpolation {
    /// Between random codes: a GAN has no encoder to find the codes of test images.
    public func interpolationGrid(
        pairs: Int, steps: Int, test: () throws -> Dataset, generator: inout RandomGenerator
    ) throws -> Tensor {
        interpolate(pairs: pairs, steps: steps, generator: &generator)
    }
}
