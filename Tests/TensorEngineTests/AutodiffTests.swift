import TestSupport
import XCTest
@testable import TensorEngine

final class AutodiffTests: XCTestCase {
    func testKnownGradients() {
        let w = Tensor([1, 2, 3]).requiringGradient()
        XCTAssertEqual(gradients(of: (w * w).sum(), wrt: [w])[0].scalars, [2, 4, 6])
        // A tensor used twice accumulates both contributions.
        let x = Tensor([2]).requiringGradient()
        let y = x * x * x + x
        XCTAssertEqual(gradients(of: y.sum(), wrt: [x])[0].scalars, [13])
    }

    func testSecondDerivativeByHand() {
        // d/dx (x^3) = 3x^2, d2/dx2 = 6x.
        let x = Tensor([2, -1]).requiringGradient()
        let g = gradients(of: x.pow(3).sum(), wrt: [x], createGraph: true)[0]
        XCTAssertEqual(g.scalars, [12, 3])
        XCTAssertEqual(gradients(of: g.sum(), wrt: [x])[0].scalars, [12, -6])
    }

    func testUnreachedAndConstantInputsGetZeros() {
        let a = Tensor([1, 2]).requiringGradient(), b = Tensor([3, 4]).requiringGradient()
        let grads = gradients(of: (a * 2).sum(), wrt: [a, b, Tensor([5, 6])])
        XCTAssertEqual(grads[1].scalars, [0, 0])
        XCTAssertEqual(grads[2].scalars, [0, 0])
    }

    func testNoGradAndDetach() {
        let w = Tensor([1, 2]).requiringGradient()
        let inside = withoutGradients { w * 3 }
        XCTAssertFalse(inside.requiresGradient)
        XCTAssertTrue((w * 3).requiresGradient)
        let y = (w * w).detached() * w
        XCTAssertEqual(gradients(of: y.sum(), wrt: [w])[0].scalars, [1, 4])
        // Without createGraph the gradient is a plain value.
        XCTAssertFalse(gradients(of: (w * w).sum(), wrt: [w])[0].requiresGradient)
        let re = withoutGradients { withGradients { w * 2 } }
        XCTAssertTrue(re.requiresGradient)
    }

    func testVectorJacobianProductWithSeed() {
        let x = Tensor([1, 2, 3]).requiringGradient()
        let g = gradients(of: x * x, wrt: [x], seed: Tensor([1, 0, 2]))[0]
        XCTAssertEqual(g.scalars, [2, 0, 12])
    }

    func testDeepGraphDoesNotExhaustTheStack() {
        var h = Tensor([0.5]).requiringGradient()
        let start = h
        for _ in 0..<20_000 { h = h * 1.0001 }
        let g = gradients(of: h.sum(), wrt: [start])[0].scalar
        XCTAssertEqual(g, Float(pow(1.0001, 20_000.0)), accuracy: 0.01)
    }

    /// Resident memory after thousands of training steps stays where it was after the first
    /// hundred: the graph of a step is released when the step ends.
    func testMemoryIsReleasedAfterEachStep() throws {
        #if os(Linux)
        var rng = RandomGenerator(seed: 0)
        var w1 = Tensor.normal([64, 32], standardDeviation: 0.1, generator: &rng)
        var w2 = Tensor.normal([1, 64], standardDeviation: 0.1, generator: &rng)
        let x = Tensor.normal([128, 32], generator: &rng)
        func step() {
            let p1 = w1.requiringGradient(), p2 = w2.requiringGradient()
            let h = linear(x, weight: p1).tanh()
            let loss = linear(h, weight: p2).squared().mean()
            let g = gradients(of: loss, wrt: [p1, p2])
            w1 = (w1 - g[0] * 0.01).detached(); w2 = (w2 - g[1] * 0.01).detached()
        }
        func residentKB() throws -> Int {
            let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
            let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }!
            return Int(line.split(separator: " ")[1])!
        }
        for _ in 0..<200 { step() }
        let before = try residentKB()
        for _ in 0..<3000 { step() }
        let after = try residentKB()
        XCTAssertLessThan(after - before, 4096, "resident memory grew from \(before) kB to \(after) kB")
        #endif
    }
}
