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

    /// A linear-Gaussian model, p(z) = N(0, I), p(x | z) = N(W z + b, s2 I), with W's columns
    /// orthogonal so the exact posterior is diagonal, and the encoder set to that posterior:
    /// every importance weight equals p(x), and the importance-sampled NLL equals the closed form
    ///   -log p(x) = 1/2 [n log 2 pi + log det C + (x - b)' C^-1 (x - b)],  C = W W' + s2 I,
    /// computed here in Double through the determinant lemma and Woodbury's identity.
    func testExactPosteriorGivesTheClosedFormLikelihood() throws {
        var options = VAE.Options()
        options.latentDimension = 2
        options.hiddenDimensions = []
        options.likelihood = .gaussian
        var rng = RandomGenerator(seed: 0)
        let vae = VAE(options, imageShape: [1, 2, 3], generator: &rng)
        let s2 = 0.3
        let w: [[Double]] = [[1, 2, 0, -1, 0.5, 0].map { 0.7 * $0 }, [0, 0.5, 1, 1, 0, -1]]   // columns of W, orthogonal
        let b: [Double] = [0.1, -0.2, 0.3, 0, 0.5, -0.1]
        let m = w.map { column in 1 + column.reduce(0) { $0 + $1 * $1 } / s2 }                 // M = I + W'W / s2, diagonal
        // Posterior: mean M^-1 W' (x - b) / s2, variance M^-1.
        let encoderWeight = (0..<2).flatMap { j in w[j].map { $0 / (m[j] * s2) } }
        let encoderBias = (0..<2).map { j in -zip(w[j], b).reduce(0) { $0 + $1.0 * $1.1 } / (m[j] * s2) }
        let f = { (values: [Double], shape: [Int]) in Tensor(shape: shape, scalars: values.map(Float.init)) }
        try vae.load(stateDict: [
            "mean.weight": f(encoderWeight, [2, 6]), "mean.bias": f(encoderBias, [2]),
            "log_variance.weight": Tensor.zeros([2, 6]), "log_variance.bias": f(m.map { -Foundation.log($0) }, [2]),
            "decoder.layers.0.weight": f((0..<6).flatMap { i in [w[0][i], w[1][i]] }, [6, 2]), "decoder.layers.0.bias": f(b, [6]),
            "pixel_log_variance": f(Array(repeating: Foundation.log(s2), count: 6), [6]),
        ])
        let points: [[Double]] = [[0.3, -1, 0.2, 0.8, 0, 1.5], [2, 0.4, -0.7, -1.2, 0.9, 0], [0, 0, 0, 0, 0, 0]]
        let nll = importanceSampledNLL(vae, f(points.flatMap { $0 }, [3, 6]), k: 64, chunk: 16, generator: &rng)
        for (i, x) in points.enumerated() {
            let d = zip(x, b).map { $0 - $1 }
            // (x-b)' C^-1 (x-b) = |d|^2 / s2 - sum_j (w_j . d)^2 / (s2^2 m_j);  log det C = n log s2 + sum_j log m_j.
            let projections = w.map { column in zip(column, d).reduce(0) { $0 + $1.0 * $1.1 } }
            let quadratic = d.reduce(0) { $0 + $1 * $1 } / s2 - (0..<2).reduce(0) { $0 + projections[$1] * projections[$1] / (s2 * s2 * m[$1]) }
            let logDet = 6 * Foundation.log(s2) + m.reduce(0) { $0 + Foundation.log($1) }
            let expected = 0.5 * (6 * Foundation.log(2 * Double.pi) + logDet + quadratic)
            XCTAssertEqual(Double(nll.scalars[i]), expected, accuracy: 1e-4 * max(1, abs(expected)), "point \(i)")
        }
        // Every weight is the same number: the estimate has no variance at all.
        let weights = vae.logImportanceWeights(f(points[0], [1, 6]), samples: 32, generator: &rng)
        XCTAssertLessThan(weights.max().scalar - weights.min().scalar, 1e-4)
    }

    /// A chunked importance-sampled NLL equals the unchunked one for the same draws.
    func testChunkedNLLMatchesOneShot() {
        let vae = smallVAE(seed: 7)
        let x = binaryImages(4, seed: 8)
        var a = RandomGenerator(seed: 9), b = RandomGenerator(seed: 9), d = RandomGenerator(seed: 9)
        let chunked = importanceSampledNLL(vae, x, k: 60, chunk: 60, generator: &a)
        // In chunks of 16 and of 7 (which does not divide 60): the same draws, so the same figure.
        for (size, split) in [(16, importanceSampledNLL(vae, x, k: 60, chunk: 16, generator: &b)),
                              (7, importanceSampledNLL(vae, x, k: 60, chunk: 7, generator: &d))] {
            for (p, q) in zip(chunked.scalars, split.scalars) { XCTAssertEqual(p, q, accuracy: 1e-4 * max(1, abs(q)), "chunks of \(size)") }
        }
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
