import Foundation
import TestSupport
import XCTest
@testable import GenerativeModels
import TensorEngine

final class PCATests: XCTestCase {
    func testSymmetricEigenKnownAnswer() throws {
        // [[2, 1], [1, 2]] has eigenvalues 1 and 3 with vectors (1, -1)/sqrt 2 and (1, 1)/sqrt 2.
        let (values, vectors) = try Linalg.symmetricEigen(Tensor([[2, 1], [1, 2]]))
        assertClose(values, [1, 3])
        let v = vectors.scalars
        XCTAssertEqual(abs(v[2]), Float(0.5).squareRoot(), accuracy: 1e-6)
        XCTAssertEqual(v[2], v[3], accuracy: 1e-6)
        XCTAssertEqual(v[0], -v[1], accuracy: 1e-6)
        // A V = V diag(lambda) on a random symmetric matrix.
        let r = randomTensor([6, 6], seed: 1)
        let a = r + r.transposed()
        let (w, q) = try Linalg.symmetricEigen(a)
        let lhs = q.matmul(a), rhs = q * w.unsqueezed(1)
        assertClose(lhs, rhs.scalars, tolerance: 1e-4)
    }

    /// Data stretched along known directions: PCA finds them and their variances, and its
    /// explained-variance ratios agree with an independent computation (power iteration).
    func testPCAFindsKnownDirections() throws {
        var rng = RandomGenerator(seed: 2)
        let n = 20_000
        let scales: [Float] = [5, 2, 1, 0.5, 0.1]
        let latent = Tensor.normal([n, 5], generator: &rng) * Tensor(scales)
        // A random rotation from the eigenvectors of a random symmetric matrix.
        let r = randomTensor([5, 5], seed: 3)
        let rotation = try Linalg.symmetricEigen(r + r.transposed()).vectors
        let data = latent.matmul(rotation) + Tensor([1, 2, 3, 4, 5])
        let pca = try PCA(fitting: data, components: 2)
        for (i, s) in scales.prefix(2).enumerated() {
            XCTAssertEqual(pca.explainedVariance.scalars[i], s * s, accuracy: 0.05 * s * s)
            let alignment = (pca.components.sliced(axis: 0, i..<i + 1) * rotation.sliced(axis: 0, i..<i + 1)).sum().scalar
            XCTAssertEqual(abs(alignment), 1, accuracy: 1e-3)
        }
        // Power iteration with deflation on the covariance, in Double.
        let centred = data - data.mean(alongAxis: 0, keepDims: true)
        var covariance = (centred.matmul(centred, transposeSelf: true) * (1 / Float(n - 1))).scalars.map(Double.init)
        let total = (0..<5).reduce(0.0) { $0 + covariance[$1 * 5 + $1] }
        for i in 0..<2 {
            var v = [Double](repeating: 1, count: 5)
            var lambda = 0.0
            for _ in 0..<500 {
                let w = (0..<5).map { r in (0..<5).reduce(0.0) { $0 + covariance[r * 5 + $1] * v[$1] } }
                lambda = sqrt(w.reduce(0) { $0 + $1 * $1 })
                v = w.map { $0 / lambda }
            }
            XCTAssertEqual(Double(pca.explainedVarianceRatio.scalars[i]), lambda / total, accuracy: 1e-3)
            for r in 0..<5 { for c in 0..<5 { covariance[r * 5 + c] -= lambda * v[r] * v[c] } }
        }
        // Reconstruction from all components is exact; from two, the error is the rest's variance.
        let full = try PCA(fitting: data, components: 5)
        XCTAssertLessThan(full.reconstructionError(data), 1e-6)
        XCTAssertEqual(pca.reconstructionError(data), (1 + 0.25 + 0.01) / 5, accuracy: 0.01)
    }

    func testPrincipalAngles() throws {
        let a = Tensor([[1, 0, 0], [0, 1, 0]])
        XCTAssertEqual(try principalAngles(a, Tensor([[1, 1, 0], [1, -1, 0]])).max()!, 0, accuracy: 1e-3)
        let tilted = try principalAngles(a, Tensor([[1, 0, 0], [0, 1, 1]]))
        XCTAssertEqual(tilted.max()!, Float.pi / 4, accuracy: 1e-3)
    }
}
