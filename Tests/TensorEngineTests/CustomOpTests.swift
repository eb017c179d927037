import TestSupport
import XCTest
@testable import TensorEngine

/// An op written outside the engine's op files, with the public API alone: its values, its
/// gradients (finite differences) and, with a vjp of differentiable ops, its second derivatives.
final class CustomOpTests: XCTestCase {
    /// x^3 by a raw loop, its vjp 3 x^2 g as tensor ops.
    func cube(_ x: Tensor) -> Tensor {
        let out = Storage(uninitializedCount: x.count), p = x.storage.pointer
        for i in 0..<x.count { out.pointer[i] = p[i] * p[i] * p[i] }
        return Tensor.custom("cube", shape: x.shape, storage: out, inputs: [x]) { g, _ in [3 * x * x * g] }
    }

    /// What each backward pass of `product` was asked for.
    final class Requests { var needs: [[Bool]] = [] }

    /// a * b with a raw loop and a vjp that gives only what is needed.
    func product(_ a: Tensor, _ b: Tensor, requests: Requests) -> Tensor {
        let out = Storage(uninitializedCount: a.count)
        for i in 0..<a.count { out.pointer[i] = a.storage.pointer[i] * b.storage.pointer[i] }
        return Tensor.custom("product", shape: a.shape, storage: out, inputs: [a, b]) { g, needs in
            requests.needs.append(needs)
            return [needs[0] ? g * b : nil, needs[1] ? g * a : nil]
        }
    }

    func testACustomOpIsDifferentiable() {
        let x = randomTensor([3, 5], seed: 1)
        assertClose(cube(x), (x * x * x).scalars)
        assertGradientsMatchFiniteDifferences([x]) { self.cube($0[0]) }
        assertSecondDerivativesMatchFiniteDifferences([randomTensor([2, 3], seed: 2)]) { self.cube($0[0]).tanh() }
        XCTAssertFalse(cube(x).requiresGradient, "inputs outside differentiation give a plain tensor")
    }

    func testTheVJPIsAskedOnlyForTheGradientsNeeded() {
        let requests = Requests()
        let a = randomTensor([4], seed: 3).requiringGradient(), b = randomTensor([4], seed: 4)
        assertClose(gradients(of: product(a, b, requests: requests).sum(), wrt: [a])[0], b.scalars)
        XCTAssertEqual(requests.needs, [[true, false]])
        assertGradientsMatchFiniteDifferences([a, b.requiringGradient()]) { self.product($0[0], $0[1], requests: requests) }
        XCTAssertFalse(withoutGradients { Tensor.isRecordingGradients })
        XCTAssertTrue(Tensor.isRecordingGradients)
    }
}
