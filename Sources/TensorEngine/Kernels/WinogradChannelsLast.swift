import CKernels
import Foundation

/// Winograd's minimal filtering F(m x m, r x r), its transforms running across channels, 16 at
/// a time, on maps laid channels last: for 5x5 convolutions on small maps with many channels, as
/// in DCGAN (256 -> 128 channels on 7 x 7 maps, 64 -> 128 at stride 2 from 14 x 14). Such maps
/// have too few tiles per channel to vectorise along the map, as `Winograd` (F(2x2, 3x3) on large
/// maps) does, and enough channels to vectorise across them.
///
/// - At stride 1, F(3x3, 5x5): 9 tiles of 7 x 7 products cover a 7 x 7 map, 441 multiplications
///   per channel pair where the direct convolution takes 1225.
/// - At stride 2, the input is split into its four phases (even and odd rows and columns), laid
///   side by side as channels; the kernel's taps split the same way into four kernels of at most
///   3x3 (zero-padded to 3x3), and the strided convolution is a unit-stride 3x3 one over the
///   stacked phases: F(4x4, 3x3), 4 tiles of 6 x 6 products for a 7 x 7 map, 576 multiplications
///   per channel pair where the direct convolution takes 1225. A 4x4 kernel (Radford et al.'s
///   DCGAN) splits into four 2x2 ones: F(4x4, 2x2), 4 tiles of 5 x 5 products, 400 where the
///   direct convolution takes 784.
///
/// Each output tile is Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A with Toom-Cook matrices (`ToomCook`). Summed
/// over input channels, the α x α entries of the tiles of a few images are α² matrix products,
/// M[k] (tiles x out) = V[k] (tiles x in) @ U[k] (in x out). The input gradient is the
/// convolution of dy by the (phase) kernels flipped and transposed, its output phases scattered
/// back into the image; the weight gradient is the adjoint of the products, dU[k] = Σ V[k]ᵀ dM[k]
/// with dM the adjoint of the output transform, then dg = Gᵀ dU G, gathered back into taps.
enum WinogradChannelsLast {
    /// F(m x m, r x r) by (m, r): F(3x3, 5x5) for 5x5 at stride 1; F(4x4, 3x3) for 3x3 at
    /// stride 1 and for the phases of 5x5 at stride 2; F(4x4, 2x2) for the phases of 4x4 at
    /// stride 2. Measured on 7 x 7 maps, F(7x7, 2x2) (one tile per map) lost to F(4x4, 2x2)
    /// threefold: its 8 x 8 transforms cost more than its products save.
    static let threeByFive = ToomCook(m: 3, r: 5), fourByThree = ToomCook(m: 4, r: 3), fourByTwo = ToomCook(m: 4, r: 2)

    /// The transform for a square kernel at a stride, where this path has one.
    static func transform(kernel: Int, stride: Int) -> ToomCook? {
        switch (kernel, stride) {
        case (5, 1): return threeByFive
        case (3, 1), (5, 2): return fourByThree
        case (4, 2): return fourByTwo
        default: return nil
        }
    }

    /// A 5x5 kernel at stride 1 or 2, a 3x3 one at stride 1 (on maps too small for `Winograd`,
    /// which `ConvKernels` tries first: DCGAN's refining layers on 7 x 7 and 14 x 14) or a 4x4
    /// one at stride 2, no dilation or groups or masked taps, channel counts in whole vectors
    /// and at least 32 (`train dcgan --features 32`, the quick preset's 32 -> 64 and 64 -> 32
    /// layers: 33% more steps a second than the direct path), and enough images for every thread.
    static func applies(_ s: ConvSizes) -> Bool {
        s.kernelH == s.kernelW && s.g.stride.0 == s.g.stride.1
            && transform(kernel: s.kernelH, stride: s.g.stride.0) != nil && s.g.dilation == (1, 1)
            && s.g.groups == 1 && s.taps.count == s.kernelH * s.kernelW && s.inChannels % 16 == 0
            && s.outChannels % 16 == 0 && min(s.inChannels, s.outChannels) >= 32 && s.batch >= Parallel.threadCount
    }

    /// Tile rows (the tiles of whole images) per set of products, and per set of weight-gradient
    /// products: measured on DCGAN's layers, 16 and 32 beat 64 to 512 by up to a third, the
    /// transformed tiles and products then staying in cache between the transforms and BLAS.
    static let rowsPerProduct = 16, rowsPerGradientProduct = 32

    static func forward(
        _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        _ y: UnsafeMutablePointer<Float>, _ s: ConvSizes
    ) {
        let plan = Plan(forward: s)
        let u = transformed(w, plan, s, flipped: false)
        withExtendedLifetime(u) { convolve(x, u.pointer, bias, y, plan) }
    }

    static func inputGradient(
        _ dy: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, _ s: ConvSizes
    ) {
        let plan = Plan(inputGradient: s)
        let u = transformed(w, plan, s, flipped: true)
        withExtendedLifetime(u) { convolve(dy, u.pointer, nil, dx, plan) }
    }

    static func weightGradient(
        _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dw: UnsafeMutablePointer<Float>, _ s: ConvSizes
    ) {
        let plan = Plan(forward: s), t = plan.t
        let (c, o, alpha, r) = (plan.stackedIn, plan.stackedOut, t.alpha, t.r), area = alpha * alpha
        // Each thread sums its own images' products, the threads' sums then added in thread order.
        let partial = forEachChunk(plan, rows: rowsPerGradientProduct, partialSums: area * o * c) { images, b, du in
            for (i, n) in images.enumerated() {
                inputTiles(x + n * plan.inputImage, plan, b, rowOffset: i * plan.tilesPerImage)
                outputTilesAdjoint(dy + n * plan.outputImage, plan, b, rowOffset: i * plan.tilesPerImage)
            }
            for k in 0..<area {
                BLAS.gemm(
                    transposeA: true, transposeB: false, m: o, n: c, k: images.count * plan.tilesPerImage,
                    a: b.products.pointer + k * b.rows * o, lda: o, b: b.tiles.pointer + k * b.rows * c, ldb: c,
                    beta: 1, c: du + k * o * c, ldc: c)
            }
        }
        withExtendedLifetime(partial) {
            let du = partial[0].pointer
            ConvKernels.add(partial.dropFirst(), into: du, count: area * o * c)
            // dg = Gᵀ dU G for every (out, stacked in) pair, into [out][tap][stacked in], then
            // each stacked tap back to its place in the kernel.
            let gathered = Scratch(o * r * r * c), temporary = Scratch(16 * alpha * alpha)
            withExtendedLifetime((gathered, temporary)) {
                for oc in 0..<o {
                    t.gt.sandwich(
                        du + oc * c, rowStride: alpha * o * c, columnStride: o * c,
                        gathered.pointer + oc * r * r * c, rowStride: r * c, columnStride: c, channels: c,
                        scratch: temporary.pointer)
                }
                forEachStackedTap(s, plan) { oc, ic, tap, stackedIn, stackedTap in
                    dw[(oc * s.inChannels + ic) * s.kernelH * s.kernelW + tap] =
                        gathered.pointer[(oc * r * r + stackedTap) * c + stackedIn]
                }
            }
        }
    }

    /// Visits each tap of the kernel with its place among the stacked (phase) kernels: (out,
    /// in, tap, stacked input channel, stacked tap), input channels innermost (or outputs, when
    /// `outputsInnermost`), so that what is written through them is written in order.
    @inline(__always)
    private static func forEachStackedTap(
        _ s: ConvSizes, _ plan: Plan, outputsInnermost: Bool = false, _ body: (Int, Int, Int, Int, Int) -> Void
    ) {
        let (k, st, r) = (s.kernelH, plan.stride, plan.t.r)
        let (outer, inner) = outputsInnermost ? (s.inChannels, s.outChannels) : (s.outChannels, s.inChannels)
        for a in 0..<outer {
            for i in 0..<k {
                for j in 0..<k {
                    let phase = (i % st) * st + j % st, stackedTap = (i / st) * r + j / st
                    for b in 0..<inner {
                        let (oc, ic) = outputsInnermost ? (b, a) : (a, b)
                        body(oc, ic, i * k + j, phase * s.inChannels + ic, stackedTap)
                    }
                }
            }
        }
    }

    /// U[k][in][out] = entry k of G g Gᵀ for the stacked kernels g (or, for the input gradient,
    /// for them turned by 180 degrees with in and out swapped).
    private static func transformed(_ w: UnsafePointer<Float>, _ plan: Plan, _ s: ConvSizes, flipped: Bool) -> Scratch {
        let t = plan.t, (c, o, r, alpha) = (plan.stackedIn, plan.stackedOut, t.r, t.alpha)
        // The kernels laid [in][tap][out], so the transform runs across 16 outputs at a time; the
        // taps a phase lacks stay zero.
        let laid = Scratch(c * r * r * o), u = Scratch(alpha * alpha * c * o), temporary = Scratch(16 * alpha * r)
        laid.pointer.update(repeating: 0, count: c * r * r * o)
        withExtendedLifetime((laid, temporary)) {
            let area = s.kernelH * s.kernelW
            if flipped {
                forEachStackedTap(s, plan) { oc, ic, tap, stackedIn, stackedTap in
                    laid.pointer[(oc * r * r + r * r - 1 - stackedTap) * o + stackedIn] = w[(oc * s.inChannels + ic) * area + tap]
                }
            } else {
                forEachStackedTap(s, plan, outputsInnermost: true) { oc, ic, tap, stackedIn, stackedTap in
                    laid.pointer[(stackedIn * r * r + stackedTap) * o + oc] = w[(oc * s.inChannels + ic) * area + tap]
                }
            }
            for ic in 0..<c {
                t.g.sandwich(
                    laid.pointer + ic * r * r * o, rowStride: r * o, columnStride: o, u.pointer + ic * o,
                    rowStride: alpha * c * o, columnStride: c * o, channels: o, scratch: temporary.pointer)
            }
        }
        return u
    }

    /// y = the convolution of x by the transformed weights u, a few images at a time.
    private static func convolve(
        _ x: UnsafePointer<Float>, _ u: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
        _ y: UnsafeMutablePointer<Float>, _ plan: Plan
    ) {
        let (c, o, area) = (plan.stackedIn, plan.stackedOut, plan.t.alpha * plan.t.alpha)
        _ = forEachChunk(plan, rows: rowsPerProduct, partialSums: 0) { images, b, _ in
            for (i, n) in images.enumerated() {
                inputTiles(x + n * plan.inputImage, plan, b, rowOffset: i * plan.tilesPerImage)
            }
            let rows = images.count * plan.tilesPerImage
            for k in 0..<area {
                BLAS.gemm(
                    transposeA: false, transposeB: false, m: rows, n: o, k: c, a: b.tiles.pointer + k * b.rows * c,
                    lda: c, b: u + k * c * o, ldb: o, c: b.products.pointer + k * b.rows * o, ldc: o)
            }
            for (i, n) in images.enumerated() {
                outputTiles(plan, b, rowOffset: i * plan.tilesPerImage, bias, y + n * plan.outputImage)
            }
        }
    }

    /// Images in one contiguous share per thread (deterministic), in chunks whose tiles fill
    /// about `rows` rows; `body` gets each chunk, the thread's buffers and its partial sums
    /// (`partialSums` floats, zeroed first), which are returned in thread order.
    private static func forEachChunk(
        _ plan: Plan, rows: Int, partialSums: Int,
        _ body: (Range<Int>, Buffers, UnsafeMutablePointer<Float>) -> Void
    ) -> [Scratch] {
        let parts = min(Parallel.threadCount, plan.batch)
        let chunk = max(1, min(plan.batch, rows / plan.tilesPerImage))
        let buffers = (0..<parts).map { _ in Buffers(plan, rows: chunk * plan.tilesPerImage) }
        let sums = (0..<parts).map { _ in Scratch(partialSums) }
        withExtendedLifetime(buffers) {
            Parallel.forEach(parts) { thread in
                sums[thread].pointer.update(repeating: 0, count: partialSums)
                let share = plan.batch * thread / parts..<plan.batch * (thread + 1) / parts
                for first in stride(from: share.lowerBound, to: share.upperBound, by: chunk) {
                    body(first..<min(first + chunk, share.upperBound), buffers[thread], sums[thread].pointer)
                }
            }
        }
        return sums
    }

    /// V[k][rowOffset + tile][in] = entry k of Bᵀ d B for each tile d of one image, which is
    /// first laid channels last (its phases side by side), with zeros around it.
    private static func inputTiles(_ x: UnsafePointer<Float>, _ plan: Plan, _ b: Buffers, rowOffset: Int) {
        let t = plan.t, (c, channels, st) = (plan.stackedIn, plan.channels, plan.inStride)
        let (height, width) = plan.paddedInput
        let padded = b.image.pointer, plane = plan.height * plan.width, pixels = b.pixels.pointer
        // The image laid channels last in one blocked transpose, then each padded position's
        // channels copied whole (a gather of one channel per plane cost an eighth of a DCGAN step).
        dg_transpose(x, channels, plane, plane, pixels, channels)
        for row in 0..<height {
            for col in 0..<width {
                for ph in 0..<st {
                    let h = st * row + ph - plan.padding.0
                    for pw in 0..<st {
                        let w = st * col + pw - plan.padding.1
                        let target = padded + (row * width + col) * c + (ph * st + pw) * channels
                        guard h >= 0 && h < plan.height && w >= 0 && w < plan.width else {
                            target.update(repeating: 0, count: channels)
                            continue
                        }
                        target.update(from: pixels + (h * plan.width + w) * channels, count: channels)
                    }
                }
            }
        }
        transformTiles(
            t.bt, of: padded, width: width, channels: c, plan, b, into: b.tiles.pointer, rowOffset: rowOffset)
    }

    /// Entry k of M · d · Mᵀ for each tile d of a map laid channels last (`width` positions a
    /// row), into rows[k][rowOffset + tile][channel]: the input transform (M = Bᵀ) and the
    /// output transform's adjoint (M = A).
    private static func transformTiles(
        _ matrix: ToomCook.Matrix, of laid: UnsafePointer<Float>, width: Int, channels: Int, _ plan: Plan,
        _ b: Buffers, into rows: UnsafeMutablePointer<Float>, rowOffset: Int
    ) {
        let m = plan.t.m, alpha = plan.t.alpha
        for th in 0..<plan.tilesH {
            for tw in 0..<plan.tilesW {
                let tile = th * plan.tilesW + tw, corner = laid + (th * m * width + tw * m) * channels
                matrix.sandwich(
                    corner, rowStride: width * channels, columnStride: channels,
                    rows + (rowOffset + tile) * channels, rowStride: alpha * b.rows * channels,
                    columnStride: b.rows * channels, channels: channels, scratch: b.scratch.pointer)
            }
        }
    }

    /// Aᵀ M A for each tile of one image's products, cut to the grid and scattered back to
    /// the target's planes (each output phase to its rows and columns), plus the bias.
    private static func outputTiles(
        _ plan: Plan, _ b: Buffers, rowOffset: Int, _ bias: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>
    ) {
        let t = plan.t, o = plan.stackedOut, width = plan.tilesW * t.m, st = plan.outStride
        let laid = b.image.pointer
        for th in 0..<plan.tilesH {
            for tw in 0..<plan.tilesW {
                let tile = th * plan.tilesW + tw
                t.at.sandwich(
                    b.products.pointer + (rowOffset + tile) * o, rowStride: t.alpha * b.rows * o,
                    columnStride: b.rows * o, laid + (th * t.m * width + tw * t.m) * o,
                    rowStride: width * o, columnStride: o, channels: o, scratch: b.scratch.pointer)
            }
        }
        // Each target pixel's channels copied whole into a channels-last image, which one blocked
        // transpose then lays out as planes. The phases of the grid cover every target pixel
        // (the input gradient's grid runs from the first row and column that reach 0 to the last).
        let plane = plan.targetH * plan.targetW, channels = plan.targetChannels, pixels = b.pixels.pointer
        for row in 0..<plan.gridH {
            for ph in 0..<st {
                let h = st * row + ph + plan.offset.0
                guard h >= 0 && h < plan.targetH else { continue }
                for col in 0..<plan.gridW {
                    for pw in 0..<st {
                        let w = st * col + pw + plan.offset.1
                        guard w >= 0 && w < plan.targetW else { continue }
                        (pixels + (h * plan.targetW + w) * channels).update(
                            from: laid + (row * width + col) * o + (ph * st + pw) * channels, count: channels)
                    }
                }
            }
        }
        dg_transpose(pixels, plane, channels, channels, y, plane)
        guard let bias else { return }
        for oc in 0..<channels {
            let target = y + oc * plane, add = bias[oc]
            for i in 0..<plane { target[i] += add }
        }
    }

    /// dM[k][rowOffset + tile][out] = entry k of A dY Aᵀ for each m x m tile dY of one image's
    /// output gradient (zeros past the map): the adjoint of `outputTiles` at stride 1.
    private static func outputTilesAdjoint(
        _ dy: UnsafePointer<Float>, _ plan: Plan, _ b: Buffers, rowOffset: Int
    ) {
        let t = plan.t, o = plan.stackedOut, width = plan.tilesW * t.m
        let laid = b.image.pointer
        laid.update(repeating: 0, count: plan.tilesH * t.m * width * o)
        // dy laid channels last in one transpose, then row by row into the tiles' wider rows.
        let plane = plan.gridH * plan.gridW, pixels = b.pixels.pointer
        dg_transpose(dy, o, plane, plane, pixels, o)
        for h in 0..<plan.gridH {
            (laid + h * width * o).update(from: pixels + h * plan.gridW * o, count: plan.gridW * o)
        }
        transformTiles(
            t.a, of: laid, width: width, channels: o, plan, b, into: b.products.pointer, rowOffset: rowOffset)
    }

    /// One convolution as the transforms see it. They read `channels` planes of height x width,
    /// split into `inStride`² phases laid side by side (stackedIn channels): grid position
    /// (u, v) of phase (ph, pw) is source pixel (inStride·u + ph - padding.0, inStride·v + pw -
    /// padding.1). They write a gridH x gridW grid of stackedOut channels, whose phases scatter
    /// to the target: position (u, v) of phase (ph, pw) to (outStride·u + ph + offset.0, ...).
    private struct Plan {
        let t: ToomCook
        let batch, stride: Int
        let channels, height, width, inStride: Int
        let padding: (Int, Int)
        let gridH, gridW: Int
        let targetChannels, targetH, targetW, outStride: Int
        let offset: (Int, Int)

        var stackedIn: Int { channels * inStride * inStride }
        var stackedOut: Int { targetChannels * outStride * outStride }
        var tilesH: Int { (gridH + t.m - 1) / t.m }
        var tilesW: Int { (gridW + t.m - 1) / t.m }
        var tilesPerImage: Int { tilesH * tilesW }
        var inputImage: Int { channels * height * width }
        var outputImage: Int { targetChannels * targetH * targetW }
        /// The stacked input as the tiles read it: every tile's α x α window.
        var paddedInput: (Int, Int) { (tilesH * t.m + t.r - 1, tilesW * t.m + t.r - 1) }

        /// The convolution itself: x's phases in, y out.
        init(forward s: ConvSizes) {
            t = WinogradChannelsLast.transform(kernel: s.kernelH, stride: s.g.stride.0)!
            batch = s.batch; stride = s.g.stride.0
            channels = s.inChannels; height = s.height; width = s.width; inStride = stride; padding = s.g.padding
            gridH = s.outH; gridW = s.outW
            targetChannels = s.outChannels; targetH = s.outH; targetW = s.outW; outStride = 1; offset = (0, 0)
        }

        /// Its input gradient: dy in, read with the flipped kernels' padding, and dx's phases
        /// out. Grid row u holds the phases of dx rows stride·(u + u0) + ph - p, from the first
        /// grid row that reaches row 0 (u0 = p / stride) to the last that reaches a row of dx.
        init(inputGradient s: ConvSizes) {
            t = WinogradChannelsLast.transform(kernel: s.kernelH, stride: s.g.stride.0)!
            batch = s.batch; stride = s.g.stride.0
            let first = (s.g.padding.0 / stride, s.g.padding.1 / stride)
            channels = s.outChannels; height = s.outH; width = s.outW; inStride = 1
            padding = (t.r - 1 - first.0, t.r - 1 - first.1)
            gridH = (s.height - 1 + s.g.padding.0) / stride - first.0 + 1
            gridW = (s.width - 1 + s.g.padding.1) / stride - first.1 + 1
            targetChannels = s.inChannels; targetH = s.height; targetW = s.width; outStride = stride
            offset = (stride * first.0 - s.g.padding.0, stride * first.1 - s.g.padding.1)
        }
    }

    /// One thread's buffers: transformed tiles ([α²][rows][in]), products ([α²][rows][out]), one
    /// image laid channels last as the tiles read or write it (phases stacked, padded), one input
    /// or target image laid channels last as it is, and a transform's scratch.
    private final class Buffers {
        let rows: Int
        let tiles, products, image, pixels, scratch: Scratch
        init(_ plan: Plan, rows: Int) {
            let t = plan.t, area = t.alpha * t.alpha, (h, w) = plan.paddedInput
            self.rows = rows
            tiles = Scratch(area * rows * plan.stackedIn)
            products = Scratch(area * rows * plan.stackedOut)
            image = Scratch(max(h * w * plan.stackedIn, plan.tilesH * t.m * plan.tilesW * t.m * plan.stackedOut))
            pixels = Scratch(max(plan.inputImage, plan.outputImage))
            scratch = Scratch(16 * t.alpha * t.alpha)
        }
    }
}

/// The Toom-Cook matrices of F(m, r) (Lavin and Gray 2016, section 4): y = Aᵀ [(G g) ⊙ (Bᵀ d)]
/// for the m outputs of an r-tap correlation over α = m + r - 1 inputs. G evaluates the kernel
/// polynomial at α - 1 points and infinity (its leading coefficient), each row divided by the
/// point's Lagrange denominator; Aᵀ evaluates the output polynomial's transpose; Bᵀ is the
/// inverse of the evaluation matrix, transposed and scaled back by the denominators. Built in
/// double precision and rounded once.
struct ToomCook {
    let m, r, alpha: Int
    /// Aᵀ (m x α), A (α x m), G (α x r), Gᵀ (r x α), Bᵀ (α x α).
    let at, a, g, gt, bt: Matrix

    init(m: Int, r: Int) {
        let alpha = m + r - 1
        self.m = m; self.r = r; self.alpha = alpha
        // In this order, measured against others over F(2..7, 2), F(2..4, 3) and F(2..3, 5), the
        // transforms' rounding error was the smallest or close to it.
        let points = Array([0, 1, -1, 0.5, -2, 2, -0.5, 3, -3].prefix(alpha - 1))
        precondition(points.count == alpha - 1, "F(\(m), \(r)): no points for α = \(alpha)")
        let denominators = points.indices.map { j in
            points.indices.filter { $0 != j }.reduce(1.0) { $0 * (points[j] - points[$1]) }
        }
        func power(_ p: Double, _ k: Int) -> Double { (0..<k).reduce(1.0) { a, _ in a * p } }
        // Rows are the points, the last one infinity (a polynomial's leading coefficient).
        func evaluation(_ degree: Int) -> [[Double]] {
            points.map { p in (0..<degree).map { power(p, $0) } } + [(0..<degree).map { $0 == degree - 1 ? 1 : 0 }]
        }
        let gRows = zip(evaluation(r), denominators + [1]).map { row, f in row.map { $0 / f } }
        let atRows = (0..<m).map { i in evaluation(m).map { $0[i] } }
        let inverse = ToomCook.inverted(evaluation(alpha))
        let btRows = (0..<alpha).map { j in (0..<alpha).map { i in inverse[i][j] * (j < alpha - 1 ? denominators[j] : 1) } }
        at = Matrix(atRows); g = Matrix(gRows); bt = Matrix(btRows)
        a = Matrix((0..<alpha).map { j in atRows.map { $0[j] } })
        gt = Matrix((0..<r).map { k in gRows.map { $0[k] } })
    }

    /// Gauss-Jordan elimination with partial pivoting.
    static func inverted(_ matrix: [[Double]]) -> [[Double]] {
        let n = matrix.count
        var a = matrix.enumerated().map { i, row in row + (0..<n).map { $0 == i ? 1.0 : 0.0 } }
        for col in 0..<n {
            let pivot = (col..<n).max { abs(a[$0][col]) < abs(a[$1][col]) }!
            a.swapAt(col, pivot)
            let scale = a[col][col]
            a[col] = a[col].map { $0 / scale }
            for row in 0..<n where row != col && a[row][col] != 0 {
                let factor = a[row][col]
                a[row] = zip(a[row], a[col]).map { $0 - factor * $1 }
            }
        }
        return a.map { Array($0[n...]) }
    }

    /// A small dense matrix of float coefficients, applied to tiles of 16-lane vectors; `kind`
    /// is the same matrix compiled into the C transform, if it is one of those.
    struct Matrix {
        let rows, columns: Int
        let values: [Float]
        let kind: Int32?
        init(_ rows: [[Double]]) {
            self.rows = rows.count; columns = rows[0].count
            let values = rows.flatMap { $0.map(Float.init) }
            self.values = values
            kind = Matrix.compiledKinds.first { kind in
                var r = 0, c = 0
                guard let table = dg_tile_matrix(kind, &r, &c), r == rows.count, c == rows[0].count else { return false }
                return values.indices.allSatisfy { table[$0] == values[$0] }
            }
        }

        /// Every kind the C transform has.
        static let compiledKinds: [Int32] = Array(
            (0...).lazy.map(Int32.init).prefix { kind in var r = 0, c = 0; return dg_tile_matrix(kind, &r, &c) != nil })

        /// out = self · D · selfᵀ for each 16 of `channels` channels, D being the tile of
        /// `columns x columns` entries at `source` (an entry's channels consecutive, rows and
        /// columns the given strides apart), written the same way at `target`; `scratch` holds
        /// 16 · rows · columns floats.
        func sandwich(
            _ source: UnsafePointer<Float>, rowStride: Int, columnStride: Int,
            _ target: UnsafeMutablePointer<Float>, rowStride outRow: Int, columnStride outColumn: Int,
            channels: Int, scratch: UnsafeMutablePointer<Float>
        ) {
            guard let kind else { preconditionFailure("no compiled tile transform for this \(rows) x \(columns) matrix") }
            dg_tile_transform(kind, source, rowStride, columnStride, target, outRow, outColumn, channels, scratch)
        }
    }
}
