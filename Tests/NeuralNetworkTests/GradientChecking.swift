import XCTest
import TensorEngine

func randomTensor(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
    var rng = RandomGenerator(seed: seed)
    return Tensor.normal(shape, generator: &rng) * scale
}

func assertGradientsMatchFiniteDifferences(_ inputs: [Tensor], epsilon: Float = 1e-2, tolerance: Double = 1e-2,
                                           file: StaticString = #filePath, line: UInt = #line, _ f: ([Tensor]) -> Tensor) {
    for m in GradientCheck.firstOrder(inputs, epsilon: epsilon, tolerance: tolerance, f) { XCTFail("\(m)", file: file, line: line) }
}

func assertClose(_ t: Tensor, _ expected: [Float], tolerance: Float = 1e-5, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(t.count, expected.count, "element count", file: file, line: line)
    for (i, (a, b)) in zip(t.scalars, expected).enumerated() {
        XCTAssert(abs(a - b) <= tolerance * max(1, abs(b)), "element \(i): \(a) vs expected \(b)", file: file, line: line)
    }
}
