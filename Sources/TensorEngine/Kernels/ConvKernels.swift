/// The three convolution kernels. Small maps are processed several images at a time: their
/// columns matrices side by side make one product wide enough for BLAS to run near its peak (one
/// 7x7 map gives products 49 columns wide, and a weight gradient summed over 49 terms per image).
/// A large map is processed alone, in blocks of output rows that bound the scratch memory.
/// 3x3 unit-stride convolutions with enough channels on large enough maps go to `Winograd`; those
/// on smaller maps, 5x5 ones at stride 1 or 2 and 4x4 ones at stride 2, all with enough channels
/// (DCGAN's), to `WinogradChannelsLast`.
enum ConvKernels {
    /// Floats of columns matrix per product: whole images up to this size, where measurements
    /// favoured one large product over cache-sized blocks; the bound caps scratch memory.
    static let blockFloats = 1 << 24
    /// Floats of columns matrix below which images are gathered into one product.
    static let chunkFloats = 1 << 20
    /// Output planes from this size up (a 28 x 28 map) make products wide enough alone:
    /// gathering their images would only add copies of the outputs and their gradients.
    static let wideOutput = 512

    /// Images per product, and output rows per block when that is one image.
    static func plan(_ s: ConvSizes) -> (images: Int, rows: Int) {
        let perImage = s.patch * s.outPlane
        if perImage >= chunkFloats || s.outPlane >= wideOutput {
            return (1, max(1, min(s.outH, blockFloats / max(1, s.patch * s.outW))))
        }
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
    static func forward(
        _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        _ y: UnsafeMutablePointer<Float>, _ s: ConvSizes
    ) {
        let compacted = usedTaps(w, s)
        if Winograd.applies(compacted?.0 ?? s) { return Winograd.forward(x, w, bias: bias, y, s) }
        if WinogradChannelsLast.applies(compacted?.0 ?? s) { return WinogradChannelsLast.forward(x, w, bias: bias, y, s) }
        if let (compact, weights) = compacted {
            return withExtendedLifetime(weights) { forwardOverTaps(x, weights.pointer, bias, y, compact) }
        }
        forwardOverTaps(x, w, bias, y, s)
    }

    private static func forwardOverTaps(
        _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
        _ y: UnsafeMutablePointer<Float>, _ s: ConvSizes
    ) {
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
                    im2col(
                        xg(n0), s, rows: 0..<s.outH, columns, rowStride: ld, images: count,
                        imageStride: s.inChannels * s.inPlane)
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
                    gemm(
                        perImage, false, false, s.groupOut, width, s.patch, wg, s.patch, columns, width, beta,
                        yg(n0) + start * s.outW, P)
                }
            }
        }
    }

    /// dx[n, group] = col2im(W[group]ᵀ @ dy[n, group]): the adjoint of `forward` in x.
    static func inputGradient(
        _ dy: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, _ s: ConvSizes
    ) {
        let compacted = usedTaps(w, s)
        if Winograd.applies(compacted?.0 ?? s) { return Winograd.inputGradient(dy, w, dx, s) }
        if WinogradChannelsLast.applies(compacted?.0 ?? s) { return WinogradChannelsLast.inputGradient(dy, w, dx, s) }
        if let (compact, weights) = compacted {
            return withExtendedLifetime(weights) { inputGradientOverTaps(dy, weights.pointer, dx, compact) }
        }
        inputGradientOverTaps(dy, w, dx, s)
    }

    private static func inputGradientOverTaps(
        _ dy: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
        _ s: ConvSizes
    ) {
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
                    col2im(
                        columns, s, rows: 0..<s.outH, dxg(n0), rowStride: ld, images: count,
                        imageStride: s.inChannels * s.inPlane)
                    continue
                }
                if pointwise {
                    gemm(perImage, true, false, s.patch, P, s.groupOut, wg, s.patch, dyg(n0), P, 0, dxg(n0), P)
                    continue
                }
                dxg(n0).update(repeating: 0, count: s.groupIn * s.inPlane)
                for start in stride(from: 0, to: s.outH, by: step) {
                    let rows = start..<min(s.outH, start + step), width = rows.count * s.outW
                    gemm(
                        perImage, true, false, s.patch, width, s.groupOut, wg, s.patch, dyg(n0) + start * s.outW, P, 0,
                        columns, width)
                    col2im(columns, s, rows: rows, dxg(n0))
                }
            }
        }
    }

    /// dW[group] = sum over n of dy[n, group] @ columns(x[n, group])ᵀ: the adjoint of `forward` in W.
    /// Each thread sums its own images; the partial sums are then added in thread order.
    static func weightGradient(
        _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dw: UnsafeMutablePointer<Float>, _ s: ConvSizes
    ) {
        if Winograd.applies(s) { return Winograd.weightGradient(x, dy, dw, s) }
        if WinogradChannelsLast.applies(s) { return WinogradChannelsLast.weightGradient(x, dy, dw, s) }
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
                    im2col(
                        xg(n0), s, rows: 0..<s.outH, columns, rowStride: ld, images: count,
                        imageStride: s.inChannels * s.inPlane)
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
                    gemm(
                        perImage, false, true, s.groupOut, s.patch, width, dyg(n0) + start * s.outW, P, columns, width,
                        1, dwg, s.patch)
                }
            }
        }
        add(partial, into: dw, count: weightCount)
    }

    /// total += each of `partial` in turn (threads' partial sums, added in thread order).
    static func add<S: Sequence<Scratch>>(_ partial: S, into total: UnsafeMutablePointer<Float>, count: Int) {
        for p in partial {
            var i = 0
            while i + 16 <= count { store(load(total + i) + load(p.pointer + i), total + i); i += 16 }
            while i < count { total[i] += p.pointer[i]; i += 1 }
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
    private static func gather(
        _ count: Int, _ plane: Int, _ channels: Int, from src: UnsafePointer<Float>, imageStride: Int,
        into dst: UnsafeMutablePointer<Float>, _ ld: Int
    ) {
        for i in 0..<count {
            for o in 0..<channels {
                (dst + o * ld + i * plane).update(from: src + i * imageStride + o * plane, count: plane)
            }
        }
    }

    /// dst[j] = src[j] + add.
    @inline(__always)
    private static func copy(
        _ src: UnsafePointer<Float>, to dst: UnsafeMutablePointer<Float>, count: Int, adding add: Float
    ) {
        if add == 0 { dst.update(from: src, count: count); return }
        let a = Vec(repeating: add)
        var j = 0
        while j + 16 <= count { store(load(src + j) + a, dst + j); j += 16 }
        while j < count { dst[j] = src[j] + add; j += 1 }
    }

    /// A single-threaded product when images are already spread over the threads, else a split one.
    @inline(__always)
    private static func gemm(
        _ perImage: Bool, _ tA: Bool, _ tB: Bool, _ m: Int, _ n: Int, _ k: Int,
        _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
        _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
    ) {
        if perImage {
            BLAS.gemm(
                transposeA: tA, transposeB: tB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c,
                ldc: ldc)
        } else {
            BLAS.parallelGemm(
                transposeA: tA, transposeB: tB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c,
                ldc: ldc)
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
        Parallel.forEach(parts) { t in share(batch * t / parts..<batch * (t + 1) / parts, t, true) }
    }
}
