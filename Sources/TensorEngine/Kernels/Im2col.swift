import CKernels

/// The geometry of a 2-D convolution: how far the kernel steps, how much zero border the input
/// gets, how spread the kernel taps are, and how channels split into independent groups.
/// `padding` is the border above and to the left; `paddingAfter`, below and to the right, is the
/// same unless given to `init` (a causal convolution pads only one side, without copying the
/// input); setting `padding` later leaves `paddingAfter` as it was.
public struct ConvGeometry: Equatable, Sendable {
    public var stride: (Int, Int)
    public var padding: (Int, Int)
    public var paddingAfter: (Int, Int)
    public var dilation: (Int, Int)
    public var groups: Int

    public init(
        stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0), paddingAfter: (Int, Int)? = nil,
        dilation: (Int, Int) = (1, 1), groups: Int = 1
    ) {
        self.stride = stride; self.padding = padding; self.paddingAfter = paddingAfter ?? padding
        self.dilation = dilation; self.groups = groups
    }

    public static func == (a: ConvGeometry, b: ConvGeometry) -> Bool {
        a.stride == b.stride && a.padding == b.padding && a.paddingAfter == b.paddingAfter && a.dilation == b.dilation
            && a.groups == b.groups
    }

    /// Output size along one axis for input size `n` and kernel size `k`. Only this size sees
    /// the padding after: the unfolding reads zeros wherever a tap falls outside the input.
    func outputSize(_ n: Int, kernel k: Int, axis: Int) -> Int {
        let (s, p, q, d) =
            axis == 0
            ? (stride.0, padding.0, paddingAfter.0, dilation.0) : (stride.1, padding.1, paddingAfter.1, dilation.1)
        return (n + p + q - d * (k - 1) - 1) / s + 1
    }

    /// True when the columns matrix is the input itself (1x1 kernel, no stride, no padding).
    func isPointwise(kernel: (Int, Int)) -> Bool {
        kernel == (1, 1) && stride == (1, 1) && padding == (0, 0) && paddingAfter == (0, 0)
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
    init(
        batch: Int, inChannels: Int, height: Int, width: Int, outChannels: Int, kernelH: Int, kernelW: Int,
        outH: Int, outW: Int, g: ConvGeometry
    ) {
        self.batch = batch; self.inChannels = inChannels; self.height = height; self.width = width
        self.outChannels = outChannels; self.kernelH = kernelH; self.kernelW = kernelW; self.outH = outH;
        self.outW = outW
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
private func forEachPatchRow(
    _ s: ConvSizes, rows: Range<Int>, rowStride: Int?,
    outside: (_ columnRow: Int) -> Void,
    _ body: (_ columnRow: Int, _ inputRow: Int, _ inside: Range<Int>) -> Void
) {
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
                if ih >= 0 && ih < H {
                    body(columnRow, (c * H + ih) * W + offsetW, owLo..<owHi)
                } else {
                    outside(columnRow)
                }
            }
        }
    }
}

/// Short or strided rows (a 7x7 map, a stride-2 layer) go through a table of input offsets, one
/// vectorised gather per (channel, tap) over the whole block: row by row copies cost more in
/// bookkeeping than in copying there (the DCGAN bench spent 14% of its step in them). Their
/// adjoint adds each entry back in C (`dg_col2im_strided`): a gather over the input pixels
/// instead cost stride^2 times the adds, and 29% of a DCGAN step at one thread. Long
/// rows are copied row by row: in C loops for unit strides (calls to memmove per row of 16-32
/// floats cost StyleGAN a tenth of its step), in Swift otherwise. Unit strides with output rows
/// as wide as the input's (PixelCNN++'s shifted convolutions at every size) are whole shifted
/// planes, contiguous runs in C, however short their rows.
@inline(__always)
private func gathersThroughTable(_ s: ConvSizes) -> Bool {
    if s.g.stride == (1, 1) && s.outW == s.width { return false }
    return s.outW < 16 || s.g.stride.1 != 1
}

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

/// Each tap's input offset from the output position, in rows and in columns, for the C row
/// loops of a unit-stride convolution.
@inline(__always)
private func withTapShifts<R>(_ s: ConvSizes, _ body: (UnsafePointer<Int32>, UnsafePointer<Int32>) -> R) -> R {
    let rowShifts = s.taps.map { Int32($0 / s.kernelW * s.g.dilation.0 - s.g.padding.0) }
    let columnShifts = s.taps.map { Int32($0 % s.kernelW * s.g.dilation.1 - s.g.padding.1) }
    return rowShifts.withUnsafeBufferPointer { r in
        columnShifts.withUnsafeBufferPointer { c in body(r.baseAddress!, c.baseAddress!) }
    }
}

/// Unfolds one group of `images` images (whole images `imageStride` floats apart), for the
/// output rows `rows`, into columns: row (c, tap), column (oh, ow) of image i's block holds the
/// input value that tap (ki, kj) of channel c meets at output (oh, ow), or 0 in the padding.
/// The images' blocks lie side by side in each row (rows `rowStride` apart).
func im2col(
    _ x: UnsafePointer<Float>, _ s: ConvSizes, rows: Range<Int>, _ col: UnsafeMutablePointer<Float>,
    rowStride: Int? = nil, images: Int = 1, imageStride: Int = 0
) {
    let Wo = s.outW, block = rows.count * Wo
    if gathersThroughTable(s) {
        return withTapOffsets(s, rows: rows) { table, count in
            for i in 0..<images {
                dg_im2col(
                    x + i * imageStride, s.groupIn, s.inPlane, table, s.taps.count, count, col + i * block,
                    rowStride ?? count)
            }
        }
    }
    if s.g.stride == (1, 1) {
        return withTapShifts(s) { rowShifts, columnShifts in
            for i in 0..<images {
                dg_im2col_unit(
                    x + i * imageStride, s.groupIn, s.height, s.width, Wo, rowShifts, columnShifts, s.taps.count,
                    rows.lowerBound, rows.count, col + i * block, rowStride ?? block)
            }
        }
    }
    for i in 0..<images {
        let x = x + i * imageStride, col = col + i * block
        forEachPatchRow(s, rows: rows, rowStride: rowStride, outside: { (col + $0).update(repeating: 0, count: Wo) }) {
            columnRow, inputRow, inside in
            let dst = col + columnRow, src = x + inputRow
            if inside.lowerBound > 0 { dst.update(repeating: 0, count: inside.lowerBound) }
            (dst + inside.lowerBound).update(from: src + inside.lowerBound, count: inside.count)
            if inside.upperBound < Wo { (dst + inside.upperBound).update(repeating: 0, count: Wo - inside.upperBound) }
        }
    }
}

/// The adjoint of `im2col`: adds every column entry back onto the input position it came from.
/// `col` is scratch: entries that came from the padding may be zeroed on the way.
func col2im(
    _ col: UnsafeMutablePointer<Float>, _ s: ConvSizes, rows: Range<Int>, _ x: UnsafeMutablePointer<Float>,
    rowStride: Int? = nil, images: Int = 1, imageStride: Int = 0
) {
    let block = rows.count * s.outW
    if gathersThroughTable(s) {
        return withTapShifts(s) { rowShifts, columnShifts in
            for i in 0..<images {
                dg_col2im_strided(
                    col + i * block, s.groupIn, s.height, s.width, s.outW, rowShifts, columnShifts, s.taps.count,
                    rows.lowerBound, rows.count, s.g.stride.0, s.g.stride.1, x + i * imageStride, rowStride ?? block)
            }
        }
    }
    if s.g.stride == (1, 1) {
        return withTapShifts(s) { rowShifts, columnShifts in
            for i in 0..<images {
                dg_col2im_unit(
                    col + i * block, s.groupIn, s.height, s.width, s.outW, rowShifts, columnShifts, s.taps.count,
                    rows.lowerBound, rows.count, x + i * imageStride, rowStride ?? block)
            }
        }
    }
    for i in 0..<images {
        let col = col + i * block, x = x + i * imageStride
        forEachPatchRow(s, rows: rows, rowStride: rowStride, outside: { _ in }) { columnRow, inputRow, inside in
            let src = col + columnRow, dst = x + inputRow
            var ow = inside.lowerBound
            while ow + 16 <= inside.upperBound { store(load(dst + ow) + load(src + ow), dst + ow); ow += 16 }
            while ow < inside.upperBound { dst[ow] += src[ow]; ow += 1 }
        }
    }
}

/// Scratch memory for one thread's columns matrix, freed when the op ends.
final class Scratch {
    let pointer: UnsafeMutablePointer<Float>
    init(_ count: Int) { pointer = .allocate(capacity: max(count, 1)) }
    deinit { pointer.deallocate() }
}
