import Foundation
import TestSupport
import XCTest
@testable import NeuralNetwork
@testable import TensorEngine

/// Each optimizer against its update written out by hand in Double, over several steps.
final class OptimizerTests: XCTestCase {
    let gradientsPerStep: [[Float]] = [[0.5, -2, 0.001], [0.1, 1, -0.3], [-0.4, 0.2, 0.2]]
    let start: [Float] = [1, -1, 0.5]

    func run(_ make: (Parameter) -> Optimizer) -> [Float] {
        let p = Parameter(Tensor(start))
        let optimizer = make(p)
        for g in gradientsPerStep { optimizer.update([Tensor(g)]) }
        return p.value.scalars
    }

    func expect(_ got: [Float], _ expected: [Double], tolerance: Double = 1e-5, file: StaticString = #filePath, line: UInt = #line) {
        for (a, b) in zip(got, expected) { XCTAssertEqual(Double(a), b, accuracy: tolerance, file: file, line: line) }
    }

    func testSGDWithMomentumAndNesterov() {
        let lr = 0.1, mu = 0.9
        var p = start.map(Double.init), buffer = [Double](repeating: 0, count: 3)
        var nesterovP = p, nesterovBuffer = buffer
        for (t, g) in gradientsPerStep.enumerated() {
            for k in 0..<3 {
                let gk = Double(g[k])
                buffer[k] = t == 0 ? gk : mu * buffer[k] + gk
                p[k] -= lr * buffer[k]
                nesterovBuffer[k] = t == 0 ? gk : mu * nesterovBuffer[k] + gk
                nesterovP[k] -= lr * (gk + mu * nesterovBuffer[k])
            }
        }
        expect(run { SGD([$0], learningRate: 0.1, momentum: 0.9) }, p)
        expect(run { SGD([$0], learningRate: 0.1, momentum: 0.9, nesterov: true) }, nesterovP)
    }

    func testAdamBiasCorrection() {
        // Without bias correction the first step would be lr * (1 - b1) / sqrt(1 - b2) ~ 3.16 lr;
        // with it, every first step is lr * g / (|g| + eps) ~ lr in size.
        let lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8
        var p = start.map(Double.init), m = [Double](repeating: 0, count: 3), v = m
        for (t, g) in gradientsPerStep.enumerated() {
            for k in 0..<3 {
                let gk = Double(g[k])
                m[k] = b1 * m[k] + (1 - b1) * gk
                v[k] = b2 * v[k] + (1 - b2) * gk * gk
                let mHat = m[k] / (1 - pow(b1, Double(t + 1))), vHat = v[k] / (1 - pow(b2, Double(t + 1)))
                p[k] -= lr * mHat / (vHat.squareRoot() + eps)
            }
        }
        expect(run { Adam([$0], learningRate: 0.01) }, p)
        let first = Parameter(Tensor(start))
        Adam([first], learningRate: 0.01).update([Tensor([0.5, -2, 0.001])])
        expect(first.value.scalars, [0.99, -0.99, 0.5 - 0.01 * 0.001 / (0.001 + 1e-8)], tolerance: 1e-6)
    }

    func testAdamUpdatesInPlaceOnlyWhatNothingElseHolds() {
        // 1003 values: the kernel's vector loop and its remainder, not only a scalar tail.
        var rng = RandomGenerator(seed: 3)
        let initial = Tensor.normal([1003], generator: &rng)
        let steps = (0..<3).map { _ in Tensor.normal([1003], generator: &rng) }
        let a = Parameter(initial), b = Parameter(initial)
        let adamA = Adam([a], learningRate: 0.01), adamB = Adam([b], learningRate: 0.01)
        var held: [Tensor] = [], addresses: [UnsafePointer<Float>?] = []
        for g in steps {
            adamA.update([g])   // after the first step nothing else holds a's values
            addresses.append(a.value.withUnsafeBufferPointer { $0.baseAddress })
            held.append(b.value)   // b's old values stay visible, so b gets fresh ones
            adamB.update([g])
        }
        XCTAssertEqual(addresses[1], addresses[2], "an unshared parameter is updated in place")
        XCTAssertEqual(a.value.scalars, b.value.scalars)
        XCTAssertEqual(held[0].scalars, initial.scalars, "a tensor someone holds is never written")
        var p = initial.scalars.map(Double.init), m = [Double](repeating: 0, count: p.count), v = m
        for (t, g) in steps.enumerated() {
            for (k, gk) in g.scalars.map(Double.init).enumerated() {
                m[k] = 0.9 * m[k] + 0.1 * gk
                v[k] = 0.999 * v[k] + 0.001 * gk * gk
                p[k] -= 0.01 / (1 - pow(0.9, Double(t + 1))) * m[k] / ((v[k] / (1 - pow(0.999, Double(t + 1)))).squareRoot() + 1e-8)
            }
        }
        expect(a.value.scalars, p)
    }

    func testAdamStoresSubnormalMomentsAsZero() {
        // After one gradient and then none, m = 1e-4 * 0.9^t leaves the normal range near t = 780.
        let p = Parameter(Tensor([1, 1])), adam = Adam([p], learningRate: 0.01)
        adam.update([Tensor([1e-3, 1e-3])])
        for _ in 0..<700 { adam.update([Tensor([0, 1e-3])]) }
        let m700 = adam.state["0.exp_avg"]!.scalars[0]
        XCTAssertEqual(Double(m700), 1e-4 * pow(0.9, 700), accuracy: 1e-39)
        XCTAssertGreaterThanOrEqual(m700, .leastNormalMagnitude)
        for _ in 0..<200 { adam.update([Tensor([0, 1e-3])]) }
        XCTAssertEqual(adam.state["0.exp_avg"]!.scalars[0], 0, "flushed, not subnormal")
        XCTAssertEqual(adam.state["0.exp_avg"]!.scalars[1], 1e-3, accuracy: 1e-9, "a live moment is untouched")
    }

    func testAdamWDecaysWeightsDirectly() {
        let lr = 0.01, wd = 0.1, b1 = 0.9, b2 = 0.999
        var p = start.map(Double.init), m = [Double](repeating: 0, count: 3), v = m
        for (t, g) in gradientsPerStep.enumerated() {
            for k in 0..<3 {
                let gk = Double(g[k])
                p[k] *= 1 - lr * wd
                m[k] = b1 * m[k] + (1 - b1) * gk
                v[k] = b2 * v[k] + (1 - b2) * gk * gk
                p[k] -= lr / (1 - pow(b1, Double(t + 1))) * m[k] / ((v[k] / (1 - pow(b2, Double(t + 1)))).squareRoot() + 1e-8)
            }
        }
        expect(run { Adam.adamW([$0], learningRate: 0.01, weightDecay: 0.1) }, p)
    }

    func testRMSProp() {
        let lr = 0.01, alpha = 0.99, eps = 1e-8
        var p = start.map(Double.init), v = [Double](repeating: 0, count: 3)
        for g in gradientsPerStep {
            for k in 0..<3 {
                let gk = Double(g[k])
                v[k] = alpha * v[k] + (1 - alpha) * gk * gk
                p[k] -= lr * gk / (v[k].squareRoot() + eps)
            }
        }
        expect(run { RMSProp([$0], learningRate: 0.01) }, p, tolerance: 1e-4)
    }

    func testOptimizerStateRestoresExactly() throws {
        let a = Parameter(Tensor(start)), b = Parameter(Tensor(start))
        let first = Adam([a], learningRate: 0.01), second = Adam([b], learningRate: 0.01)
        first.update([Tensor(gradientsPerStep[0])])
        second.update([Tensor(gradientsPerStep[0])])
        // A fresh optimizer loaded with the first one's state continues identically.
        let restored = Adam([b], learningRate: 0.01)
        try restored.load(state: second.state)
        XCTAssertEqual(restored.step, 1)
        first.update([Tensor(gradientsPerStep[1])])
        restored.update([Tensor(gradientsPerStep[1])])
        XCTAssertEqual(a.value.scalars, b.value.scalars)
        XCTAssertThrowsError(try restored.load(state: ["step": Tensor(1), "0.exp_avg": Tensor([1])]))
    }

    func testSchedules() {
        XCTAssertEqual(StepDecay(stepSize: 10, gamma: 0.5).factor(atStep: 25), 0.25)
        XCTAssertEqual(CosineDecay(totalSteps: 100).factor(atStep: 0), 1)
        XCTAssertEqual(CosineDecay(totalSteps: 100).factor(atStep: 50), 0.5, accuracy: 1e-6)
        XCTAssertEqual(CosineDecay(totalSteps: 100, minimumFactor: 0.1).factor(atStep: 100), 0.1, accuracy: 1e-6)
        let warm = LinearWarmup(warmupSteps: 4, then: StepDecay(stepSize: 2, gamma: 0.1))
        XCTAssertEqual((0..<7).map { warm.factor(atStep: $0) }, [0.25, 0.5, 0.75, 1, 1, 1, 0.1])
        XCTAssertEqual(LinearDecay(constantSteps: 2, decaySteps: 3).factor(atStep: 1), 1)
        XCTAssertEqual(LinearDecay(constantSteps: 2, decaySteps: 3).factor(atStep: 4), 0.25, accuracy: 1e-6)
    }

    func testClippingClampingAndAveraging() {
        let (clipped, norm) = clipGradientNorm([Tensor([3, 0]), Tensor([4])], maxNorm: 1)
        XCTAssertEqual(norm, 5)
        XCTAssertEqual(clipped[0].scalars[0], 0.6, accuracy: 1e-5)
        XCTAssertEqual(clipped[1].scalars[0], 0.8, accuracy: 1e-5)
        XCTAssertEqual(clipGradientNorm([Tensor([0.3])], maxNorm: 1).gradients[0].scalars, [0.3])

        let p = Parameter(Tensor([-0.5, 0.005, 2]))
        clampParameters([p], limit: 0.01)
        XCTAssertEqual(p.value.scalars, [-0.01, 0.005, 0.01])

        var rng = RandomGenerator(seed: 1)
        let model = Linear(2, 1, generator: &rng), copy = Linear(2, 1, generator: &rng)
        let average = ExponentialMovingAverage(of: model, decay: 0.9)
        let w0 = model.weight.value.scalars
        model.weight.assign(model.weight.value + 1)
        average.update(from: model)
        try? average.copy(into: copy)
        for (a, b) in zip(copy.weight.value.scalars, w0) { XCTAssertEqual(a, b + 0.1, accuracy: 1e-6) }
    }

    /// `minimize` steps down the gradient the group averaged when given one, and down its own
    /// otherwise.
    func testMinimizeStepsDownTheGroupsAverage() {
        let p = Parameter(Tensor([1, 2]))
        let sgd = SGD([p], learningRate: 0.5)
        let group = GradientRecorder(scale: 3)
        sgd.minimize((p.value * p.value).sum(), across: group)
        XCTAssertEqual(p.value.scalars, [1 - 0.5 * 3 * 2, 2 - 0.5 * 3 * 4])
        XCTAssertEqual(group.recorded.map { $0.map(\.scalars) }, [[[2, 4]]])
        sgd.minimize(p.value.sum())
        XCTAssertEqual(p.value.scalars, [-2 - 0.5, -4 - 0.5])
    }
}
