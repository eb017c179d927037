import Foundation
import TestSupport
import XCTest
@testable import GenerativeModels
import Datasets
import NeuralNetwork
import TensorEngine

final class PixelCNNPlusPlusTests: XCTestCase {
    func sigmoid(_ x: Double) -> Double { 1 / (1 + Foundation.exp(-x)) }

    /// Parameters [1, P, 1, 1] of one pixel from lists (logits, means, log scales, coefficients).
    func parameters(_ values: [Float]) -> Tensor { Tensor(shape: [1, values.count, 1, 1], scalars: values) }

    /// Every value 0...255 of a grey pixel at once: [256, 1, 1, 1] against the same parameters.
    func allValues(_ p: Tensor, components k: Int, fused: Bool = true) -> [Double] {
        let images = Tensor(shape: [256, 1, 1, 1], scalars: (0..<256).map { Float($0) / 255 })
        let repeated = p.repeated([256, 1, 1, 1])
        return DiscretizedLogisticMixture.logLikelihood(repeated, images: images, components: k, fused: fused).scalars.map { Foundation.exp(Double($0)) }
    }

    /// The 256 probabilities sum to 1, for means inside, at and beyond the edges and scales from
    /// narrow (the density stand-in) to wide; the edge bins take the tails as in the paper.
    func testProbabilitiesSumToOneAndEdgesTakeTheTails() {
        for (mean, logScale) in [(Float(0.1), Float(-3)), (-1, -2), (1.2, -1), (0.3, -7), (-0.5, 1)] {
            for fused in [true, false] {
                let p = allValues(parameters([0.3, -0.2, mean, 0.5, logScale, -4]), components: 2, fused: fused)
                XCTAssertEqual(p.reduce(0, +), 1, accuracy: 2e-3, "mean \(mean), log scale \(logScale), fused \(fused)")
            }
        }
        let (mu, s) = (0.2, Foundation.exp(-2.0))
        let p = allValues(parameters([0, Float(mu), -2]), components: 1)
        XCTAssertEqual(p[0], sigmoid((-1 + 1.0 / 255 - mu) / s), accuracy: 1e-6)
        XCTAssertEqual(p[255], 1 - sigmoid((1 - 1.0 / 255 - mu) / s), accuracy: 1e-6)
        let value = 140.0, x = value / 127.5 - 1
        XCTAssertEqual(p[140], sigmoid((x + 1.0 / 255 - mu) / s) - sigmoid((x - 1.0 / 255 - mu) / s), accuracy: 1e-5)
    }

    /// Grey images take one fused engine op; it must be the composition of engine ops, value and
    /// gradient, in every case: the edge values 0 and 255, inner bins wide and narrow (the
    /// density stand-in), log scales clamped at -7; over 18 pixels per image (a full vector and a
    /// partial one). Its gradient also against finite differences, away from the cases' borders.
    func testFusedGreyLikelihoodIsTheComposition() {
        let (k, h, w) = (3, 2, 9)
        let raw = randomTensor([2, 3 * k, h, w], seed: 8)
        let parameters = Tensor.concatenate([raw.sliced(axis: 1, 0..<k), raw.sliced(axis: 1, k..<2 * k) * 0.6,
                                             raw.sliced(axis: 1, 2 * k..<3 * k) * 2.5 - 4], axis: 1).requiringGradient()
        let images = Tensor(shape: [2, 1, h, w], scalars: (0..<2 * h * w).map { Float([0, 255, 3, 128, 250, 77, 191][$0 % 7]) / 255 })
        let fused = DiscretizedLogisticMixture.logLikelihood(parameters, images: images, components: k)
        let composed = DiscretizedLogisticMixture.logLikelihood(parameters, images: images, components: k, fused: false)
        assertClose(fused, composed.scalars, tolerance: 1e-4)
        let probe = Tensor([0.7, -1.3])
        let have = gradients(of: (fused * probe).sum(), wrt: [parameters])[0]
        let want = gradients(of: (composed * probe).sum(), wrt: [parameters])[0]
        assertClose(have, want.scalars, tolerance: 1e-3)
        // Every case occurred: some log scales were clamped (zero gradient), some bins narrow.
        let logScales = parameters.sliced(axis: 1, 2 * k..<3 * k).scalars
        XCTAssert(logScales.contains { $0 < -7 } && logScales.contains { $0 > -3 })
        XCTAssert(have.sliced(axis: 1, 2 * k..<3 * k).scalars.contains(0))
        let moderate = Tensor.concatenate([raw.sliced(axis: 1, 0..<k), raw.sliced(axis: 1, k..<2 * k) * 0.3,
                                           raw.sliced(axis: 1, 2 * k..<3 * k) * 0.3 - 1.5], axis: 1)
        assertGradientsMatchFiniteDifferences([moderate]) {
            DiscretizedLogisticMixture.logLikelihood($0[0], images: images, components: k) * probe
        }
    }

    /// One component (responsibility 1), one pixel per case, so no case hides behind a mixture
    /// weight: the bottom and top edge bins, a wide and a narrow inner bin, and log scales just
    /// below the clamp at -7 (no gradient) and just above it.
    func testFusedGreyLikelihoodInEveryCase() {
        let x = 128.0 / 127.5 - 1, near = Float(x + 0.5 / 255)
        let means: [Float] = [-0.9, 0.9, 0, 0.5, near, near], logScales: [Float] = [-2, -2, -3, -4, -8, -6.9]
        let parameters = Tensor(shape: [1, 3, 1, 6], scalars: [Float](repeating: 0, count: 6) + means + logScales).requiringGradient()
        let images = Tensor(shape: [1, 1, 1, 6], scalars: [0, 255, 128, 128, 128, 128].map { Float($0) / 255 })
        let fused = DiscretizedLogisticMixture.logLikelihood(parameters, images: images, components: 1)
        let composed = DiscretizedLogisticMixture.logLikelihood(parameters, images: images, components: 1, fused: false)
        assertClose(fused, composed.scalars, tolerance: 1e-5)
        let have = gradients(of: fused.sum(), wrt: [parameters])[0], want = gradients(of: composed.sum(), wrt: [parameters])[0]
        assertClose(have, want.scalars, tolerance: 1e-4)
        let (dMean, dLogScale) = (have.sliced(axis: 1, 1..<2).scalars, have.sliced(axis: 1, 2..<3).scalars)
        XCTAssertEqual(dLogScale[4], 0)
        XCTAssertNotEqual(dMean[4], 0)
        XCTAssertNotEqual(dLogScale[5], 0)
        XCTAssert(dLogScale[0..<4].allSatisfy { $0 != 0 } && dMean[0..<4].allSatisfy { $0 != 0 })
    }

    /// Colour: the mean of green moves with red by tanh(coefficient), blue's with red and green;
    /// summed over all of green and blue, the probability is red's own.
    func testColourMeansAreConditionedOnEarlierColours() {
        // K = 1: logit, means (r, g, b), log scales (r, g, b), coefficients (g<-r, b<-r, b<-g).
        let coefficients: [Float] = [0.5, -0.3, 0.8]
        let values: [Float] = [0, 0.1, -0.2, 0.3, -2, -2.5, -1.5] + coefficients.map { Float(Foundation.atanh(Double($0))) }
        let (r, g, b) = (200.0, 60.0, 128.0)
        let images = Tensor(shape: [1, 3, 1, 1], scalars: [r, g, b].map { Float($0 / 255) })
        let logP = Double(DiscretizedLogisticMixture.logLikelihood(parameters(values), images: images, components: 1).scalar)
        func bin(_ v: Double, mean: Double, logScale: Double) -> Double {
            let x = v / 127.5 - 1, s = Foundation.exp(logScale)
            return sigmoid((x + 1.0 / 255 - mean) / s) - sigmoid((x - 1.0 / 255 - mean) / s)
        }
        let (xr, xg) = (r / 127.5 - 1, g / 127.5 - 1)
        let red: Double = bin(r, mean: 0.1, logScale: -2)
        let green: Double = bin(g, mean: -0.2 + 0.5 * xr, logScale: -2.5)
        let blueMean: Double = 0.3 - 0.3 * xr + 0.8 * xg
        let expected = red * green * bin(b, mean: blueMean, logScale: -1.5)
        XCTAssertEqual(logP, Foundation.log(expected), accuracy: 1e-3)
        // Sum over every green and blue for a fixed red, two components.
        let two: [Float] = [0.4, -0.4, 0.1, 0.5, -0.2, 0.0, 0.3, -0.6, -2, -1.5, -2.5, -1, -2, -1.8, 0.2, -0.7, 0.9, 0.1, -0.4, 0.6]
        var grid: [Float] = []
        for i in 0..<65536 { grid += [Float(r / 255), Float(i / 256) / 255, Float(i % 256) / 255] }
        let many = DiscretizedLogisticMixture.logLikelihood(parameters(two).repeated([65536, 1, 1, 1]),
                                                            images: Tensor(shape: [65536, 3, 1, 1], scalars: grid), components: 2)
        let total = many.scalars.reduce(0.0) { $0 + Foundation.exp(Double($1)) }
        let pi = [Foundation.exp(0.4), Foundation.exp(-0.4)].map { $0 / (Foundation.exp(0.4) + Foundation.exp(-0.4)) }
        let redMarginal: Double = pi[0] * bin(r, mean: 0.1, logScale: -2) + pi[1] * bin(r, mean: 0.5, logScale: -1.5)
        XCTAssertEqual(total, redMarginal, accuracy: 1e-4 + 1e-3 * redMarginal)
    }

    /// Draws follow the mixture: with one narrow logistic at value 100 every draw is 100 (or a
    /// neighbour), and drawing is seeded.
    func testSamplingFollowsTheMixture() {
        let p = parameters([0, Float(100.0 / 127.5 - 1), -6]).repeated([50, 1, 1, 1])
        var a = RandomGenerator(seed: 1), b = RandomGenerator(seed: 1)
        let drawn = DiscretizedLogisticMixture.sample(p, channels: 1, components: 1, generator: &a).scalars
        XCTAssertEqual(drawn, DiscretizedLogisticMixture.sample(p, channels: 1, components: 1, generator: &b).scalars)
        for v in drawn { XCTAssertEqual(Double(v * 255), 100, accuracy: 1.01) }
    }

    /// The two streams never see the pixel they predict or a later one, at any resolution, in
    /// any colour; they do see the pixels around it that come before.
    func testStreamsAreCausal() {
        for channels in [1, 3] {
            var o = PixelCNNOptions()
            o.features = 4; o.layers = 1; o.components = 2; o.dropout = 0
            var rng = RandomGenerator(seed: 0)
            let net = PixelCNNPlusPlusNetwork(o, channels: channels, generator: &rng)
            let x = randomTensor([1, channels, 8, 8], seed: 2).sigmoid().requiringGradient()
            let (row, col) = (5, 3)
            let out = net(x, labels: nil).sliced(starts: [0, 0, row, col], sizes: [1, DiscretizedLogisticMixture.parameterCount(components: 2, channels: channels), 1, 1]).sum()
            let g = gradients(of: out, wrt: [x])[0].scalars.map(abs)
            for channel in 0..<channels {
                for index in 0..<64 {
                    let value = g[channel * 64 + index]
                    if index >= row * 8 + col { XCTAssertEqual(value, 0, "channel \(channel), pixel \(index / 8),\(index % 8)") }
                }
                for (r, c) in [(5, 2), (5, 0), (4, 3), (4, 4), (4, 7), (3, 1), (0, 0)] {
                    XCTAssertGreaterThan(g[channel * 64 + r * 8 + c], 0, "channel \(channel), (\(r), \(c))")
                }
            }
        }
    }

    /// Weight normalisation: each output channel's kernel has norm `gain`. The data-dependent
    /// initialisation gives each output channel mean 0 and standard deviation `initScale` on the
    /// batch it saw, for plain and transposed convolutions; the network's pass initialises every
    /// convolution once, and the flag travels with the checkpoint.
    func testWeightNormAndDataDependentInitialisation() throws {
        var rng = RandomGenerator(seed: 4)
        let x = randomTensor([4, 3, 6, 6], seed: 5)
        for (conv, scale) in [(ShiftedConv(3, 5, kernel: (2, 3), .down, initScale: 0.1, generator: &rng), 0.1),
                              (ShiftedConv(3, 5, kernel: (2, 2), .downRight, stride: 2, transposed: true, generator: &rng), 1)] {
            conv.initializesFromNextInput = true
            let y = conv(x)
            XCTAssertFalse(conv.initializesFromNextInput)
            assertClose(y.mean(alongAxes: [0, 2, 3]), [Float](repeating: 0, count: 5), tolerance: 1e-4)
            assertClose(y.variance(alongAxes: [0, 2, 3]).sqrt(), [Float](repeating: Float(scale), count: 5), tolerance: 1e-3)
            let axes = conv.transposed ? [0, 2, 3] : [1, 2, 3]
            assertClose(conv.normalizedWeight.squared().sum(alongAxes: axes).sqrt(), conv.gain.value.scalars, tolerance: 1e-5)
            XCTAssertNotEqual(conv.gain.value.scalars, [Float](repeating: 1, count: 5))
        }
        var o = PixelCNNOptions()
        o.features = 4; o.layers = 1; o.components = 2
        let net = PixelCNNPlusPlusNetwork(o, channels: 1, generator: &rng)
        XCTAssertFalse(net.isInitialized)
        net.initialize(from: randomTensor([3, 1, 8, 8], seed: 6).sigmoid())
        XCTAssertTrue(net.isInitialized)
        let copy = PixelCNNPlusPlusNetwork(o, channels: 1, generator: &rng)
        try copy.load(stateDict: Dictionary(uniqueKeysWithValues: net.stateDict().map { ($0.name, $0.tensor) }))
        XCTAssertTrue(copy.isInitialized)
    }

    /// Sampling passes only the rows drawn so far, in multiples of 4 (two halvings): the
    /// outputs for those rows are those of the whole image (to rounding).
    func testTopRowsAloneGiveTheirOwnOutputs() {
        var o = PixelCNNOptions()
        o.features = 4; o.layers = 1; o.components = 2; o.dropout = 0
        var rng = RandomGenerator(seed: 0)
        let net = PixelCNNPlusPlusNetwork(o, channels: 1, generator: &rng)
        XCTAssertEqual(net.rowMultiple, 4)
        let x = randomTensor([2, 1, 12, 8], seed: 2).sigmoid()
        let full = net(x, labels: nil)
        for rows in [4, 8] {
            assertClose(net(x.sliced(axis: 2, 0..<rows), labels: nil), full.sliced(axis: 2, 0..<rows).scalars, tolerance: 1e-5, "\(rows) rows")
        }
    }

    /// Learning: 8 x 8 images whose columns each hold one of the values 0, 85, 170, 255. Only
    /// the first row is uncertain (8 ln 4 = 11.09 nats); the untrained mixture spreads its mass
    /// over all 256 values (~250 nats). (Pure black-and-white data would let the mixture rest at a useless
    /// optimum: infinitely wide logistics give each edge bin exactly one half.)
    func testLearnsColumnImages() {
        var rng = RandomGenerator(seed: 11)
        func columns(_ n: Int) -> Tensor {
            var pixels = [Float](repeating: 0, count: n * 64)
            for image in 0..<n {
                for c in 0..<8 {
                    let value = Float(rng.nextInt(below: 4) * 85) / 255
                    for r in 0..<8 { pixels[image * 64 + r * 8 + c] = value }
                }
            }
            return Tensor(shape: [n, 1, 8, 8], scalars: pixels)
        }
        var o = PixelCNNOptions()
        o.features = 16; o.layers = 1; o.components = 3; o.dropout = 0; o.learningRate = 1e-3; o.likelihood = .logisticMixture
        var seeds = RandomGenerator(seed: 2)
        let m = AutoregressiveModel(network: PixelCNNPlusPlusNetwork(o, channels: 1, generator: &seeds), likelihood: .logisticMixture,
                                    imageShape: [1, 8, 8], components: 3, learningRate: o.learningRate)
        (m.network as! PixelCNNPlusPlusNetwork).initialize(from: columns(100))
        let test = columns(200)
        let before = -Double(m.logLikelihood(test).mean().scalar)
        for _ in 0..<300 { _ = m.trainStep(Batch(images: columns(32), labels: nil, indices: Array(0..<32)), generator: &rng) }
        let after = -Double(m.logLikelihood(test).mean().scalar)
        // Learning is slow and noisy this early: a third of the way down is the bar; seeing the
        // value itself would go below 11.09.
        XCTAssertLessThan(after, 0.7 * before, "from \(before) nats")
        XCTAssertGreaterThan(after, 10.5)
        XCTAssertGreaterThan(before, 200)
    }
}
