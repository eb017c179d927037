import ArgumentParser
import TensorEngine

/// The β-VAE (Higgins et al. 2017): the VAE trained on
///     E_q[log p(x|z)] - β KL(q(z|x) || p(z)),
/// whose β > 1 trades reconstruction for a code closer to the factorised prior (β = 1 is the
/// VAE). Its `elbo` and `nll` are measured as any VAE's, at β = 1: the bound on log p(x).
public final class BetaVAE: VAE {
    public struct Options: ModelOptions {
        public var vae = VAE.Options()
        /// The KL term's weight (4 in Higgins et al.'s MNIST-sized experiments).
        public var beta: Float = 4
        public init() {}

        public func makeModel(imageShape: [Int], generator: inout RandomGenerator) throws -> TrainableModel {
            BetaVAE(self, imageShape: imageShape, generator: &generator)
        }
        public func check(imageShape: [Int]) throws { try vae.check(imageShape: imageShape) }
        public var defaultDataset: String { vae.defaultDataset }
    }

    /// The KL term's weight.
    public let beta: Float

    public init(_ options: Options, imageShape: [Int], generator: inout RandomGenerator) {
        beta = options.beta
        super.init(options.vae, imageShape: imageShape, generator: &generator)
    }

    /// -(reconstruction - β KL), averaged over the batch, with the two terms to log.
    public override func loss(_ x: Tensor, noise eps: Tensor) -> [String: Tensor] {
        let (_, reconstruction, kl) = elbo(x, noise: eps)
        return ["loss": -(reconstruction - beta * kl).mean(), "reconstruction": -reconstruction.mean(), "kl": kl.mean()]
    }
}

public struct BetaVAEFlags: OptionFlags {
    @OptionGroup var vae: VAEFlags
    @Option(help: "The weight beta of the KL term (default 4; 1 is the VAE).") var beta: Float?
    public init() {}
    public func validate() throws {
        try ValidationError.requireWeight(beta, "--beta")
    }
    public func apply(to o: inout BetaVAE.Options) {
        vae.apply(to: &o.vae)
        o.beta = beta ?? o.beta
    }
}
