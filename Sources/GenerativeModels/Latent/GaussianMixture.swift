import Foundation
import TensorEngine

/// A mixture of K Gaussians with diagonal covariances: weights pi [K], means [K, D] and
/// variances [K, D]. Fitted by expectation-maximisation from k-means++ seeds and a few Lloyd
/// iterations (as scikit-learn's GaussianMixture starts from k-means); VaDE's prior starts here.
public struct GaussianMixture {
    public var weights: Tensor
    public var means: Tensor
    public var variances: Tensor

    public init(weights: Tensor, means: Tensor, variances: Tensor) {
        self.weights = weights; self.means = means; self.variances = variances
    }

    public var components: Int { means.shape[0] }

    /// log N(x_n | mean_k, diag exp(logVariance_k)) for points [N, D] and components [K, D]:
    /// [N, K]. Differentiable in every argument (VaDE trains through it).
    public static func componentLogDensities(_ x: Tensor, means: Tensor, logVariances: Tensor) -> Tensor {
        let d = Float(x.shape[1])
        // [N, K, D]
        let squares = (x.unsqueezed(1) - means.unsqueezed(0)).squared() * (-logVariances).exp().unsqueezed(0)
        let logTwoPi = Float(Foundation.log(2 * Double.pi))
        return -0.5 * (squares.sum(alongAxis: 2) + logVariances.sum(alongAxis: 1).unsqueezed(0) + d * logTwoPi)
    }

    /// The same densities as `componentLogDensities`, for fitting and scoring (no gradients),
    /// without the [N, K, D] tensor (see `squaredDistances`).
    static func componentLogDensitiesByProducts(_ x: Tensor, means: Tensor, variances: Tensor) -> Tensor {
        let logTwoPi = Float(Foundation.log(2 * Double.pi))
        return -0.5 * (squaredDistances(x, means, precisions: 1 / variances)
            + variances.log().sum(alongAxis: 1).unsqueezed(0) + Float(x.shape[1]) * logTwoPi)
    }

    /// log pi_k + log N(x_n | k): [N, K].
    public func jointLogDensities(_ x: Tensor) -> Tensor {
        weights.log().unsqueezed(0) + Self.componentLogDensitiesByProducts(x, means: means, variances: variances)
    }

    /// The mean log-density of the points under the mixture.
    public func meanLogLikelihood(_ x: Tensor) -> Float { jointLogDensities(x).logSumExp(alongAxis: 1).mean().scalar }

    /// The most responsible component of each point.
    public func assignments(_ x: Tensor) -> [Int] {
        jointLogDensities(x).argmax(alongAxis: 1).scalars.map { Int($0) }
    }

    /// The best (highest mean log-likelihood) of `restarts` EM runs on points [N, D], each
    /// stopping when an iteration adds less than `tolerance` nats per point. Variances are kept
    /// at least `varianceFloor` (scikit-learn's reg_covar), so a component on one point survives.
    /// With `uniformWeights` the weights stay 1/K: the mixture fitted is the most likely one among
    /// those with equal weights, not the most likely one whose weights are then replaced.
    public static func fit(
        _ x: Tensor, components k: Int, restarts: Int = 3, iterations: Int = 200, tolerance: Float = 1e-5,
        varianceFloor: Float = 1e-6, uniformWeights: Bool = false, generator: inout RandomGenerator
    ) -> (mixture: GaussianMixture, meanLogLikelihood: Float) {
        precondition(
            x.rank == 2 && x.shape[0] >= k, "GaussianMixture.fit: needs points [N, D] with N >= \(k), got \(x.shape)")
        return withoutGradients {
            var best: (mixture: GaussianMixture, meanLogLikelihood: Float)?
            for _ in 0..<restarts {
                var restart = generator.split()
                let centres = kMeans(x, clusters: k, iterations: 10, generator: &restart)
                // Start EM from hard k-means responsibilities.
                let nearest = squaredDistances(x, centres).argmin()
                var mixture = maximisation(
                    x, responsibilities: Tensor.oneHot(nearest, classes: k), varianceFloor: varianceFloor,
                    uniformWeights: uniformWeights)
                var previous = -Float.infinity
                for _ in 0..<iterations {
                    let joint = mixture.jointLogDensities(x)
                    let logLikelihood = joint.logSumExp(alongAxis: 1, keepDims: true)
                    let current = logLikelihood.mean().scalar
                    mixture = maximisation(
                        x, responsibilities: (joint - logLikelihood).exp(), varianceFloor: varianceFloor,
                        uniformWeights: uniformWeights)
                    if current - previous < tolerance { break }
                    previous = current
                }
                let score = mixture.meanLogLikelihood(x)
                if best == nil || score > best!.meanLogLikelihood { best = (mixture, score) }
            }
            return best!
        }
    }

    /// The M step: weights (or 1/K each), means and variances from responsibilities [N, K].
    static func maximisation(
        _ x: Tensor, responsibilities r: Tensor, varianceFloor: Float, uniformWeights: Bool = false
    ) -> GaussianMixture {
        let counts = r.sum(alongAxis: 0) + 1e-10 // [K]
        let means = r.matmul(x, transposeSelf: true) / counts.unsqueezed(1) // [K, D]
        let secondMoments = r.matmul(x.squared(), transposeSelf: true) / counts.unsqueezed(1)
        let variances = (secondMoments - means.squared()).clamped(min: varianceFloor)
        let k = r.shape[1]
        let weights = uniformWeights ? Tensor.full([k], 1 / Float(k)) : counts / Float(x.shape[0])
        return GaussianMixture(weights: weights, means: means, variances: variances)
    }

    /// k-means++ seeding (Arthur & Vassilvitskii 2007), then Lloyd iterations: centres [K, D].
    static func kMeans(_ x: Tensor, clusters k: Int, iterations: Int, generator: inout RandomGenerator) -> Tensor {
        let n = x.shape[0]
        var chosen = [generator.nextInt(below: n)]
        var nearest = squaredDistances(x, x.gather(chosen, alongAxis: 0)).squeezed(1).scalars
        while chosen.count < k {
            // Next centre with probability proportional to the squared distance to the nearest one.
            let total = nearest.reduce(0, +)
            var target = generator.nextUniform() * total, pick = n - 1
            for (i, d) in nearest.enumerated() {
                target -= d
                if target <= 0 { pick = i; break }
            }
            chosen.append(pick)
            let distances = squaredDistances(x, x.gather([pick], alongAxis: 0)).scalars
            for i in 0..<n { nearest[i] = Swift.min(nearest[i], distances[i]) }
        }
        var centres = x.gather(chosen, alongAxis: 0)
        for _ in 0..<iterations {
            let assignment = Tensor.oneHot(squaredDistances(x, centres).argmin(), classes: k)
            let counts = assignment.sum(alongAxis: 0)
            let sums = assignment.matmul(x, transposeSelf: true)
            // An emptied cluster keeps its centre.
            let keep = (counts .== 0).unsqueezed(1)
            centres = Tensor.where(keep, centres, sums / counts.clamped(min: 1).unsqueezed(1))
        }
        return centres
    }

    /// sum_d (x_nd - c_kd)^2 p_kd, with precisions p [K, D] (default 1): [N, K]. Expanded as
    /// x^2 p - 2 x (c p) + c^2 p, it is one product of [x^2, x] [N, 2D] with [p, -2 c p] [2D, K]
    /// instead of an [N, K, D] tensor (on 60,000 codes, 6 million elements per EM iteration). It
    /// rounds like its largest term, sum_d (x^2 + c^2) p, a few float ulps of which are far below
    /// what moves a responsibility.
    static func squaredDistances(_ x: Tensor, _ centres: Tensor, precisions: Tensor? = nil) -> Tensor {
        let p = precisions ?? Tensor.ones(centres.shape)
        let cross = Tensor.concatenate([x.squared(), x], axis: 1)
            .matmul(Tensor.concatenate([p, -2 * centres * p], axis: 1), transposeOther: true)
        // Rounding can leave a tiny negative distance where a point sits on a centre.
        return (cross + (centres.squared() * p).sum(alongAxis: 1).unsqueezed(0)).clamped(min: 0)
    }
}

extension Tensor {
    /// The index of the smallest value in each row of a matrix.
    fileprivate func argmin() -> [Int] { (-self).argmax(alongAxis: 1).scalars.map { Int($0) } }
}
