/// Activations and normalised exponentials. relu and leaky ReLU multiply by a constant mask (their
/// second derivative is zero); the others are compositions of differentiable maths.

public func relu(_ x: Tensor) -> Tensor {
    x.unary("relu", { $0.replacing(with: 0, where: $0 .< 0) }) { g, _ in
        [g * x.constant { v in Vec(repeating: 0).replacing(with: 1, where: v .> 0) }]
    }
}

public func leakyReLU(_ x: Tensor, slope: Float = 0.01) -> Tensor {
    x.unary("leakyReLU", { $0.replacing(with: $0 * slope, where: $0 .< 0) }) { g, _ in
        [g * x.constant { v in Vec(repeating: slope).replacing(with: 1, where: v .> 0) }]
    }
}

/// x for x > 0, alpha * (e^x - 1) otherwise: one pass (PixelCNN++ applies it to every map
/// twice per block). The derivative, 1 above zero and alpha e^x = y + alpha below, comes from
/// the output through differentiable ops, so second derivatives hold.
public func elu(_ x: Tensor, alpha: Float = 1) -> Tensor {
    x.unary("elu", savesOutput: true, { eluLanes($0, alpha: alpha) }) { g, c in
        [g * Tensor.where(x .> 0, Tensor(1), c.output + alpha)]
    }
}

@inline(__always)
private func eluLanes(_ v: Vec, alpha: Float) -> Vec {
    v.replacing(with: alpha * (vexp(vmin(v, Vec(repeating: 0))) - 1), where: v .<= 0)
}

/// elu(x) and elu(-x) side by side along axis 1, [N, C, ...] -> [N, 2C, ...]: PixelCNN++'s
/// concat_elu, which lets both signs through. Composed, it costs a negation, a concatenation
/// and an elu over twice the map, and more on the way back; PixelCNN++ calls it three times per
/// block. Here it is one pass each way, with one exponential per element. The recorded
/// backward (second derivatives) is composed.
public func concatELU(_ x: Tensor) -> Tensor {
    precondition(x.rank >= 2, "concat_elu: input \(x.shape) needs a channel axis")
    let n = x.shape[0], block = x.count / max(n, 1)
    let output = Storage(uninitializedCount: 2 * x.count)
    let (source, target) = (x.storage.pointer, output.pointer)
    Parallel.forRanges(n, grain: max(1, elementwiseGrain / max(1, 3 * block))) { images in
        for image in images {
            let (from, to) = (source + image * block, target + image * 2 * block)
            forEachVector(block) { at, lanes in
                // Of elu(v) and elu(-v), one is |v| and the other e^-|v| - 1: one exponential
                // serves both (the same values as two elu passes, to the bit).
                let v = loadAt(from, at, lanes)
                let decayed = vexp(vmin(v, -v)) - 1
                storeAt(decayed.replacing(with: v, where: v .> 0), to, at, lanes)
                storeAt((-v).replacing(with: decayed, where: v .>= 0), to + block, at, lanes)
            }
        }
    }
    return Tensor.result("concatELU", shape: [n, 2 * x.shape[1]] + x.shape.dropFirst(2), storage: output, inputs: [x]) {
        g, _ in
        if GradMode.isEnabled {
            let halves = g.split(into: 2, axis: 1)
            return [
                halves[0] * Tensor.where(x .> 0, Tensor(1), elu(x) + 1) - halves[1]
                    * Tensor.where(x .< 0, Tensor(1), elu(-x) + 1)
            ]
        }
        // d/dx elu(x) is 1 above zero and e^x = elu(x) + 1 below; d/dx elu(-x) = -elu'(-x).
        let gradient = Storage(uninitializedCount: x.count), (dy, dx) = (g.storage.pointer, gradient.pointer)
        let one = Vec(repeating: 1)
        Parallel.forRanges(n, grain: max(1, elementwiseGrain / max(1, 4 * block))) { images in
            for image in images {
                let (y, d, v) = (
                    output.pointer + image * 2 * block, dy + image * 2 * block, x.storage.pointer + image * block
                )
                forEachVector(block) { at, lanes in
                    let positive = loadAt(v, at, lanes) .> 0
                    let slopeOfX = (loadAt(y, at, lanes) + 1).replacing(with: one, where: positive)
                    let slopeOfMinusX = one.replacing(with: loadAt(y + block, at, lanes) + 1, where: positive)
                    storeAt(
                        loadAt(d, at, lanes) * slopeOfX - loadAt(d + block, at, lanes) * slopeOfMinusX,
                        dx + image * block, at, lanes)
                }
            }
        }
        return [Tensor(shape: x.shape, storage: gradient)]
    }
}

/// The gated linear unit along axis 1, [N, 2C, ...] -> [N, C, ...]: a * sigmoid(b) for the
/// halves (a, b), as PyTorch's `glu(x, dim=1)`. PixelCNN++'s gated residual blocks end with it.
public func glu(_ x: Tensor) -> Tensor { gatedUnit(x, tanhOfFirstHalf: false) }

/// tanh(a) * sigmoid(b) for the halves (a, b) along axis 1, [N, 2C, ...] -> [N, C, ...]: the
/// gated activation of Gated PixelCNN and WaveNet.
public func gatedTanh(_ x: Tensor) -> Tensor { gatedUnit(x, tanhOfFirstHalf: true) }

/// Composed, a gate is two slices (copies), two activations and a product forward, and twice
/// as many passes back with a concatenation of the halves' gradients. Here it is one pass each
/// way, reading the halves in place. The recorded backward (second derivatives) is composed.
private func gatedUnit(_ x: Tensor, tanhOfFirstHalf: Bool) -> Tensor {
    precondition(
        x.rank >= 2 && x.shape[1] % 2 == 0, "gate: input \(x.shape) needs an even number of channels on axis 1")
    let n = x.shape[0], block = x.count / max(n, 1) / 2
    @inline(__always) func first(_ a: Vec) -> Vec { tanhOfFirstHalf ? vtanh(a) : a }
    let output = Storage(uninitializedCount: n * block)
    let source = x.storage.pointer
    Parallel.forRanges(n, grain: max(1, elementwiseGrain / max(1, 3 * block))) { images in
        for image in images {
            let (a, b, y) = (
                source + image * 2 * block, source + image * 2 * block + block, output.pointer + image * block
            )
            forEachVector(block) { at, lanes in
                storeAt(first(loadAt(a, at, lanes)) * vsigmoid(loadAt(b, at, lanes)), y, at, lanes)
            }
        }
    }
    var shape = x.shape
    shape[1] /= 2
    return Tensor.result(tanhOfFirstHalf ? "gatedTanh" : "glu", shape: shape, storage: output, inputs: [x]) { g, _ in
        if GradMode.isEnabled {
            let halves = x.split(into: 2, axis: 1), s = halves[1].sigmoid()
            let a = tanhOfFirstHalf ? halves[0].tanh() : halves[0]
            let slopeOfA = tanhOfFirstHalf ? (1 - a * a) * s : s
            return [Tensor.concatenate([g * slopeOfA, g * a * s * (1 - s)], axis: 1)]
        }
        let gradient = Storage(uninitializedCount: x.count), dy = g.storage.pointer
        Parallel.forRanges(n, grain: max(1, elementwiseGrain / max(1, 6 * block))) { images in
            for image in images {
                let (a, b) = (source + image * 2 * block, source + image * 2 * block + block)
                let (da, db, d) = (
                    gradient.pointer + image * 2 * block, gradient.pointer + image * 2 * block + block,
                    dy + image * block
                )
                forEachVector(block) { at, lanes in
                    let s = vsigmoid(loadAt(b, at, lanes)), gy = loadAt(d, at, lanes)
                    let fa = first(loadAt(a, at, lanes))
                    let slopeOfA = tanhOfFirstHalf ? (1 - fa * fa) * s : s
                    storeAt(gy * slopeOfA, da, at, lanes)
                    storeAt(gy * fa * s * (1 - s), db, at, lanes)
                }
            }
        }
        return [Tensor(shape: x.shape, storage: gradient)]
    }
}

/// The exact GELU, x * Phi(x) with the normal CDF written through erf (PyTorch's default).
public func gelu(_ x: Tensor) -> Tensor {
    0.5 * x * (1 + (x * Float(0.5).squareRoot()).erf())
}

/// log(sigmoid(x)) = -softplus(-x), stable for large |x|.
public func logSigmoid(_ x: Tensor) -> Tensor { -(-x).softplus() }

public func softmax(_ x: Tensor, axis: Int = -1) -> Tensor { logSoftmax(x, axis: axis).exp() }

public func logSoftmax(_ x: Tensor, axis: Int = -1) -> Tensor {
    // Shift by the (constant) maximum first: x - logsumexp(x) would lose the small result's
    // digits against a large x.
    let shifted = x - x.max(alongAxis: axis, keepDims: true).detached()
    return shifted - shifted.exp().sum(alongAxis: axis, keepDims: true).log()
}

/// Zeroes each value with probability `p` and scales the rest by 1 / (1 - p), so the expected
/// value is unchanged; the identity when not `training`.
public func dropout(
    _ x: Tensor, probability p: Float, training: Bool = true, generator: inout RandomGenerator
) -> Tensor {
    precondition(p >= 0 && p < 1, "dropout: probability \(p) must be in [0, 1)")
    guard training, p > 0 else { return x }
    let keep = Tensor.bernoulli(x.shape, probability: 1 - p, exampleAxis: 0, generator: &generator)
    return x * (keep * (1 / (1 - p)))
}
