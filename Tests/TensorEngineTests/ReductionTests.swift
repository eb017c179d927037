import TestSupport
import XCTest
@testable import TensorEngine

final class ReductionTests: XCTestCase {
    let x = Tensor(shape: [2, 3, 2], scalars: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])

    func testSumAndMean() {
        XCTAssertEqual(x.sum().scalar, 78)
        XCTAssertEqual(x.sum(alongAxis: 1).scalars, [9, 12, 27, 30])
        XCTAssertEqual(x.sum(alongAxes: [0, 2], keepDims: true).shape, [1, 3, 1])
        XCTAssertEqual(x.sum(alongAxes: [0, 2], keepDims: true).scalars, [18, 26, 34])
        XCTAssertEqual(x.sum(alongAxis: -1).scalars, [3, 7, 11, 15, 19, 23])
        XCTAssertEqual(x.mean(alongAxis: 0).scalars, [4, 5, 6, 7, 8, 9])
        XCTAssertEqual(x.mean().scalar, 6.5)
        // A long contiguous sum, split over threads: 1 + 2 + ... + 100000.
        let n = 100_000
        XCTAssertEqual(Double(Tensor.arange(1, Float(n + 1)).sum().scalar), Double(n * (n + 1) / 2), accuracy: 1e4)
    }

    /// Every route through the kernel (short rows, narrow and wide column blocks, many blocks
    /// split over threads) against a plain loop over [outer, length, inner].
    func testSumOverAMiddleAxisMatchesALoop() {
        for (outer, length, inner) in [(4096, 2, 8), (3, 2, 1), (5000, 3, 1), (2, 5, 40_000), (7, 1, 3), (9, 20, 17)] {
            let values = (0..<outer * length * inner).map { Float(($0 * 7919) % 13) - 6 }
            var expected = [Float](repeating: 0, count: outer * inner)
            for o in 0..<outer { for k in 0..<length { for i in 0..<inner { expected[o * inner + i] += values[(o * length + k) * inner + i] } } }
            let sums = Tensor(shape: [outer, length, inner], scalars: values).sum(alongAxis: 1).scalars
            XCTAssertEqual(sums, expected, "outer \(outer), length \(length), inner \(inner)")
        }
    }

    func testVariance() {
        let v = Tensor([[1, 2, 3, 4], [2, 2, 2, 2]])
        assertClose(v.variance(alongAxis: 1), [1.25, 0])
        assertClose(v.variance(alongAxis: 1, unbiased: true), [5.0 / 3, 0])
    }

    func testMaxMinArgmax() {
        let m = Tensor([[3, 9, 1], [7, 2, 8]])
        XCTAssertEqual(m.max(alongAxis: 1).scalars, [9, 8])
        XCTAssertEqual(m.min(alongAxis: 0).scalars, [3, 2, 1])
        XCTAssertEqual(m.max().scalar, 9)
        XCTAssertEqual(m.argmax(alongAxis: 1).scalars, [1, 2])
        XCTAssertEqual(m.argmax(alongAxis: 0, keepDims: true).shape, [1, 3])
        XCTAssertEqual(x.max(alongAxes: [0, 2]).scalars, [8, 10, 12])
        // Ties take the first position.
        XCTAssertEqual(Tensor([5, 5, 1]).argmax(alongAxis: 0).scalars, [0])
    }

    func testLogSumExpIsStable() {
        let big = Tensor([[1000, 1000], [-1000, -1000]])
        assertClose(big.logSumExp(alongAxis: 1), [1000 + log(2), -1000 + log(2)])
        let small = Tensor([[0, Float(log(3.0))]])
        assertClose(small.logSumExp(alongAxis: 1), [Float(log(4.0))])
        XCTAssertEqual(Tensor([-Float.infinity, -Float.infinity]).logSumExp(alongAxis: 0).scalar, -.infinity)
    }
}
