/// Batch normalisation with the batch's own statistics, fused: two passes forward (statistics,
/// then y = x * a + b per channel) and two backward (two sums, then dx = a * g + p * x + q),
/// where the composed form makes about eight passes each way and as many temporaries.
///
/// `x` is [N, C, ...]; the statistics are over every axis but 1. Returns the output and the
/// batch's mean and biased variance per channel (plain tensors, for the running estimates).
/// Gradients of gradients (a gradient penalty through a normalised critic) go through the
/// composed, differentiable form of the backward pass.
public func batchNormalization(
    _ x: Tensor, weight: Tensor?, bias: Tensor?, epsilon: Float
) -> (output: Tensor, mean: Tensor, variance: Tensor) {
    precondition(x.rank >= 2, "batchNormalization: input \(x.shape) has no channel axis")
    let layout = ChannelLayout(x.shape)
    for p in [weight, bias] {
        if let p {
            precondition(p.shape == [layout.channels], "batchNormalization: \(p.shape) for \(layout.channels) channels")
        }
    }
    let (mean, variance) = layout.statistics(x.storage.pointer)
    let invstd = variance.map { 1 / ($0 + epsilon).squareRoot() }
    let gamma = weight?.scalars, beta = bias?.scalars
    let scale = (0..<layout.channels).map { c in (gamma?[c] ?? 1) * invstd[c] }
    let shift = (0..<layout.channels).map { c in (beta?[c] ?? 0) - mean[c] * scale[c] }
    let storage = Storage(uninitializedCount: x.count)
    layout.affine(x.storage.pointer, scale: scale, shift: shift, storage.pointer)
    let inputs = [x] + [weight, bias].compactMap { $0 }
    let output = Tensor.result("batchNormalization", shape: x.shape, storage: storage, inputs: inputs) { g, c in
        if GradMode.isEnabled {
            return composedBatchNormBackward(g, x, weight, bias != nil, epsilon, layout, needs: c.needs)
        }
        let (sumG, sumGX) = layout.gradientSums(g.storage.pointer, x.storage.pointer, mean: mean)
        let m = Float(layout.count)
        var p = [Float](repeating: 0, count: layout.channels), q = p
        for ch in 0..<layout.channels {
            p[ch] = -scale[ch] * invstd[ch] * invstd[ch] * sumGX[ch] / m
            q[ch] = -scale[ch] * sumG[ch] / m - p[ch] * mean[ch]
        }
        var grads: [Tensor?] = [nil]
        if c.needs[0] {
            let dx = Storage(uninitializedCount: x.count)
            layout.inputGradient(g.storage.pointer, x.storage.pointer, scale: scale, p: p, q: q, dx.pointer)
            grads[0] = Tensor(shape: x.shape, storage: dx)
        }
        if weight != nil { grads.append(Tensor(zip(sumGX, invstd).map { $0 * $1 })) }
        if bias != nil { grads.append(Tensor(sumG)) }
        return grads
    }
    return (output, Tensor(mean), Tensor(variance))
}

/// The backward pass written with differentiable ops (statistics recomputed from x), for
/// gradients of gradients.
private func composedBatchNormBackward(
    _ g: Tensor, _ x: Tensor, _ weight: Tensor?, _ hasBias: Bool, _ epsilon: Float,
    _ layout: ChannelLayout, needs: [Bool]
) -> [Tensor?] {
    let axes = [0] + Array(2..<x.rank)
    let statShape = [1, layout.channels] + [Int](repeating: 1, count: x.rank - 2)
    let centred = x - x.mean(alongAxes: axes, keepDims: true)
    let invstd = (centred.squared().mean(alongAxes: axes, keepDims: true) + epsilon).rsqrt()
    let normalised = centred * invstd
    let scaled = weight.map { g * $0.reshaped(statShape) } ?? g
    var grads: [Tensor?] = [nil]
    if needs[0] {
        grads[0] =
            invstd
            * (scaled - scaled.mean(alongAxes: axes, keepDims: true)
                - normalised * (scaled * normalised).mean(alongAxes: axes, keepDims: true))
    }
    if weight != nil { grads.append((g * normalised).sum(alongAxes: axes).reshaped([layout.channels])) }
    if hasBias { grads.append(g.sum(alongAxes: axes).reshaped([layout.channels])) }
    return grads
}

/// [N, C, inner] viewed per channel. Each channel's sums run in a fixed order on one thread, so
/// results do not depend on the thread count.
private struct ChannelLayout {
    let batch: Int, channels: Int, inner: Int
    init(_ shape: [Int]) {
        batch = shape[0]; channels = shape[1]; inner = shape.dropFirst(2).reduce(1, *)
    }
    var count: Int { batch * inner }

    /// Calls `body` on ranges of channels, split over the threads when the work is large.
    func forChannels(_ body: (Range<Int>) -> Void) {
        Parallel.forRanges(channels, grain: max(1, elementwiseGrain / max(1, count))) { body($0) }
    }

    /// Sum over one channel's elements of f(value) for each (n): `inner` contiguous floats.
    @inline(__always)
    func sumRows(
        _ base: UnsafePointer<Float>, _ channel: Int, _ f: (Vec, Int) -> Vec, _ scalar: (Float, Int) -> Float
    ) -> Float {
        var acc = Vec(repeating: 0), tail: Float = 0
        for n in 0..<batch {
            let offset = (n * channels + channel) * inner
            var i = 0
            while i + 16 <= inner { acc += f(load(base + offset + i), offset + i); i += 16 }
            while i < inner { tail += scalar(base[offset + i], offset + i); i += 1 }
        }
        return acc.sum() + tail
    }

    /// Mean and biased variance per channel (two passes: the mean, then squared deviations).
    func statistics(_ x: UnsafePointer<Float>) -> ([Float], [Float]) {
        let m = Float(count)
        return twoPerChannel { range, meanOut, varOut in
            if inner == 1 {
                // [N, C]: rows of channels, added a row at a time.
                for n in 0..<batch { for c in range { meanOut[c] += x[n * channels + c] } }
                for c in range { meanOut[c] /= m }
                for n in 0..<batch { for c in range { let d = x[n * channels + c] - meanOut[c]; varOut[c] += d * d } }
                for c in range { varOut[c] /= m }
                return
            }
            for c in range {
                let mu = sumRows(x, c, { v, _ in v }, { v, _ in v }) / m
                let mv = Vec(repeating: mu)
                meanOut[c] = mu
                varOut[c] = sumRows(x, c, { v, _ in (v - mv) * (v - mv) }, { v, _ in (v - mu) * (v - mu) }) / m
            }
        }
    }

    /// Two per-channel arrays, zeroed, then filled by `body` for ranges of channels (split over the threads).
    private func twoPerChannel(
        _ body: (Range<Int>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void
    ) -> ([Float], [Float]) {
        var first = [Float](repeating: 0, count: channels), second = first
        first.withUnsafeMutableBufferPointer { a in
            second.withUnsafeMutableBufferPointer { b in
                let a = a.baseAddress!, b = b.baseAddress!
                forChannels { body($0, a, b) }
            }
        }
        return (first, second)
    }

    /// y = x * scale[c] + shift[c].
    func affine(_ x: UnsafePointer<Float>, scale: [Float], shift: [Float], _ y: UnsafeMutablePointer<Float>) {
        combine(x, nil, y) { c in (scale[c], 0, shift[c]) }
    }

    /// dx = scale[c] * g + p[c] * x + q[c].
    func inputGradient(
        _ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, scale: [Float], p: [Float], q: [Float],
        _ dx: UnsafeMutablePointer<Float>
    ) {
        combine(x, g, dx) { c in (p[c], scale[c], q[c]) }
    }

    /// out = a[c] * x + b[c] * g + k[c] (g absent: b ignored), in one pass.
    private func combine(
        _ x: UnsafePointer<Float>, _ g: UnsafePointer<Float>?, _ out: UnsafeMutablePointer<Float>,
        _ coefficients: (Int) -> (Float, Float, Float)
    ) {
        let table = (0..<channels).map(coefficients)
        forChannels { range in
            for n in 0..<batch {
                for c in range {
                    let (a, b, k) = table[c]
                    let offset = (n * channels + c) * inner
                    let va = Vec(repeating: a), vb = Vec(repeating: b), vk = Vec(repeating: k)
                    var i = 0
                    if let g {
                        while i + 16 <= inner {
                            store(load(x + offset + i) * va + load(g + offset + i) * vb + vk, out + offset + i); i += 16
                        }
                        while i < inner { out[offset + i] = x[offset + i] * a + g[offset + i] * b + k; i += 1 }
                    } else {
                        while i + 16 <= inner { store(load(x + offset + i) * va + vk, out + offset + i); i += 16 }
                        while i < inner { out[offset + i] = x[offset + i] * a + k; i += 1 }
                    }
                }
            }
        }
    }

    /// Per channel, the sum of g and the sum of g * (x - mean).
    func gradientSums(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, mean: [Float]) -> ([Float], [Float]) {
        twoPerChannel { range, sg, sgx in
            if inner == 1 {
                for n in 0..<batch {
                    for c in range { let i = n * channels + c; sg[c] += g[i]; sgx[c] += g[i] * (x[i] - mean[c]) }
                }
                return
            }
            for c in range {
                let mu = mean[c], mv = Vec(repeating: mu)
                sg[c] = sumRows(g, c, { v, _ in v }, { v, _ in v })
                sgx[c] = sumRows(g, c, { v, i in v * (load(x + i) - mv) }, { v, i in v * (x[i] - mu) })
            }
        }
    }
}
