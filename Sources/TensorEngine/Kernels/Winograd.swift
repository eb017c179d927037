import CKernels

/// 3x3 unit-stride convolutions by Winograd's minimal filtering F(2x2, 3x3) (Lavin and Gray,
/// "Fast Algorithms for Convolutional Neural Networks", 2016). Each 2x2 output tile is
/// Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A of its 4x4 input tile d: 16 multiplications where the direct
/// convolution takes 36, so the products, which are most of the work, shrink 2.25-fold. Summed
/// over input channels, the 16 entries of a tile are 16 matrix products, one per entry:
/// M[k] (out x tiles) = U[k] (out x in) @ V[k] (in x tiles). The transforms are exact in the
/// arithmetic (G's halves included), so the results differ from the direct path only by rounding.
///
/// The three primitives: the forward convolution; the input gradient, which for a unit-stride
/// 3x3 kernel is the forward convolution of dy by the weights flipped and transposed, padded
/// 2 - p; and the weight gradient, the adjoint of the products, dU[k] = Σ dM[k] V[k]ᵀ with
/// dM the adjoint of the output transform, then dg = Gᵀ dU G.
enum Winograd {
    /// Channels below which the transforms cost more than the products save (a first layer
    /// reading one channel has nothing to gain).
    static let minimumChannels = 16
    /// Tiles of one image below which its products are too narrow for BLAS to gain: maps of
    /// 15 x 15 and up. Each image is one set of products, so an image's result never depends on
    /// the batch it came in (an FID floor and the same images scored in other batches agree to
    /// the bit, as on the direct path).
    static let minimumTiles = 64

    /// Whether `s` (its taps compacted if it is masked) is a 3x3 unit-stride convolution worth
    /// transforming: a masked one using 4 taps or fewer costs less directly.
    static func applies(_ s: ConvSizes) -> Bool {
        s.kernelH == 3 && s.kernelW == 3 && s.g.stride == (1, 1) && s.g.dilation == (1, 1) && s.g.groups == 1
            && s.taps.count > 4 && min(s.inChannels, s.outChannels) >= minimumChannels
            && ((s.outH + 1) / 2) * ((s.outW + 1) / 2) >= minimumTiles && s.batch >= Parallel.threadCount
    }

    static func forward(
        _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        _ y: UnsafeMutablePointer<Float>, _ s: ConvSizes
    ) {
        let u = transformed(w, outputs: s.outChannels, inputs: s.inChannels)
        // Held to the end: a Scratch may be freed after its last use, which `.pointer` would be.
        withExtendedLifetime(u) {
            convolve(x, u.pointer, bias, y, Plan(forward: s))
        }
    }

    /// dx = the convolution of dy by w flipped in both axes with in and out swapped, padded
    /// 2 - p above and to the left (which may be negative: the transform reads zeros outside).
    static func inputGradient(
        _ dy: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, _ s: ConvSizes
    ) {
        let (o, c) = (s.outChannels, s.inChannels)
        let flipped = Scratch(o * c * 9)
        for oc in 0..<o {
            for ic in 0..<c {
                for tap in 0..<9 { flipped.pointer[(ic * o + oc) * 9 + tap] = w[(oc * c + ic) * 9 + 8 - tap] }
            }
        }
        let u = withExtendedLifetime(flipped) { transformed(flipped.pointer, outputs: c, inputs: o) }
        withExtendedLifetime(u) {
            convolve(
                dy, u.pointer, nil, dx, Plan(s, channels: o, height: s.outH, width: s.outW,
                    outChannels: c, outH: s.height, outW: s.width, padding: (2 - s.g.padding.0, 2 - s.g.padding.1)))
        }
    }

    static func weightGradient(
        _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dw: UnsafeMutablePointer<Float>, _ s: ConvSizes
    ) {
        let plan = Plan(forward: s)
        let (c, o) = (plan.channels, plan.outChannels), count = 16 * o * c
        // Each thread sums its own images' products; the partial sums are added in thread order.
        let partial = (0..<Parallel.threadCount).map { _ in Scratch(count) }
        for p in partial { p.pointer.update(repeating: 0, count: count) }
        plan.forEachImage { n, thread, buffers in
            let tiles = plan.tilesPerImage
            dg_winograd_input(
                x + n * plan.inputImage, c, plan.height, plan.width, plan.padding.0, plan.padding.1, plan.tilesH,
                plan.tilesW, buffers.v, buffers.rows)
            dg_winograd_output_adjoint(
                dy + n * plan.outputImage, o, plan.tilesH, plan.tilesW, plan.outH, plan.outW, buffers.m, buffers.rows)
            for k in 0..<16 {
                BLAS.gemm(
                    transposeA: false, transposeB: true, m: o, n: c, k: tiles, a: buffers.m + k * o * tiles,
                    lda: tiles, b: buffers.v + k * c * tiles, ldb: tiles, beta: 1,
                    c: partial[thread].pointer + k * o * c, ldc: c)
            }
        }
        withExtendedLifetime(partial) {
            let du = partial[0].pointer
            ConvKernels.add(partial.dropFirst(), into: du, count: count)
            for oc in 0..<o {
                for ic in 0..<c {
                    // dg = Gᵀ dU G: Gᵀ on each column of dU, then on each row of that.
                    let at = { (a: Int, b: Int) in du[(4 * a + b) * o * c + oc * c + ic] }
                    let column = { (b: Int) in gTransposed(SIMD4(at(0, b), at(1, b), at(2, b), at(3, b))) }
                    let (t0, t1, t2, t3) = (column(0), column(1), column(2), column(3))
                    let g = dw + (oc * c + ic) * 9
                    for i in 0..<3 {
                        let row = gTransposed(SIMD4(t0[i], t1[i], t2[i], t3[i]))
                        for j in 0..<3 { g[i * 3 + j] = row[j] }
                    }
                }
            }
        }
    }

    /// G v = (v0, ½(v0 + v1 + v2), ½(v0 - v1 + v2), v2).
    @inline(__always)
    static func g(_ v: SIMD3<Float>) -> SIMD4<Float> {
        SIMD4(v[0], 0.5 * (v[0] + v[1] + v[2]), 0.5 * (v[0] - v[1] + v[2]), v[2])
    }

    /// Gᵀ v = (v0 + ½(v1 + v2), ½(v1 - v2), ½(v1 + v2) + v3).
    @inline(__always)
    static func gTransposed(_ v: SIMD4<Float>) -> SIMD3<Float> {
        SIMD3(v[0] + 0.5 * (v[1] + v[2]), 0.5 * (v[1] - v[2]), 0.5 * (v[1] + v[2]) + v[3])
    }

    /// U[k][o][c] = entry k of G g Gᵀ for the 3x3 kernel g = w[o][c], G's rows being
    /// (1, 0, 0), (½, ½, ½), (½, -½, ½) and (0, 0, 1).
    static func transformed(_ w: UnsafePointer<Float>, outputs o: Int, inputs c: Int) -> Scratch {
        let u = Scratch(16 * o * c)
        for oc in 0..<o {
            for ic in 0..<c {
                // G on each column of the kernel, then on each row of that.
                let k = w + (oc * c + ic) * 9
                let (c0, c1, c2) = (g(SIMD3(k[0], k[3], k[6])), g(SIMD3(k[1], k[4], k[7])), g(SIMD3(k[2], k[5], k[8])))
                for a in 0..<4 {
                    let row = g(SIMD3(c0[a], c1[a], c2[a]))
                    for b in 0..<4 { u.pointer[(4 * a + b) * o * c + oc * c + ic] = row[b] }
                }
            }
        }
        return u
    }

    /// y = the convolution of x by the transformed weights u, image by image.
    private static func convolve(
        _ x: UnsafePointer<Float>, _ u: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
        _ y: UnsafeMutablePointer<Float>, _ plan: Plan
    ) {
        let (c, o) = (plan.channels, plan.outChannels)
        plan.forEachImage { n, _, buffers in
            let tiles = plan.tilesPerImage
            dg_winograd_input(
                x + n * plan.inputImage, c, plan.height, plan.width, plan.padding.0, plan.padding.1, plan.tilesH,
                plan.tilesW, buffers.v, buffers.rows)
            for k in 0..<16 {
                BLAS.gemm(
                    transposeA: false, transposeB: false, m: o, n: tiles, k: c, a: u + k * o * c, lda: c,
                    b: buffers.v + k * c * tiles, ldb: tiles, c: buffers.m + k * o * tiles, ldc: tiles)
            }
            dg_winograd_output(
                buffers.m, o, plan.tilesH, plan.tilesW, plan.outH, plan.outW, bias, y + n * plan.outputImage,
                buffers.rows)
        }
    }

    /// One convolution's sizes as the transforms see them, and its images shared over the threads.
    private struct Plan {
        let batch, channels, height, width, outChannels, outH, outW: Int
        let padding: (Int, Int)
        var tilesH: Int { (outH + 1) / 2 }
        var tilesW: Int { (outW + 1) / 2 }
        var tilesPerImage: Int { tilesH * tilesW }
        var inputImage: Int { channels * height * width }
        var outputImage: Int { outChannels * outH * outW }

        init(
            _ s: ConvSizes, channels: Int, height: Int, width: Int, outChannels: Int, outH: Int, outW: Int,
            padding: (Int, Int)
        ) {
            batch = s.batch; self.channels = channels; self.height = height; self.width = width
            self.outChannels = outChannels; self.outH = outH; self.outW = outW; self.padding = padding
        }

        /// The convolution `s` itself (the input gradient's plan is the flipped convolution's).
        init(forward s: ConvSizes) {
            self.init(
                s, channels: s.inChannels, height: s.height, width: s.width, outChannels: s.outChannels, outH: s.outH,
                outW: s.outW, padding: s.g.padding)
        }

        /// Per-thread buffers: the transformed inputs, the products, and a few rows.
        struct Buffers {
            let v, m, rows: UnsafeMutablePointer<Float>
        }

        /// Images in one contiguous share per thread (deterministic); `body` gets (image, thread, buffers).
        func forEachImage(_ body: (Int, Int, Buffers) -> Void) {
            let parts = min(Parallel.threadCount, batch)
            let scratch = (0..<parts).map { _ in
                (Scratch(16 * channels * tilesPerImage), Scratch(16 * outChannels * tilesPerImage),
                    Scratch(10 * (tilesW + 1)))
            }
            Parallel.forEach(parts) { t in
                let buffers = Buffers(v: scratch[t].0.pointer, m: scratch[t].1.pointer, rows: scratch[t].2.pointer)
                for n in batch * t / parts..<batch * (t + 1) / parts { body(n, t, buffers) }
            }
        }
    }
}
