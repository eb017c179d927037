import Foundation
import TestSupport
import XCTest
@testable import TensorEngine

/// Losses and activations against their formulas, evaluated by hand in Double.
final class LossTests: XCTestCase {
    func testBinaryCrossEntropyWithLogits() {
        let logits: [Float] = [-2, 0, 3, 50], targets: [Float] = [0, 1, 1, 0]
        var expected = 0.0
        for (x, t) in zip(logits, targets) {
            // -log sigmoid(x) = log1p(e^-x); -log(1 - sigmoid(x)) = x + log1p(e^-x).
            let x = Double(x)
            expected += t == 1 ? log1p(exp(-x)) : x + log1p(exp(-x))
        }
        XCTAssertEqual(Double(binaryCrossEntropyWithLogits(Tensor(logits), Tensor(targets), reduction: .sum).scalar), expected, accuracy: 1e-4)
        XCTAssertEqual(Double(binaryCrossEntropyWithLogits(Tensor(logits), Tensor(targets)).scalar), expected / 4, accuracy: 1e-4)
    }

    /// The fused row sums equal the composed loss, for targets shared over leading axes (17 values
    /// per row: one full vector and a scalar tail), with logits far out in both tails.
    func testBernoulliLogLikelihoodMatchesTheComposedLoss() {
        var rng = RandomGenerator(seed: 5)
        let logits = Tensor.normal([3, 4, 17], generator: &rng) * 8
        let targets = Tensor.bernoulli([4, 17], probability: 0.4, generator: &rng)
        let fused = bernoulliLogLikelihood(logits: logits, targets: targets)
        let composed = -binaryCrossEntropyWithLogits(logits, targets.unsqueezed(0), reduction: .none).sum(alongAxis: 2)
        XCTAssertEqual(fused.shape, [3, 4])
        assertClose(fused, composed.scalars, tolerance: 1e-5)
        assertClose(bernoulliLogLikelihood(logits: logits, targets: targets.unsqueezed(0)), composed.scalars, tolerance: 1e-5)
    }

    func testCrossEntropy() {
        let logits = Tensor([[1, 2, 3], [0, 0, 0]])
        let first = -(3 - log(exp(1.0) + exp(2.0) + exp(3.0))), second = log(3.0)
        XCTAssertEqual(Double(crossEntropy(logits, labels: [2, 1]).scalar), (first + second) / 2, accuracy: 1e-5)
        let perRow = crossEntropy(logits, labels: [0, 0], reduction: .none)
        XCTAssertEqual(perRow.shape, [2])
    }

    func testRegressionLosses() {
        let a = Tensor([1, 2, 3]), b = Tensor([1, 0, 6])
        XCTAssertEqual(mseLoss(a, b).scalar, 13.0 / 3, accuracy: 1e-6)
        XCTAssertEqual(l1Loss(a, b, reduction: .sum).scalar, 5)
        // 0.5 * (log v + d^2 / v), plus 0.5 log(2 pi) when full.
        let v = Tensor([1, 2, 0.5])
        let expected = zip(zip([0.0, 2, -3], [1.0, 2, 0.5]), [0, 1, 2]).map { pair, _ in 0.5 * (log(pair.1) + pair.0 * pair.0 / pair.1) }
        XCTAssertEqual(Double(gaussianNLLLoss(a, b, variance: v, reduction: .sum).scalar), expected.reduce(0, +), accuracy: 1e-5)
        let full = gaussianNLLLoss(a, b, variance: v, full: true, reduction: .sum).scalar
        XCTAssertEqual(Double(full), expected.reduce(0, +) + 1.5 * log(2 * Double.pi), accuracy: 1e-5)
    }

    func testActivations() {
        let x = Tensor([-2, -0.5, 0.5, 2])
        XCTAssertEqual(relu(x).scalars, [0, 0, 0.5, 2])
        XCTAssertEqual(leakyReLU(x, slope: 0.1).scalars, [-0.2, -0.05, 0.5, 2])
        assertClose(elu(x), [Float(exp(-2.0) - 1), Float(exp(-0.5) - 1), 0.5, 2])
        assertClose(gelu(x), x.scalars.map { v in Float(Double(v) * 0.5 * (1 + erf(Double(v) / 2.0.squareRoot()))) }, tolerance: 1e-6)
        assertClose(logSigmoid(Tensor([-100, 0, 100])), [-100, Float(-log(2.0)), 0])
        let s = softmax(Tensor([[1, 2, 3]]), axis: 1)
        let z = exp(1.0) + exp(2.0) + exp(3.0)
        assertClose(s, [Float(exp(1.0) / z), Float(exp(2.0) / z), Float(exp(3.0) / z)])
        assertClose(logSoftmax(Tensor([[1000, 1000]]), axis: 1), [Float(-log(2.0)), Float(-log(2.0))])
    }
}
