import Foundation
import TensorEngine

/// PixelCNN++'s likelihood for grey 8-bit images in one pass each way. Composed of engine ops
/// (GenerativeModels' `DiscretizedLogisticMixture`, which colour images still use) it is about
/// 25 passes over [N, K, H, W] forward and 50 back, each a full read and write of memory; here
/// every pixel's K components are read once, kept in registers, and the backward pass writes
/// the parameters' gradient directly.
///
/// `parameters` [N, 3K, H, W]: K mixture logits, K means, K log scales (clamped below at -7).
/// `images` [N, 1, H, W] with values k / 255, a constant. Returns log P(image) per image, [N],
/// in nats. The bins, edges and the narrow-bin fallback are those of `binLogProbabilities`.
/// First derivatives only: a second derivative stops with a message.
public func discretizedLogisticMixtureLogLikelihood(_ parameters: Tensor, images: Tensor, components k: Int) -> Tensor {
    let (n, h, w) = (images.shape[0], images.shape[2], images.shape[3])
    precondition(
        images.rank == 4 && images.shape[1] == 1 && parameters.shape == [n, 3 * k, h, w],
        "logistic mixture: parameters \(parameters.shape) for \(k) components of grey images \(images.shape)")
    precondition(k >= 1, "logistic mixture: \(k) components")
    precondition(!images.requiresGradient, "logistic mixture: the images are data, not something to differentiate")
    let plane = h * w, block = 3 * k * plane
    let output = Storage(uninitializedCount: n)
    let (p, x) = (parameters.storage.pointer, images.storage.pointer)
    let lanes = Vec((0..<16).map(Float.init))
    Parallel.forRanges(n, grain: 1) { batch in
        withUnsafeTemporaryAllocation(of: Vec.self, capacity: 2 * k) { scratch in
            for image in batch {
                var total = Vec(repeating: 0)
                forEachVector(plane) { at, count in
                    let mixture = MixturePixel(
                        p + image * block, x + image * plane, at: at, count: count, components: k, plane: plane,
                        scratch: scratch.baseAddress!, derivatives: nil)
                    total += mixture.logProbability.replacing(with: 0, where: lanes .>= Float(count))
                }
                output.pointer[image] = total.sum()
            }
        }
    }
    return Tensor.custom("discretizedLogisticMixture", shape: [n], storage: output, inputs: [parameters]) { g, _ in
        precondition(!Tensor.isRecordingGradients, "logistic mixture: second derivatives are not implemented")
        let gradient = Storage(uninitializedCount: parameters.count), (dy, dp) = (g.storage.pointer, gradient.pointer)
        let (p, x) = (parameters.storage.pointer, images.storage.pointer) // holds both alive until the backward pass
        Parallel.forRanges(n, grain: 1) { batch in
            withUnsafeTemporaryAllocation(of: Vec.self, capacity: 4 * k) { buffer in
                let scratch = buffer.baseAddress!
                for image in batch {
                    let scale = Vec(repeating: dy[image]), (source, target) = (p + image * block, dp + image * block)
                    forEachVector(plane) { at, count in
                        let mixture = MixturePixel(
                            source, x + image * plane, at: at, count: count, components: k, plane: plane,
                            scratch: scratch, derivatives: scratch + 2 * k)
                        let logSumExp = mixture.logProbability + mixture.logSumExpOfLogits
                        for c in 0..<k {
                            // d/d logit_c = responsibility - prior weight; d/d log P_c(value) = responsibility.
                            let responsibility = vexp(scratch[c] - logSumExp),
                                prior = vexp(scratch[k + c] - mixture.logSumExpOfLogits)
                            let weight = scale * responsibility
                            storeAt(scale * (responsibility - prior), target + c * plane, at, count)
                            storeAt(weight * scratch[2 * k + c], target + (k + c) * plane, at, count)
                            let clamped = loadAt(source + (2 * k + c) * plane, at, count) .< -7
                            storeAt(
                                (weight * scratch[3 * k + c]).replacing(with: 0, where: clamped),
                                target + (2 * k + c) * plane, at, count)
                        }
                    }
                }
            }
        }
        return [Tensor(shape: parameters.shape, storage: gradient)]
    }
}

/// One vector of pixels of one image: the value, each component's log P(value) + logit and its
/// logit (kept in `scratch[c]` and `scratch[K + c]`), the log-sum-exps that normalise the mixture,
/// and when asked each component's derivatives in its mean and log scale (`derivatives[c]` and
/// `derivatives[K + c]`).
private struct MixturePixel {
    let value: Vec
    /// log P(value) under the mixture.
    let logProbability: Vec
    let logSumExpOfLogits: Vec

    @inline(__always)
    init(
        _ p: UnsafePointer<Float>, _ x: UnsafePointer<Float>, at: Int, count: Int, components k: Int, plane: Int,
        scratch: UnsafeMutablePointer<Vec>, derivatives: UnsafeMutablePointer<Vec>?
    ) {
        value = loadAt(x, at, count) * 2 - 1
        var (largest, largestLogit) = (Vec(repeating: -.infinity), Vec(repeating: -.infinity))
        for c in 0..<k {
            let logit = loadAt(p + c * plane, at, count)
            let logScale = vmax(loadAt(p + (2 * k + c) * plane, at, count), Vec(repeating: -7))
            let bin = LogisticBin(value, mean: loadAt(p + (k + c) * plane, at, count), logScale: logScale)
            scratch[c] = bin.logProbability + logit
            scratch[k + c] = logit
            if let derivatives { (derivatives[c], derivatives[k + c]) = (bin.dMean, bin.dLogScale) }
            largest = vmax(largest, scratch[c]); largestLogit = vmax(largestLogit, logit)
        }
        var (sum, sumOfLogits) = (Vec(repeating: 0), Vec(repeating: 0))
        for c in 0..<k {
            sum += vexp(scratch[c] - largest)
            sumOfLogits += vexp(scratch[k + c] - largestLogit)
        }
        logSumExpOfLogits = largestLogit + vlog(sumOfLogits)
        logProbability = largest + vlog(sum) - logSumExpOfLogits
    }
}

/// log 127.5: the log of the bin width 2/255's inverse.
private let logHalfBinCount = Float(log(127.5))

/// log P(x) of one discretised logistic (bins of width 2/255 on [-1, 1], the edge bins taking
/// the tails, the density at the centre standing in for bins whose mass is below 1e-5), with its
/// derivatives in the mean and the log scale. Unused derivatives cost nothing once inlined.
private struct LogisticBin {
    let logProbability: Vec
    let dMean: Vec
    let dLogScale: Vec

    @inline(__always)
    init(_ x: Vec, mean: Vec, logScale: Vec) {
        let inverseScale = vexp(-logScale), centred = x - mean
        let plus = inverseScale * (centred + 1 / 255), minus = inverseScale * (centred - 1 / 255),
            middle = inverseScale * centred
        let (sigmoidPlus, sigmoidMinus, sigmoidMiddle) = (vsigmoid(plus), vsigmoid(minus), vsigmoid(middle))
        let one = Vec(repeating: 1)
        // Inner bins: log(sigmoid(plus) - sigmoid(minus)), or where that is below 1e-5 the log
        // density at the centre times the bin width, middle - log s - 2 softplus(middle) - log 127.5.
        let delta = sigmoidPlus - sigmoidMinus
        let (slopePlus, slopeMinus) = (sigmoidPlus * (one - sigmoidPlus), sigmoidMinus * (one - sigmoidMinus))
        var lp = vlog(vmax(delta, Vec(repeating: 1e-12)))
        var dMean = -inverseScale * (slopePlus - slopeMinus) / delta
        var dLogScale = (minus * slopeMinus - plus * slopePlus) / delta
        let wide = delta .> 1e-5
        let tilt = one - 2 * sigmoidMiddle
        lp.replace(with: middle - logScale - 2 * vsoftplus(middle) - logHalfBinCount, where: .!wide)
        dMean.replace(with: -inverseScale * tilt, where: .!wide)
        dLogScale.replace(with: -middle * tilt - 1, where: .!wide)
        // The bottom bin (value 0): log sigmoid(plus) = plus - softplus(plus).
        let bottom = x .< -0.999
        lp.replace(with: plus - vsoftplus(plus), where: bottom)
        dMean.replace(with: -inverseScale * (one - sigmoidPlus), where: bottom)
        dLogScale.replace(with: -plus * (one - sigmoidPlus), where: bottom)
        // The top bin (value 255): log(1 - sigmoid(minus)) = -softplus(minus).
        let top = x .> 0.999
        lp.replace(with: -vsoftplus(minus), where: top)
        dMean.replace(with: inverseScale * sigmoidMinus, where: top)
        dLogScale.replace(with: minus * sigmoidMinus, where: top)
        (logProbability, self.dMean, self.dLogScale) = (lp, dMean, dLogScale)
    }
}
