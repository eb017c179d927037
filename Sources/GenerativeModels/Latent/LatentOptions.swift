import ArgumentParser
import Datasets
import TensorEngine

// The latent-variable models' options as the registry takes them: what they build, the images
// they take, and their flags.

extension PCAModel.Options: ModelOptions {
    public func makeModel(imageShape: [Int], generator: inout RandomGenerator) throws -> TrainableModel {
        PCAModel(self, imageShape: imageShape)
    }
    public func check(imageShape: [Int]) throws {
        let pixels = imageShape.reduce(1, *)
        guard components <= pixels else {
            throw TrainingError(
                "pca keeps at most \(pixels) components of \(imageShape.map(String.init).joined(separator: "x")) "
                    + "images, not \(components)"
            )
        }
    }
    public var defaultDataset: String { "binarized-mnist" }
}

public struct PCAFlags: OptionFlags {
    /// Principal components to keep (default 50).
    @Option(help: "Principal components to keep (default 50).") var components: Int?
    public init() {}
    public func validate() throws {
        try ValidationError.require((components ?? 1) >= 1, "--components must be positive")
    }
    public func apply(to options: inout PCAModel.Options) { options.components = components ?? options.components }
}

extension Autoencoder.Architecture: ExpressibleByArgument {}
extension Autoencoder.Loss: ExpressibleByArgument {}
extension Autoencoder.Options: ModelOptions {
    public func makeModel(imageShape: [Int], generator: inout RandomGenerator) throws -> TrainableModel {
        Autoencoder(self, imageShape: imageShape, generator: &generator)
    }
    public func check(imageShape: [Int]) throws {
        if architecture == .conv { try requireQuartered(imageShape, "the convolutional autoencoder") }
    }
    public var defaultDataset: String { "binarized-mnist" }
}

/// The encoder and decoder of the autoencoders: shape, width and rate.
public struct EncoderFlags: ParsableArguments {
    @Option(help: "Latent dimension (default: the model's, 2 for ae, 20 for vae and iwae, 10 for vade).") var latentDim:
        Int?
    @Option(
        help:
            "Hidden layer widths of the MLPs, comma-separated (default 512,256 for ae, 400 for vae and iwae, 500,500,2000 for vade)."
    )
    var hidden: Widths?
    @Option(help: "Adam's learning rate (default 1e-3; vade 2e-3).") var learningRate: Float?
    public init() {}
    public func validate() throws {
        try ValidationError.require((1...4096).contains(latentDim ?? 1), "--latent-dim must be between 1 and 4096")
        try ValidationError.requirePositive(learningRate, "--learning-rate")
    }
    func apply(latent: inout Int, hidden widths: inout [Int], rate: inout Float) {
        latent = latentDim ?? latent; widths = hidden?.values ?? widths; rate = learningRate ?? rate
    }
}

public struct AutoencoderFlags: OptionFlags {
    @OptionGroup var network: EncoderFlags
    @Option(help: "mlp or conv (default mlp).") var architecture: Autoencoder.Architecture?
    @Option(help: "Reconstruction loss, bce or mse (default bce).") var loss: Autoencoder.Loss?
    @Flag(help: "No activations, for comparison with PCA.") var linear = false
    public init() {}
    public func apply(to o: inout Autoencoder.Options) {
        network.apply(latent: &o.latentDimension, hidden: &o.hiddenDimensions, rate: &o.learningRate)
        o.architecture = architecture ?? o.architecture
        o.loss = loss ?? o.loss
        o.linear = linear || o.linear
    }
}

extension VAE.DecoderVariance: ExpressibleByArgument {}

extension VAE: GaussianDecoding {
    public var decodesGaussians: Bool { options.likelihood == .gaussian }
    public func decodedGaussians(count: Int, generator: inout RandomGenerator) -> (mean: Tensor, deviation: Tensor) {
        let z = Tensor.normal([count, options.latentDimension], generator: &generator)
        let decoded = decode(z)
        guard let (mean, logVariance) = gaussian(decoded) else { preconditionFailure("not a gaussian decoder") }
        let shape = [count] + imageShape
        return (
            mean.clamped(min: 0, max: 1).reshaped(shape),
            ((logVariance * 0.5).exp() + Tensor.zeros([count, Shape.count(imageShape)])).reshaped(shape)
        )
    }
}

extension VAE.Likelihood: ExpressibleByArgument {}
extension VAE.Options: ModelOptions {
    /// IWAE's: the bound of k = 5 importance samples.
    public static var iwae: VAE.Options { var o = VAE.Options(); o.importanceSamples = 5; return o }

    public func makeModel(imageShape: [Int], generator: inout RandomGenerator) throws -> TrainableModel {
        VAE(self, imageShape: imageShape, generator: &generator)
    }
    public func check(imageShape: [Int]) throws {
        if architecture == .conv { try requireQuartered(imageShape, "the convolutional VAE") }
        guard decoderVariance == .perPixel || likelihood == .gaussian else {
            throw TrainingError("--decoder-variance learned is the gaussian decoder's: add --likelihood gaussian")
        }
    }
    public var defaultDataset: String { "binarized-mnist" }
}

public struct VAEFlags: OptionFlags {
    @OptionGroup var network: EncoderFlags
    @Option(help: "mlp or conv (default mlp).") var architecture: Autoencoder.Architecture?
    @Option(help: "The decoder's pixel likelihood: bernoulli or gaussian (default bernoulli).") var likelihood:
        VAE.Likelihood?
    @Option(
        help:
            "The gaussian decoder's variance: per-pixel (one learned value per pixel, the default) or learned (sigma^2(z), a head of the decoder, floored at sigma = 0.001)."
    )
    var decoderVariance: VAE.DecoderVariance?
    public init() {}
    public func apply(to o: inout VAE.Options) {
        network.apply(latent: &o.latentDimension, hidden: &o.hiddenDimensions, rate: &o.learningRate)
        o.architecture = architecture ?? o.architecture
        o.likelihood = likelihood ?? o.likelihood
        o.decoderVariance = decoderVariance ?? o.decoderVariance
    }
}

public struct IWAEFlags: OptionFlags {
    @OptionGroup var vae: VAEFlags
    @Option(help: "Importance samples k of the training bound (default 5).") var k: Int?
    public init() {}
    public func validate() throws {
        try ValidationError.require((1...1000).contains(k ?? 1), "--k must be between 1 and 1000")
    }
    public func apply(to o: inout VAE.Options) {
        vae.apply(to: &o)
        o.importanceSamples = k ?? o.importanceSamples
    }
}

extension VaDE.Pretraining: ExpressibleByArgument {}
extension VaDE.MixtureWeights: ExpressibleByArgument {}
extension VaDE.Options: ModelOptions {
    public func makeModel(imageShape: [Int], generator: inout RandomGenerator) throws -> TrainableModel {
        VaDE(self, imageShape: imageShape, generator: &generator)
    }
    public func adapted(to data: Dataset) throws -> Self {
        guard clusters <= data.count else {
            throw TrainingError(
                "vade fits \(clusters) clusters to the codes of \(data.count) examples; give --clusters "
                    + "\(data.count) or fewer"
            )
        }
        return self
    }
}

public struct VaDEFlags: OptionFlags {
    @OptionGroup var network: EncoderFlags
    @Option(help: "Mixture components, the clusters (default 10).") var clusters: Int?
    @Option(help: "Epochs of autoencoder pre-training before the prior is fitted (default 200).") var pretrainEpochs:
        Int?
    @Option(
        help:
            "How the autoencoder is pre-trained: sgd-mse (DEC's: SGD at rate 1, momentum 0.9, on the squared error) or adam-bce (Adam on the Bernoulli loss); default sgd-mse."
    )
    var pretraining: VaDE.Pretraining?
    @Option(
        help:
            "The rate's factor every 10 epochs after pre-training, down to a tenth of it (the authors' 0.9, the default; 1: constant)."
    )
    var lrDecay: Float?
    @Option(
        help:
            "The prior's mixture weights pi: learned (fitted with the GMM, then trained; the default) or uniform (1/K, fixed)."
    )
    var mixtureWeights: VaDE.MixtureWeights?
    @Option(help: "Adam's epsilon in the VaDE phase (default 1e-8; the authors' 1e-4).") var adamEpsilon: Float?
    @Option(help: "Epochs over which the VaDE phase's rate rises linearly from zero (default 0).") var warmupEpochs: Int?
    @Option(help: "EM runs, from k-means++ seeds, when the prior is fitted; the most likely is kept (default 10).")
    var priorRestarts: Int?
    public init() {}
    public func validate() throws {
        try ValidationError.require((2...1000).contains(clusters ?? 2), "--clusters must be between 2 and 1000")
        try ValidationError.require(
            (0...100_000).contains(pretrainEpochs ?? 0), "--pretrain-epochs must be between 0 and 100000")
        try ValidationError.require(lrDecay.map { $0 > 0 && $0 <= 1 } ?? true, "--lr-decay must be in (0, 1]")
        try ValidationError.require(adamEpsilon.map { $0 > 0 && $0 < 1 } ?? true, "--adam-epsilon must be in (0, 1)")
        try ValidationError.require((0...10_000).contains(warmupEpochs ?? 0), "--warmup-epochs must be between 0 and 10000")
        try ValidationError.require((1...10_000).contains(priorRestarts ?? 1), "--prior-restarts must be between 1 and 10000")
    }
    public func apply(to o: inout VaDE.Options) {
        network.apply(latent: &o.latentDimension, hidden: &o.hiddenDimensions, rate: &o.learningRate)
        o.clusters = clusters ?? o.clusters
        o.pretrainEpochs = pretrainEpochs ?? o.pretrainEpochs
        o.pretraining = pretraining ?? o.pretraining
        o.learningRateDecay = lrDecay ?? o.learningRateDecay
        o.mixtureWeights = mixtureWeights ?? o.mixtureWeights
        o.adamEpsilon = adamEpsilon ?? o.adamEpsilon
        o.warmupEpochs = warmupEpochs ?? o.warmupEpochs
        o.priorRestarts = priorRestarts ?? o.priorRestarts
    }
}

// What the latent models can do, for eval, sample and interpolate.

extension VAE: LikelihoodModel, EvidenceBound, LatentInterpolation, LatentManifold {
    public func negativeLogLikelihood(_ batch: Batch, k: Int, generator: inout RandomGenerator) -> Tensor {
        importanceSampledNLL(self, batch.images.flattened(), k: k, generator: &generator)
    }
    public var likelihoodIsEstimated: Bool { true }
    public func negativeELBO(_ images: Tensor, generator: inout RandomGenerator) -> Tensor {
        -elbo(images.flattened(), generator: &generator).elbo
    }
    /// Between the codes of pairs of test images.
    public func interpolationGrid(
        pairs: Int, steps: Int, test: () throws -> Dataset, generator: inout RandomGenerator
    ) throws -> Tensor {
        let data = try test()
        guard data.count >= 2 * pairs else {
            throw TrainingError("\(pairs) pairs need \(2 * pairs) test images; \(data.name) has \(data.count)")
        }
        let a = data.batch(Array(0..<pairs), generator: &generator).images
        let b = data.batch(Array(pairs..<(2 * pairs)), generator: &generator).images
        return interpolate(from: a, to: b, steps: steps)
    }
    public var latentDimension: Int { options.latentDimension }
}

extension VaDE: EvidenceBound, Clustering {
    public func negativeELBO(_ images: Tensor, generator: inout RandomGenerator) -> Tensor {
        -elbo(images.flattened(), generator: &generator).elbo
    }
}

extension Autoencoder: Reconstructing, PriorSampling, LinearSubspace {
    public var subspace: Tensor? { options.linear ? decoderSubspace() : nil }
}

extension PCAModel: Reconstructing, LinearSubspace {
    public var subspace: Tensor? { pca.components }
}
