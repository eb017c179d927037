/// A shape error names the operation and every shape involved, so the message alone says what
/// to fix. Ops trap with this message (like an out-of-range array index); code that takes shapes
/// from outside (files, flags) checks them first with the throwing `Shape` functions.
public struct ShapeError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Shape arithmetic shared by the ops. Shapes are row-major; a shape of `[]` is a scalar.
public enum Shape {
    public static func count(_ shape: [Int]) -> Int { shape.reduce(1, *) }

    /// Row-major strides in elements.
    public static func strides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[axis] = running
            running *= shape[axis]
        }
        return strides
    }

    /// NumPy broadcasting: shapes are aligned on their last axis; sizes must match or be 1.
    public static func broadcast(_ a: [Int], _ b: [Int], op: String = "broadcast") throws -> [Int] {
        let rank = max(a.count, b.count)
        var result = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            guard da == db || da == 1 || db == 1 else {
                throw ShapeError(
                    "\(op): shapes \(a) and \(b) cannot be broadcast together (axis \(i - rank): \(da) vs \(db))")
            }
            result[i] = da == 1 ? db : da
        }
        return result
    }

    /// Normalises a possibly negative axis, checking it is in range.
    public static func axis(_ axis: Int, rank: Int, op: String) throws -> Int {
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0, a < max(rank, 1) else { throw ShapeError("\(op): axis \(axis) is out of range for rank \(rank)") }
        return a
    }

    /// Resolves a reshape target that may contain one -1.
    public static func reshaped(_ shape: [Int], to target: [Int]) throws -> [Int] {
        let total = count(shape)
        let unknown = target.indices.filter { target[$0] == -1 }
        guard unknown.count <= 1, target.allSatisfy({ $0 >= 0 || $0 == -1 }) else {
            throw ShapeError("reshape: target \(target) may hold one -1 and no other negative size")
        }
        var result = target
        if let u = unknown.first {
            let known = target.filter { $0 != -1 }.reduce(1, *)
            guard known > 0, total % known == 0 else {
                throw ShapeError("reshape: cannot reshape \(shape) (\(total) elements) to \(target)")
            }
            result[u] = total / known
        }
        guard count(result) == total else {
            throw ShapeError(
                "reshape: cannot reshape \(shape) (\(total) elements) to \(target) (\(count(result)) elements)")
        }
        return result
    }

    /// The shape of `a @ b` for 2-D or batched 3-D operands (optionally transposed in their last two axes).
    public static func matmul(
        _ a: [Int], _ b: [Int], transposeA: Bool = false, transposeB: Bool = false
    ) throws -> [Int] {
        guard (a.count == 2 && b.count == 2) || (a.count == 3 && b.count == 3) else {
            throw ShapeError("matmul: shapes \(a) and \(b) must both be 2-D or both 3-D")
        }
        let (m, ka) = transposeA ? (a[a.count - 1], a[a.count - 2]) : (a[a.count - 2], a[a.count - 1])
        let (kb, n) = transposeB ? (b[b.count - 1], b[b.count - 2]) : (b[b.count - 2], b[b.count - 1])
        guard ka == kb else {
            throw ShapeError(
                "matmul: shapes \(a)\(transposeA ? "ᵀ" : "") and \(b)\(transposeB ? "ᵀ" : "") have inner sizes \(ka) "
                    + "and \(kb)"
            )
        }
        if a.count == 3 {
            guard a[0] == b[0] else { throw ShapeError("matmul: batch sizes of \(a) and \(b) differ") }
            return [a[0], m, n]
        }
        return [m, n]
    }
}

@inline(never)
func shapeFailure(_ error: Error) -> Never {
    fatalError("\(error)")
}

/// Runs a throwing shape check and traps with its message: the programmer's error path.
@inline(__always)
func checked<T>(_ body: () throws -> T) -> T {
    do { return try body() } catch { shapeFailure(error) }
}
