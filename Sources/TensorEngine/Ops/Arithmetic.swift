/// Broadcasting arithmetic. Gradients of a broadcast operand are summed back to its own shape.
extension Tensor {
    static func broadcastShape(_ a: Tensor, _ b: Tensor, _ op: String) -> [Int] {
        a.shape == b.shape ? a.shape : checked { try Shape.broadcast(a.shape, b.shape, op: op) }
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor {
        let shape = broadcastShape(a, b, "add")
        let (sa, sb) = (a.shape, b.shape)
        return result("add", shape: shape, storage: zipKernel(a, b, shape: shape) { $0 + $1 }, inputs: [a, b]) { g, c in
            [c.needs[0] ? g.sum(toShape: sa) : nil, c.needs[1] ? g.sum(toShape: sb) : nil]
        }
    }

    public static func - (a: Tensor, b: Tensor) -> Tensor {
        let shape = broadcastShape(a, b, "subtract")
        let (sa, sb) = (a.shape, b.shape)
        return result("subtract", shape: shape, storage: zipKernel(a, b, shape: shape) { $0 - $1 }, inputs: [a, b]) {
            g, c in
            [c.needs[0] ? g.sum(toShape: sa) : nil, c.needs[1] ? (-g).sum(toShape: sb) : nil]
        }
    }

    public static func * (a: Tensor, b: Tensor) -> Tensor {
        let shape = broadcastShape(a, b, "multiply")
        return result("multiply", shape: shape, storage: zipKernel(a, b, shape: shape) { $0 * $1 }, inputs: [a, b]) {
            g, c in
            [c.needs[0] ? (g * b).sum(toShape: a.shape) : nil, c.needs[1] ? (g * a).sum(toShape: b.shape) : nil]
        }
    }

    public static func / (a: Tensor, b: Tensor) -> Tensor {
        let shape = broadcastShape(a, b, "divide")
        return result("divide", shape: shape, storage: zipKernel(a, b, shape: shape) { $0 / $1 }, inputs: [a, b]) {
            g, c in
            let ga = g / b
            return [c.needs[0] ? ga.sum(toShape: a.shape) : nil, c.needs[1] ? (-ga * a / b).sum(toShape: b.shape) : nil]
        }
    }

    public static prefix func - (x: Tensor) -> Tensor {
        result("negate", shape: x.shape, storage: mapKernel(x) { -$0 }, inputs: [x]) { g, _ in [-g] }
    }

    public static func + (a: Tensor, b: Float) -> Tensor { a + Tensor(b) }
    public static func + (a: Float, b: Tensor) -> Tensor { Tensor(a) + b }
    public static func - (a: Tensor, b: Float) -> Tensor { a - Tensor(b) }
    public static func - (a: Float, b: Tensor) -> Tensor { Tensor(a) - b }
    public static func * (a: Tensor, b: Float) -> Tensor { a * Tensor(b) }
    public static func * (a: Float, b: Tensor) -> Tensor { Tensor(a) * b }
    public static func / (a: Tensor, b: Float) -> Tensor { a * Tensor(1 / b) }
    public static func / (a: Float, b: Tensor) -> Tensor { Tensor(a) / b }

    public static func += (a: inout Tensor, b: Tensor) { a = a + b }
    public static func -= (a: inout Tensor, b: Tensor) { a = a - b }
    public static func *= (a: inout Tensor, b: Tensor) { a = a * b }
    public static func /= (a: inout Tensor, b: Tensor) { a = a / b }

    /// This tensor repeated along broadcast axes to `shape` (a real copy; its gradient sums back).
    public func expanded(to target: [Int]) -> Tensor {
        if target == shape { return self }
        let out = checked { try Shape.broadcast(shape, target, op: "expand") }
        precondition(out == target, "expand: shape \(shape) cannot be expanded to \(target)")
        let storage = Storage(uninitializedCount: Shape.count(target))
        let padded = [Int](repeating: 1, count: target.count - rank) + shape
        let strides = Shape.strides(padded).enumerated().map { padded[$0.offset] == 1 ? 0 : $0.element }
        stridedCopy(
            shape: target, from: self.storage.pointer, offset: 0, strides: strides,
            to: storage.pointer, offset: 0, strides: Shape.strides(target))
        let original = shape
        return Tensor.result("expand", shape: target, storage: storage, inputs: [self]) { g, _ in
            [g.sum(toShape: original)]
        }
    }

    /// Sums over the axes along which `target` was broadcast to this tensor's shape: the adjoint of `expanded(to:)`.
    public func sum(toShape target: [Int]) -> Tensor {
        if target == shape { return self }
        let lead = rank - target.count
        precondition(lead >= 0, "sum(toShape:): \(target) has more axes than \(shape)")
        var axes = Array(0..<lead)
        for (i, size) in target.enumerated() where size == 1 && shape[lead + i] != 1 { axes.append(lead + i) }
        for (i, size) in target.enumerated() where size != 1 {
            precondition(size == shape[lead + i], "sum(toShape:): \(shape) was not broadcast from \(target)")
        }
        return sum(alongAxes: axes, keepDims: true).reshaped(target)
    }
}
