import Foundation
import TensorEngine

/// The mean and covariance of feature vectors, in double precision: what the Fréchet distance
/// compares.
public struct FeatureStatistics {
    public let dimension: Int
    public let count: Int
    public let mean: [Double]
    /// Row-major d x d, normalised by N - 1.
    public let covariance: [Double]

    public init(mean: [Double], covariance: [Double], count: Int) {
        dimension = mean.count; self.count = count; self.mean = mean; self.covariance = covariance
        precondition(
            covariance.count == dimension * dimension,
            "FeatureStatistics: covariance of \(covariance.count) values for \(dimension) dimensions")
    }

    /// Statistics of features [N, d], N >= 2.
    public init(features: Tensor) {
        precondition(
            features.rank == 2 && features.shape[0] >= 2,
            "FeatureStatistics: features \(features.shape) must be [N >= 2, d]")
        let (n, d) = (features.shape[0], features.shape[1])
        let x = features.scalars.map(Double.init)
        var mean = [Double](repeating: 0, count: d)
        for i in 0..<n { for j in 0..<d { mean[j] += x[i * d + j] } }
        for j in 0..<d { mean[j] /= Double(n) }
        let centred = (0..<(n * d)).map { x[$0] - mean[$0 % d] }
        var covariance = [Double](repeating: 0, count: d * d)
        centred.withUnsafeBufferPointer { c in
            for i in 0..<n {
                let row = c.baseAddress! + i * d
                for a in 0..<d where row[a] != 0 {
                    let ra = row[a]
                    for b in a..<d { covariance[a * d + b] += ra * row[b] }
                }
            }
        }
        for a in 0..<d {
            for b in a..<d {
                covariance[a * d + b] /= Double(n - 1)
                covariance[b * d + a] = covariance[a * d + b]
            }
        }
        self.init(mean: mean, covariance: covariance, count: n)
    }
}

/// The Fréchet distance between Gaussians fitted to two feature sets (Heusel et al. 2017):
///   |mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr((S_a^1/2 S_b S_a^1/2)^1/2).
/// Both square roots come from symmetric eigendecompositions (S_a^1/2 S_b S_a^1/2 is symmetric
/// positive semi-definite), so there is no iteration to converge and no complex part to drop;
/// eigenvalues that rounding pushed below zero count as zero.
public func frechetDistance(_ a: FeatureStatistics, _ b: FeatureStatistics) throws -> Double {
    precondition(a.dimension == b.dimension, "frechetDistance: \(a.dimension)- and \(b.dimension)-dimensional features")
    let d = a.dimension
    let meanTerm = zip(a.mean, b.mean).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
    let traces = (0..<d).reduce(0) { $0 + a.covariance[$1 * d + $1] + b.covariance[$1 * d + $1] }
    let rootA = try symmetricSquareRoot(a.covariance, d)
    let middle = multiply(multiply(rootA, b.covariance, d), rootA, d)
    let symmetric = (0..<(d * d)).map { i in 0.5 * (middle[i] + middle[(i % d) * d + i / d]) }
    let traceRoot = try Linalg.symmetricEigen(symmetric, dimension: d).values.reduce(0) { $0 + max($1, 0).squareRoot() }
    return max(0, meanTerm + traces - 2 * traceRoot)
}

/// V diag(sqrt(max(lambda, 0))) V^T for a symmetric positive semi-definite matrix.
func symmetricSquareRoot(_ m: [Double], _ d: Int) throws -> [Double] {
    let (values, vectors) = try Linalg.symmetricEigen(m, dimension: d)
    var root = [Double](repeating: 0, count: d * d)
    for k in 0..<d {
        let s = max(values[k], 0).squareRoot()
        guard s > 0 else { continue }
        let v = vectors[(k * d)..<((k + 1) * d)]
        for i in 0..<d {
            let vi = s * v[v.startIndex + i]
            for j in 0..<d { root[i * d + j] += vi * v[v.startIndex + j] }
        }
    }
    return root
}

/// Row-major d x d product.
func multiply(_ a: [Double], _ b: [Double], _ d: Int) -> [Double] {
    var c = [Double](repeating: 0, count: d * d)
    for i in 0..<d {
        for k in 0..<d {
            let aik = a[i * d + k]
            if aik == 0 { continue }
            for j in 0..<d { c[i * d + j] += aik * b[k * d + j] }
        }
    }
    return c
}

/// How a generator's samples spread over the classes, by a classifier's predictions: the share
/// of each class, and the classes that got less than `threshold` of them (mode collapse).
public struct ClassCoverage: Equatable {
    public let shares: [Double]
    public let threshold: Double
    public var minimumShare: Double { shares.min() ?? 0 }
    public var rareClasses: [Int] { shares.indices.filter { shares[$0] < threshold } }

    public init(predictions: [Int], classes: Int, threshold: Double = 0.05) {
        var counts = [Double](repeating: 0, count: classes)
        for p in predictions { counts[p] += 1 }
        shares = counts.map { $0 / Double(max(predictions.count, 1)) }
        self.threshold = threshold
    }
}
