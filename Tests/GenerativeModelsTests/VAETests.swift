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

    func testGaussianDecoderLikelihoodKnownAnswer() throws {
        var options = VAE.Options()
        options.latentDimension = 2
        options.hiddenDimensions = [8]
        options.likelihood = .gaussian
        var rng = RandomGenerator(seed: 12)
        let vae = VAE(options, imageShape: [1, 2, 2], generator: &rng)
        // sigma^2 = e^-2 for every pixel: at x = mu each pixel gives -1/2 (log 2 pi - 2); one unit
        // away adds -1/2 e^2.
        let mu = Tensor([[0.2, 0.4, 0.6, 0.8]])
        let base = -0.5 * (Foundation.log(2 * Double.pi) - 2)
        XCTAssertEqual(Double(vae.logLikelihood(mu, decoded: mu).scalar), 4 * base, accuracy: 1e-4)
        XCTAssertEqual(Double(vae.logLikelihood(mu + Tensor([1, 0, 0, 0]), decoded: mu).scalar), 4 * base - 0.5 * exp(2.0), accuracy: 1e-3)
        XCTAssertEqual(vae.manifold(size: 3).shape, [9, 1, 2, 2])
        // Older configurations without the newer keys still load.
        let old = try JSONDecoder().decode(VAE.Options.self, from: Data(#"{"latentDimension": 7, "hiddenDimensions": [5], "importanceSamples": 1, "learningRate": 0.001}"#.utf8))
        XCTAssertEqual(old.latentDimension, 7)
        XCTAssertEqual(old.likelihood, .bernoulli)
    }

    func testConvolutionalVAETrains() {
        var options = VAE.Options()
        options.architecture = .conv
        options.latentDimension = 4
        var rng = RandomGenerator(seed: 13)
        let vae = VAE(options, imageShape: [1, 8, 8], generator: &rng)
        let data = ShapesDataset(count: 32, size: 8, seed: 5)
        var first: Float = 0, last: Float = 0
        for step in 0..<60 {
            let loss = vae.trainStep(data.batch(Array((step % 2 * 16)..<(step % 2 * 16 + 16)), generator: &rng), generator: &rng)["loss"]!
            if step == 0 { first = loss }
            last = loss
        }
        XCTAssertLessThan(last, first * 0.8)
        XCTAssertEqual(vae.sample(count: 3, generator: &rng).shape, [3, 1, 8, 8])
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
