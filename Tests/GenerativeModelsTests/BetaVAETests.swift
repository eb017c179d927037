import TensorEngine
import XCTest
@testable import GenerativeModels

/// The β-VAE's loss is the VAE's with β on the KL term: equal at β = 1, and the terms'
/// weighted sum otherwise.
final class BetaVAETests: XCTestCase {
    func model(beta: Float) -> (BetaVAE, VAE) {
        var options = BetaVAE.Options()
        options.vae.latentDimension = 3
        options.vae.hiddenDimensions = [10]
        options.beta = beta
        var a = RandomGenerator(seed: 4), b = RandomGenerator(seed: 4)
        return (BetaVAE(options, imageShape: [1, 4, 4], generator: &a), VAE(options.vae, imageShape: [1, 4, 4], generator: &b))
    }

    func batch() -> (x: Tensor, eps: Tensor) {
        var rng = RandomGenerator(seed: 9)
        let pixels = Tensor.uniform([5, 16], generator: &rng).scalars.map { $0 > 0.5 ? Float(1) : 0 }
        return (Tensor(shape: [5, 16], scalars: pixels), Tensor.normal([5, 3], generator: &rng))
    }

    func testBetaOneIsTheVAE() {
        let (beta, vae) = model(beta: 1)
        let (x, eps) = batch()
        XCTAssertEqual(beta.loss(x, noise: eps)["loss"]!.scalar, vae.loss(x, noise: eps)["loss"]!.scalar)
    }

    func testTheKLTermIsWeightedByBeta() {
        let (beta, vae) = model(beta: 3)
        let (x, eps) = batch()
        let terms = vae.elbo(x, noise: eps)
        let expected = -(terms.reconstruction.scalars.reduce(0, +) - 3 * terms.kl.scalars.reduce(0, +)) / 5
        XCTAssertEqual(beta.loss(x, noise: eps)["loss"]!.scalar, expected, accuracy: 1e-3 * abs(expected))
        XCTAssertNotEqual(beta.loss(x, noise: eps)["loss"]!.scalar, vae.loss(x, noise: eps)["loss"]!.scalar, accuracy: 1e-3)
        XCTAssertGreaterThan(terms.kl.scalars.reduce(0, +), 0.01, "a KL of zero would hide beta")
    }
}
