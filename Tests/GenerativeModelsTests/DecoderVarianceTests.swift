import Foundation
import TestSupport
import XCTest
@testable import GenerativeModels
import Datasets
import NeuralNetwork
import TensorEngine

/// The VAE's Gaussian decoder with sigma^2(z), and the dequantised data it is measured on.
final class DecoderVarianceTests: XCTestCase {
    func learnedVAE(architecture: Autoencoder.Architecture = .mlp, seed: UInt64 = 0) -> VAE {
        var options = VAE.Options()
        (options.latentDimension, options.hiddenDimensions, options.likelihood) = (3, [16], .gaussian)
        options.decoderVariance = .learned
        options.architecture = architecture
        var rng = RandomGenerator(seed: seed)
        return VAE(options, imageShape: [1, 8, 8], generator: &rng)
    }

    /// Known answers: a decoder output of means m and raw log variances r gives the Gaussian of
    /// mean m and log variance r where r is well above the floor, and the floor where r is far
    /// below it.
    func testTheLikelihoodIsTheGaussianOfTheDecodedMeanAndVariance() {
        let vae = learnedVAE()
        let pixels = 64
        let means = Tensor((0..<pixels).map { Float($0) / 64 }), x = Tensor((0..<pixels).map { Float($0 % 7) / 7 })
        let floor = VAE.logVarianceFloor
        for raw: Float in [-1.5, 0.5, floor - 30] {
            let decoded = Tensor.concatenate([means, Tensor.full([pixels], raw)], axis: 0).reshaped([1, 2 * pixels])
            let logVar = Double(floor) + Foundation.log(1 + Foundation.exp(Double(raw - floor)))
            var expected = 0.0
            for i in 0..<pixels {
                let d = Double(x.scalars[i] - means.scalars[i])
                expected += -0.5 * (Foundation.log(2 * Double.pi) + logVar + d * d / Foundation.exp(logVar))
            }
            let got = Double(vae.logLikelihood(x.reshaped([1, pixels]), decoded: decoded).scalar)
            XCTAssertEqual(got, expected, accuracy: 1e-4 * max(1, abs(expected)), "raw log variance \(raw)")
        }
        // The sample images are the means, clipped.
        let decoded = Tensor.concatenate([means * 2 - 0.5, Tensor.zeros([pixels])], axis: 0).reshaped([1, 2 * pixels])
        assertClose(vae.images(decoded), (means * 2 - 0.5).clamped(min: 0, max: 1).scalars)
    }

    /// Its gradients through the means and the floored variances match finite differences.
    func testTheLikelihoodsGradients() {
        let vae = learnedVAE()
        let x = randomTensor([2, 64], seed: 4).sigmoid()
        assertGradientsMatchFiniteDifferences([randomTensor([2, 128], seed: 5)]) { vae.logLikelihood(x, decoded: $0[0]) }
    }

    /// The variance is a function of z: two codes give two different sigma maps, and training
    /// lowers the loss, for the MLP and the convolutional decoder.
    func testTheDeviationDependsOnTheCodeAndTrains() {
        for architecture in [Autoencoder.Architecture.mlp, .conv] {
            let vae = learnedVAE(architecture: architecture)
            var rng = RandomGenerator(seed: 1)
            let (mean, deviation) = vae.decodedGaussians(count: 2, generator: &rng)
            XCTAssertEqual(mean.shape, [2, 1, 8, 8]); XCTAssertEqual(deviation.shape, [2, 1, 8, 8])
            let s = deviation.scalars
            XCTAssertGreaterThan(zip(s[0..<64], s[64..<128]).map { abs($0 - $1) }.max()!, 1e-4, "\(architecture)")
            XCTAssert(s.allSatisfy { $0 >= 0.001 * 0.999 }, "sigma below the floor")
            let data = DequantizedImages(ShapesDataset(count: 64, size: 8, seed: 1), fixedNoise: false)
            var losses: [Float] = []
            for step in 0..<100 {
                let batch = data.batch(Array((step % 4) * 16..<(step % 4 + 1) * 16), generator: &rng)
                losses.append(vae.trainStep(batch, generator: &rng)["loss"]!)
            }
            XCTAssertLessThan(losses.suffix(8).reduce(0, +), 0.95 * losses.prefix(8).reduce(0, +), "\(architecture): \(losses)")
        }
    }

    /// Dequantised levels lie in their bins; the test split's noise is fixed per example, the
    /// training split's fresh per batch.
    func testDequantisedLevels() {
        let base = ShapesDataset(count: 10, size: 8, seed: 2)
        var rng = RandomGenerator(seed: 0)
        let levels = base.images(Array(0..<10)).scalars.map { ($0 * 255).rounded() }
        let test = DequantizedImages(base, fixedNoise: true), train = DequantizedImages(base, fixedNoise: false)
        let a = test.batch(Array(0..<10), generator: &rng).images.scalars
        XCTAssertEqual(test.batch([3, 4], generator: &rng).images.scalars, Array(a[3 * 64..<5 * 64]), "fixed per example")
        for (v, k) in zip(a, levels) { XCTAssert(v >= k / 256 && v < (k + 1) / 256, "\(v) outside bin \(k)") }
        let b = train.batch(Array(0..<10), generator: &rng).images.scalars
        let c = train.batch(Array(0..<10), generator: &rng).images.scalars
        XCTAssertNotEqual(b, c, "fresh noise per batch")
        for (v, k) in zip(b, levels) { XCTAssert(v >= k / 256 && v < (k + 1) / 256) }
        XCTAssertEqual(test.levels, 256)
    }
}
