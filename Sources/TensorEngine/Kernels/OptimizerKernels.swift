#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Fused optimizer updates: one pass over parameter, gradient and state instead of a dozen
/// tensor ops, each with its own pass and allocation. The maths is in the optimizers' docs.
extension Tensor {
    /// Adam's update with PyTorch's bias correction; `decoupledWeightDecay` makes it AdamW.
    /// Returns the new parameter and moments; `firstMoment`/`secondMoment` nil means zeros.
    public static func adamStep(parameter: Tensor, gradient: Tensor, firstMoment: Tensor?, secondMoment: Tensor?,
                                learningRate: Float, beta1: Float, beta2: Float, epsilon: Float,
                                weightDecay: Float, decoupledWeightDecay: Bool, step: Int)
        -> (parameter: Tensor, firstMoment: Tensor, secondMoment: Tensor) {
        precondition(gradient.shape == parameter.shape, "adam: gradient \(gradient.shape) for parameter \(parameter.shape)")
        let n = parameter.count
        let newP = Storage(uninitializedCount: n), newM = Storage(uninitializedCount: n), newV = Storage(uninitializedCount: n)
        let zeros = firstMoment == nil || secondMoment == nil ? Storage(zeroedCount: n) : nil
        let p = parameter.storage.pointer, g = gradient.storage.pointer
        let m = firstMoment?.storage.pointer ?? zeros!.pointer, v = secondMoment?.storage.pointer ?? zeros!.pointer
        let correction1 = 1 - powf(beta1, Float(step)), correction2 = 1 - powf(beta2, Float(step))
        let stepSize = learningRate / correction1, rootCorrection2 = correction2.squareRoot()
        let decay: Float = decoupledWeightDecay ? 1 - learningRate * weightDecay : 1
        let l2: Float = decoupledWeightDecay ? 0 : weightDecay
        Parallel.forRanges(n, grain: elementwiseGrain) { r in
            var i = r.lowerBound
            @inline(__always) func lane(_ p0: Vec, _ g0: Vec, _ m0: Vec, _ v0: Vec) -> (Vec, Vec, Vec) {
                let grad = g0 + p0 * l2
                let m1 = m0 * beta1 + grad * (1 - beta1)
                let v1 = v0 * beta2 + grad * grad * (1 - beta2)
                let denominator = v1.squareRoot() / rootCorrection2 + epsilon
                return (p0 * decay - stepSize * m1 / denominator, m1, v1)
            }
            while i + 16 <= r.upperBound {
                let (a, b, c) = lane(load(p + i), load(g + i), load(m + i), load(v + i))
                store(a, newP.pointer + i); store(b, newM.pointer + i); store(c, newV.pointer + i)
                i += 16
            }
            if i < r.upperBound {
                let k = r.upperBound - i
                let (a, b, c) = lane(loadPartial(p, stride: 1, at: i, count: k), loadPartial(g, stride: 1, at: i, count: k),
                                     loadPartial(m, stride: 1, at: i, count: k), loadPartial(v, stride: 1, at: i, count: k))
                storePartial(a, newP.pointer + i, count: k); storePartial(b, newM.pointer + i, count: k); storePartial(c, newV.pointer + i, count: k)
            }
        }
        return (Tensor(shape: parameter.shape, storage: newP), Tensor(shape: parameter.shape, storage: newM),
                Tensor(shape: parameter.shape, storage: newV))
    }
}
