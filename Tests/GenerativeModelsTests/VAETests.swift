import Foundation
import TestSupport
import XCTest
@testable import GenerativeModels
import Datasets
import NeuralNetwork
import TensorEngine

final class VAETests: XCTestCase {
    func smallVAE(seed: UInt64 = 0, k: Int = 1) -> VAE {
        var options = VAE.Options()
        options.latentDimension = 4
        options.hiddenDimensions = [16]
        options.importanceSamples = k
        var rng = RandomGenerator(seed: seed)
        return VAE(options, imageShape: [1, 6, 6], generator: &rng)
    }

    func binaryImages(_ n: Int, seed: UInt64) -> Tensor {
        var rng = RandomGenerator(seed: seed)
        return Tensor.bernoulli([n, 36], probability: 0.3, generator: &rng)
    }

    /// The analytic KL(q(z|x) || N(0, I)) against a Monte-Carlo average of log q - log p, which
    /// the importance weights compute from their parts.
    func testAnalyticKLMatchesMonteCarlo() {
        let vae = smallVAE()
        let x = binaryImages(3, seed: 1)
        var rng = RandomGenerator(seed: 2)
        let (_, reconstruction, kl) = withoutGradients { vae.elbo(x, generator: &rng) }
        // E_q[log w] = E_q[log p(x|z)] - KL; with many samples, mean log w + KL ~ E_q[log p(x|z)].
        let logW = withoutGradients { vae.logImportanceWeights(x, samples: 20_000, generator: &rng) }.mean(alongAxis: 0)
        var rng2 = RandomGenerator(seed: 3)
        let reconstructionMC = withoutGradients {
            (0..<200).map { _ in vae.elbo(x, generator: &rng2).reconstruction }.reduce(Tensor.zeros([3]), +) / 200
        }
        for i in 0..<3 {
            XCTAssertEqual(logW.scalars[i], reconstructionMC.scalars[i] - kl.scalars[i], accuracy: 0.05 * Swift.max(1, abs(logW.scalars[i])))
        }
        XCTAssert(kl.scalars.allSatisfy { $0 >= 0 })
        _ = reconstruction
    }

    /// L_1 <= L_5 <= L_50 (Burda et al., theorem 1), here averaged over examples and draws.
    func testIWAEBoundRisesWithSamples() {
        let vae = smallVAE(seed: 4)
        let x = binaryImages(8, seed: 5)
        var rng = RandomGenerator(seed: 6)
        let bounds = [1, 5, 50].map { k in
            withoutGradients { (0..<40).map { _ in vae.bound(x, samples: k, generator: &rng).mean().scalar }.reduce(0, +) / 40 }
        }
        XCTAssertLessThan(bounds[0], bounds[1])
        XCTAssertLessThan(bounds[1], bounds[2])
    }

    /// A chunked importance-sampled NLL equals the unchunked one for the same draws.
    func testChunkedNLLMatchesOneShot() {
        let vae = smallVAE(seed: 7)
        let x = binaryImages(4, seed: 8)
        var a = RandomGenerator(seed: 9), b = RandomGenerator(seed: 9)
        let chunked = importanceSampledNLL(vae, x, k: 60, chunk: 60, generator: &a)
        let split = importanceSampledNLL(vae, x, k: 60, chunk: 60, generator: &b)
        XCTAssertEqual(chunked.scalars, split.scalars)
        var c = RandomGenerator(seed: 9)
        let direct = withoutGradients { -(vae.logImportanceWeights(x, samples: 60, generator: &c).logSumExp(alongAxis: 0) - Float(log(60.0))) }
        for (p, q) in zip(chunked.scalars, direct.scalars) { XCTAssertEqual(p, q, accuracy: 1e-3) }
    }

    func testTrainingLowersTheLoss() {
        let vae = smallVAE(seed: 10)
        let data = ShapesDataset(count: 64, size: 6, seed: 3)
        var rng = RandomGenerator(seed: 11)
        var first: Float = 0, last: Float = 0
        for step in 0..<300 {
            let batch = data.batch(Array((step * 16 % 64)..<(step * 16 % 64 + 16)), generator: &rng)
            let loss = vae.trainStep(batch, generator: &rng)["loss"]!
            if step == 0 { first = loss }
            last = loss
        }
        XCTAssertLessThan(last, first * 0.75, "loss went from \(first) to \(last)")
    }
}
