import Foundation
import TensorEngine

/// Batch normalisation (Ioffe & Szegedy 2015) over every axis but the channels (axis 1): 1-D for
/// [N, C] inputs, 2-D for [N, C, H, W]. Training normalises with the batch's statistics and
/// updates running estimates (the variance unbiased, as PyTorch does); evaluation uses the
/// running estimates. With a `statisticsGroup` (data-parallel `--sync-bn`) the statistics are
/// those of the whole global batch.
public final class BatchNorm: Module, Layer {
    public let weight: Parameter?
    public let bias: Parameter?
    public let runningMean: Buffer
    public let runningVar: Buffer
    public let momentum: Float
    public let epsilon: Float
    /// The processes whose batches this layer normalises together in training, if any.
    public var statisticsGroup: (any ProcessGroup)?

    public init(_ channels: Int, momentum: Float = 0.1, epsilon: Float = 1e-5, affine: Bool = true) {
        weight = affine ? Parameter(Tensor.ones([channels])) : nil
        bias = affine ? Parameter(Tensor.zeros([channels])) : nil
        runningMean = Buffer(Tensor.zeros([channels]))
        runningVar = Buffer(Tensor.ones([channels]))
        self.momentum = momentum
        self.epsilon = epsilon
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let channels = runningMean.value.count
        precondition(
            x.rank >= 2 && x.shape[1] == channels,
            "BatchNorm: input \(x.shape) does not have \(channels) channels on axis 1")
        let axes = [0] + Array(2..<x.rank)
        let statShape = [1, channels] + [Int](repeating: 1, count: x.rank - 2)
        let mean: Tensor, variance: Tensor
        if isTraining {
            var n = Float(axes.reduce(1) { $0 * x.shape[$1] })
            if let group = statisticsGroup {
                // Synchronised: the sums, sums of squares and counts of every process's batch.
                let totals = Tensor.concatenate(
                    [
                        x.sum(alongAxes: axes).reshaped([channels]),
                        x.squared().sum(alongAxes: axes).reshaped([channels]), Tensor([n])
                    ],
                    axis: 0
                ).reduced { group.sum(&$0) }
                n = totals.sliced(axis: 0, 2 * channels..<2 * channels + 1).scalar
                mean = (totals.sliced(axis: 0, 0..<channels) / n).reshaped(statShape)
                variance = relu(
                    totals.sliced(axis: 0, channels..<2 * channels) / n - mean.reshaped([channels]).squared()
                ).reshaped(statShape)
            } else {
                // The batch's own statistics: one fused op.
                let fused = batchNormalization(x, weight: weight?.value, bias: bias?.value, epsilon: epsilon)
                updateRunningStatistics(mean: fused.mean, variance: fused.variance, count: n)
                return fused.output
            }
            updateRunningStatistics(mean: mean.reshaped([channels]), variance: variance.reshaped([channels]), count: n)
        } else {
            mean = runningMean.value.reshaped(statShape)
            variance = runningVar.value.reshaped(statShape)
        }
        var y = (x - mean) * (variance + epsilon).rsqrt()
        if let weight, let bias { y = y * weight.value.reshaped(statShape) + bias.value.reshaped(statShape) }
        return y
    }

    /// Moves the running estimates toward a batch's mean and variance (made unbiased).
    private func updateRunningStatistics(mean: Tensor, variance: Tensor, count n: Float) {
        withoutGradients {
            runningMean.value = runningMean.value * (1 - momentum) + mean.detached() * momentum
            runningVar.value =
                runningVar.value * (1 - momentum) + variance.detached() * (n / Swift.max(n - 1, 1)) * momentum
        }
    }
}

/// Normalises each example's channel over its own pixels (Ulyanov et al. 2016), the norm of
/// style transfer and CycleGAN. No running statistics, as PyTorch's default.
public final class InstanceNorm2d: Module, Layer {
    public let weight: Parameter?
    public let bias: Parameter?
    public let epsilon: Float

    public init(_ channels: Int, epsilon: Float = 1e-5, affine: Bool = false) {
        weight = affine ? Parameter(Tensor.ones([channels])) : nil
        bias = affine ? Parameter(Tensor.zeros([channels])) : nil
        self.epsilon = epsilon
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.rank == 4, "InstanceNorm2d: input \(x.shape) must be [N, C, H, W]")
        let mean = x.mean(alongAxes: [2, 3], keepDims: true)
        let centred = x - mean
        var y = centred * (centred.squared().mean(alongAxes: [2, 3], keepDims: true) + epsilon).rsqrt()
        if let weight, let bias { y = y * weight.value.reshaped([1, -1, 1, 1]) + bias.value.reshaped([1, -1, 1, 1]) }
        return y
    }
}

/// Normalises over the trailing axes `shape` of each example (Ba et al. 2016), with a learned
/// per-element scale and shift.
public final class LayerNorm: Module, Layer {
    public let weight: Parameter?
    public let bias: Parameter?
    public let normalizedShape: [Int]
    public let epsilon: Float

    public init(_ normalizedShape: [Int], epsilon: Float = 1e-5, affine: Bool = true) {
        self.normalizedShape = normalizedShape
        weight = affine ? Parameter(Tensor.ones(normalizedShape)) : nil
        bias = affine ? Parameter(Tensor.zeros(normalizedShape)) : nil
        self.epsilon = epsilon
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(
            Array(x.shape.suffix(normalizedShape.count)) == normalizedShape,
            "LayerNorm: input \(x.shape) does not end in \(normalizedShape)")
        let axes = Array((x.rank - normalizedShape.count)..<x.rank)
        let centred = x - x.mean(alongAxes: axes, keepDims: true)
        var y = centred * (centred.squared().mean(alongAxes: axes, keepDims: true) + epsilon).rsqrt()
        if let weight, let bias { y = y * weight.value + bias.value }
        return y
    }
}
