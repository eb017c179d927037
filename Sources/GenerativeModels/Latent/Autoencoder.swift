import Datasets
import NeuralNetwork
import TensorEngine

/// An autoencoder: an encoder to a bottleneck of `latentDimension` and a decoder back, trained
/// to reconstruct its input (mean squared error, or binary cross-entropy on logits for data in
/// [0, 1]). MLP or convolutional; `linear` drops every activation, which makes the optimum span
/// the principal subspace (Baldi & Hornik 1989). Samples decode codes drawn from a Gaussian fitted
/// to the training codes (kept as running statistics), since an autoencoder has no prior of its own.
public final class Autoencoder: Module, TrainableModel {
    public enum Architecture: String, Codable, CaseIterable, Sendable { case mlp, conv }
    public enum Loss: String, Codable, CaseIterable, Sendable { case mse, bce }

    public struct Options: Codable, Equatable, Sendable {
        public var architecture = Architecture.mlp
        public var latentDimension = 2
        public var hiddenDimensions = [512, 256]
        public var loss = Loss.bce
        public var linear = false
        public var learningRate: Float = 1e-3
        public init() {}
    }

    public let options: Options
    public let imageShape: [Int]
    let encoder: Sequential
    let decoder: Sequential
    /// Mean and variance of the codes seen in training, for sampling.
    let codeMean: Buffer
    let codeVariance: Buffer
    var optimizer: Adam!

    public var module: Module { self }
    public var optimizers: [String: Optimizer] { ["model": optimizer] }

    public init(_ options: Options, imageShape: [Int], generator: inout RandomGenerator) {
        self.options = options
        self.imageShape = imageShape
        let activation: () -> any Layer = { options.linear ? Function { $0 } : Function.relu() }
        switch options.architecture {
        case .mlp:
            let widths = [Shape.count(imageShape)] + options.hiddenDimensions
            encoder = Sequential(
                [Function.flatten()]
                    + multilayerPerceptron(
                        widths + [options.latentDimension], activateLast: false,
                        activation: activation, generator: &generator))
            decoder = Sequential(
                multilayerPerceptron(
                    [options.latentDimension] + widths.reversed(), activateLast: false,
                    activation: activation, generator: &generator) + [Function.unflatten(imageShape)])
        case .conv:
            let (layers, features) = convolutionalEncoder(imageShape, activation: activation, generator: &generator)
            encoder = Sequential(layers + [Linear(features, options.latentDimension, generator: &generator)])
            decoder = Sequential(
                convolutionalDecoder(
                    latent: options.latentDimension, imageShape: imageShape, activation: activation,
                    generator: &generator))
        }
        codeMean = Buffer(Tensor.zeros([options.latentDimension]))
        codeVariance = Buffer(Tensor.ones([options.latentDimension]))
        super.init()
        optimizer = Adam(trainableParameters(), learningRate: options.learningRate)
    }

    public func encode(_ x: Tensor) -> Tensor { encoder(x) }

    /// Reconstructions in data space ([0, 1] when the loss is BCE).
    public func reconstruct(_ x: Tensor) -> Tensor { output(decoder(encoder(x))) }

    func output(_ raw: Tensor) -> Tensor { options.loss == .bce ? raw.sigmoid() : raw }

    /// The training loss per example, summed over pixels.
    public func reconstructionLoss(_ x: Tensor) -> Tensor {
        let raw = decoder(encoder(x))
        let perPixel =
            options.loss == .bce ? binaryCrossEntropyWithLogits(raw, x, reduction: .none) : (raw - x).squared()
        return perPixel.flattened().sum(alongAxis: 1)
    }

    public func trainStep(_ batch: Batch, context: inout StepContext) -> [String: Float] {
        let codes = encoder(batch.images)
        let raw = decoder(codes)
        let perPixel =
            options.loss == .bce
            ? binaryCrossEntropyWithLogits(raw, batch.images, reduction: .none) : (raw - batch.images).squared()
        let loss = perPixel.flattened().sum(alongAxis: 1).mean()
        context.minimize(optimizer, loss)
        withoutGradients {
            // Slow running statistics of the codes, for sampling.
            let c = codes.detached()
            codeMean.value = codeMean.value * 0.99 + c.mean(alongAxis: 0) * 0.01
            codeVariance.value = codeVariance.value * 0.99 + c.variance(alongAxis: 0) * 0.01
        }
        return ["loss": loss.scalar]
    }

    /// Where sampled codes come from: a Gaussian fitted to the training codes (the default), or
    /// N(0, I), the prior a VAE would have: an autoencoder was never trained to decode it, which
    /// is why its decodings of it are mostly nonsense (the reason the VAE exists).
    public enum Prior: String, CaseIterable, Sendable { case fitted, standard }

    public func sample(count: Int, generator: inout RandomGenerator) -> Tensor {
        sample(count: count, prior: .fitted, generator: &generator)
    }

    public func sample(count: Int, prior: Prior, generator: inout RandomGenerator) -> Tensor {
        output(decoder(codes(count: count, prior: prior, generator: &generator)))
    }

    /// `count` codes [count, m] drawn from `prior`.
    func codes(count: Int, prior: Prior, generator: inout RandomGenerator) -> Tensor {
        let z = Tensor.normal([count, options.latentDimension], generator: &generator)
        return prior == .standard ? z : z * codeVariance.value.sqrt() + codeMean.value
    }
}
