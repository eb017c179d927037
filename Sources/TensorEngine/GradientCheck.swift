/// Compares the engine's gradients with central finite differences: how the engine's own tests
/// check every op, and how a user can check a new composite op or layer.
///
/// The output is folded to a scalar with fixed random weights, not a plain sum, whose gradient
/// would hide errors that cancel across elements. Large inputs are probed at a fixed sample of
/// positions.
public enum GradientCheck {
    public struct Mismatch: CustomStringConvertible {
        public let input: Int, element: Int
        public let computed: Double, finiteDifference: Double
        public var description: String {
            "input \(input) element \(element): autodiff \(computed), finite difference \(finiteDifference)"
        }
    }

    /// First derivatives of `f` at `inputs`; an element mismatches when
    /// |computed - numeric| > tolerance * max(1, |numeric|).
    public static func firstOrder(
        _ inputs: [Tensor], epsilon: Float = 1e-2, tolerance: Double = 1e-2,
        _ f: ([Tensor]) -> Tensor
    ) -> [Mismatch] {
        let leaves = inputs.map { $0.requiringGradient() }
        let output = f(leaves)
        let weights = projection(output.shape, seed: 1)
        let analytic = gradients(of: (output * weights).sum(), wrt: leaves)
        var mismatches: [Mismatch] = []
        for (i, x) in inputs.enumerated() {
            let values = x.scalars, computed = analytic[i].scalars
            for p in probes(values.count, seed: UInt64(i)) {
                func loss(_ delta: Float) -> Double {
                    var v = values
                    v[p] += delta
                    var args = inputs
                    args[i] = Tensor(shape: x.shape, scalars: v)
                    return withoutGradients { Double((f(args) * weights).sum().scalar) }
                }
                let numeric = (loss(epsilon) - loss(-epsilon)) / Double(2 * epsilon)
                if Swift.abs(Double(computed[p]) - numeric) > tolerance * Swift.max(1, Swift.abs(numeric)) {
                    mismatches.append(
                        Mismatch(input: i, element: p, computed: Double(computed[p]), finiteDifference: numeric))
                }
            }
        }
        return mismatches
    }

    /// Second derivatives as Hessian-vector products: the gradient of <grad f, v> (recorded with
    /// `createGraph`) against central differences of the first gradient along v.
    public static func secondOrder(
        _ inputs: [Tensor], epsilon: Float = 1e-2, tolerance: Double = 2e-2,
        _ f: ([Tensor]) -> Tensor
    ) -> [Mismatch] {
        let leaves = inputs.map { $0.requiringGradient() }
        let weights = projection(withoutGradients { f(inputs) }.shape, seed: 2)
        let directions = inputs.enumerated().map { projection($0.element.shape, seed: 100 + UInt64($0.offset)) }
        let first = gradients(of: (f(leaves) * weights).sum(), wrt: leaves, createGraph: true)
        var inner = Tensor(0)
        for (g, v) in zip(first, directions) { inner = inner + (g * v).sum() }
        let analytic = gradients(of: inner, wrt: leaves)
        func firstGradient(at shift: Float) -> [Tensor] {
            let shifted = zip(inputs, directions).map { ($0 + $1 * shift).detached().requiringGradient() }
            return gradients(of: (f(shifted) * weights).sum(), wrt: shifted)
        }
        let plus = firstGradient(at: epsilon), minus = firstGradient(at: -epsilon)
        var mismatches: [Mismatch] = []
        for i in inputs.indices {
            let a = analytic[i].scalars, p = plus[i].scalars, m = minus[i].scalars
            for k in probes(a.count, seed: UInt64(i)) {
                let numeric = (Double(p[k]) - Double(m[k])) / Double(2 * epsilon)
                if Swift.abs(Double(a[k]) - numeric) > tolerance * Swift.max(1, Swift.abs(numeric)) {
                    mismatches.append(Mismatch(input: i, element: k, computed: Double(a[k]), finiteDifference: numeric))
                }
            }
        }
        return mismatches
    }

    private static func projection(_ shape: [Int], seed: UInt64) -> Tensor {
        var rng = RandomGenerator(seed: seed ^ 0xABCD)
        return Tensor.normal(shape, generator: &rng)
    }

    private static func probes(_ count: Int, seed: UInt64, limit: Int = 40) -> [Int] {
        if count <= limit { return Array(0..<count) }
        var rng = RandomGenerator(seed: seed)
        return (0..<limit).map { _ in rng.nextInt(below: count) }
    }
}
