import Foundation

/// Elementwise maths. Each backward rule is written with these same ops, so it can be
/// differentiated again.
extension Tensor {
    @inline(__always)
    func unary(
        _ op: String, savesOutput: Bool = false, _ f: (Vec) -> Vec,
        rule: @escaping BackwardRule
    ) -> Tensor {
        Tensor.result(
            op, shape: shape, storage: mapKernel(self, f), inputs: [self], savesOutput: savesOutput, rule: rule)
    }

    /// A tensor computed from this one that never takes part in differentiation (masks, signs).
    @inline(__always)
    func constant(_ f: (Vec) -> Vec) -> Tensor { Tensor(shape: shape, storage: mapKernel(self, f)) }

    public func exp() -> Tensor {
        unary("exp", savesOutput: true, vexp) { g, c in [g * c.output] }
    }
    public func log() -> Tensor {
        unary("log", vlog) { g, _ in [g / self] }
    }
    public func log1p() -> Tensor {
        unary("log1p", vlog1p) { g, _ in [g / (self + 1)] }
    }
    public func sqrt() -> Tensor {
        unary("sqrt", savesOutput: true, { $0.squareRoot() }) { g, c in [g * 0.5 / c.output] }
    }
    /// 1 / sqrt(x).
    public func rsqrt() -> Tensor {
        unary("rsqrt", savesOutput: true, { 1 / $0.squareRoot() }) { g, c in
            let y = c.output
            return [g * (y * y * y) * -0.5]
        }
    }
    public func pow(_ exponent: Float) -> Tensor {
        unary("pow", { vpow($0, exponent) }) { g, _ in
            [exponent == 1 ? g : g * (exponent * self.pow(exponent - 1))]
        }
    }
    public func squared() -> Tensor { self * self }
    public func abs() -> Tensor {
        unary("abs", { vabs($0) }) { g, _ in [g * self.sign()] }
    }
    /// -1, 0 or 1; constant (its derivative is zero almost everywhere).
    public func sign() -> Tensor {
        constant { v in Vec(repeating: 0).replacing(with: 1, where: v .> 0).replacing(with: -1, where: v .< 0) }
    }
    public func sin() -> Tensor {
        unary("sin", { vsincos($0).sin }) { g, _ in [g * self.cos()] }
    }
    public func cos() -> Tensor {
        unary("cos", { vsincos($0).cos }) { g, _ in [-g * self.sin()] }
    }
    public func tanh() -> Tensor {
        unary("tanh", savesOutput: true, vtanh) { g, c in
            let y = c.output
            return [g * (1 - y * y)]
        }
    }
    public func sigmoid() -> Tensor {
        unary("sigmoid", savesOutput: true, vsigmoid) { g, c in
            let y = c.output
            return [g * y * (1 - y)]
        }
    }
    /// log(1 + e^x), computed without overflow.
    public func softplus() -> Tensor {
        unary("softplus", vsoftplus) { g, _ in [g * self.sigmoid()] }
    }
    /// The error function (absolute error below 1.5e-7).
    public func erf() -> Tensor {
        unary("erf", verf) { g, _ in [g * (2 / Float.pi.squareRoot()) * (-(self * self)).exp()] }
    }

    /// Values limited to `[lower, upper]`; the gradient passes where the value was not clipped.
    public func clamped(min lower: Float = -.infinity, max upper: Float = .infinity) -> Tensor {
        precondition(lower <= upper, "clamp: lower bound \(lower) above upper bound \(upper)")
        return unary("clamp", { clamp($0, lower, upper) }) { g, _ in
            [g * self.constant { v in Vec(repeating: 0).replacing(with: 1, where: (v .>= lower) .& (v .<= upper)) }]
        }
    }

    /// True (1) where the value is neither infinite nor NaN.
    public func isFinite() -> Tensor {
        constant { v in Vec(repeating: 0).replacing(with: 1, where: vabs(v) .< .infinity) }
    }
}

// MARK: - Comparisons and selection

infix operator .> : ComparisonPrecedence
infix operator .< : ComparisonPrecedence
infix operator .>= : ComparisonPrecedence
infix operator .<= : ComparisonPrecedence
infix operator .== : ComparisonPrecedence
infix operator .!= : ComparisonPrecedence

extension Tensor {
    /// Comparisons give 1 where true and 0 where false, broadcasting like arithmetic; they are
    /// constants for differentiation.
    @inline(__always)
    static func compare(_ a: Tensor, _ b: Tensor, _ op: String, _ f: (Vec, Vec) -> SIMDMask<SIMD16<Int32>>) -> Tensor {
        let shape = broadcastShape(a, b, op)
        return Tensor(
            shape: shape,
            storage: zipKernel(a, b, shape: shape) { x, y in
                Vec(repeating: 0).replacing(with: 1, where: f(x, y))
            })
    }
    public static func .> (a: Tensor, b: Tensor) -> Tensor { compare(a, b, ">") { $0 .> $1 } }
    public static func .< (a: Tensor, b: Tensor) -> Tensor { compare(a, b, "<") { $0 .< $1 } }
    public static func .>= (a: Tensor, b: Tensor) -> Tensor { compare(a, b, ">=") { $0 .>= $1 } }
    public static func .<= (a: Tensor, b: Tensor) -> Tensor { compare(a, b, "<=") { $0 .<= $1 } }
    public static func .== (a: Tensor, b: Tensor) -> Tensor { compare(a, b, "==") { $0 .== $1 } }
    public static func .!= (a: Tensor, b: Tensor) -> Tensor { compare(a, b, "!=") { $0 .!= $1 } }
    public static func .> (a: Tensor, b: Float) -> Tensor { a .> Tensor(b) }
    public static func .< (a: Tensor, b: Float) -> Tensor { a .< Tensor(b) }
    public static func .>= (a: Tensor, b: Float) -> Tensor { a .>= Tensor(b) }
    public static func .<= (a: Tensor, b: Float) -> Tensor { a .<= Tensor(b) }
    public static func .== (a: Tensor, b: Float) -> Tensor { a .== Tensor(b) }
    public static func .!= (a: Tensor, b: Float) -> Tensor { a .!= Tensor(b) }

    /// `a` where `condition` is non-zero, else `b`; all three broadcast together.
    public static func `where`(_ condition: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor {
        let shape = checked {
            try Shape.broadcast(try Shape.broadcast(condition.shape, a.shape, op: "where"), b.shape, op: "where")
        }
        let storage = zip3Kernel(condition, a, b, shape: shape) { c, x, y in y.replacing(with: x, where: c .!= 0) }
        let zero = Tensor(0)
        return result("where", shape: shape, storage: storage, inputs: [condition, a, b]) { g, c in
            [
                nil,
                c.needs[1] ? Tensor.where(condition, g, zero).sum(toShape: a.shape) : nil,
                c.needs[2] ? Tensor.where(condition, zero, g).sum(toShape: b.shape) : nil
            ]
        }
    }
}
