/// An n-dimensional array of Float32 in row-major order, with value semantics: every operation
/// returns a new tensor and never changes the ones it was given.
///
/// ```swift
/// let x = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
/// let y = (x * 2 + 1).sum(axes: [1])      // [13, 31]
/// ```
///
/// A tensor that `requiresGradient` records how it was computed, so `gradients(of:wrt:)` can
/// differentiate any scalar computed from it.
public struct Tensor: @unchecked Sendable {
    public let shape: [Int]
    /// The values, contiguous, for kernels (a custom op's, see `Tensor.custom`): read them, never
    /// write them, since other tensors may share the storage. `var` only so that
    /// `isKnownUniquelyReferenced` can ask whether an update may be done in place (see
    /// `adamUpdate`); it is never reassigned.
    public internal(set) var storage: Storage
    /// Present when the tensor takes part in differentiation (a leaf that asked for it, or the
    /// result of an op on such tensors while gradients are recorded).
    let node: GradNode?

    init(shape: [Int], storage: Storage, node: GradNode?) {
        precondition(Shape.count(shape) == storage.count, "storage of \(storage.count) for shape \(shape)")
        self.shape = shape
        self.storage = storage
        self.node = node
    }

    /// A tensor of `shape` over `storage` (which no one writes again), outside differentiation.
    public init(shape: [Int], storage: Storage) {
        self.init(shape: shape, storage: storage, node: nil)
    }

    public var rank: Int { shape.count }
    public var count: Int { storage.count }
    public var requiresGradient: Bool { node != nil }

    /// The same values, cut off from the recorded computation.
    public func detached() -> Tensor { Tensor(shape: shape, storage: storage) }

    /// A leaf of the computation whose gradient can be asked for.
    public func requiringGradient() -> Tensor {
        Tensor(shape: shape, storage: storage, node: GradNode(leafOfShape: shape))
    }

    public var scalars: [Float] { Array(storage.buffer) }

    /// The value of a one-element tensor.
    public var scalar: Float {
        precondition(count == 1, "scalar: tensor of shape \(shape) holds \(count) values, not 1")
        return storage.pointer[0]
    }

    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(storage.buffer)
    }

    /// True when no value is NaN or infinite. Reads the bits as integers (the largest magnitude
    /// against the all-ones exponent), a reduction the compiler vectorises.
    public var allFinite: Bool {
        storage.buffer.withMemoryRebound(to: UInt32.self) { bits in
            var largest: UInt32 = 0
            for b in bits { largest = Swift.max(largest, b & 0x7fff_ffff) }
            return largest < 0x7f80_0000
        }
    }
}

// MARK: - Creation

extension Tensor {
    public init(shape: [Int], scalars: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative size in shape \(shape)")
        precondition(
            Shape.count(shape) == scalars.count,
            "Tensor: shape \(shape) needs \(Shape.count(shape)) values, got \(scalars.count)")
        self.init(shape: shape, storage: Storage(scalars))
    }

    /// A 1-D tensor.
    public init(_ scalars: [Float]) { self.init(shape: [scalars.count], scalars: scalars) }

    /// A 0-D (scalar) tensor.
    public init(_ value: Float) { self.init(shape: [], storage: Storage(repeating: value, count: 1)) }

    /// Rows of equal length, as a 2-D tensor.
    public init(_ rows: [[Float]]) {
        let width = rows.first?.count ?? 0
        precondition(rows.allSatisfy { $0.count == width }, "Tensor: rows of unequal length")
        self.init(shape: [rows.count, width], scalars: rows.flatMap { $0 })
    }

    public init(shape: [Int], generating body: (UnsafeMutableBufferPointer<Float>) -> Void) {
        let storage = Storage(uninitializedCount: Shape.count(shape))
        body(UnsafeMutableBufferPointer(start: storage.pointer, count: storage.count))
        self.init(shape: shape, storage: storage)
    }

    public static func zeros(_ shape: [Int]) -> Tensor { full(shape, 0) }
    public static func ones(_ shape: [Int]) -> Tensor { full(shape, 1) }
    public static func full(_ shape: [Int], _ value: Float) -> Tensor {
        precondition(shape.allSatisfy { $0 >= 0 }, "full: negative size in shape \(shape)")
        return Tensor(shape: shape, storage: Storage(repeating: value, count: Shape.count(shape)))
    }
    public static func zeros(like other: Tensor) -> Tensor { zeros(other.shape) }

    /// `start, start + step, ...` up to but excluding `end`.
    public static func arange(_ start: Float = 0, _ end: Float, step: Float = 1) -> Tensor {
        precondition(step != 0, "arange: step must not be 0")
        let n = Swift.max(0, Int(((end - start) / step).rounded(.up)))
        return Tensor(shape: [n]) { out in
            for i in 0..<n { out[i] = start + Float(i) * step }
        }
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let shown = scalars.prefix(8).map { String($0) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(shown)\(count > 8 ? ", ..." : "")])"
    }
}
