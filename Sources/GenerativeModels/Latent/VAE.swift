import Datasets
import Foundation
import NeuralNetwork
import TensorEngine

/// The variational autoencoder (Kingma & Welling 2014) and, with `importanceSamples` k > 1, the
/// importance-weighted autoencoder (Burda et al. 2016): a Gaussian encoder q(z|x) = N(mu(x),
/// diag sigma^2(x)), a standard normal prior, and a decoder p(x|z): Bernoulli logits for binary
/// data, or for intensities a Gaussian N(mu(z), sigma^2) whose variance is learned once per pixel
/// or, with `decoderVariance` `.learned`, given by the decoder for each code, sigma^2(z) (a head
/// beside the mean's, floored at `logVarianceFloor`); MLP or convolutional networks. Training maximises the bound
///     L_k = E[log (1/k) sum_i p(x, z_i) / q(z_i | x)],   z_i = mu + sigma * eps_i,
/// which for k = 1 is the ELBO, computed there with the analytic KL divergence
///     KL(q || p) = 1/2 sum(mu^2 + sigma^2 - log sigma^2 - 1).
public class VAE: Module, TrainableModel {
    public enum Likelihood: String, Codable, CaseIterable, Sendable { case bernoulli, gaussian }
    /// The Gaussian decoder's variance: one learned value per pixel, or a function of z.
    public enum DecoderVariance: String, Codable, CaseIterable, Sendable {
        case perPixel = "per-pixel", learned
    }
    /// log sigma^2 never goes below this: sigma >= 0.001, about the spread of uniform
    /// dequantisation within one of 256 levels (1 / (256 sqrt 12)); without a floor, a pixel
    /// that is always 0 would drive its variance, and the likelihood, to infinity.
    public static let logVarianceFloor = Float(Foundation.log(1e-6))

    public struct Options: Codable, Equatable, Sendable {
        public var latentDimension = 20
        public var hiddenDimensions = [400]
        public var importanceSamples = 1
        public var learningRate: Float = 1e-3
        public var likelihood = Likelihood.bernoulli
        public var architecture = Autoencoder.Architecture.mlp
        public var decoderVariance = DecoderVariance.perPixel
        public init() {}

        /// Keys missing from an older config.json take their defaults.
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = Options()
            latentDimension = try c.decodeIfPresent(Int.self, forKey: .latentDimension) ?? d.latentDimension
            hiddenDimensions = try c.decodeIfPresent([Int].self, forKey: .hiddenDimensions) ?? d.hiddenDimensions
            importanceSamples = try c.decodeIfPresent(Int.self, forKey: .importanceSamples) ?? d.importanceSamples
            learningRate = try c.decodeIfPresent(Float.self, forKey: .learningRate) ?? d.learningRate
            likelihood = try c.decodeIfPresent(Likelihood.self, forKey: .likelihood) ?? d.likelihood
            architecture = try c.decodeIfPresent(Autoencoder.Architecture.self, forKey: .architecture) ?? d.architecture
            decoderVariance =
                try c.decodeIfPresent(DecoderVariance.self, forKey: .decoderVariance) ?? d.decoderVariance
        }
    }

    public let options: Options
    public let imageShape: [Int]
    let encoder: Sequential
    let mean: Linear
    let logVariance: Linear
    let decoder: Sequential
    /// log sigma^2 of the Gaussian decoder, one for every pixel (unused by the Bernoulli one and
    /// by a decoder that gives its own).
    let pixelLogVariance: Parameter?
    /// The decoder's output holds log sigma^2(z) after the means (raw, before the floor).
    var decodesVariance: Bool { options.likelihood == .gaussian && options.decoderVariance == .learned }
    var optimizer: Adam!

    public var module: Module { self }
    public var optimizers: [String: Optimizer] { ["model": optimizer] }

    public init(_ options: Options, imageShape: [Int], generator: inout RandomGenerator) {
        self.options = options
        self.imageShape = imageShape
        let pixels = Shape.count(imageShape), hidden = options.hiddenDimensions
        // A decoder of the variance too gives twice the outputs: the means, then log sigma^2(z).
        let outputs = options.likelihood == .gaussian && options.decoderVariance == .learned ? 2 : 1
        let features: Int
        switch options.architecture {
        case .mlp:
            encoder = Sequential(multilayerPerceptron([pixels] + hidden, activateLast: true, generator: &generator))
            features = hidden.last ?? pixels
            decoder = Sequential(
                multilayerPerceptron(
                    [options.latentDimension] + hidden.reversed() + [outputs * pixels], activateLast: false,
                    generator: &generator))
        case .conv:
            // The networks see flattened images, as the MLPs do.
            let (layers, flat) = convolutionalEncoder(imageShape, generator: &generator)
            features = flat
            encoder = Sequential([Function.unflatten(imageShape)] + layers)
            decoder = Sequential(
                convolutionalDecoder(
                    latent: options.latentDimension, imageShape: [outputs * imageShape[0]] + imageShape.dropFirst(),
                    generator: &generator) + [Function.flatten()])
        }
        mean = Linear(features, options.latentDimension, generator: &generator)
        logVariance = Linear(features, options.latentDimension, generator: &generator)
        pixelLogVariance =
            options.likelihood == .gaussian && outputs == 1 ? Parameter(Tensor.full([pixels], -2)) : nil
        super.init()
        optimizer = Adam(trainableParameters(), learningRate: options.learningRate)
    }

    /// mu and log sigma^2 of q(z | x) for flattened images x [N, pixels].
    public func encode(_ x: Tensor) -> (mean: Tensor, logVariance: Tensor) {
        let h = encoder(x)
        return (mean(h), logVariance(h))
    }

    /// The decoder's output for codes z: Bernoulli logits or Gaussian means, [N, pixels]; for a
    /// decoder of the variance, [N, 2 pixels]: the means, then log sigma^2(z) before its floor.
    public func decode(_ z: Tensor) -> Tensor { decoder(z) }

    /// The Gaussian decoder's means and log variances for its output.
    func gaussian(_ decoded: Tensor) -> (mean: Tensor, logVariance: Tensor)? {
        if let logVar = pixelLogVariance?.value { return (decoded, logVar) }
        guard decodesVariance else { return nil }
        let axis = decoded.rank - 1, pixels = decoded.shape[axis] / 2
        let floor = VAE.logVarianceFloor
        // A smooth floor: equal to the raw value well above it, never below it.
        let raw = decoded.sliced(axis: axis, pixels..<2 * pixels)
        return (decoded.sliced(axis: axis, 0..<pixels), (raw - floor).softplus() + floor)
    }

    /// log p(x | z) summed over pixels, from the decoder's output for z; `x` broadcasts against it.
    public func logLikelihood(_ x: Tensor, decoded: Tensor) -> Tensor {
        let axis = decoded.rank - 1
        guard let (mean, logVar) = gaussian(decoded) else {
            return bernoulliLogLikelihood(logits: decoded, targets: x)
        }
        // -1/2 [log 2 pi + log sigma^2 + (x - mu)^2 / sigma^2] per pixel.
        let halfLog2Pi = Float(0.5 * Foundation.log(2 * Double.pi))
        return (-0.5 * (logVar + (x - mean).squared() * (-logVar).exp()) - halfLog2Pi).sum(alongAxis: axis)
    }

    /// Images in [0, 1] from decoder outputs: Bernoulli means, or Gaussian means clipped.
    func images(_ decoded: Tensor) -> Tensor {
        gaussian(decoded).map { $0.mean.clamped(min: 0, max: 1) } ?? decoded.sigmoid()
    }

    /// log p(x, z_i) - log q(z_i | x) for k samples per example: [k, N].
    public func logImportanceWeights(_ x: Tensor, samples k: Int, generator: inout RandomGenerator) -> Tensor {
        logImportanceWeights(x, noise: Tensor.normal([k, x.shape[0], options.latentDimension], generator: &generator))
    }

    /// The same for given noise eps [k, N, d], z_i = mu + sigma * eps_i (the encoder draws
    /// nothing, so drawing eps first changes no random number).
    public func logImportanceWeights(_ x: Tensor, noise eps: Tensor) -> Tensor {
        let (mu, logVar) = encode(x)
        let (k, n, d) = (eps.shape[0], eps.shape[1], eps.shape[2])
        let z = mu.unsqueezed(0) + (logVar * 0.5).exp().unsqueezed(0) * eps // [k, N, d]
        let decoded = decode(z.reshaped([k * n, d])).reshaped([k, n, -1])
        let logLikelihood = self.logLikelihood(x.unsqueezed(0), decoded: decoded)
        let halfLog2Pi = Float(0.5 * Foundation.log(2 * Double.pi)) * Float(d)
        let logPrior = -0.5 * z.squared().sum(alongAxis: 2) - halfLog2Pi
        // With z = mu + sigma eps: log q(z | x) = -1/2 sum(eps^2 + log sigma^2) - d/2 log 2 pi.
        let logPosterior =
            -0.5 * (eps.squared().sum(alongAxis: 2) + logVar.sum(alongAxis: 1).unsqueezed(0)) - halfLog2Pi
        return logLikelihood + logPrior - logPosterior
    }

    /// The bound L_k per example, [N]: logsumexp over samples minus log k.
    public func bound(_ x: Tensor, samples k: Int, generator: inout RandomGenerator) -> Tensor {
        bound(logImportanceWeights(x, samples: k, generator: &generator))
    }

    /// The bound from log weights [k, N]: log (1/k) sum_i w_i (Burda et al. 2016, eq. 8).
    func bound(_ logWeights: Tensor) -> Tensor {
        logWeights.logSumExp(alongAxis: 0) - Float(Foundation.log(Double(logWeights.shape[0])))
    }

    /// The ELBO per example with the analytic KL: reconstruction term and KL, [N] each.
    public func elbo(
        _ x: Tensor, generator: inout RandomGenerator
    ) -> (elbo: Tensor, reconstruction: Tensor, kl: Tensor) {
        elbo(x, noise: Tensor.normal([x.shape[0], options.latentDimension], generator: &generator))
    }

    /// The same for given noise eps [N, d], z = mu + sigma * eps.
    public func elbo(_ x: Tensor, noise eps: Tensor) -> (elbo: Tensor, reconstruction: Tensor, kl: Tensor) {
        let (mu, logVar) = encode(x)
        let z = mu + (logVar * 0.5).exp() * eps
        let reconstruction = logLikelihood(x, decoded: decode(z))
        let kl = 0.5 * (mu.squared() + logVar.exp() - logVar - 1).sum(alongAxis: 1)
        return (reconstruction - kl, reconstruction, kl)
    }

    /// The noise of one training step for a batch of n images: eps [n, d] for the ELBO, or
    /// [k, n, d] for the IWAE bound.
    public func noise(batchSize n: Int, generator: inout RandomGenerator) -> Tensor {
        let k = options.importanceSamples, d = options.latentDimension
        return Tensor.normal(k == 1 ? [n, d] : [k, n, d], exampleAxis: k == 1 ? 0 : 1, generator: &generator)
    }

    /// What a training step minimises for flattened images x and its noise (see `noise`): the
    /// negative bound averaged over the batch, as "loss", and for the ELBO its two terms.
    public func loss(_ x: Tensor, noise eps: Tensor) -> [String: Tensor] {
        guard options.importanceSamples == 1 else {
            return ["loss": -bound(logImportanceWeights(x, noise: eps)).mean()]
        }
        let (elbo, reconstruction, kl) = elbo(x, noise: eps)
        return ["loss": -elbo.mean(), "reconstruction": -reconstruction.mean(), "kl": kl.mean()]
    }

    public func trainStep(_ batch: Batch, context: inout StepContext) -> [String: Float] {
        let x = batch.images.flattened()
        let terms = loss(x, noise: noise(batchSize: x.shape[0], generator: &context.generator))
        context.minimize(optimizer, terms["loss"]!)
        return terms.mapValues(\.scalar)
    }

    public func sample(count: Int, generator: inout RandomGenerator) -> Tensor {
        let z = Tensor.normal([count, options.latentDimension], generator: &generator)
        return images(decode(z)).reshaped([count] + imageShape)
    }

    /// For a 2-D latent space: decoded images on a `size` x `size` grid of codes spanning
    /// [-2, 2]^2 (the prior's bulk), [size * size, C, H, W], rows from top (z2 = 2) to bottom.
    public func manifold(size: Int) -> Tensor {
        precondition(
            options.latentDimension == 2, "manifold: the latent space has \(options.latentDimension) dimensions, not 2")
        let ticks = (0..<size).map { -2 + 4 * Float($0) / Float(max(size - 1, 1)) }
        let codes = ticks.reversed().flatMap { z2 in ticks.flatMap { z1 in [z1, z2] } }
        return images(decode(Tensor(shape: [size * size, 2], scalars: codes))).reshaped([-1] + imageShape)
    }

    /// Decoded means along straight lines between the latent means of pairs of images:
    /// [pairs * steps, C, H, W].
    public func interpolate(from a: Tensor, to b: Tensor, steps: Int) -> Tensor {
        let za = encode(a.flattened()).mean, zb = encode(b.flattened()).mean
        return images(decode(pointsOnLines(from: za, to: zb, steps: steps))).reshaped([-1] + imageShape)
    }
}

/// The importance-sampled negative log-likelihood, -log p(x) ~= -(logsumexp_i log w_i - log k),
/// in nats per example, for `k` samples taken `chunk` at a time (a running log-sum-exp, so k =
/// 5000 needs no more memory than `chunk`).
public func importanceSampledNLL(
    _ model: VAE, _ x: Tensor, k: Int, chunk: Int = 500, generator: inout RandomGenerator
) -> Tensor {
    withoutGradients {
        var total: Tensor?
        var done = 0
        while done < k {
            let n = min(chunk, k - done)
            let lse = model.logImportanceWeights(x, samples: n, generator: &generator).logSumExp(alongAxis: 0)
            total = total.map { Tensor.stack([$0, lse]).logSumExp(alongAxis: 0) } ?? lse
            done += n
        }
        return -(total! - Float(Foundation.log(Double(k))))
    }
}
