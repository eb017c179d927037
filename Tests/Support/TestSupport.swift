import Foundation
import NeuralNetwork
import TensorEngine
import XCTest

/// Helpers shared by the test targets (not part of the library's products).

public func randomTensor(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
    var rng = RandomGenerator(seed: seed)
    return Tensor.normal(shape, generator: &rng) * scale
}

/// Random values at least `margin` away from zero, for ops with a kink there.
public func awayFromZero(_ shape: [Int], seed: UInt64, margin: Float = 0.2) -> Tensor {
    Tensor(shape: shape, scalars: randomTensor(shape, seed: seed).scalars.map { $0 >= 0 ? $0 + margin : $0 - margin })
}

public func assertGradientsMatchFiniteDifferences(_ inputs: [Tensor], epsilon: Float = 1e-2, tolerance: Double = 1e-2,
                                                  file: StaticString = #filePath, line: UInt = #line, _ f: ([Tensor]) -> Tensor) {
    for m in GradientCheck.firstOrder(inputs, epsilon: epsilon, tolerance: tolerance, f) { XCTFail("\(m)", file: file, line: line) }
}

public func assertSecondDerivativesMatchFiniteDifferences(_ inputs: [Tensor], epsilon: Float = 1e-2, tolerance: Double = 2e-2,
                                                          file: StaticString = #filePath, line: UInt = #line, _ f: ([Tensor]) -> Tensor) {
    for m in GradientCheck.secondOrder(inputs, epsilon: epsilon, tolerance: tolerance, f) { XCTFail("\(m)", file: file, line: line) }
}

public func assertClose(_ t: Tensor, _ expected: [Float], tolerance: Float = 1e-5, _ context: String = "",
                        file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(t.count, expected.count, "element count \(context)", file: file, line: line)
    for (i, (a, b)) in zip(t.scalars, expected).enumerated() {
        XCTAssert(abs(a - b) <= tolerance * max(1, abs(b)), "element \(i): \(a) vs expected \(b) \(context)", file: file, line: line)
    }
}

/// A fresh temporary directory, removed when the test case ends.
open class TemporaryDirectoryTestCase: XCTestCase {
    public var root: URL!
    open override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("deepgen-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }
    open override func tearDownWithError() throws { try? FileManager.default.removeItem(at: root) }
}

/// A process group of one that records every list of gradients handed to it and returns it
/// scaled by `scale` (1: unchanged), so a test sees what each `minimize` averaged.
public final class GradientRecorder: ProcessGroup {
    public private(set) var recorded: [[Tensor]] = []
    let scale: Float
    public init(scale: Float = 1) { self.scale = scale }
    public func averageGradients(_ gradients: [Tensor]) -> [Tensor] {
        recorded.append(gradients)
        return scale == 1 ? gradients : gradients.map { $0 * scale }
    }
    public func sum(_ values: inout [Float]) {}
}
