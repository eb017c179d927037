/// Pooling and upsampling, composed from ops that already differentiate: average pooling is a
/// depthwise convolution with a constant kernel, max pooling a gather of each window's largest
/// value, nearest upsampling an expansion, bilinear upsampling two products with interpolation
/// matrices.

/// Average over `kernel` windows (PyTorch's `avg_pool2d` with `count_include_pad`: padding counts as zeros).
public func avgPool2d(_ x: Tensor, kernel: Int, stride: Int? = nil, padding: Int = 0) -> Tensor {
    precondition(x.rank == 4, "avg_pool2d: input \(x.shape) must be 4-D [N, C, H, W]")
    let channels = x.shape[1]
    let weight = Tensor.full([channels, 1, kernel, kernel], 1 / Float(kernel * kernel))
    return conv2d(x, weight, stride: stride ?? kernel, padding: padding, groups: channels)
}

/// Maximum over `kernel` windows; padding never wins (it counts as minus infinity).
public func maxPool2d(_ x: Tensor, kernel: Int, stride: Int? = nil, padding: Int = 0) -> Tensor {
    precondition(x.rank == 4, "max_pool2d: input \(x.shape) must be 4-D [N, C, H, W]")
    let s = stride ?? kernel
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let oh = (h + 2 * padding - kernel) / s + 1, ow = (w + 2 * padding - kernel) / s + 1
    precondition(
        oh >= 1 && ow >= 1 && padding <= kernel / 2,
        "max_pool2d: kernel \(kernel), padding \(padding) do not fit input \(x.shape)")
    var indices = [Int32](repeating: 0, count: n * c * oh * ow)
    x.withUnsafeBufferPointer { src in
        indices.withUnsafeMutableBufferPointer { idx in
            Parallel.forRanges(n * c, grain: max(1, elementwiseGrain / (h * w))) { planes in
                for plane in planes {
                    let base = plane * h * w
                    for i in 0..<oh {
                        for j in 0..<ow {
                            var best = -Float.infinity, bestAt = -1
                            for ki in 0..<kernel {
                                let r = i * s - padding + ki
                                guard r >= 0 && r < h else { continue }
                                for kj in 0..<kernel {
                                    let col = j * s - padding + kj
                                    guard col >= 0 && col < w else { continue }
                                    let v = src[base + r * w + col]
                                    if bestAt < 0 || v > best { best = v; bestAt = base + r * w + col }
                                }
                            }
                            idx[(plane * oh + i) * ow + j] = Int32(bestAt)
                        }
                    }
                }
            }
        }
    }
    return x.gatherFlat(indices, shape: [n, c, oh, ow])
}

/// Each pixel repeated `scale` x `scale` times.
public func upsampleNearest(_ x: Tensor, scale: Int) -> Tensor {
    precondition(x.rank == 4 && scale >= 1, "upsample_nearest: input \(x.shape) must be 4-D, scale \(scale) positive")
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (wide, planeIn, planeOut) = (w * scale, h * w, h * w * scale * scale)
    let storage = Storage(uninitializedCount: n * c * planeOut)
    let src = x.storage.pointer, dst = storage.pointer
    Parallel.forRanges(n * c, grain: max(1, elementwiseGrain / planeOut)) { planes in
        for plane in planes {
            for i in 0..<h {
                let from = src + plane * planeIn + i * w, to = dst + plane * planeOut + i * scale * wide
                for j in 0..<w { (to + j * scale).update(repeating: from[j], count: scale) }
                for r in 1..<scale { (to + r * wide).update(from: to, count: wide) }
            }
        }
    }
    // Each of upsampleNearest and blockSum is the other's adjoint: derivatives of any order.
    return Tensor.result("upsampleNearest", shape: [n, c, h * scale, wide], storage: storage, inputs: [x]) { g, _ in
        [blockSum(g, scale: scale)]
    }
}

/// Sums over scale x scale blocks: [N, C, H, W] to [N, C, H / scale, W / scale]. Divided by
/// scale², the average pooling of StyleGAN's discriminator.
public func blockSum(_ x: Tensor, scale: Int) -> Tensor {
    precondition(
        x.rank == 4 && scale >= 1 && x.shape[2] % scale == 0 && x.shape[3] % scale == 0,
        "block_sum: input \(x.shape) must be 4-D with H and W multiples of \(scale)")
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2] / scale, x.shape[3] / scale)
    let (wide, planeIn, planeOut) = (w * scale, h * w * scale * scale, h * w)
    let storage = Storage(uninitializedCount: n * c * planeOut)
    let src = x.storage.pointer, dst = storage.pointer
    Parallel.forRanges(n * c, grain: max(1, elementwiseGrain / planeIn)) { planes in
        for plane in planes {
            for i in 0..<h {
                let to = dst + plane * planeOut + i * w
                to.update(repeating: 0, count: w)
                for r in 0..<scale {
                    let from = src + plane * planeIn + (i * scale + r) * wide
                    for j in 0..<w {
                        var sum: Float = 0
                        for k in 0..<scale { sum += from[j * scale + k] }
                        to[j] += sum
                    }
                }
            }
        }
    }
    return Tensor.result("blockSum", shape: [n, c, h, w], storage: storage, inputs: [x]) { g, _ in
        [upsampleNearest(g, scale: scale)]
    }
}

/// Bilinear resampling to `size` (PyTorch's `interpolate(mode: "bilinear")`, `align_corners` selectable).
public func upsampleBilinear(_ x: Tensor, size: (Int, Int), alignCorners: Bool = false) -> Tensor {
    precondition(x.rank == 4, "upsample_bilinear: input \(x.shape) must be 4-D [N, C, H, W]")
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let rows = interpolationMatrix(from: h, to: size.0, alignCorners: alignCorners) // [H', H]
    let cols = interpolationMatrix(from: w, to: size.1, alignCorners: alignCorners) // [W', W]
    // Along W: [N*C*H, W] @ colsᵀ; then along H on the transposed planes.
    let alongW = x.reshaped([n * c * h, w]).matmul(cols, transposeOther: true).reshaped([n * c, h, size.1])
    let alongH = alongW.transposed().reshaped([n * c * size.1, h]).matmul(rows, transposeOther: true)
    return alongH.reshaped([n * c, size.1, size.0]).transposed().reshaped([n, c, size.0, size.1])
}

/// Row i holds the weights with which output position i mixes the input positions.
func interpolationMatrix(from input: Int, to output: Int, alignCorners: Bool) -> Tensor {
    Tensor(shape: [output, input]) { m in
        m.update(repeating: 0)
        for i in 0..<output {
            var source: Float
            if alignCorners {
                source = output > 1 ? Float(i) * Float(input - 1) / Float(output - 1) : 0
            } else {
                source = max(0, (Float(i) + 0.5) * Float(input) / Float(output) - 0.5)
            }
            let lo = min(Int(source), input - 1), hi = min(lo + 1, input - 1)
            let t = source - Float(lo)
            m[i * input + lo] += 1 - t
            m[i * input + hi] += t
        }
    }
}

/// Row i of every plane moved right by i, zeros around it: [N, C, H, W] to [N, C, H, width]
/// (width at least W + H - 1, its default), so that the image's diagonals become columns, as
/// PixelRNN's Diagonal BiLSTM wants them.
public func skewed(_ x: Tensor, width: Int? = nil) -> Tensor {
    precondition(x.rank == 4, "skew: input \(x.shape) must be 4-D [N, C, H, W]")
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let wide = width ?? w + h - 1
    precondition(wide >= w + h - 1, "skew: width \(wide) cannot hold \(h) rows of \(w) moved right by up to \(h - 1)")
    let storage = Storage(uninitializedCount: n * c * h * wide)
    let src = x.storage.pointer, dst = storage.pointer
    Parallel.forRanges(n * c, grain: max(1, elementwiseGrain / (h * wide))) { planes in
        for plane in planes {
            for i in 0..<h {
                let to = dst + (plane * h + i) * wide
                to.update(repeating: 0, count: i)
                (to + i).update(from: src + (plane * h + i) * w, count: w)
                (to + i + w).update(repeating: 0, count: wide - i - w)
            }
        }
    }
    // skewed and unskewed are each other's adjoints: derivatives of any order.
    return Tensor.result("skew", shape: [n, c, h, wide], storage: storage, inputs: [x]) { g, _ in
        [unskewed(g, width: w)]
    }
}

/// The inverse of `skewed`: row i's columns i ..< i + width, [N, C, H, W'] to [N, C, H, width].
public func unskewed(_ x: Tensor, width: Int) -> Tensor {
    precondition(
        x.rank == 4 && x.shape[3] >= width + x.shape[2] - 1,
        "unskew: input \(x.shape) has too few columns for \(x.shape[2]) rows of \(width) moved right by up to "
            + "\(x.shape[2] - 1)"
    )
    let (n, c, h, wide) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let storage = Storage(uninitializedCount: n * c * h * width)
    let src = x.storage.pointer, dst = storage.pointer
    Parallel.forRanges(n * c, grain: max(1, elementwiseGrain / (h * wide))) { planes in
        for plane in planes {
            for i in 0..<h {
                (dst + (plane * h + i) * width).update(from: src + (plane * h + i) * wide + i, count: width)
            }
        }
    }
    return Tensor.result("unskew", shape: [n, c, h, width], storage: storage, inputs: [x]) { g, _ in
        [skewed(g, width: wide)]
    }
}
