import Foundation
import TestSupport
import XCTest
@testable import NeuralNetwork
@testable import TensorEngine

final class LayerTests: XCTestCase {
    func testLinearIsAffine() {
        var rng = RandomGenerator(seed: 0)
        let layer = Linear(3, 2, generator: &rng)
        layer.weight.assign(Tensor([[1, 2, 3], [0, -1, 1]]))
        layer.bias!.assign(Tensor([0.5, -0.5]))
        XCTAssertEqual(layer(Tensor([[1, 1, 1]])).scalars, [6.5, -0.5])
    }

    /// The exact pixels each mask hides, for a 5x5 kernel: mask A hides the centre and all
    /// after it in raster order, mask B shows the centre.
    func testMaskAHidesCentrePixelAndMaskBShowsIt() {
        let a = MaskedConv2d.mask(.a, inputs: 1, outputs: 1, kernel: 5).scalars
        let b = MaskedConv2d.mask(.b, inputs: 1, outputs: 1, kernel: 5).scalars
        let expectedA: [Float] = [1, 1, 1, 1, 1,
                                  1, 1, 1, 1, 1,
                                  1, 1, 0, 0, 0,
                                  0, 0, 0, 0, 0,
                                  0, 0, 0, 0, 0]
        XCTAssertEqual(a, expectedA)
        var expectedB = expectedA
        expectedB[12] = 1
        XCTAssertEqual(b, expectedB)
    }

    func testColourMasksOrderRedGreenBlue() {
        // 3 input channels (R, G, B) to 6 outputs (two per colour); at the centre only.
        let centre = { (m: Tensor, o: Int, i: Int) in m.scalars[(o * 3 + i) * 9 + 4] }
        let a = MaskedConv2d.mask(.a, inputs: 3, outputs: 6, kernel: 3, colourGroups: 3)
        let b = MaskedConv2d.mask(.b, inputs: 3, outputs: 6, kernel: 3, colourGroups: 3)
        for o in 0..<6 {
            for i in 0..<3 {
                XCTAssertEqual(centre(a, o, i), i < o / 2 ? 1 : 0, "mask A output \(o) input \(i)")
                XCTAssertEqual(centre(b, o, i), i <= o / 2 ? 1 : 0, "mask B output \(o) input \(i)")
            }
        }
        // Off the centre every colour sees the pixels before and none after.
        XCTAssertEqual(a.scalars[(5 * 3 + 2) * 9 + 3], 1)
        XCTAssertEqual(a.scalars[(0 * 3 + 0) * 9 + 5], 0)
    }

    func testMaskedStackNeverSeesTheFuture() {
        var rng = RandomGenerator(seed: 2)
        let net = Sequential(MaskedConv2d(.a, 1, 4, kernel: 5, generator: &rng), Function.relu(),
                             MaskedConv2d(.b, 4, 4, kernel: 3, generator: &rng), Function.relu(),
                             MaskedConv2d(.b, 4, 1, kernel: 3, generator: &rng))
        let x = Tensor.uniform([1, 1, 6, 6], generator: &rng).requiringGradient()
        let (r, c) = (3, 2)
        let output = net(x).sliced(starts: [0, 0, r, c], sizes: [1, 1, 1, 1]).sum()
        let g = gradients(of: output, wrt: [x])[0].scalars
        for pixel in 0..<36 where pixel >= r * 6 + c {
            XCTAssertEqual(g[pixel], 0, "pixel \(pixel) at or after (\(r), \(c)) influences it")
        }
        XCTAssertNotEqual(g[r * 6 + c - 1], 0, "the pixel just before must be seen")
    }

    func testBatchNormTrainingAndRunningStatistics() {
        let norm = BatchNorm(2, momentum: 0.1)
        let x = Tensor(shape: [2, 2, 1, 2], scalars: [1, 2, 10, 20, 3, 4, 30, 40])
        let y = norm(x)
        // Channel 0 holds 1, 2, 3, 4: mean 2.5, biased variance 1.25, unbiased 5/3.
        let expected = [1, 2, 3, 4].map { (Float($0) - 2.5) / (1.25 + 1e-5).squareRoot() }
        assertClose(y.sliced(axis: 1, 0..<1), [expected[0], expected[1], expected[2], expected[3]], tolerance: 1e-5)
        assertClose(norm.runningMean.value, [0.25, 2.5], tolerance: 1e-6)
        // Channel 1 holds 10, 20, 30, 40: squared deviations 225 + 25 + 25 + 225 = 500, unbiased 500 / 3.
        assertClose(norm.runningVar.value, [0.9 + 0.1 * 5 / 3, 0.9 + 0.1 * 500 / 3], tolerance: 1e-5)
        norm.eval()
        let z = norm(Tensor(shape: [1, 2, 1, 1], scalars: [0.25, 2.5]))
        assertClose(z, [0, 0], tolerance: 1e-5)
        XCTAssertEqual(norm.runningMean.value.scalars, [0.25, 2.5], "evaluation must not move the statistics")
    }

    func testNormalisationGradients() {
        let x = randomTensor([3, 2, 2, 2], seed: 3)
        let norm = BatchNorm(2)
        assertGradientsMatchFiniteDifferences([x], epsilon: 1e-2, tolerance: 3e-2) { norm($0[0]) }
        assertGradientsMatchFiniteDifferences([x], tolerance: 3e-2) { InstanceNorm2d(2)($0[0]) }
        assertGradientsMatchFiniteDifferences([x], tolerance: 3e-2) { LayerNorm([2, 2])($0[0]) }
    }

    /// The fused op against batch normalisation written out in differentiable ops: the output and
    /// the gradients of x, the scale and the shift, for [N, C] and [N, C, H, W] (maps of 49,
    /// past the 16-wide vectors, and of 4); then its first and second derivatives (the second
    /// through the composed backward) against finite differences.
    func testFusedBatchNormalizationEqualsTheComposedForm() {
        for (i, shape) in [[5, 7], [3, 4, 7, 7], [4, 3, 2, 2]].enumerated() {
            let x = randomTensor(shape, seed: 60 + UInt64(i)) * 2 + 0.5
            let gamma = randomTensor([shape[1]], seed: 70 + UInt64(i)) + 1, beta = randomTensor([shape[1]], seed: 80 + UInt64(i))
            let axes = [0] + Array(2..<shape.count), stat = [1, shape[1]] + [Int](repeating: 1, count: shape.count - 2)
            func composed(_ v: [Tensor]) -> Tensor {
                let centred = v[0] - v[0].mean(alongAxes: axes, keepDims: true)
                let normalised = centred * (centred.squared().mean(alongAxes: axes, keepDims: true) + 1e-5).rsqrt()
                return normalised * v[1].reshaped(stat) + v[2].reshaped(stat)
            }
            func fused(_ v: [Tensor]) -> Tensor { batchNormalization(v[0], weight: v[1], bias: v[2], epsilon: 1e-5).output }
            let leaves = [x, gamma, beta].map { $0.requiringGradient() }
            let probe = randomTensor(shape, seed: 90 + UInt64(i))
            let expected = composed(leaves), got = fused(leaves)
            assertClose(got, expected.scalars, tolerance: 1e-4)
            let statistics = batchNormalization(x, weight: nil, bias: nil, epsilon: 1e-5)
            assertClose(statistics.mean, x.mean(alongAxes: axes).scalars, tolerance: 1e-5)
            assertClose(statistics.variance, x.variance(alongAxes: axes).scalars, tolerance: 1e-4)
            let want = gradients(of: (expected * probe).sum(), wrt: leaves), have = gradients(of: (got * probe).sum(), wrt: leaves)
            for (h, w) in zip(have, want) { assertClose(h, w.scalars, tolerance: 1e-3) }
            assertGradientsMatchFiniteDifferences([x, gamma, beta], epsilon: 1e-2, tolerance: 3e-2, fused)
            assertSecondDerivativesMatchFiniteDifferences([x, gamma, beta], epsilon: 1e-2, tolerance: 5e-2, fused)
        }
    }

    func testInstanceAndLayerNormStatistics() {
        let x = randomTensor([2, 3, 4, 4], seed: 4) * 3 + 1
        let y = InstanceNorm2d(3)(x)
        assertClose(y.mean(alongAxes: [2, 3]), [Float](repeating: 0, count: 6), tolerance: 1e-5)
        assertClose(y.variance(alongAxes: [2, 3]), [Float](repeating: 1, count: 6), tolerance: 1e-3)
        let z = LayerNorm([4, 4])(x)
        assertClose(z.mean(alongAxes: [2, 3]), [Float](repeating: 0, count: 6), tolerance: 1e-5)
    }

    func testLSTMCellMatchesTheEquations() {
        var rng = RandomGenerator(seed: 5)
        let cell = LSTMCell(2, 3, generator: &rng)
        let x = randomTensor([1, 2], seed: 6), h = randomTensor([1, 3], seed: 7), c = randomTensor([1, 3], seed: 8)
        let (h1, c1) = cell(x, state: (h, c))
        let gates = (x.matmul(cell.weightIH.value, transposeOther: true) + h.matmul(cell.weightHH.value, transposeOther: true)
                     + cell.biasIH.value + cell.biasHH.value).scalars
        let sigmoid = { (v: Float) in 1 / (1 + exp(-v)) }
        for k in 0..<3 {
            let i = sigmoid(gates[k]), f = sigmoid(gates[3 + k]), g = tanh(gates[6 + k]), o = sigmoid(gates[9 + k])
            let cell = f * c.scalars[k] + i * g
            XCTAssertEqual(c1.scalars[k], cell, accuracy: 1e-5)
            XCTAssertEqual(h1.scalars[k], o * tanh(cell), accuracy: 1e-5)
        }
        assertGradientsMatchFiniteDifferences([x, h, c]) { cell($0[0], state: ($0[1], $0[2])).hidden }
    }

    func testEmbeddingAndDropout() {
        var rng = RandomGenerator(seed: 9)
        let table = Embedding(4, 2, generator: &rng)
        let rows = table([3, 0]).scalars
        XCTAssertEqual(rows, Array(table.weight.value.scalars[6..<8]) + Array(table.weight.value.scalars[0..<2]))
        let drop = Dropout(0.5, generator: &rng)
        let x = Tensor.ones([1000])
        let first = drop(x)
        XCTAssert(first.scalars.contains(0))
        XCTAssertNotEqual(drop(x).scalars, first.scalars, "each call draws a new mask")
        // A copy loaded with the state after one call draws the second call's mask.
        var other = RandomGenerator(seed: 9)
        _ = Embedding(4, 2, generator: &other)
        let copy = Dropout(0.5, generator: &other)
        try? copy.load(stateDict: ["calls": Tensor(1)])
        var again = RandomGenerator(seed: 9)
        _ = Embedding(4, 2, generator: &again)
        let reference = Dropout(0.5, generator: &again)
        _ = reference(x)
        XCTAssertEqual(copy(x).scalars, reference(x).scalars)
        drop.eval()
        XCTAssertEqual(drop(x).scalars, x.scalars)
    }

    func testInitializerScales() {
        var rng = RandomGenerator(seed: 10)
        let kaiming = Initializer.kaimingNormal.make([256, 512], fanIn: 512, fanOut: 256, generator: &rng)
        XCTAssertEqual(kaiming.variance(alongAxes: [0, 1]).scalar, 2 / 512, accuracy: 2e-4)
        let xavier = Initializer.xavierUniform.make([256, 512], fanIn: 512, fanOut: 256, generator: &rng)
        XCTAssertEqual(xavier.max().scalar, (6 / Float(768)).squareRoot(), accuracy: 1e-3)
        let dcgan = Initializer.dcgan.make([100, 100], fanIn: 100, fanOut: 100, generator: &rng)
        XCTAssertEqual(dcgan.variance(alongAxes: [0, 1]).scalar.squareRoot(), 0.02, accuracy: 5e-4)
        let layer = Linear(400, 10, generator: &rng)  // PyTorch's default: uniform in +-1/sqrt(400)
        XCTAssertLessThanOrEqual(layer.weight.value.abs().max().scalar, 0.05)
        XCTAssertGreaterThan(layer.weight.value.abs().max().scalar, 0.049)
    }

    func testConvolutionLayersShapes() {
        var rng = RandomGenerator(seed: 11)
        let x = Tensor.zeros([2, 4, 8, 8])
        XCTAssertEqual(Conv2d(4, 6, kernel: 3, stride: 2, padding: 1, generator: &rng)(x).shape, [2, 6, 4, 4])
        XCTAssertEqual(ConvTranspose2d(4, 2, kernel: 4, stride: 2, padding: 1, generator: &rng)(x).shape, [2, 2, 16, 16])
        XCTAssertEqual(Conv1d(4, 5, kernel: 3, padding: 1, generator: &rng)(Tensor.zeros([2, 4, 7])).shape, [2, 5, 7])
    }
}
