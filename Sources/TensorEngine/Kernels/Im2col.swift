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
@inline(__always)
private func forEachPatchRow(_ s: ConvSizes, rows: Range<Int>,
                             outside: (_ columnRow: Int) -> Void,
                             _ body: (_ columnRow: Int, _ inputRow: Int, _ inside: Range<Int>) -> Void) {
    let (sh, sw) = s.g.stride, (ph, pw) = s.g.padding, (dh, dw) = s.g.dilation
    let (H, W, Wo) = (s.height, s.width, s.outW)
    let columns = rows.count * Wo
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

/// Unfolds one group of one image, for the output rows `rows`, into columns: row (c, tap),
/// column (oh, ow) holds the input value that tap (ki, kj) of channel c meets at output
/// (oh, ow), or 0 in the padding.
func im2col(_ x: UnsafePointer<Float>, _ s: ConvSizes, rows: Range<Int>, _ col: UnsafeMutablePointer<Float>) {
    let sw = s.g.stride.1, Wo = s.outW
    forEachPatchRow(s, rows: rows, outside: { (col + $0).update(repeating: 0, count: Wo) }) { columnRow, inputRow, inside in
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

/// The adjoint of `im2col`: adds every column entry back onto the input position it came from.
func col2im(_ col: UnsafePointer<Float>, _ s: ConvSizes, rows: Range<Int>, _ x: UnsafeMutablePointer<Float>) {
    let sw = s.g.stride.1
    forEachPatchRow(s, rows: rows, outside: { _ in }) { columnRow, inputRow, inside in
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

/// Scratch memory for one thread's columns matrix, freed when the op ends.
final class Scratch {
    let pointer: UnsafeMutablePointer<Float>
    init(_ count: Int) { pointer = .allocate(capacity: max(count, 1)) }
    deinit { pointer.deallocate() }
}

/// The three convolution kernels. Each image is processed in blocks of output rows whose columns
/// matrix fits in the core's cache, so the unfold and the product that reads it stay in cache.
enum ConvKernels {
    /// Floats of columns matrix per block (64 MB): whole images in practice, where measurements
    /// favoured one large product over cache-sized blocks; the bound only caps scratch memory.
    static let blockFloats = 1 << 24

    static func blockRows(_ s: ConvSizes) -> Int {
        max(1, min(s.outH, blockFloats / max(1, s.patch * s.outW)))
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
        let perImage = s.batch >= Parallel.threadCount
        let step = blockRows(s)
        let scratch = (0..<Parallel.threadCount).map { _ in Scratch(pointwise ? 0 : s.patch * step * s.outW) }
        forEachImage(s.batch, perImage: perImage) { n, thread in
            for grp in 0..<s.g.groups {
                let xg = x + (n * s.inChannels + grp * s.groupIn) * s.inPlane
                let yg = y + (n * s.outChannels + grp * s.groupOut) * s.outPlane
                let wg = w + grp * s.groupOut * s.patch
                // The bias is written first and the product added to it (beta 1): no separate
                // pass over the output, and BLAS skips its own zeroing pass.
                if let bias {
                    for o in 0..<s.groupOut { (yg + o * s.outPlane).update(repeating: bias[grp * s.groupOut + o], count: s.outPlane) }
                }
                let beta: Float = bias == nil ? 0 : 1
                if pointwise {
                    gemm(perImage, false, false, s.groupOut, s.outPlane, s.patch, wg, s.patch, xg, s.outPlane, beta, yg, s.outPlane)
                    continue
                }
                for start in stride(from: 0, to: s.outH, by: step) {
                    let rows = start..<min(s.outH, start + step), columns = rows.count * s.outW
                    im2col(xg, s, rows: rows, scratch[thread].pointer)
                    gemm(perImage, false, false, s.groupOut, columns, s.patch, wg, s.patch, scratch[thread].pointer, columns,
                         beta, yg + start * s.outW, s.outPlane)
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
        let perImage = s.batch >= Parallel.threadCount
        let step = blockRows(s)
        let scratch = (0..<Parallel.threadCount).map { _ in Scratch(pointwise ? 0 : s.patch * step * s.outW) }
        forEachImage(s.batch, perImage: perImage) { n, thread in
            for grp in 0..<s.g.groups {
                let dxg = dx + (n * s.inChannels + grp * s.groupIn) * s.inPlane
                let dyg = dy + (n * s.outChannels + grp * s.groupOut) * s.outPlane
                let wg = w + grp * s.groupOut * s.patch
                if pointwise {
                    gemm(perImage, true, false, s.patch, s.outPlane, s.groupOut, wg, s.patch, dyg, s.outPlane, 0, dxg, s.outPlane)
                    continue
                }
                dxg.update(repeating: 0, count: s.groupIn * s.inPlane)
                for start in stride(from: 0, to: s.outH, by: step) {
                    let rows = start..<min(s.outH, start + step), columns = rows.count * s.outW
                    gemm(perImage, true, false, s.patch, columns, s.groupOut, wg, s.patch, dyg + start * s.outW, s.outPlane,
                         0, scratch[thread].pointer, columns)
                    col2im(scratch[thread].pointer, s, rows: rows, dxg)
                }
            }
        }
    }

    /// dW[group] = sum over n of dy[n, group] @ columns(x[n, group])ᵀ: the adjoint of `forward` in W.
    /// Each thread sums its own images; the partial sums are then added in thread order.
    static func weightGradient(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dw: UnsafeMutablePointer<Float>, _ s: ConvSizes) {
        let pointwise = s.g.isPointwise(kernel: (s.kernelH, s.kernelW))
        let perImage = s.batch >= Parallel.threadCount
        let threads = perImage ? Parallel.threadCount : 1
        let weightCount = s.outChannels * s.patch
        let step = blockRows(s)
        let scratch = (0..<threads).map { _ in Scratch(pointwise ? 0 : s.patch * step * s.outW) }
        let partial = (1..<max(threads, 1)).map { _ in Scratch(weightCount) }
        dw.update(repeating: 0, count: weightCount)
        for p in partial { p.pointer.update(repeating: 0, count: weightCount) }
        forEachImage(s.batch, perImage: perImage) { n, thread in
            let target = thread == 0 ? dw : partial[thread - 1].pointer
            for grp in 0..<s.g.groups {
                let xg = x + (n * s.inChannels + grp * s.groupIn) * s.inPlane
                let dyg = dy + (n * s.outChannels + grp * s.groupOut) * s.outPlane
                let dwg = target + grp * s.groupOut * s.patch
                if pointwise {
                    gemm(perImage, false, true, s.groupOut, s.patch, s.outPlane, dyg, s.outPlane, xg, s.outPlane, 1, dwg, s.patch)
                    continue
                }
                for start in stride(from: 0, to: s.outH, by: step) {
                    let rows = start..<min(s.outH, start + step), columns = rows.count * s.outW
                    im2col(xg, s, rows: rows, scratch[thread].pointer)
                    gemm(perImage, false, true, s.groupOut, s.patch, columns, dyg + start * s.outW, s.outPlane,
                         scratch[thread].pointer, columns, 1, dwg, s.patch)
                }
            }
        }
        for p in partial {
            var i = 0
            while i + 16 <= weightCount { store(load(dw + i) + load(p.pointer + i), dw + i); i += 16 }
            while i < weightCount { dw[i] += p.pointer[i]; i += 1 }
        }
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

    /// Images split into one contiguous share per thread (deterministic), or all on this thread
    /// when the batch is too small and the products themselves are split instead.
    private static func forEachImage(_ batch: Int, perImage: Bool, _ body: (Int, Int) -> Void) {
        guard perImage else { for n in 0..<batch { body(n, 0) }; return }
        let parts = Parallel.threadCount
        Parallel.forEach(parts) { t in
            for n in batch * t / parts ..< batch * (t + 1) / parts { body(n, t) }
        }
    }
}
