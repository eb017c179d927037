import Foundation
import TestSupport
import XCTest
@testable import GenerativeMetrics
import TensorEngine

final class FrechetDistanceTests: XCTestCase {
    func gaussianFeatures(_ n: Int, mean: [Float], mixing: [[Float]], seed: UInt64) -> Tensor {
        var rng = RandomGenerator(seed: seed)
        let noise = Tensor.normal([n, mixing.count], generator: &rng)
        return noise.matmul(Tensor(shape: [mixing.count, mean.count], scalars: mixing.flatMap { $0 })) + Tensor(mean)
    }

    func testIdenticalSetsAreAtZeroAndOrderDoesNotMatter() throws {
        let a = FeatureStatistics(features: gaussianFeatures(800, mean: [1, 2, 3, 4], mixing: [[1, 0.5, 0, 0], [0, 1, 0.3, 0], [0, 0, 2, 1], [0.2, 0, 0, 0.5]], seed: 1))
        let b = FeatureStatistics(features: gaussianFeatures(800, mean: [0, 2, 1, 4], mixing: [[2, 0, 0, 0], [0.5, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0.4, 1]], seed: 2))
        XCTAssertEqual(try frechetDistance(a, a), 0, accuracy: 1e-9)
        XCTAssertEqual(try frechetDistance(a, b), try frechetDistance(b, a), accuracy: 1e-9 * (try frechetDistance(a, b)))
        XCTAssertGreaterThan(try frechetDistance(a, b), 1)
    }

    /// Two 2-D Gaussians with covariances that do not commute, against the closed form for 2 x 2
    /// matrices: tr sqrt(M) = sqrt(tr M + 2 sqrt(det M)) with M = S1^1/2 S2 S1^1/2, whose trace is
    /// tr(S1 S2) and determinant det S1 det S2.
    func testTwoGaussiansMatchTheClosedForm() throws {
        let s1: [Double] = [2, 0.6, 0.6, 1], s2: [Double] = [0.5, -0.3, -0.3, 3]
        let m1: [Double] = [1, -1], m2: [Double] = [0, 0.5]
        let a = FeatureStatistics(mean: m1, covariance: s1, count: 100), b = FeatureStatistics(mean: m2, covariance: s2, count: 100)
        let traceProduct = s1[0] * s2[0] + s1[1] * s2[2] + s1[2] * s2[1] + s1[3] * s2[3]
        let determinants = (s1[0] * s1[3] - s1[1] * s1[2]) * (s2[0] * s2[3] - s2[1] * s2[2])
        let expected = (1.0 * 1.0 + 1.5 * 1.5) + (3 + 3.5) - 2 * (traceProduct + 2 * determinants.squareRoot()).squareRoot()
        XCTAssertEqual(try frechetDistance(a, b), expected, accuracy: 1e-10)
        // Diagonal covariances: sum (sigma1 - sigma2)^2 plus the squared mean difference.
        let c = FeatureStatistics(mean: [0, 0, 0], covariance: [4, 0, 0, 0, 1, 0, 0, 0, 9], count: 10)
        let d = FeatureStatistics(mean: [1, 0, 0], covariance: [1, 0, 0, 0, 1, 0, 0, 0, 0.25], count: 10)
        XCTAssertEqual(try frechetDistance(c, d), 1 + 1 + 0 + 6.25, accuracy: 1e-10)
    }

    /// Statistics estimated from samples of known Gaussians approach the closed form.
    func testEstimatedStatisticsApproachTheTruth() throws {
        let mixing: [[Float]] = [[1, 0.5], [0, 0.8]]   // covariance = M^T M
        let x = FeatureStatistics(features: gaussianFeatures(40_000, mean: [1, -1], mixing: mixing, seed: 3))
        XCTAssertEqual(x.mean[0], 1, accuracy: 0.02)
        XCTAssertEqual(x.covariance[0], 1, accuracy: 0.03)
        XCTAssertEqual(x.covariance[1], 0.5, accuracy: 0.03)
        XCTAssertEqual(x.covariance[3], 0.25 + 0.64, accuracy: 0.03)
        let truth = FeatureStatistics(mean: [1, -1], covariance: [1, 0.5, 0.5, 0.89], count: 1)
        XCTAssertLessThan(try frechetDistance(x, truth), 1e-3)
    }

    func testClassCoverageFindsMissingClasses() {
        let coverage = ClassCoverage(predictions: [0, 0, 1, 1, 1, 2, 0, 1, 0, 1] + Array(repeating: 3, count: 10), classes: 5)
        XCTAssertEqual(coverage.shares, [0.2, 0.25, 0.05, 0.5, 0])
        XCTAssertEqual(coverage.rareClasses, [4])
        XCTAssertEqual(coverage.minimumShare, 0)
    }
}
