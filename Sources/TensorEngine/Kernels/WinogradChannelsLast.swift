import CKernels
import Foundation

/// Winograd's minimal filtering F(m x m, r x r) for any output tile m and kernel r, its
/// transforms running across channels, 16 at a time, on maps laid channels last. It serves the
/// 5x5 unit-stride convolutions of DCGAN's generator (256 -> 128 channels on 7 x 7 maps): F(3x3,
/// 5x5) covers such a map with 9 tiles of 7 x 7 products, 441 multiplications per channel pair
/// where the direct convolution takes 1225. Too few tiles per channel to vectorise along the map,
/// as `Winograd` (F(2x2, 3x3) on large maps) does; enough channels to vectorise across them.
///
/// Each output tile is Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A, with Toom-Cook matrices built from the points
/// 0, ±1, ±2, ½ and infinity (`ToomCook`). Summed over input channels, the α x α entries of a
/// tile are α² matrix products, M[k] (tiles x out) = V[k] (tiles x in) @ U[k] (in x out), one set
/// per image, so an image's result never depends on its batch. The input gradient is the same
/// convolution of dy by the weights flipped and transposed; the weight gradient is the adjoint
/// of the products, dU[k] = Σ V[k]ᵀ dM[k] with dM the adjoint of the output transform, then
/// dg = Gᵀ dU G.
enum WinogradChannelsLast {
    /// Output tile side: F(3x3, 5x5). Measured on the generator's maps, F(2x2, 5x5) spends more
    /// in products (16 tiles of 36 for a 7 x 7 map against 9 of 49) and F(4x4, 5x5) needs points
    /// whose rounding error grows past float32's comfort.
    static let tile = 3
    static let transform = ToomCook(m: tile, r: 5)

    /// 5x5, unit stride, no dilation or groups or masked taps, channel counts in whole vectors
    /// and at least 64 (fewer leave the products too small to gain), and enough images for
    /// every thread.
    static func applies(_ s: ConvSizes) -> Bool {
        s.kernelH == 5 && s.kernelW == 5 && s.g.stride == (1, 1) && s.g.dilation == (1, 1) && s.g.groups == 1
            && s.taps.count == 25 && s.inChannels % 16 == 0 && s.outChannels % 16 == 0
            && min(s.inChannels, s.outChannels) >= 64 && s.batch >= Parallel.threadCount
    }

    static func forward(
        _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        _ y: UnsafeMutablePointer<Float>, _ s: ConvSizes
    ) {
        let plan = Plan(forward: s)
        let u = transformed(w, plan, flipped: false)
        withExtendedLifetime(u) { convolve(x, u.pointer, bias, y, plan) }
    }

    /// dx = the convolution of dy by w flipped in both axes with in and out swapped, padded
    /// r - 1 - p (negative padding reads past the border: the tiles see zeros there).
    static func inputGradient(
        _ dy: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, _ s: ConvSizes
    ) {
        let r = transform.r
        let plan = Plan(
            batch: s.batch, channels: s.outChannels, height: s.outH, width: s.outW, outChannels: s.inChannels,
            outH: s.height, outW: s.width, padding: (r - 1 - s.g.padding.0, r - 1 - s.g.padding.1))
        let u = transformed(w, plan, flipped: true)
        withExtendedLifetime(u) { convolve(dy, u.pointer, nil, dx, plan) }
    }

    static func weightGradient(
        _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dw: UnsafeMutablePointer<Float>, _ s: ConvSizes
    ) {
        let plan = Plan(forward: s), t = transform
        let (c, o, alpha, r) = (plan.channels, plan.outChannels, t.alpha, t.r), area = alpha * alpha
        // Images in chunks per thread, so each product sums over many tiles; each thread sums its
        // own chunks, and the threads' sums are added in thread order.
        let chunk = max(1, min(plan.batch, 512 / plan.tilesPerImage))
        let rows = chunk * plan.tilesPerImage
        let parts = min(Parallel.threadCount, plan.batch)
        let partial = (0..<parts).map { _ in Scratch(area * o * c) }
        let buffers = (0..<parts).map { _ in Buffers(plan, rows: rows) }
        Parallel.forEach(parts) { thread in
            let b = buffers[thread], du = partial[thread].pointer
            du.update(repeating: 0, count: area * o * c)
            let images = plan.batch * thread / parts..<plan.batch * (thread + 1) / parts
            for first in stride(from: images.lowerBound, to: images.upperBound, by: chunk) {
                let count = min(chunk, images.upperBound - first)
                for i in 0..<count {
                    let offset = i * plan.tilesPerImage
                    inputTiles(x + (first + i) * plan.inputImage, plan, b, rowOffset: offset, rows: rows)
                    outputTilesAdjoint(dy + (first + i) * plan.outputImage, plan, b, rowOffset: offset, rows: rows)
                }
                for k in 0..<area {
                    BLAS.gemm(
                        transposeA: true, transposeB: false, m: o, n: c, k: count * plan.tilesPerImage,
                        a: b.products.pointer + k * rows * o, lda: o, b: b.tiles.pointer + k * rows * c, ldb: c,
                        beta: 1, c: du + k * o * c, ldc: c)
                }
            }
        }
        withExtendedLifetime((partial, buffers)) {
            let du = partial[0].pointer
            ConvKernels.add(partial.dropFirst(), into: du, count: area * o * c)
            // dg = Gᵀ dU G for every (out, in) pair, 16 inputs at a time, into [out][tap][in].
            let gathered = Scratch(o * r * r * c), temporary = Scratch(16 * alpha * alpha)
            withExtendedLifetime((gathered, temporary)) {
                for oc in 0..<o {
                    t.gt.sandwich(
                        du + oc * c, rowStride: alpha * o * c, columnStride: o * c, right: t.gt,
                        gathered.pointer + oc * r * r * c, rowStride: r * c, columnStride: c, channels: c,
                        scratch: temporary.pointer)
                }
                for oc in 0..<o {
                    for ic in 0..<c {
                        for tap in 0..<r * r { dw[(oc * c + ic) * r * r + tap] = gathered.pointer[(oc * r * r + tap) * c + ic] }
                    }
                }
            }
        }
    }

    /// U[k][in][out] = entry k of G g Gᵀ for the kernel g = w[out][in] (or, flipped, for the
    /// input gradient's convolution: w[in][out] turned by 180 degrees).
    private static func transformed(_ w: UnsafePointer<Float>, _ plan: Plan, flipped: Bool) -> Scratch {
        let t = transform, (c, o, r, alpha) = (plan.channels, plan.outChannels, t.r, t.alpha)
        // The kernels laid [in][tap][out], so the transform runs across 16 outputs at a time.
        let laid = Scratch(c * r * r * o), u = Scratch(alpha * alpha * c * o), temporary = Scratch(16 * alpha * r)
        withExtendedLifetime((laid, temporary)) {
            for oc in 0..<o {
                for ic in 0..<c {
                    for tap in 0..<r * r {
                        laid.pointer[(ic * r * r + tap) * o + oc] =
                            flipped ? w[(ic * o + oc) * r * r + r * r - 1 - tap] : w[(oc * c + ic) * r * r + tap]
                    }
                }
            }
            for ic in 0..<c {
                t.g.sandwich(
                    laid.pointer + ic * r * r * o, rowStride: r * o, columnStride: o, right: t.g, u.pointer + ic * o,
                    rowStride: alpha * c * o, columnStride: c * o, channels: o, scratch: temporary.pointer)
            }
        }
        return u
    }

    /// y = the convolution of x by the transformed weights u, image by image.
    private static func convolve(
        _ x: UnsafePointer<Float>, _ u: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
        _ y: UnsafeMutablePointer<Float>, _ plan: Plan
    ) {
        let (c, o, area, tiles) = (plan.channels, plan.outChannels, transform.alpha * transform.alpha, plan.tilesPerImage)
        let parts = min(Parallel.threadCount, plan.batch)
        let buffers = (0..<parts).map { _ in Buffers(plan, rows: tiles) }
        withExtendedLifetime(buffers) {
            Parallel.forEach(parts) { thread in
                let b = buffers[thread]
                for n in plan.batch * thread / parts..<plan.batch * (thread + 1) / parts {
                    inputTiles(x + n * plan.inputImage, plan, b, rowOffset: 0, rows: tiles)
                    for k in 0..<area {
                        BLAS.gemm(
                            transposeA: false, transposeB: false, m: tiles, n: o, k: c,
                            a: b.tiles.pointer + k * tiles * c, lda: c, b: u + k * c * o, ldb: o,
                            c: b.products.pointer + k * tiles * o, ldc: o)
                    }
                    outputTiles(plan, b, bias, y + n * plan.outputImage)
                }
            }
        }
    }

    /// V[k][rowOffset + tile][in] = entry k of Bᵀ d B for each tile d of one image, which is
    /// first laid channels last with its padding (zeros) around it.
    private static func inputTiles(_ x: UnsafePointer<Float>, _ plan: Plan, _ b: Buffers, rowOffset: Int, rows: Int) {
        let t = transform, c = plan.channels, (height, width) = plan.paddedInput
        let padded = b.image.pointer
        padded.update(repeating: 0, count: height * width * c)
        for ic in 0..<c {
            for h in 0..<plan.height where h + plan.padding.0 >= 0 && h + plan.padding.0 < height {
                let source = x + (ic * plan.height + h) * plan.width
                let target = padded + (h + plan.padding.0) * width * c + ic
                for col in 0..<plan.width where col + plan.padding.1 >= 0 && col + plan.padding.1 < width {
                    target[(col + plan.padding.1) * c] = source[col]
                }
            }
        }
        for th in 0..<plan.tilesH {
            for tw in 0..<plan.tilesW {
                let tile = th * plan.tilesW + tw, corner = padded + (th * t.m * width + tw * t.m) * c
                t.bt.sandwich(
                    corner, rowStride: width * c, columnStride: c, right: t.bt, b.tiles.pointer + (rowOffset + tile) * c,
                    rowStride: t.alpha * rows * c, columnStride: rows * c, channels: c, scratch: b.scratch.pointer)
            }
        }
    }

    /// y = Aᵀ M A for each tile of products (plus the bias), cut to the map and laid back
    /// channels first.
    private static func outputTiles(
        _ plan: Plan, _ b: Buffers, _ bias: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>
    ) {
        let t = transform, o = plan.outChannels, tiles = plan.tilesPerImage, width = plan.tilesW * t.m
        let laid = b.image.pointer
        for th in 0..<plan.tilesH {
            for tw in 0..<plan.tilesW {
                let tile = th * plan.tilesW + tw
                t.at.sandwich(
                    b.products.pointer + tile * o, rowStride: t.alpha * tiles * o, columnStride: tiles * o, right: t.at,
                    laid + (th * t.m * width + tw * t.m) * o, rowStride: width * o, columnStride: o, channels: o,
                    scratch: b.scratch.pointer)
            }
        }
        for oc in 0..<o {
            let add = bias?[oc] ?? 0, plane = y + oc * plan.outH * plan.outW
            for h in 0..<plan.outH {
                for col in 0..<plan.outW { plane[h * plan.outW + col] = laid[(h * width + col) * o + oc] + add }
            }
        }
    }

    /// dM[k][rowOffset + tile][out] = entry k of A dY Aᵀ for each m x m tile dY of one image's
    /// output gradient (zeros past the map): the adjoint of `outputTiles`.
    private static func outputTilesAdjoint(
        _ dy: UnsafePointer<Float>, _ plan: Plan, _ b: Buffers, rowOffset: Int, rows: Int
    ) {
        let t = transform, o = plan.outChannels, width = plan.tilesW * t.m
        let laid = b.image.pointer
        laid.update(repeating: 0, count: plan.tilesH * t.m * width * o)
        for oc in 0..<o {
            let plane = dy + oc * plan.outH * plan.outW
            for h in 0..<plan.outH {
                for col in 0..<plan.outW { laid[(h * width + col) * o + oc] = plane[h * plan.outW + col] }
            }
        }
        for th in 0..<plan.tilesH {
            for tw in 0..<plan.tilesW {
                let tile = th * plan.tilesW + tw, corner = laid + (th * t.m * width + tw * t.m) * o
                t.a.sandwich(
                    corner, rowStride: width * o, columnStride: o, right: t.a, b.products.pointer + (rowOffset + tile) * o,
                    rowStride: t.alpha * rows * o, columnStride: rows * o, channels: o, scratch: b.scratch.pointer)
            }
        }
    }

    /// One convolution's sizes as the transforms see them.
    private struct Plan {
        let batch, channels, height, width, outChannels, outH, outW: Int
        let padding: (Int, Int)
        var tilesH: Int { (outH + transform.m - 1) / transform.m }
        var tilesW: Int { (outW + transform.m - 1) / transform.m }
        var tilesPerImage: Int { tilesH * tilesW }
        var inputImage: Int { channels * height * width }
        var outputImage: Int { outChannels * outH * outW }
        /// The input as the tiles read it: every tile's α x α window, zeros outside the map.
        var paddedInput: (Int, Int) { (tilesH * transform.m + transform.r - 1, tilesW * transform.m + transform.r - 1) }

        init(
            batch: Int, channels: Int, height: Int, width: Int, outChannels: Int, outH: Int, outW: Int,
            padding: (Int, Int)
        ) {
            self.batch = batch; self.channels = channels; self.height = height; self.width = width
            self.outChannels = outChannels; self.outH = outH; self.outW = outW; self.padding = padding
        }

        init(forward s: ConvSizes) {
            self.init(
                batch: s.batch, channels: s.inChannels, height: s.height, width: s.width, outChannels: s.outChannels,
                outH: s.outH, outW: s.outW, padding: s.g.padding)
        }
    }

    /// One thread's buffers: transformed tiles ([α²][rows][in]), products ([α²][rows][out]), one
    /// image laid channels last, and the vectors of a transform in progress.
    private final class Buffers {
        let tiles, products, image, scratch: Scratch
        init(_ plan: Plan, rows: Int) {
            let area = transform.alpha * transform.alpha, (h, w) = plan.paddedInput
            tiles = Scratch(area * rows * plan.channels)
            products = Scratch(area * rows * plan.outChannels)
            image = Scratch(max(h * w * plan.channels, plan.tilesH * transform.m * plan.tilesW * transform.m * plan.outChannels))
            scratch = Scratch(16 * transform.alpha * transform.alpha)
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

    init(m: Int, r: Int, points candidates: [Double] = [0, 1, -1, 0.5, -2, 2, -0.5, 3, -3]) {
        let alpha = m + r - 1
        self.m = m; self.r = r; self.alpha = alpha
        let points = Array(candidates.prefix(alpha - 1))
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

    /// A small dense matrix of float coefficients, applied to tiles of 16-lane vectors.
    struct Matrix {
        let rows, columns: Int
        let values: [Float]
        init(_ rows: [[Double]]) {
            self.rows = rows.count; columns = rows[0].count
            values = rows.flatMap { $0.map(Float.init) }
        }

        /// out = self · D · rightᵀ for each 16 of `channels` channels, D being the tile of
        /// `columns x right.columns` entries at `source` (an entry's channels consecutive, rows and
        /// columns the given strides apart), written the same way at `target`; `scratch` holds
        /// 16 · rows · right.columns floats.
        func sandwich(
            _ source: UnsafePointer<Float>, rowStride: Int, columnStride: Int, right: Matrix,
            _ target: UnsafeMutablePointer<Float>, rowStride outRow: Int, columnStride outColumn: Int,
            channels: Int, scratch: UnsafeMutablePointer<Float>
        ) {
            dg_tile_transform(
                source, rowStride, columnStride, columns, right.columns, values, rows, right.values, right.rows, target,
                outRow, outColumn, channels, scratch)
        }
    }
}
