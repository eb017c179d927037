import Foundation
import TensorEngine

/// Principal component analysis in closed form: centre the data, take the top-m eigenvectors of
/// its covariance. The encoder projects onto them, the decoder maps back with the transpose.
public struct PCA {
    public let mean: Tensor // [D]
    /// Rows are the principal directions, largest variance first: [m, D].
    public let components: Tensor
    /// Variance along each kept direction, and its share of the total: [m] each.
    public let explainedVariance: Tensor
    public let explainedVarianceRatio: Tensor

    public init(mean: Tensor, components: Tensor, explainedVariance: Tensor, explainedVarianceRatio: Tensor) {
        self.mean = mean; self.components = components
        self.explainedVariance = explainedVariance; self.explainedVarianceRatio = explainedVarianceRatio
    }

    /// Fits `components` directions to `data` [N, D].
    public init(fitting data: Tensor, components m: Int) throws {
        precondition(data.rank == 2 && data.shape[0] > 1, "PCA: data \(data.shape) must be [N, D] with N > 1")
        let d = data.shape[1]
        precondition(m >= 1 && m <= d, "PCA: \(m) components of \(d) dimensions")
        let centred = withoutGradients { data - data.mean(alongAxis: 0, keepDims: true) }
        let covariance = centred.matmul(centred, transposeSelf: true) * (1 / Float(data.shape[0] - 1))
        let (values, vectors) = try Linalg.symmetricEigen(covariance)
        // Ascending from LAPACK: the last m, in reverse.
        let order = Array((d - m)..<d).reversed()
        mean = data.mean(alongAxis: 0).detached()
        components = vectors.gather(Array(order), alongAxis: 0)
        explainedVariance = values.gather(Array(order), alongAxis: 0).clamped(min: 0)
        explainedVarianceRatio = explainedVariance / values.clamped(min: 0).sum()
    }

    /// Coordinates in the principal subspace: (x - mean) Wᵀ, [N, m].
    public func encode(_ x: Tensor) -> Tensor { (x - mean).matmul(components, transposeOther: true) }

    /// Back to data space: z W + mean, [N, D].
    public func decode(_ z: Tensor) -> Tensor { z.matmul(components) + mean }

    /// Mean squared reconstruction error per element.
    public func reconstructionError(_ x: Tensor) -> Float { mseLoss(decode(encode(x)), x).scalar }
}

/// The principal angles (radians, ascending) between the row spaces of `a` [k, D] and `b` [k, D]:
/// the arccosines of the singular values of Qa Qbᵀ, with Q orthonormal bases of the two spaces.
public func principalAngles(_ a: Tensor, _ b: Tensor) throws -> [Float] {
    let qa = try orthonormalRows(a), qb = try orthonormalRows(b)
    let m = qa.matmul(qb, transposeOther: true)
    // Singular values of M are the square roots of the eigenvalues of M Mᵀ.
    let (values, _) = try Linalg.symmetricEigen(m.matmul(m, transposeOther: true))
    return values.scalars.reversed().map { Foundation.acos(Swift.min(1, Swift.max(0, $0).squareRoot())) }
}

/// An orthonormal basis of the row space of `a` [k, D] (k independent rows): from the
/// eigendecomposition of the Gram matrix, Q = Λ^(-1/2) Vᵀ A.
func orthonormalRows(_ a: Tensor) throws -> Tensor {
    let (values, vectors) = try Linalg.symmetricEigen(a.matmul(a, transposeOther: true))
    return (vectors * values.clamped(min: 1e-12).rsqrt().unsqueezed(1)).matmul(a)
}
