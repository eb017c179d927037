import Foundation

/// How a loss folds its per-element values: PyTorch's `reduction` argument.
public enum Reduction: Sendable {
    case mean, sum, none

    func apply(_ values: Tensor) -> Tensor {
        switch self {
        case .mean: values.mean()
        case .sum: values.sum()
        case .none: values
        }
    }
}

private func checkSameShape(_ a: Tensor, _ b: Tensor, _ op: String) {
    precondition(a.shape == b.shape, "\(op): input \(a.shape) and target \(b.shape) differ in shape")
}

/// -[t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))] = softplus(x) - t x, which never takes the log of 0.
/// The targets may broadcast against the logits (one image against k samples' logits).
public func binaryCrossEntropyWithLogits(_ logits: Tensor, _ targets: Tensor, reduction: Reduction = .mean) -> Tensor {
    let shape = checked { try Shape.broadcast(logits.shape, targets.shape, op: "binary_cross_entropy_with_logits") }
    precondition(
        shape == logits.shape,
        "binary_cross_entropy_with_logits: targets \(targets.shape) do not broadcast to the logits' \(logits.shape)")
    return reduction.apply(logits.softplus() - logits * targets)
}

/// -log softmax(logits)[label] for `logits` [N, classes] and one label per row.
public func crossEntropy(_ logits: Tensor, labels: [Int], reduction: Reduction = .mean) -> Tensor {
    precondition(
        logits.rank == 2 && logits.shape[0] == labels.count,
        "cross_entropy: logits \(logits.shape) need one label per row, got \(labels.count)")
    return reduction.apply(-logSoftmax(logits, axis: 1).take(labels, alongAxis: 1))
}

public func mseLoss(_ input: Tensor, _ target: Tensor, reduction: Reduction = .mean) -> Tensor {
    checkSameShape(input, target, "mse_loss")
    let d = input - target
    return reduction.apply(d * d)
}

public func l1Loss(_ input: Tensor, _ target: Tensor, reduction: Reduction = .mean) -> Tensor {
    checkSameShape(input, target, "l1_loss")
    return reduction.apply((input - target).abs())
}

/// 0.5 * (log var + (input - target)^2 / var), with var clamped to `epsilon` (PyTorch's
/// `gaussian_nll_loss`); `full` adds the constant 0.5 * log(2 pi) that makes it a true
/// negative log-density. `variance` broadcasts against `input`.
public func gaussianNLLLoss(
    _ input: Tensor, _ target: Tensor, variance: Tensor, full: Bool = false,
    epsilon: Float = 1e-6, reduction: Reduction = .mean
) -> Tensor {
    checkSameShape(input, target, "gaussian_nll_loss")
    let v = variance.clamped(min: epsilon)
    let d = input - target
    var values = 0.5 * (v.log() + d * d / v)
    if full { values = values + Float(0.5 * Foundation.log(2 * Double.pi)) }
    return reduction.apply(values)
}

/// The log-likelihood of binary (or [0, 1]) targets under Bernoulli(sigmoid(logits)), summed
/// over the last axis: -sum_d (softplus(l_d) - l_d t_d), one value per row of `logits`.
/// `targets` may lack leading axes of `logits` (or have them as 1): k samples of a batch of
/// images share the images. That case runs as one fused pass, without the [k, N, D] temporaries
/// of the composed expression, which is what makes k = 5000 importance sampling affordable.
public func bernoulliLogLikelihood(logits: Tensor, targets: Tensor) -> Tensor {
    let d = logits.shape.last ?? 1
    var targetShape = targets.shape
    while targetShape.first == 1 && targetShape.count > 1 { targetShape.removeFirst() }
    let fusable =
        logits.rank >= 1 && targetShape.count <= logits.rank && targetShape.last == d
        && Array(logits.shape.suffix(targetShape.count)) == targetShape
    guard fusable else {
        return -binaryCrossEntropyWithLogits(logits, targets, reduction: .none).sum(alongAxis: logits.rank - 1)
    }
    let rows = logits.count / max(d, 1), targetRows = targets.count / max(d, 1)
    let storage = Storage(uninitializedCount: rows)
    let l = logits.storage.pointer, t = targets.storage.pointer, out = storage.pointer
    Parallel.forRanges(rows, grain: max(1, elementwiseGrain / max(d, 1))) { range in
        for r in range { out[r] = -softplusMinusProductSum(l + r * d, t + (r % targetRows) * d, d) }
    }
    return Tensor.result(
        "bernoulli_log_likelihood", shape: Array(logits.shape.dropLast()), storage: storage, inputs: [logits, targets]
    ) { g, c in
        let gx = g.unsqueezed(-1)
        return [
            c.needs[0] ? gx * (targets - logits.sigmoid()) : nil,
            c.needs[1] ? (gx * logits).sum(toShape: targets.shape) : nil
        ]
    }
}
