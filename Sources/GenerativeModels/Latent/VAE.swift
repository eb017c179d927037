import Datasets
import Foundation
import NeuralNetwork
import TensorEngine

/// The variational autoencoder (Kingma & Welling 2014) and, with `importanceSamples` k > 1, the
/// importance-weighted autoencoder (Burda et al. 2016): a Gaussian encoder q(z|x) = N(mu(x),
/// diag sigma^2(x)), a standard normal prior, and a Bernoulli decoder p(x|z) whose logits an MLP
/// gives. Training maximises the bound
///     L_k = E[log (1/k) sum_i p(x, z_i) / q(z_i | x)],   z_i = mu + sigma * eps_i,
/// which for k = 1 is the ELBO, computed there with the analytic KL divergence
///     KL(q || p) = 1/2 sum(mu^2 + sigma^2 - log sigma^2 - 1).
public final class VAE: Module, TrainableModel {
    public struct Options: Codable, Equatable, Sendable {
        public var latentDimension = 20
        public var hiddenDimensions = [400]
        public var importanceSamples = 1
        public var learningRate: Float = 1e-3
        public init() {}
    }

    public let options: Options
    public let imageShape: [Int]
    let encoder: Sequential
    let mean: Linear
    let logVariance: Linear
    let decoder: Sequential
    var optimizer: Adam!

    public var module: Module { self }
    public var optimizers: [String: Optimizer] { ["model": optimizer] }

    public init(_ options: Options, imageShape: [Int], generator: inout RandomGenerator) {
        self.options = options
        self.imageShape = imageShape
        let pixels = Shape.count(imageShape), hidden = options.hiddenDimensions
        encoder = Sequential(multilayerPerceptron([pixels] + hidden, activateLast: true, generator: &generator))
        mean = Linear(hidden.last ?? pixels, options.latentDimension, generator: &generator)
        logVariance = Linear(hidden.last ?? pixels, options.latentDimension, generator: &generator)
        decoder = Sequential(multilayerPerceptron([options.latentDimension] + hidden.reversed() + [pixels], activateLast: false,
                                                  generator: &generator))
        super.init()
        optimizer = Adam(trainableParameters(), learningRate: options.learningRate)
    }

    /// mu and log sigma^2 of q(z | x) for flattened images x [N, pixels].
    public func encode(_ x: Tensor) -> (mean: Tensor, logVariance: Tensor) {
        let h = encoder(x)
        return (mean(h), logVariance(h))
    }

    /// Bernoulli logits of p(x | z), [N, pixels].
    public func decode(_ z: Tensor) -> Tensor { decoder(z) }

    /// log p(x, z_i) - log q(z_i | x) for k samples per example: [k, N].
    public func logImportanceWeights(_ x: Tensor, samples k: Int, generator: inout RandomGenerator) -> Tensor {
        let (mu, logVar) = encode(x)
        let n = x.shape[0], d = options.latentDimension
        let eps = Tensor.normal([k, n, d], generator: &generator)
        let z = mu.unsqueezed(0) + (logVar * 0.5).exp().unsqueezed(0) * eps                       // [k, N, d]
        let logits = decode(z.reshaped([k * n, d])).reshaped([k, n, -1])
        let logLikelihood = -binaryCrossEntropyWithLogits(logits, x.unsqueezed(0).expanded(to: logits.shape), reduction: .none)
            .sum(alongAxis: 2)
        let halfLog2Pi = Float(0.5 * Foundation.log(2 * Double.pi)) * Float(d)
        let logPrior = -0.5 * z.squared().sum(alongAxis: 2) - halfLog2Pi
        // With z = mu + sigma eps: log q(z | x) = -1/2 sum(eps^2 + log sigma^2) - d/2 log 2 pi.
        let logPosterior = -0.5 * (eps.squared().sum(alongAxis: 2) + logVar.sum(alongAxis: 1).unsqueezed(0)) - halfLog2Pi
        return logLikelihood + logPrior - logPosterior
    }

    /// The bound L_k per example, [N]: logsumexp over samples minus log k.
    public func bound(_ x: Tensor, samples k: Int, generator: inout RandomGenerator) -> Tensor {
        logImportanceWeights(x, samples: k, generator: &generator).logSumExp(alongAxis: 0) - Float(Foundation.log(Double(k)))
    }

    /// The ELBO per example with the analytic KL: reconstruction term and KL, [N] each.
    public func elbo(_ x: Tensor, generator: inout RandomGenerator) -> (elbo: Tensor, reconstruction: Tensor, kl: Tensor) {
        let (mu, logVar) = encode(x)
        let z = mu + (logVar * 0.5).exp() * Tensor.normal(mu.shape, generator: &generator)
        let reconstruction = -binaryCrossEntropyWithLogits(decode(z), x, reduction: .none).sum(alongAxis: 1)
        let kl = 0.5 * (mu.squared() + logVar.exp() - logVar - 1).sum(alongAxis: 1)
        return (reconstruction - kl, reconstruction, kl)
    }

    public func trainStep(_ batch: Batch, generator: inout RandomGenerator) -> [String: Float] {
        let x = batch.images.flattened()
        if options.importanceSamples == 1 {
            let (elbo, reconstruction, kl) = elbo(x, generator: &generator)
            let loss = -elbo.mean()
            optimizer.minimize(loss)
            return ["loss": loss.scalar, "reconstruction": -reconstruction.mean().scalar, "kl": kl.mean().scalar]
        }
        let loss = -bound(x, samples: options.importanceSamples, generator: &generator).mean()
        optimizer.minimize(loss)
        return ["loss": loss.scalar]
    }

    public func sample(count: Int, generator: inout RandomGenerator) -> Tensor {
        let z = Tensor.normal([count, options.latentDimension], generator: &generator)
        return decode(z).sigmoid().reshaped([count] + imageShape)
    }

    /// Decoded means along straight lines between the latent means of pairs of images:
    /// [pairs * steps, C, H, W].
    public func interpolate(from a: Tensor, to b: Tensor, steps: Int) -> Tensor {
        let za = encode(a.flattened()).mean, zb = encode(b.flattened()).mean
        let rows = (0..<steps).map { i -> Tensor in
            let t = Float(i) / Float(max(steps - 1, 1))
            return za * (1 - t) + zb * t
        }
        let z = Tensor.stack(rows, axis: 1).reshaped([-1, options.latentDimension])
        return decode(z).sigmoid().reshaped([-1] + imageShape)
    }
}

/// The importance-sampled negative log-likelihood, -log p(x) ~= -(logsumexp_i log w_i - log k),
/// in nats per example, for `k` samples taken `chunk` at a time (a running log-sum-exp, so k =
/// 5000 needs no more memory than `chunk`).
public func importanceSampledNLL(_ model: VAE, _ x: Tensor, k: Int, chunk: Int = 500, generator: inout RandomGenerator) -> Tensor {
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
