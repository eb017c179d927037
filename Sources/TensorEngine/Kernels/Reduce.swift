/// Reductions over the middle axis of a tensor viewed as [outer, length, inner]; reductions over
/// any set of axes are built from these.

@inline(__always)
func sumContiguous(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
    if n < 16 { // short rows (pooling windows): the same additions as below, without the vector set-up
        var s: Float = 0
        for i in 0..<n { s += p[i] }
        return s
    }
    // Four vector accumulators: pairwise-like accuracy and no dependency chain on one register.
    var a0 = Vec(), a1 = Vec(), a2 = Vec(), a3 = Vec()
    var i = 0
    while i + 64 <= n {
        a0 += load(p + i); a1 += load(p + i + 16); a2 += load(p + i + 32); a3 += load(p + i + 48)
        i += 64
    }
    while i + 16 <= n { a0 += load(p + i); i += 16 }
    var s = ((a0 + a1) + (a2 + a3)).sum()
    while i < n { s += p[i]; i += 1 }
    return s
}

func sumMiddle(_ x: UnsafePointer<Float>, outer: Int, length: Int, inner: Int, into y: UnsafeMutablePointer<Float>) {
    if inner == 1 {
        if outer >= Parallel.threadCount || outer * length < 2 * elementwiseGrain {
            Parallel.forRanges(outer, grain: max(1, elementwiseGrain / max(length, 1))) { rows in
                for o in rows { y[o] = sumContiguous(x + o * length, length) }
            }
        } else {
            // Few long rows: each thread sums a fixed share, then the shares are added in order.
            for o in 0..<outer {
                let parts = Parallel.threadCount
                var partial = [Float](repeating: 0, count: parts)
                partial.withUnsafeMutableBufferPointer { partial in
                    Parallel.forEach(parts) { t in
                        let lo = length * t / parts, hi = length * (t + 1) / parts
                        partial[t] = sumContiguous(x + o * length + lo, hi - lo)
                    }
                }
                y[o] = partial.reduce(0, +)
            }
        }
        return
    }
    // Rows of `inner` values are added together, each output column by the same additions in
    // the same order however the work is split (results do not depend on the thread count).
    func addRows(_ o: Int, _ cols: Range<Int>) {
        let base = x + o * length * inner, out = y + o * inner
        let lo = cols.lowerBound, n = cols.count
        (out + lo).initialize(from: base + lo, count: n)
        for k in 1..<max(length, 1) {
            let row = base + k * inner + lo
            var i = 0
            while i + 16 <= n { store(load(out + lo + i) + load(row + i), out + lo + i); i += 16 }
            while i < n { out[lo + i] += row[i]; i += 1 }
        }
        if length == 0 { (out + lo).update(repeating: 0, count: n) }
    }
    let columnGrain = max(16, elementwiseGrain / max(length, 1))
    if inner >= 2 * columnGrain {
        // Wide rows: split each block's columns so every thread streams through memory in order.
        for o in 0..<outer { Parallel.forRanges(inner, grain: columnGrain) { cols in addRows(o, cols) } }
    } else {
        // Narrow rows (e.g. 2x2 pooling as a reshape and a sum): split over the blocks instead,
        // one parallel dispatch in all rather than one per block.
        Parallel.forRanges(outer, grain: max(1, elementwiseGrain / max(length * inner, 1))) { blocks in
            for o in blocks { addRows(o, 0..<inner) }
        }
    }
}

/// The index (first on ties) of the largest or smallest value along the middle axis.
func argExtremeMiddle(
    _ x: UnsafePointer<Float>, outer: Int, length: Int, inner: Int, largest: Bool,
    into indices: UnsafeMutablePointer<Int32>
) {
    Parallel.forRanges(outer * inner, grain: max(1, elementwiseGrain / max(length, 1))) { range in
        for flat in range {
            let o = flat / inner, i = flat % inner
            let base = x + o * length * inner + i
            var best = base[0], bestIndex = 0
            for k in 1..<max(length, 1) {
                let v = base[k * inner]
                if largest ? (v > best || (v != v && best == best)) : (v < best || (v != v && best == best)) {
                    best = v; bestIndex = k
                }
            }
            indices[flat] = Int32(bestIndex)
        }
    }
}
