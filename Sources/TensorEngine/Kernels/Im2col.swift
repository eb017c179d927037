import CKernels

/// The geometry of a 2-D convolution: how far the kernel steps, how much zero border the input
/// gets, how spread the kernel taps are, and how channels split into independent groups.
public struct ConvGeometry: Equatable, Sendable {
    public var stride: (Int, Int)
    public var padding: (Int, Int)
    public var dilation: (Int, Int)
    public var groups: Int

    public init(stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1), groups: Int = 1) {
        self.stride = stride; self.padding = padding; self.dilation = dilation; self.groups = groups
    }

    public static func == (a: ConvGeometry, b: ConvGeometry) -> Bool {
        a.stride == b.stride && a.padding == b.padding && a.dilation == b.dilation && a.groups == b.groups
    }

    /// Output size along one axis for input size `n` and kernel size `k`.
    func outputSize(_ n: Int, kernel k: Int, axis: Int) -> Int {
        let (s, p, d) = axis == 0 ? (stride.0, padding.0, dilation.0) : (stride.1, padding.1, dilation.1)
        return (n + 2 * p - d * (k - 1) - 1) / s + 1
    }

    /// True when the columns matrix is the input itself (1x1 kernel, no stride, no padding).
    func isPointwise(kernel: (Int, Int)) -> Bool {
        kernel == (1, 1) && stride == (1, 1) && padding == (0, 0)
    }
}

/// Sizes of one convolution, per image and group.
struct ConvSizes {
    let batch, inChannels, height, width: Int
    let outChannels, kernelH, kernelW, outH, outW: Int
    let g: ConvGeometry
    /// The kernel taps (ki * kernelW + kj) in use: all of them, unless some are zero in every
    /// weight (a masked convolution), which the products then skip.
    var taps: [Int]
    init(batch: Int, inChannels: Int, height: Int, width: Int, outChannels: Int, kernelH: Int, kernelW: Int,
         outH: Int, outW: Int, g: ConvGeometry) {
        self.batch = batch; self.inChannels = inChannels; self.height = height; self.width = width
        self.outChannels = outChannels; self.kernelH = kernelH; self.kernelW = kernelW; self.outH = outH; self.outW = outW
        self.g = g
        taps = Array(0..<(kernelH * kernelW))
    }
    var groupIn: Int { inChannels / g.groups }
    var groupOut: Int { outChannels / g.groups }
    /// Rows of the columns matrix: one per (channel, tap).
    var patch: Int { groupIn * taps.count }
    var outPlane: Int { outH * outW }
    var inPlane: Int { height * width }
}

/// Visits every (channel, tap, output row) of one group of one image whose input row lies inside
/// the image, with the columns-matrix row for it, the input row (shifted by the tap's column
/// offset, so output column ow reads `input[ow * strideW]`), and the range of output columns
/// whose input column lies inside the image. `outside` gets the rows that fall in the padding.
/// Rows of the columns matrix lie `rowStride` floats apart (more than one image's columns when
/// several images share one matrix).
@inline(__always)
private func forEachPatchRow(_ s: ConvSizes, rows: Range<Int>, rowStride: Int?,
                             outside: (_ columnRow: Int) -> Void,
                             _ body: (_ columnRow: Int, _ inputRow: Int, _ inside: Range<Int>) -> Void) {
    let (sh, sw) = s.g.stride, (ph, pw) = s.g.padding, (dh, dw) = s.g.dilation
    let (H, W, Wo) = (s.height, s.width, s.outW)
    let columns = rowStride ?? rows.count * Wo
    for c in 0..<s.groupIn {
        for (t, tap) in s.taps.enumerated() {
            let ki = tap / s.kernelW, kj = tap % s.kernelW
            let offsetW = kj * dw - pw
            let owLo = offsetW >= 0 ? 0 : min(Wo, (-offsetW + sw - 1) / sw)
            let owHi = max(owLo, min(Wo, (W - offsetW + sw - 1) / sw))
            for oh in rows {
                let columnRow = (c * s.taps.count + t) * columns + (oh - rows.lowerBound) * Wo
                let ih = oh * sh - ph + ki * dh
                if ih >= 0 && ih < H { body(columnRow, (c * H + ih) * W + offsetW, owLo..<owHi) } else { outside(columnRow) }
            }
        }
    }
}

/// Short or strided rows (a 7x7 map, a stride-2 layer) go through a table of input offsets, one
/// vectorised gather per (channel, tap) over the whole block; the row by row copies cost more
/// in bookkeeping than in copying there. Long unit-stride rows are copied row by row.
@inline(__always)
private func gathersThroughTable(_ s: ConvSizes) -> Bool { s.outW < 16 || s.g.stride.1 != 1 }

/// For each tap in use and each output position of `rows` (row-major), the offset in one
/// channel's plane of the input it meets, or -1 in the padding.
@inline(__always)
private func withTapOffsets<R>(_ s: ConvSizes, rows: Range<Int>, _ body: (UnsafePointer<Int32>, Int) -> R) -> R {
    let (sh, sw) = s.g.stride, (ph, pw) = s.g.padding, (dh, dw) = s.g.dilation
    let (H, W, Wo) = (s.height, s.width, s.outW)
    let count = rows.count * Wo
    return withUnsafeTemporaryAllocation(of: Int32.self, capacity: max(1, s.taps.count * count)) { table in
        var k = 0
        for tap in s.taps {
            let ki = tap / s.kernelW, kj = tap % s.kernelW
            for oh in rows {
                let ih = oh * sh - ph + ki * dh
                for ow in 0..<Wo {
                    let iw = ow * sw - pw + kj * dw
                    table[k] = ih >= 0 && ih < H && iw >= 0 && iw < W ? Int32(ih * W + iw) : -1
                    k += 1
                }
            }
        }
        return body(table.baseAddress!, count)
    }
}

/// The inverse of `withTapOffsets`: for each tap and each input position from the first input
/// row that `rows` meet to the last, the output position (within the block) that meets it
/// through that tap, or -1.
@inline(__always)
private func withTapSources<R>(_ s: ConvSizes, rows: Range<Int>, _ body: (UnsafePointer<Int32>, Int, Int) -> R) -> R {
    let (sh, ph, dh) = (s.g.stride.0, s.g.padding.0, s.g.dilation.0)
    let firstRow = max(0, rows.lowerBound * sh - ph), lastRow = min(s.height, (rows.upperBound - 1) * sh - ph + (s.kernelH - 1) * dh + 1)
    let first = firstRow * s.width, count = max(0, lastRow - firstRow) * s.width
    return withTapOffsets(s, rows: rows) { offsets, positions in
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: max(1, s.taps.count * count)) { sources in
            sources.initialize(repeating: -1)
            for t in 0..<s.taps.count {
                for p in 0..<positions {
                    let q = Int(offsets[t * positions + p])
                    if q >= 0 { sources[t * count + q - first] = Int32(p) }
                }
            }
            return body(sources.baseAddress!, first, count)
        }
    }
}

/// Unfolds one group of `images` images (whole images `imageStride` floats apart), for the
/// output rows `rows`, into columns: row (c, tap), column (oh, ow) of image i's block holds the
/// input value that tap (ki, kj) of channel c meets at output (oh, ow), or 0 in the padding.
/// The images' blocks lie side by side in each row (rows `rowStride` apart).
func im2col(_ x: UnsafePointer<Float>, _ s: ConvSizes, rows: Range<Int>, _ col: UnsafeMutablePointer<Float>,
            rowStride: Int? = nil, images: Int = 1, imageStride: Int = 0) {
    let sw = s.g.stride.1, Wo = s.outW, block = rows.count * Wo
    if gathersThroughTable(s) {
        return withTapOffsets(s, rows: rows) { table, count in
            for i in 0..<images {
                dg_im2col(x + i * imageStride, s.groupIn, s.inPlane, table, s.taps.count, count, col + i * block, rowStride ?? count)
            }
        }
    }
    for i in 0..<images {
        let x = x + i * imageStride, col = col + i * block
        forEachPatchRow(s, rows: rows, rowStride: rowStride, outside: { (col + $0).update(repeating: 0, count: Wo) }) { columnRow, inputRow, inside in
            let dst = col + columnRow, src = x + inputRow
            if inside.lowerBound > 0 { dst.update(repeating: 0, count: inside.lowerBound) }
            if sw == 1 {
                (dst + inside.lowerBound).update(from: src + inside.lowerBound, count: inside.count)
            } else {
                for ow in inside { dst[ow] = src[ow * sw] }
            }
            if inside.upperBound < Wo { (dst + inside.upperBound).update(repeating: 0, count: Wo - inside.upperBound) }
        }
    }
}

/// The adjoint of `im2col`: adds every column entry back onto the input position it came from.
func col2im(_ col: UnsafePointer<Float>, _ s: ConvSizes, rows: Range<Int>, _ x: UnsafeMutablePointer<Float>,
            rowStride: Int? = nil, images: Int = 1, imageStride: Int = 0) {
    let sw = s.g.stride.1, block = rows.count * s.outW
    if gathersThroughTable(s) {
        return withTapSources(s, rows: rows) { table, first, count in
            for i in 0..<images {
                dg_col2im(col + i * block, s.groupIn, s.inPlane, table, s.taps.count, count, x + i * imageStride + first, rowStride ?? block)
            }
        }
    }
    for i in 0..<images {
        let col = col + i * block, x = x + i * imageStride
        forEachPatchRow(s, rows: rows, rowStride: rowStride, outside: { _ in }) { columnRow, inputRow, inside in
            let src = col + columnRow, dst = x + inputRow
            if sw == 1 {
                var ow = inside.lowerBound
                while ow + 16 <= inside.upperBound { store(load(dst + ow) + load(src + ow), dst + ow); ow += 16 }
                while ow < inside.upperBound { dst[ow] += src[ow]; ow += 1 }
            } else {
                for ow in inside { dst[ow * sw] += src[ow] }
            }
        }
    }
}

/// Scratch memory for one thread's columns matrix, freed when the op ends.
final class Scratch {
    let pointer: UnsafeMutablePointer<Float>
    init(_ count: Int) { pointer = .allocate(capacity: max(count, 1)) }
    deinit { pointer.deallocate() }
}

/// The three convolution kernels. Small maps are processed several images at a time: their
/// columns matrices side by side make one product wide enough for BLAS to run near its peak (one
/// 7x7 map gives products 49 columns wide, and a weight gradient summed over 49 terms per image).
/// A large map is processed alone, in blocks of output rows that bound the scratch memory.
enum ConvKernels {
    /// Floats of columns matrix per product: whole images up to this size, where measurements
    /// favoured one large product over cache-sized blocks; the bound caps scratch memory.
    static let blockFloats = 1 << 24
    /// Floats of columns matrix below which images are gathered into one product.
    static let chunkFloats = 1 << 20

    /// Images per product, and output rows per block when that is one image.
    static func plan(_ s: ConvSizes) -> (images: Int, rows: Int) {
        let perImage = s.patch * s.outPlane
        if perImage >= chunkFloats { return (1, max(1, min(s.outH, blockFloats / max(1, s.patch * s.outW)))) }
        return (max(1, min(s.batch, chunkFloats / max(1, perImage))), s.outH)
    }

    /// The taps some weight uses, and the weights compacted to them ([out, in / groups, taps]),
    /// or nil when every tap is used. Masked convolutions (PixelCNN) leave up to half their taps
    /// zero; skipping them removes that share of the work.
    static func usedTaps(_ w: UnsafePointer<Float>, _ s: ConvSizes) -> (ConvSizes, Scratch)? {
        let area = s.kernelH * s.kernelW, rows = s.outChannels * s.groupIn
        var used = [Bool](repeating: false, count: area)
        for r in 0..<rows { for t in 0..<area where !used[t] && w[r * area + t] != 0 { used[t] = true } }
        let taps = (0..<area).filter { used[$0] }
        guard !taps.isEmpty, taps.count < area else { return nil }
        var compact = s
        compact.taps = taps
        let weights = Scratch(rows * taps.count)
        for r in 0..<rows { for (i, t) in taps.enumerated() { weights.pointer[r * taps.count + i] = w[r * area + t] } }
        return (compact, weights)
    }

    /// y[n, group] = W[group] @ columns(x[n, group]) (+ bias per output channel).
    static func forward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                        _ y: UnsafeMutablePointer<Float>, _ s: ConvSizes) {
        if let (compact, weights) = usedTaps(w, s) { return forwardOverTaps(x, weights.pointer, bias, y, compact) }
        forwardOverTaps(x, w, bias, y, s)
    }

    private static func forwardOverTaps(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                                        _ y: UnsafeMutablePointer<Float>, _ s: ConvSizes) {
        let pointwise = s.g.isPointwise(kernel: (s.kernelH, s.kernelW))
        let (images, step) = plan(s), P = s.outPlane
        let scratch = Workspace(s, images: images, rows: step, outputs: images > 1)
        forEachChunk(s.batch, images: images) { n0, count, thread, perImage in
            let (columns, product) = scratch.buffers(thread)
            for grp in 0..<s.g.groups {
                let wg = w + grp * s.groupOut * s.patch
                let xg = { (n: Int) in x + (n * s.inChannels + grp * s.groupIn) * s.inPlane }
                let yg = { (n: Int) in y + (n * s.outChannels + grp * s.groupOut) * P }
                if count > 1 {
                    // The images' columns side by side, one product, then each image's rows
                    // (plus the bias) copied out.
                    let ld = count * P
                    im2col(xg(n0), s, rows: 0..<s.outH, columns, rowStride: ld, images: count, imageStride: s.inChannels * s.inPlane)
                    gemm(perImage, false, false, s.groupOut, ld, s.patch, wg, s.patch, columns, ld, 0, product, ld)
                    for i in 0..<count {
                        for o in 0..<s.groupOut {
                            let add = bias?[grp * s.groupOut + o] ?? 0
                            copy(product + o * ld + i * P, to: yg(n0 + i) + o * P, count: P, adding: add)
                        }
                    }
                    continue
                }
                // The bias is written first and the product added to it (beta 1): no separate
                // pass over the output, and BLAS skips its own zeroing pass.
                if let bias {
                    for o in 0..<s.groupOut { (yg(n0) + o * P).update(repeating: bias[grp * s.groupOut + o], count: P) }
                }
                let beta: Float = bias == nil ? 0 : 1
                if pointwise {
                    gemm(perImage, false, false, s.groupOut, P, s.patch, wg, s.patch, xg(n0), P, beta, yg(n0), P)
                    continue
                }
                for start in stride(from: 0, to: s.outH, by: step) {
                    let rows = start..<min(s.outH, start + step), width = rows.count * s.outW
                    im2col(xg(n0), s, rows: rows, columns)
                    gemm(perImage, false, false, s.groupOut, width, s.patch, wg, s.patch, columns, width, beta, yg(n0) + start * s.outW, P)
                }
            }
        }
    }

    /// dx[n, group] = col2im(W[group]ᵀ @ dy[n, group]): the adjoint of `forward` in x.
    static func inputGradient(_ dy: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, _ s: ConvSizes) {
        if let (compact, weights) = usedTaps(w, s) { return inputGradientOverTaps(dy, weights.pointer, dx, compact) }
        inputGradientOverTaps(dy, w, dx, s)
    }

    private static func inputGradientOverTaps(_ dy: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
                                              _ s: ConvSizes) {
        let pointwise = s.g.isPointwise(kernel: (s.kernelH, s.kernelW))
        let (images, step) = plan(s), P = s.outPlane
        let scratch = Workspace(s, images: images, rows: step, outputs: images > 1)
        forEachChunk(s.batch, images: images) { n0, count, thread, perImage in
            let (columns, gathered) = scratch.buffers(thread)
            for grp in 0..<s.g.groups {
                let wg = w + grp * s.groupOut * s.patch
                let dxg = { (n: Int) in dx + (n * s.inChannels + grp * s.groupIn) * s.inPlane }
                let dyg = { (n: Int) in dy + (n * s.outChannels + grp * s.groupOut) * P }
                if count > 1 {
                    let ld = count * P
                    gather(count, P, s.groupOut, from: dyg(n0), imageStride: s.outChannels * P, into: gathered, ld)
                    gemm(perImage, true, false, s.patch, ld, s.groupOut, wg, s.patch, gathered, ld, 0, columns, ld)
                    for i in 0..<count { dxg(n0 + i).update(repeating: 0, count: s.groupIn * s.inPlane) }
                    col2im(columns, s, rows: 0..<s.outH, dxg(n0), rowStride: ld, images: count, imageStride: s.inChannels * s.inPlane)
                    continue
                }
                if pointwise {
                    gemm(perImage, true, false, s.patch, P, s.groupOut, wg, s.patch, dyg(n0), P, 0, dxg(n0), P)
                    continue
                }
                dxg(n0).update(repeating: 0, count: s.groupIn * s.inPlane)
                for start in stride(from: 0, to: s.outH, by: step) {
                    let rows = start..<min(s.outH, start + step), width = rows.count * s.outW
                    gemm(perImage, true, false, s.patch, width, s.groupOut, wg, s.patch, dyg(n0) + start * s.outW, P, 0, columns, width)
                    col2im(columns, s, rows: rows, dxg(n0))
                }
            }
        }
    }

    /// dW[group] = sum over n of dy[n, group] @ columns(x[n, group])ᵀ: the adjoint of `forward` in W.
    /// Each thread sums its own images; the partial sums are then added in thread order.
    static func weightGradient(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dw: UnsafeMutablePointer<Float>, _ s: ConvSizes) {
        let pointwise = s.g.isPointwise(kernel: (s.kernelH, s.kernelW))
        let (images, step) = plan(s), P = s.outPlane
        let threads = s.batch >= Parallel.threadCount ? Parallel.threadCount : 1
        let weightCount = s.outChannels * s.patch
        let scratch = Workspace(s, images: images, rows: step, outputs: images > 1)
        let partial = (1..<max(threads, 1)).map { _ in Scratch(weightCount) }
        dw.update(repeating: 0, count: weightCount)
        for p in partial { p.pointer.update(repeating: 0, count: weightCount) }
        forEachChunk(s.batch, images: images) { n0, count, thread, perImage in
            let target = thread == 0 ? dw : partial[thread - 1].pointer
            let (columns, gathered) = scratch.buffers(thread)
            for grp in 0..<s.g.groups {
                let dwg = target + grp * s.groupOut * s.patch
                let xg = { (n: Int) in x + (n * s.inChannels + grp * s.groupIn) * s.inPlane }
                let dyg = { (n: Int) in dy + (n * s.outChannels + grp * s.groupOut) * P }
                if count > 1 {
                    let ld = count * P
                    gather(count, P, s.groupOut, from: dyg(n0), imageStride: s.outChannels * P, into: gathered, ld)
                    im2col(xg(n0), s, rows: 0..<s.outH, columns, rowStride: ld, images: count, imageStride: s.inChannels * s.inPlane)
                    gemm(perImage, false, true, s.groupOut, s.patch, ld, gathered, ld, columns, ld, 1, dwg, s.patch)
                    continue
                }
                if pointwise {
                    gemm(perImage, false, true, s.groupOut, s.patch, P, dyg(n0), P, xg(n0), P, 1, dwg, s.patch)
                    continue
                }
                for start in stride(from: 0, to: s.outH, by: step) {
                    let rows = start..<min(s.outH, start + step), width = rows.count * s.outW
                    im2col(xg(n0), s, rows: rows, columns)
                    gemm(perImage, false, true, s.groupOut, s.patch, width, dyg(n0) + start * s.outW, P, columns, width, 1, dwg, s.patch)
                }
            }
        }
        for p in partial {
            var i = 0
            while i + 16 <= weightCount { store(load(dw + i) + load(p.pointer + i), dw + i); i += 16 }
            while i < weightCount { dw[i] += p.pointer[i]; i += 1 }
        }
    }

    /// Per-thread scratch: a columns matrix for `images` images (or `rows` output rows of one),
    /// and, when images are gathered, a matrix of their outputs side by side.
    private struct Workspace {
        let columns: [Scratch], outputs: [Scratch]
        init(_ s: ConvSizes, images: Int, rows: Int, outputs gathered: Bool) {
            let pointwise = s.g.isPointwise(kernel: (s.kernelH, s.kernelW))
            let columnFloats = images > 1 ? s.patch * images * s.outPlane : pointwise ? 0 : s.patch * rows * s.outW
            columns = (0..<Parallel.threadCount).map { _ in Scratch(columnFloats) }
            outputs = (0..<Parallel.threadCount).map { _ in Scratch(gathered ? s.groupOut * images * s.outPlane : 0) }
        }
        func buffers(_ thread: Int) -> (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) {
            (columns[thread].pointer, outputs[thread].pointer)
        }
    }

    /// dst[o, i * plane ..< (i + 1) * plane] = src[i][o, ...] for `count` images `imageStride`
    /// apart: each image's channel planes laid side by side, one row per channel.
    private static func gather(_ count: Int, _ plane: Int, _ channels: Int, from src: UnsafePointer<Float>, imageStride: Int,
                               into dst: UnsafeMutablePointer<Float>, _ ld: Int) {
        for i in 0..<count {
            for o in 0..<channels { (dst + o * ld + i * plane).update(from: src + i * imageStride + o * plane, count: plane) }
        }
    }

    /// dst[j] = src[j] + add.
    @inline(__always)
    private static func copy(_ src: UnsafePointer<Float>, to dst: UnsafeMutablePointer<Float>, count: Int, adding add: Float) {
        if add == 0 { dst.update(from: src, count: count); return }
        let a = Vec(repeating: add)
        var j = 0
        while j + 16 <= count { store(load(src + j) + a, dst + j); j += 16 }
        while j < count { dst[j] = src[j] + add; j += 1 }
    }

    /// A single-threaded product when images are already spread over the threads, else a split one.
    @inline(__always)
    private static func gemm(_ perImage: Bool, _ tA: Bool, _ tB: Bool, _ m: Int, _ n: Int, _ k: Int,
                             _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
                             _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        if perImage {
            BLAS.gemm(transposeA: tA, transposeB: tB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        } else {
            BLAS.parallelGemm(transposeA: tA, transposeB: tB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        }
    }

    /// Images split into one contiguous share per thread (deterministic), each share in chunks of
    /// at most `images`; `body` gets (first image, count, thread, whether threads hold images).
    /// A batch smaller than the thread count runs on this thread, its products split instead.
    private static func forEachChunk(_ batch: Int, images: Int, _ body: (Int, Int, Int, Bool) -> Void) {
        let parts = Parallel.threadCount
        func share(_ range: Range<Int>, _ thread: Int, _ perImage: Bool) {
            var n = range.lowerBound
            while n < range.upperBound {
                let count = min(images, range.upperBound - n)
                body(n, count, thread, perImage)
                n += count
            }
        }
        guard batch >= parts else { return share(0..<batch, 0, false) }
        Parallel.forEach(parts) { t in share(batch * t / parts ..< batch * (t + 1) / parts, t, true) }
    }
}
