import TestSupport
import XCTest
@testable import GenerativeMetrics
import TensorEngine

final class HungarianTests: XCTestCase {
    func permutations(_ n: Int) -> [[Int]] {
        if n == 0 { return [[]] }
        return permutations(n - 1).flatMap { p in (0...p.count).map { i -> [Int] in var q = p; q.insert(n - 1, at: i); return q } }
    }

    /// Against every permutation, on random square and rectangular matrices.
    func testMatchesBruteForce() {
        var rng = RandomGenerator(seed: 1)
        for trial in 0..<200 {
            let n = 1 + trial % 6, m = n + (trial % 3 == 0 ? 2 : 0)
            let cost = (0..<n).map { _ in (0..<m).map { _ in Double(rng.nextInt(below: 20)) - 5 } }
            let assignment = Hungarian.minimumCostAssignment(cost)
            XCTAssertEqual(Set(assignment).count, n, "columns used once")
            let total = assignment.enumerated().reduce(0.0) { $0 + cost[$1.offset][$1.element] }
            var best = Double.infinity
            for columns in permutations(m) { best = min(best, (0..<n).reduce(0.0) { $0 + cost[$1][columns[$1]] }) }
            XCTAssertEqual(total, best, "trial \(trial): \(cost)")
        }
    }

    func testClusteringAccuracyIgnoresClusterNames() {
        let labels = [0, 0, 1, 1, 2, 2, 2]
        XCTAssertEqual(clusteringAccuracy(clusters: [2, 2, 0, 0, 1, 1, 1], labels: labels), 1)
        XCTAssertEqual(clusteringAccuracy(clusters: [2, 2, 0, 1, 1, 1, 1], labels: labels), 6.0 / 7, accuracy: 1e-12)
        XCTAssertEqual(clusteringAccuracy(clusters: [0, 0, 0, 0, 0, 0, 0], labels: labels), 3.0 / 7, accuracy: 1e-12)
    }

    /// A case whose answer is neither perfect nor the floor (the largest class, 1/3): the
    /// contingency table c1: {0, 0, 1}, c0: {1, 1}, c2: {2, 2, 2, 0} matches c1 -> 0, c0 -> 1,
    /// c2 -> 2 for 2 + 2 + 3 of 9.
    func testClusteringAccuracyOfAnImperfectClustering() {
        let clusters = [1, 1, 1, 0, 0, 2, 2, 2, 2], labels = [0, 0, 1, 1, 1, 2, 2, 0, 2]
        XCTAssertEqual(clusteringAccuracy(clusters: clusters, labels: labels), 7.0 / 9, accuracy: 1e-12)
        // Relabelling the clusters changes nothing; moving one example across changes the answer.
        XCTAssertEqual(clusteringAccuracy(clusters: clusters.map { ($0 + 1) % 3 }, labels: labels), 7.0 / 9, accuracy: 1e-12)
        XCTAssertEqual(clusteringAccuracy(clusters: [1, 1, 1, 0, 0, 2, 2, 1, 2], labels: labels), 8.0 / 9, accuracy: 1e-12)
    }
}
