import Foundation

/// Elementwise loops: 16 lanes at a time, split over the cores for large tensors. The operation
/// is passed as an `@inline(__always)` closure, so in an optimised build each call site becomes a
/// plain vector loop with no call per element.

@inlinable @inline(__always) func load(_ p: UnsafePointer<Float>) -> Vec {
    UnsafeRawPointer(p).loadUnaligned(as: Vec.self)
}
@inlinable @inline(__always) func store(_ v: Vec, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vec.self)
}
/// A vector from an operand whose inner stride is 1 (consecutive values) or 0 (one repeated value).
@inlinable @inline(__always) func load(_ p: UnsafePointer<Float>, stride: Int, at i: Int) -> Vec {
    stride == 0 ? Vec(repeating: p[0]) : load(p + i)
}
@inlinable @inline(__always) func loadPartial(_ p: UnsafePointer<Float>, stride: Int, at i: Int, count: Int) -> Vec {
    if stride == 0 { return Vec(repeating: p[0]) }
    var v = Vec(repeating: 0)
    for k in 0..<count { v[k] = p[i + k] }
    return v
}
@inlinable @inline(__always) func storePartial(_ v: Vec, _ p: UnsafeMutablePointer<Float>, count: Int) {
    for k in 0..<count { p[k] = v[k] }
}

@inline(__always)
func mapRow(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int, _ f: (Vec) -> Vec) {
    var i = 0
    while i + 16 <= n { store(f(load(x + i)), y + i); i += 16 }
    if i < n { storePartial(f(loadPartial(x, stride: 1, at: i, count: n - i)), y + i, count: n - i) }
}

@inline(__always)
func zipRow(
    _ a: UnsafePointer<Float>, _ sa: Int, _ b: UnsafePointer<Float>, _ sb: Int,
    _ y: UnsafeMutablePointer<Float>, _ n: Int, _ f: (Vec, Vec) -> Vec
) {
    var i = 0
    while i + 16 <= n { store(f(load(a, stride: sa, at: i), load(b, stride: sb, at: i)), y + i); i += 16 }
    if i < n {
        let m = n - i
        storePartial(
            f(loadPartial(a, stride: sa, at: i, count: m), loadPartial(b, stride: sb, at: i, count: m)), y + i, count: m
        )
    }
}

@inline(__always)
func zip3Row(
    _ a: UnsafePointer<Float>, _ sa: Int, _ b: UnsafePointer<Float>, _ sb: Int,
    _ c: UnsafePointer<Float>, _ sc: Int,
    _ y: UnsafeMutablePointer<Float>, _ n: Int, _ f: (Vec, Vec, Vec) -> Vec
) {
    var i = 0
    while i + 16 <= n {
        store(f(load(a, stride: sa, at: i), load(b, stride: sb, at: i), load(c, stride: sc, at: i)), y + i)
        i += 16
    }
    if i < n {
        let m = n - i
        storePartial(
            f(
                loadPartial(a, stride: sa, at: i, count: m), loadPartial(b, stride: sb, at: i, count: m),
                loadPartial(c, stride: sc, at: i, count: m)), y + i, count: m)
    }
}

/// Where each operand's rows start once broadcast to an output shape. Axes are merged wherever
/// every operand is contiguous across them, so the inner run is as long as possible.
struct BroadcastLayout {
    var inner = 1
    var innerStrides: [Int]
    var rowOffsets: [[Int]]
    var rows: Int { rowOffsets[0].count }

    init(output: [Int], operands: [[Int]]) {
        let rank = output.count
        var dims: [Int] = []
        var strides: [[Int]] = operands.map { _ in [] }
        let aligned = operands.map { shape -> [Int] in
            let padded = [Int](repeating: 1, count: rank - shape.count) + shape
            let s = Shape.strides(padded)
            return (0..<rank).map { padded[$0] == 1 ? 0 : s[$0] }
        }
        for axis in 0..<rank where output[axis] != 1 {
            if let last = dims.last,
                operands.indices.allSatisfy({ strides[$0].last! == aligned[$0][axis] * output[axis] })
            {
                dims[dims.count - 1] = last * output[axis]
                for k in operands.indices { strides[k][strides[k].count - 1] = aligned[k][axis] }
            } else {
                dims.append(output[axis])
                for k in operands.indices { strides[k].append(aligned[k][axis]) }
            }
        }
        if dims.isEmpty { dims = [1]; strides = operands.map { _ in [0] } }
        inner = dims.removeLast()
        innerStrides = strides.map { $0.last! }
        strides = strides.map { Array($0.dropLast()) }
        let rows = Shape.count(dims)
        rowOffsets = strides.map { s in
            var offsets = [Int](repeating: 0, count: rows)
            var index = [Int](repeating: 0, count: dims.count)
            var offset = 0
            for r in 0..<rows {
                offsets[r] = offset
                var d = dims.count - 1
                while d >= 0 {
                    index[d] += 1; offset += s[d]
                    if index[d] < dims[d] { break }
                    offset -= s[d] * dims[d]; index[d] = 0; d -= 1
                }
            }
            return offsets
        }
        precondition(innerStrides.allSatisfy { $0 == 0 || $0 == 1 })
    }
}

@inline(__always)
func mapKernel(_ x: Tensor, _ f: (Vec) -> Vec) -> Storage {
    let out = Storage(uninitializedCount: x.count)
    let src = x.storage.pointer, dst = out.pointer
    Parallel.forRanges(x.count, grain: elementwiseGrain) { r in
        mapRow(src + r.lowerBound, dst + r.lowerBound, r.count, f)
    }
    return out
}

@inline(__always)
func zipKernel(_ a: Tensor, _ b: Tensor, shape: [Int], _ f: (Vec, Vec) -> Vec) -> Storage {
    let n = Shape.count(shape)
    let out = Storage(uninitializedCount: n)
    let pa = a.storage.pointer, pb = b.storage.pointer, dst = out.pointer
    if (a.count == n || a.count == 1) && (b.count == n || b.count == 1) {
        let sa = a.count == 1 ? 0 : 1, sb = b.count == 1 ? 0 : 1
        Parallel.forRanges(n, grain: elementwiseGrain) { r in
            zipRow(pa + r.lowerBound * sa, sa, pb + r.lowerBound * sb, sb, dst + r.lowerBound, r.count, f)
        }
        return out
    }
    let layout = BroadcastLayout(output: shape, operands: [a.shape, b.shape])
    let inner = layout.inner, sa = layout.innerStrides[0], sb = layout.innerStrides[1]
    layout.rowOffsets[0].withUnsafeBufferPointer { oa in
        layout.rowOffsets[1].withUnsafeBufferPointer { ob in
            Parallel.forRanges(layout.rows, grain: max(1, elementwiseGrain / inner)) { rows in
                for r in rows { zipRow(pa + oa[r], sa, pb + ob[r], sb, dst + r * inner, inner, f) }
            }
        }
    }
    return out
}

@inline(__always)
func zip3Kernel(_ a: Tensor, _ b: Tensor, _ c: Tensor, shape: [Int], _ f: (Vec, Vec, Vec) -> Vec) -> Storage {
    let out = Storage(uninitializedCount: Shape.count(shape))
    let layout = BroadcastLayout(output: shape, operands: [a.shape, b.shape, c.shape])
    let pa = a.storage.pointer, pb = b.storage.pointer, pc = c.storage.pointer, dst = out.pointer
    let inner = layout.inner, s = layout.innerStrides, o = layout.rowOffsets
    Parallel.forRanges(layout.rows, grain: max(1, elementwiseGrain / inner)) { rows in
        for r in rows { zip3Row(pa + o[0][r], s[0], pb + o[1][r], s[1], pc + o[2][r], s[2], dst + r * inner, inner, f) }
    }
    return out
}

/// sum_i softplus(l_i) - l_i t_i over n contiguous values: the fused Bernoulli loss of one row.
@inline(__always)
func softplusMinusProductSum(_ l: UnsafePointer<Float>, _ t: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = Vec(repeating: 0), i = 0
    while i + 16 <= n {
        let x = load(l + i)
        acc += vsoftplus(x) - x * load(t + i)
        i += 16
    }
    var sum = acc.sum()
    while i < n {
        let x = l[i]
        sum += Swift.max(x, 0) + Foundation.log1p(Foundation.exp(-Swift.abs(x))) - x * t[i]
        i += 1
    }
    return sum
}

/// Calls `body(offset, lanes)` over 0..<count in vectors of 16 lanes, the last one partial.
@inlinable @inline(__always)
public func forEachVector(_ count: Int, _ body: (Int, Int) -> Void) {
    var at = 0
    while at + 16 <= count { body(at, 16); at += 16 }
    if at < count { body(at, count - at) }
}

@inlinable @inline(__always)
public func loadAt(_ p: UnsafePointer<Float>, _ at: Int, _ lanes: Int) -> Vec {
    lanes == 16 ? load(p + at) : loadPartial(p, stride: 1, at: at, count: lanes)
}

@inlinable @inline(__always)
public func storeAt(_ v: Vec, _ p: UnsafeMutablePointer<Float>, _ at: Int, _ lanes: Int) {
    lanes == 16 ? store(v, p + at) : storePartial(v, p + at, count: lanes)
}
