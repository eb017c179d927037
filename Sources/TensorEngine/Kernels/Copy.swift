/// One strided copy serves permute, slice, pad and concatenate: copy a box of `shape` from
/// `src` (laid out with `srcStrides` from `srcOffset`) to `dst` (likewise), or with `adding`
/// add it to what `dst` holds (a slice's gradient into its input's).
func stridedCopy(
    shape: [Int],
    from src: UnsafePointer<Float>, offset srcOffset: Int, strides srcStrides: [Int],
    to dst: UnsafeMutablePointer<Float>, offset dstOffset: Int, strides dstStrides: [Int], adding: Bool = false
) {
    guard !shape.contains(0) else { return }
    // Merge axes that are contiguous in both layouts, so the inner run is long.
    var dims: [Int] = [], ss: [Int] = [], ds: [Int] = []
    for axis in shape.indices where shape[axis] != 1 {
        if let last = dims.last, ss.last! == srcStrides[axis] * shape[axis], ds.last! == dstStrides[axis] * shape[axis]
        {
            dims[dims.count - 1] = last * shape[axis]
            ss[ss.count - 1] = srcStrides[axis]; ds[ds.count - 1] = dstStrides[axis]
        } else {
            dims.append(shape[axis]); ss.append(srcStrides[axis]); ds.append(dstStrides[axis])
        }
    }
    if dims.isEmpty { dst[dstOffset] = (adding ? dst[dstOffset] : 0) + src[srcOffset]; return }
    let inner = dims.removeLast(), si = ss.removeLast(), di = ds.removeLast()
    let rows = Shape.count(dims)
    Parallel.forRanges(rows, grain: max(1, elementwiseGrain / inner)) { range in
        // Decompose the first row index, then step like an odometer.
        var index = [Int](repeating: 0, count: dims.count)
        var rest = range.lowerBound
        var so = srcOffset, dof = dstOffset
        for d in stride(from: dims.count - 1, through: 0, by: -1) {
            index[d] = rest % dims[d]; rest /= dims[d]
            so += index[d] * ss[d]; dof += index[d] * ds[d]
        }
        for _ in range {
            if adding {
                for k in 0..<inner { dst[dof + k * di] += src[so + k * si] }
            } else if si == 1 && di == 1 {
                (dst + dof).update(from: src + so, count: inner)
            } else {
                for k in 0..<inner { dst[dof + k * di] = src[so + k * si] }
            }
            var d = dims.count - 1
            while d >= 0 {
                index[d] += 1; so += ss[d]; dof += ds[d]
                if index[d] < dims[d] { break }
                so -= ss[d] * dims[d]; dof -= ds[d] * dims[d]; index[d] = 0; d -= 1
            }
        }
    }
}
