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
    x.unary("elu", savesOutput: true, { v in v.replacing(with: alpha * (vexp(pointwiseMin(v, Vec(repeating: 0))) - 1), where: v .<= 0) }) { g, c in
        [g * Tensor.where(x .> 0, Tensor(1), c.output + alpha)]
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
public func dropout(_ x: Tensor, probability p: Float, training: Bool = true, generator: inout RandomGenerator) -> Tensor {
    precondition(p >= 0 && p < 1, "dropout: probability \(p) must be in [0, 1)")
    guard training, p > 0 else { return x }
    let keep = Tensor.bernoulli(x.shape, probability: 1 - p, generator: &generator)
    return x * (keep * (1 / (1 - p)))
}
