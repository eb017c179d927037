import TestSupport
import XCTest
@testable import TensorEngine

/// A finite-difference check for every differentiable op, on shapes that exercise broadcasting,
/// strides, padding, dilation and groups.
final class GradientTests: XCTestCase {
    func testBroadcastingArithmetic() {
        let a = randomTensor([2, 3, 4], seed: 1), b = randomTensor([3, 1], seed: 2), c = randomTensor([4], seed: 3)
        assertGradientsMatchFiniteDifferences([a, b]) { $0[0] + $0[1] }
        assertGradientsMatchFiniteDifferences([a, c]) { $0[0] - $0[1] }
        assertGradientsMatchFiniteDifferences([a, b]) { $0[0] * $0[1] }
        assertGradientsMatchFiniteDifferences([a, awayFromZero([4], seed: 4, margin: 0.5)]) { $0[0] / $0[1] }
        assertGradientsMatchFiniteDifferences([a, Tensor(1.5)]) { $0[1] * $0[0] - $0[1] }
        assertGradientsMatchFiniteDifferences([a]) { -$0[0] * 3 + 1 }
    }

    func testUnaryMaths() {
        let x = randomTensor([3, 5], seed: 5)
        let positive = x.abs() + 0.3
        assertGradientsMatchFiniteDifferences([x]) { $0[0].exp() }
        assertGradientsMatchFiniteDifferences([positive], epsilon: 1e-3) { $0[0].log() }
        assertGradientsMatchFiniteDifferences([positive]) { $0[0].log1p() }
        assertGradientsMatchFiniteDifferences([positive], epsilon: 1e-3) { $0[0].sqrt() }
        assertGradientsMatchFiniteDifferences([positive], epsilon: 1e-3) { $0[0].rsqrt() }
        assertGradientsMatchFiniteDifferences([x]) { $0[0].pow(3) }
        assertGradientsMatchFiniteDifferences([positive], epsilon: 1e-3) { $0[0].pow(-1.5) }
        assertGradientsMatchFiniteDifferences([awayFromZero([3, 5], seed: 6)]) { $0[0].abs() }
        assertGradientsMatchFiniteDifferences([x]) { $0[0].sin() }
        assertGradientsMatchFiniteDifferences([x]) { $0[0].cos() }
        assertGradientsMatchFiniteDifferences([x]) { $0[0].tanh() }
        assertGradientsMatchFiniteDifferences([x]) { $0[0].sigmoid() }
        assertGradientsMatchFiniteDifferences([x * 4]) { $0[0].softplus() }
        assertGradientsMatchFiniteDifferences([x]) { $0[0].erf() }
    }

    func testClampAndWhere() {
        let x = Tensor([-2, -0.7, -0.2, 0.3, 0.9, 1.8])
        assertGradientsMatchFiniteDifferences([x]) { $0[0].clamped(min: -1, max: 1) }
        let condition = Tensor([1, 0, 1, 0, 0, 1])
        assertGradientsMatchFiniteDifferences([x, randomTensor([6], seed: 7)]) { Tensor.where(condition, $0[0], $0[1] * 2) }
        assertGradientsMatchFiniteDifferences([randomTensor([2, 3], seed: 8), Tensor(0.5)]) {
            Tensor.where(Tensor([1, 0, 1]), $0[0], $0[1])
        }
    }

    func testReductions() {
        let x = randomTensor([2, 3, 4], seed: 9)
        assertGradientsMatchFiniteDifferences([x]) { $0[0].sum(alongAxes: [0, 2], keepDims: true) }
        assertGradientsMatchFiniteDifferences([x]) { $0[0].sum(alongAxis: 1) }
        assertGradientsMatchFiniteDifferences([x]) { $0[0].sum() }
        assertGradientsMatchFiniteDifferences([x]) { $0[0].mean(alongAxes: [1, 2]) }
        assertGradientsMatchFiniteDifferences([x]) { $0[0].variance(alongAxes: [0, 2], keepDims: true) }
        assertGradientsMatchFiniteDifferences([x]) { $0[0].variance(alongAxis: 1, unbiased: true) }
        assertGradientsMatchFiniteDifferences([x]) { $0[0].logSumExp(alongAxis: 2) }
        assertGradientsMatchFiniteDifferences([x]) { $0[0].logSumExp(alongAxes: [0, 2], keepDims: true) }
        // Values far apart, so a small step never changes which one is largest.
        let spread = Tensor(shape: [2, 3, 4], scalars: (0..<24).map { Float(($0 * 7) % 24) * 0.5 })
        assertGradientsMatchFiniteDifferences([spread]) { $0[0].max(alongAxis: 1) }
        assertGradientsMatchFiniteDifferences([spread]) { $0[0].min(alongAxes: [0, 2], keepDims: true) }
        assertGradientsMatchFiniteDifferences([spread]) { $0[0].max() }
        assertGradientsMatchFiniteDifferences([randomTensor([3, 1], seed: 10)]) { $0[0].expanded(to: [2, 3, 4]) }
    }

    func testMatmulAndLinear() {
        let a = randomTensor([3, 4], seed: 11), b = randomTensor([4, 5], seed: 12)
        assertGradientsMatchFiniteDifferences([a, b]) { matmul($0[0], $0[1]) }
        assertGradientsMatchFiniteDifferences([a, randomTensor([5, 4], seed: 13)]) { $0[0].matmul($0[1], transposeOther: true) }
        assertGradientsMatchFiniteDifferences([randomTensor([4, 3], seed: 14), b]) { $0[0].matmul($0[1], transposeSelf: true) }
        assertGradientsMatchFiniteDifferences([randomTensor([4, 3], seed: 15), randomTensor([5, 4], seed: 16)]) {
            $0[0].matmul($0[1], transposeSelf: true, transposeOther: true)
        }
        assertGradientsMatchFiniteDifferences([randomTensor([2, 3, 4], seed: 17), randomTensor([2, 4, 2], seed: 18)]) { matmul($0[0], $0[1]) }
        assertGradientsMatchFiniteDifferences([randomTensor([2, 3, 4], seed: 19), randomTensor([5, 4], seed: 20), randomTensor([5], seed: 21)]) {
            linear($0[0], weight: $0[1], bias: $0[2])
        }
    }

    func testShapeOps() {
        let x = randomTensor([2, 3, 4], seed: 22)
        assertGradientsMatchFiniteDifferences([x]) { $0[0].reshaped([4, -1]) }
        assertGradientsMatchFiniteDifferences([x]) { $0[0].permuted([2, 0, 1]) }
        assertGradientsMatchFiniteDifferences([x]) { $0[0].transposed() }
        assertGradientsMatchFiniteDifferences([x]) { $0[0].sliced(starts: [1, 0, 1], sizes: [1, 2, 3]) }
        assertGradientsMatchFiniteDifferences([x]) { $0[0].padded([(0, 1), (2, 0), (1, 1)], value: 0.5) }
        assertGradientsMatchFiniteDifferences([x, randomTensor([2, 1, 4], seed: 23)]) { Tensor.concatenate([$0[0], $0[1]], axis: 1) }
        assertGradientsMatchFiniteDifferences([x, randomTensor([2, 3, 4], seed: 24)]) { Tensor.stack([$0[0], $0[1]], axis: 2) }
        assertGradientsMatchFiniteDifferences([x]) { inputs in
            let parts = inputs[0].split(sizes: [1, 3], axis: 2)
            return parts[0] * 2 + parts[1].sum(alongAxis: 2, keepDims: true)
        }
        assertGradientsMatchFiniteDifferences([x]) { $0[0].repeated([1, 2, 3]) }
        assertGradientsMatchFiniteDifferences([x]) { $0[0].gather([2, 0, 2], alongAxis: 1) }
        assertGradientsMatchFiniteDifferences([x]) { $0[0].reversed(alongAxis: 1) * $0[0] }
        assertGradientsMatchFiniteDifferences([x]) { $0[0].shifted(alongAxis: 2, by: 1) * $0[0] + $0[0].shifted(alongAxis: 1, by: -1) }
        assertGradientsMatchFiniteDifferences([x]) { $0[0].take([3, 0, 1, 1, 2, 0], alongAxis: 2) }
    }

    func testConvolutions() {
        // Stride, padding, dilation and groups at once, with rectangular kernels and images.
        let x = randomTensor([2, 4, 7, 6], seed: 25), w = randomTensor([6, 2, 3, 2], seed: 26), b = randomTensor([6], seed: 27)
        assertGradientsMatchFiniteDifferences([x, w, b]) {
            conv2d($0[0], $0[1], bias: $0[2], stride: (2, 1), padding: (1, 2), dilation: (1, 2), groups: 2)
        }
        assertGradientsMatchFiniteDifferences([randomTensor([1, 3, 5, 5], seed: 28), randomTensor([2, 3, 1, 1], seed: 29)]) {
            conv2d($0[0], $0[1])
        }
        assertGradientsMatchFiniteDifferences([randomTensor([2, 3, 9], seed: 30), randomTensor([4, 3, 3], seed: 31), randomTensor([4], seed: 32)]) {
            conv1d($0[0], $0[1], bias: $0[2], stride: 2, padding: 1, dilation: 2)
        }
        let tx = randomTensor([2, 4, 3, 4], seed: 33), tw = randomTensor([4, 3, 3, 3], seed: 34), tb = randomTensor([6], seed: 35)
        assertGradientsMatchFiniteDifferences([tx, tw, tb]) {
            convTranspose2d($0[0], $0[1], bias: $0[2], stride: (2, 2), padding: (1, 0), outputPadding: (1, 0), dilation: (1, 1), groups: 2)
        }
        assertGradientsMatchFiniteDifferences([randomTensor([1, 2, 3, 3], seed: 36), randomTensor([2, 2, 2, 2], seed: 37)]) {
            convTranspose2d($0[0], $0[1], stride: 1, padding: 1, dilation: 2)
        }
    }

    func testPoolingAndUpsampling() {
        let x = randomTensor([2, 3, 6, 5], seed: 38)
        assertGradientsMatchFiniteDifferences([x]) { avgPool2d($0[0], kernel: 2) }
        assertGradientsMatchFiniteDifferences([x]) { avgPool2d($0[0], kernel: 3, stride: 2, padding: 1) }
        let distinct = Tensor(shape: [1, 2, 4, 4], scalars: (0..<32).map { Float(($0 * 13) % 32) * 0.25 })
        assertGradientsMatchFiniteDifferences([distinct]) { maxPool2d($0[0], kernel: 2) }
        assertGradientsMatchFiniteDifferences([distinct]) { maxPool2d($0[0], kernel: 3, stride: 2, padding: 1) }
        assertGradientsMatchFiniteDifferences([x]) { upsampleNearest($0[0], scale: 2) }
        assertGradientsMatchFiniteDifferences([x]) { upsampleNearest($0[0], scale: 3) }
        assertGradientsMatchFiniteDifferences([upsampleNearest(x, scale: 2)]) { blockSum($0[0], scale: 2) }
        assertGradientsMatchFiniteDifferences([x]) { skewed($0[0]) }
        assertGradientsMatchFiniteDifferences([x]) { skewed($0[0], width: 13) }
        assertGradientsMatchFiniteDifferences([randomTensor([2, 3, 6, 12], seed: 39)]) { unskewed($0[0], width: 6) }
        assertGradientsMatchFiniteDifferences([x]) { upsampleBilinear($0[0], size: (9, 10)) }
        assertGradientsMatchFiniteDifferences([x]) { upsampleBilinear($0[0], size: (12, 7), alignCorners: true) }
    }

    /// Slices' gradients are added into their input's in place: overlapping slices, a slice
    /// taken again from a slice, and the input also used whole must all still sum.
    func testSlicesOfOneTensorSumTheirGradients() {
        let x = randomTensor([2, 5, 3], seed: 41), w = randomTensor([2, 1, 3], seed: 42)
        assertGradientsMatchFiniteDifferences([x, w]) { t in
            var total = (t[0] * t[0]).sum()
            for step in 0..<5 { total = total + (t[0].sliced(axis: 1, step..<step + 1) * t[1]).tanh().sum() }
            let overlapping = t[0].sliced(axis: 1, 1..<4).sliced(axis: 2, 0..<2)
            return total + (overlapping * overlapping).sum() + t[0].sliced(axis: 1, 2..<5).exp().sum()
        }
    }

    func testActivations() {
        let x = awayFromZero([3, 7], seed: 39)
        assertGradientsMatchFiniteDifferences([x]) { relu($0[0]) }
        assertGradientsMatchFiniteDifferences([x]) { leakyReLU($0[0], slope: 0.2) }
        assertGradientsMatchFiniteDifferences([x]) { elu($0[0], alpha: 1.3) }
        // concat_elu against its composition, with a partial vector (2 x 3 x 5 values per image).
        let maps = awayFromZero([2, 3, 5], seed: 47)
        assertClose(concatELU(maps), elu(Tensor.concatenate([maps, -maps], axis: 1)).scalars, tolerance: 1e-6)
        assertGradientsMatchFiniteDifferences([maps]) { concatELU($0[0]) }
        // One exponential serves both halves: the composition's values to the bit, at zero (both
        // signs), near it, far out on either side (where e^x - 1 is -1) and beyond a vector's width.
        let edges: [Float] = [0, -0.0, 1e-30, -1e-30, 1e-7, -1e-7, 0.5, -0.5, 3, -3, 20, -20, 88, -88, 100, -100, 7, -7]
        let column = Tensor(shape: [1, edges.count, 1], scalars: edges)
        XCTAssertEqual(concatELU(column).scalars, elu(Tensor.concatenate([column, -column], axis: 1)).scalars)
        // The gates against their compositions, halves of 3 x 5 values per image (a partial vector).
        let gates = awayFromZero([2, 6, 5], seed: 48), halves = gates.split(into: 2, axis: 1)
        assertClose(glu(gates), (halves[0] * halves[1].sigmoid()).scalars, tolerance: 1e-6)
        assertClose(gatedTanh(gates), (halves[0].tanh() * halves[1].sigmoid()).scalars, tolerance: 1e-6)
        assertGradientsMatchFiniteDifferences([gates]) { glu($0[0]) }
        assertGradientsMatchFiniteDifferences([gates]) { gatedTanh($0[0]) }
        assertGradientsMatchFiniteDifferences([x]) { gelu($0[0]) }
        assertGradientsMatchFiniteDifferences([x * 3]) { logSigmoid($0[0]) }
        assertGradientsMatchFiniteDifferences([x]) { softmax($0[0], axis: 1) }
        assertGradientsMatchFiniteDifferences([x]) { logSoftmax($0[0], axis: 0) }
        assertGradientsMatchFiniteDifferences([x]) { input in
            var rng = RandomGenerator(seed: 40)  // the same mask on every call
            return dropout(input[0], probability: 0.3, generator: &rng)
        }
    }

    func testLosses() {
        let logits = randomTensor([4, 5], seed: 41) * 2
        var rng = RandomGenerator(seed: 42)
        let targets = Tensor.uniform([4, 5], generator: &rng)
        assertGradientsMatchFiniteDifferences([logits]) { binaryCrossEntropyWithLogits($0[0], targets, reduction: .sum) }
        assertGradientsMatchFiniteDifferences([logits.reshaped([2, 2, 5]), targets.sliced(axis: 0, 0..<2)]) {
            binaryCrossEntropyWithLogits($0[0], $0[1], reduction: .none)   // targets broadcast over the leading axis
        }
        // The fused Bernoulli log-likelihood, targets shared over a leading axis, and in the
        // unfused fallback (targets broadcast along the last axis).
        assertGradientsMatchFiniteDifferences([logits.reshaped([2, 2, 5]), targets.sliced(axis: 0, 0..<2)]) {
            bernoulliLogLikelihood(logits: $0[0], targets: $0[1])
        }
        assertGradientsMatchFiniteDifferences([logits, targets.sliced(axis: 1, 0..<1)]) { bernoulliLogLikelihood(logits: $0[0], targets: $0[1]) }
        assertGradientsMatchFiniteDifferences([logits]) { crossEntropy($0[0], labels: [0, 4, 2, 2]) }
        assertGradientsMatchFiniteDifferences([logits, targets]) { mseLoss($0[0], $0[1]) }
        assertGradientsMatchFiniteDifferences([logits, targets]) { l1Loss($0[0], $0[1], reduction: .sum) }
        assertGradientsMatchFiniteDifferences([logits, targets, targets + 0.2]) {
            gaussianNLLLoss($0[0], $0[1], variance: $0[2], full: true, reduction: .none)
        }
    }

    /// A reduction across processes stands in here for a linear map (reversal plus doubling, its
    /// own adjoint's shape): first and second derivatives through `reduced(by:)`.
    func testReducedByALinearMap() {
        let reduce: (inout [Float]) -> Void = { values in values = values.reversed().map { 2 * $0 } }
        let x = randomTensor([5], seed: 31), w = randomTensor([5], seed: 32)
        assertGradientsMatchFiniteDifferences([x]) { ($0[0].reduced(by: reduce) * w).sum() }
        assertSecondDerivativesMatchFiniteDifferences([x]) { ($0[0].reduced(by: reduce).squared() * w).sum() }
    }
}
