import Foundation
import TestSupport
import XCTest
@testable import GenerativeModels
import NeuralNetwork
import TensorEngine

final class StyleGANTests: XCTestCase {
    func generator(seed: UInt64 = 0) -> StyleGenerator {
        var o = StyleGenerator.Options()
        o.latentDimension = 8; o.styleDimension = 6; o.mappingLayers = 3; o.features = 8; o.minimumFeatures = 4
        var rng = RandomGenerator(seed: seed)
        return StyleGenerator(o, imageShape: [1, 16, 16], generator: &rng)
    }

    /// Demodulated weights have unit L2 norm per output channel, whatever the style.
    func testDemodulatedWeightsHaveUnitNorm() {
        var rng = RandomGenerator(seed: 1)
        let conv = ModulatedConv2d(5, 4, kernel: 3, styleDimension: 6, generator: &rng)
        let styles = randomTensor([3, 5], seed: 2, scale: 3)
        let norms = conv.styledWeights(styles).squared().sum(alongAxes: [2, 3, 4]).sqrt()
        assertClose(norms, [Float](repeating: 1, count: 12), tolerance: 1e-4)
    }

    /// A style of ones (the affine's weight zero, its bias one) leaves the convolution plain.
    func testModulationByOnesIsThePlainConvolution() {
        var rng = RandomGenerator(seed: 3)
        let conv = ModulatedConv2d(3, 2, kernel: 3, styleDimension: 4, demodulate: false, generator: &rng)
        withoutGradients { conv.affine.weight.assign(Tensor.zeros(conv.affine.weight.value.shape)) }
        let x = randomTensor([2, 3, 5, 5], seed: 4)
        let plain = conv2d(x, conv.weight.value / Float(27).squareRoot(), padding: 1)
        assertClose(conv(x, randomTensor([2, 4], seed: 5)), plain.scalars, tolerance: 1e-5)
    }

    /// Equalized learning rate: the stored weights are N(0, 1) / lrMultiplier and are scaled by
    /// lrMultiplier / sqrt(fan_in) at every call, so the gradient reaching a stored weight is that
    /// scale times the gradient of the weight actually used.
    func testEqualizedLearningRateScalesAtRunTime() {
        var rng = RandomGenerator(seed: 6)
        let layer = EqualizedLinear(400, 300, lrMultiplier: 0.01, generator: &rng)
        let stored = layer.weight.value.scalars
        let mean = stored.reduce(0, +) / Float(stored.count)
        let sd = (stored.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(stored.count)).squareRoot()
        XCTAssertEqual(sd, 100, accuracy: 2, "N(0, 1) / 0.01")
        let x = randomTensor([2, 400], seed: 7)
        let effective = layer.weight.value * (0.01 / 20)
        assertClose(layer(x), linear(x, weight: effective, bias: layer.bias.value * 0.01).scalars, tolerance: 1e-5)
        let g = gradients(of: layer(x).sum(), wrt: [layer.weight.value])[0]
        let byHand = x.sum(alongAxis: 0).unsqueezed(0).expanded(to: [300, 400]) * (0.01 / 20)
        assertClose(g, byHand.scalars, tolerance: 1e-5)
    }

    /// Truncation: psi = 0 takes every w to w_avg, psi = 1 leaves w as it is.
    func testTruncation() {
        let g = generator()
        withoutGradients { g.averageStyle.value = randomTensor([6], seed: 8) }
        let w = g.map(randomTensor([4, 8], seed: 9))
        for row in 0..<4 { assertClose(g.truncated(w, psi: 0).sliced(axis: 0, row..<row + 1), g.averageStyle.value.scalars) }
        XCTAssertEqual(g.truncated(w, psi: 1).scalars, w.scalars)
        let half = g.truncated(w, psi: 0.5)
        assertClose(half, ((w + g.averageStyle.value.unsqueezed(0)) * 0.5).scalars, tolerance: 1e-5)
    }

    /// A crossover at layer k takes layers < k from the first latent and >= k from the second; the
    /// synthesis reads them layer by layer, so another crossover gives another image.
    func testMixingCrossover() {
        let g = generator()
        XCTAssertEqual(g.styleCount, 6, "4 x 4: one convolution; 8 and 16: two each; one more for the last toRGB")
        let a = g.map(randomTensor([2, 8], seed: 10)), b = g.map(randomTensor([2, 8], seed: 11))
        let mixed = g.mixed(a, b, crossover: 2)
        XCTAssertEqual(mixed.shape, [2, 6, 6])
        for layer in 0..<6 {
            let expected = layer < 2 ? a : b
            XCTAssertEqual(mixed.sliced(axis: 1, layer..<layer + 1).squeezed(1).scalars, expected.scalars, "layer \(layer)")
        }
        var none: RandomGenerator? = nil
        let image = g.synthesize(mixed, noise: &none)
        XCTAssertEqual(image.shape, [2, 1, 16, 16])
        var again: RandomGenerator? = nil
        XCTAssertEqual(g.synthesize(g.mixed(a, b, crossover: 2), noise: &again).scalars, image.scalars, "fixed noise: the same image")
        var other: RandomGenerator? = nil
        XCTAssertNotEqual(g.synthesize(g.mixed(a, b, crossover: 3), noise: &other).scalars, image.scalars)
    }

    /// Noise: drawn maps change the image once the strengths are non-zero; seeded draws repeat.
    func testNoiseInputs() {
        let g = generator()
        withoutGradients { for c in g.convolutions { c.noiseStrength.assign(Tensor.full(c.noiseStrength.value.shape, 0.5)) } }
        let styles = g.broadcast(g.map(randomTensor([1, 8], seed: 12)))
        var one: RandomGenerator? = RandomGenerator(seed: 1), same: RandomGenerator? = RandomGenerator(seed: 1), two: RandomGenerator? = RandomGenerator(seed: 2)
        let a = g.synthesize(styles, noise: &one)
        XCTAssertEqual(g.synthesize(styles, noise: &same).scalars, a.scalars)
        XCTAssertNotEqual(g.synthesize(styles, noise: &two).scalars, a.scalars)
    }
}
