import XCTest
@testable import TensorEngine

/// Helpers that compare gradients computed by the engine with central finite differences.
///
/// The output is folded to a scalar with fixed random weights (not a plain sum, whose gradient
/// would hide errors that cancel across elements).

func randomTensor(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
    var rng = RandomGenerator(seed: seed)
    return Tensor.normal(shape, generator: &rng) * scale
}

/// Random values at least `margin` away from zero, for ops with a kink there.
func awayFromZero(_ shape: [Int], seed: UInt64, margin: Float = 0.2) -> Tensor {
    let t = randomTensor(shape, seed: seed)
    return Tensor(shape: shape, scalars: t.scalars.map { $0 >= 0 ? $0 + margin : $0 - margin })
}

private func projection(_ output: Tensor, seed: UInt64) -> Tensor {
    var rng = RandomGenerator(seed: seed ^ 0xABCD)
    return Tensor.normal(output.shape, generator: &rng)
}

/// Positions of a tensor to probe: all of a small tensor, a fixed random sample of a large one.
private func probePositions(_ count: Int, seed: UInt64, limit: Int = 40) -> [Int] {
    if count <= limit { return Array(0..<count) }
    var rng = RandomGenerator(seed: seed)
    return (0..<limit).map { _ in rng.nextInt(below: count) }
}

func assertGradientsMatchFiniteDifferences(
    _ inputs: [Tensor], epsilon: Float = 1e-2, tolerance: Double = 1e-2,
    file: StaticString = #filePath, line: UInt = #line, _ f: ([Tensor]) -> Tensor
) {
    let leaves = inputs.map { $0.requiringGradient() }
    let output = f(leaves)
    let weights = projection(output, seed: 1)
    let analytic = gradients(of: (output * weights).sum(), wrt: leaves)
    for (i, x) in inputs.enumerated() {
        let values = x.scalars
        let computed = analytic[i].scalars
        XCTAssertEqual(analytic[i].shape, x.shape, "gradient shape of input \(i)", file: file, line: line)
        for p in probePositions(values.count, seed: UInt64(i)) {
            func loss(_ delta: Float) -> Double {
                var v = values
                v[p] += delta
                var args = inputs
                args[i] = Tensor(shape: x.shape, scalars: v)
                return withoutGradients { Double((f(args) * weights).sum().scalar) }
            }
            let numeric = (loss(epsilon) - loss(-epsilon)) / Double(2 * epsilon)
            let a = Double(computed[p])
            XCTAssert(abs(a - numeric) <= tolerance * max(1, abs(numeric)),
                      "input \(i) element \(p): autodiff \(a), finite difference \(numeric)", file: file, line: line)
        }
    }
}

/// Checks Hessian-vector products: the gradient of <grad f, v> (through `createGraph`) against
/// central differences of the first gradient along v.
func assertSecondDerivativesMatchFiniteDifferences(
    _ inputs: [Tensor], epsilon: Float = 1e-2, tolerance: Double = 2e-2,
    file: StaticString = #filePath, line: UInt = #line, _ f: ([Tensor]) -> Tensor
) {
    let leaves = inputs.map { $0.requiringGradient() }
    let weights = projection(withoutGradients { f(inputs) }, seed: 2)
    let directions = inputs.enumerated().map { randomTensor($0.element.shape, seed: 100 + UInt64($0.offset)) }

    let firstGradients = gradients(of: (f(leaves) * weights).sum(), wrt: leaves, createGraph: true)
    var inner = Tensor(0)
    for (g, v) in zip(firstGradients, directions) { inner = inner + (g * v).sum() }
    XCTAssert(inner.requiresGradient, "the first gradient was not recorded", file: file, line: line)
    let analytic = gradients(of: inner, wrt: leaves)

    func firstGradient(at shift: Float) -> [Tensor] {
        let shifted = zip(inputs, directions).map { ($0 + $1 * shift).detached().requiringGradient() }
        return gradients(of: (f(shifted) * weights).sum(), wrt: shifted)
    }
    let plus = firstGradient(at: epsilon), minus = firstGradient(at: -epsilon)
    for i in inputs.indices {
        let a = analytic[i].scalars, p = plus[i].scalars, m = minus[i].scalars
        for k in probePositions(a.count, seed: UInt64(i)) {
            let numeric = (Double(p[k]) - Double(m[k])) / Double(2 * epsilon)
            XCTAssert(abs(Double(a[k]) - numeric) <= tolerance * max(1, abs(numeric)),
                      "input \(i) element \(k): second-order autodiff \(a[k]), finite difference \(numeric)", file: file, line: line)
        }
    }
}

func assertClose(_ t: Tensor, _ expected: [Float], tolerance: Float = 1e-5,
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(t.count, expected.count, "element count", file: file, line: line)
    for (i, (a, b)) in zip(t.scalars, expected).enumerated() {
        XCTAssert(abs(a - b) <= tolerance * max(1, abs(b)), "element \(i): \(a) vs expected \(b)", file: file, line: line)
    }
}
