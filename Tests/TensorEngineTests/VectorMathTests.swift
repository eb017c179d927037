import Foundation
import TestSupport
import XCTest
@testable import TensorEngine

/// The vectorised transcendentals against the C library, over the ranges the models use.
final class VectorMathTests: XCTestCase {
    func check(_ name: String, _ inputs: [Float], _ ours: (Tensor) -> Tensor, _ reference: (Double) -> Double,
               relative: Double = 3e-6, absolute: Double = 1e-7, file: StaticString = #filePath, line: UInt = #line) {
        let got = ours(Tensor(inputs)).scalars
        var worst = 0.0
        for (x, y) in zip(inputs, got) {
            let r = Double(Float(reference(Double(x))))  // what a Float result should be
            if r.isNaN { XCTAssert(y.isNaN, "\(name)(\(x)) = \(y), expected NaN", file: file, line: line); continue }
            if r.isInfinite { XCTAssertEqual(Double(y), r, "\(name)(\(x))", file: file, line: line); continue }
            let err = abs(Double(y) - r) / max(abs(r), absolute / relative)
            worst = max(worst, err)
            XCTAssert(err <= relative, "\(name)(\(x)) = \(y), expected \(r)", file: file, line: line)
        }
    }

    let grid: [Float] = (0...4000).map { -20 + Float($0) * 0.01 } + [0, -0.0, 1e-8, -1e-8, 1e-30]

    func testExpAndLog() {
        check("exp", grid + [-87, 88, -100, 100, .nan], { $0.exp() }, Foundation.exp)
        let positive: [Float] = grid.map { abs($0) } + [1e-38, Float.leastNonzeroMagnitude * 1000, 3e38, 0, .infinity]
        check("log", positive, { $0.log() }, Foundation.log)
        check("log", [-1, .nan], { $0.log() }, Foundation.log)
        check("log1p", positive + [-0.5, -0.999, 1e-7, -1e-7], { $0.log1p() }, Foundation.log1p)
    }

    func testHyperbolicsAndFriends() {
        check("tanh", grid, { $0.tanh() }, Foundation.tanh)
        check("sigmoid", grid + [-100, 100], { $0.sigmoid() }, { 1 / (1 + Foundation.exp(-$0)) }, relative: 5e-6)
        check("softplus", grid + [-100, 100], { $0.softplus() }, { $0 > 30 ? $0 : Foundation.log1p(Foundation.exp($0)) }, relative: 5e-6)
        check("erf", grid, { $0.erf() }, Foundation.erf, relative: 1e-6, absolute: 2e-7)
    }

    func testSinCos() {
        let angles = grid.map { $0 * 5 } + [Float.pi, -Float.pi / 2, 1000]
        check("sin", angles, { $0.sin() }, Foundation.sin, relative: 1e-6, absolute: 1e-6)
        check("cos", angles, { $0.cos() }, Foundation.cos, relative: 1e-6, absolute: 1e-6)
    }

    func testPowAndRoots() {
        let positive = grid.map { abs($0) + 0.01 }
        check("sqrt", positive, { $0.sqrt() }, Foundation.sqrt)
        check("rsqrt", positive, { $0.rsqrt() }, { 1 / Foundation.sqrt($0) })
        check("pow 1.5", positive, { $0.pow(1.5) }, { Foundation.pow($0, 1.5) }, relative: 2e-5)
        check("pow 3", grid, { $0.pow(3) }, { $0 * $0 * $0 }, relative: 1e-6)
        check("pow -2", [-2, -0.5, 0.5, 3], { $0.pow(-2) }, { Foundation.pow($0, -2) }, relative: 2e-6)
        check("pow 0.5", [-1], { $0.pow(0.5) }, { Foundation.pow($0, 0.5) })
    }
}
