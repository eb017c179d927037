import TestSupport
import XCTest
@testable import TensorEngine

final class TensorTests: XCTestCase {
    func testCreation() {
        XCTAssertEqual(Tensor.zeros([2, 3]).scalars, [Float](repeating: 0, count: 6))
        XCTAssertEqual(Tensor.ones([4]).scalars, [1, 1, 1, 1])
        XCTAssertEqual(Tensor.full([2], 7).scalars, [7, 7])
        XCTAssertEqual(Tensor.arange(0, 5).scalars, [0, 1, 2, 3, 4])
        XCTAssertEqual(Tensor.arange(1, 2, step: 0.25).scalars, [1, 1.25, 1.5, 1.75])
        let m = Tensor([[1, 2], [3, 4]])
        XCTAssertEqual(m.shape, [2, 2])
        XCTAssertEqual(Tensor(3).shape, [])
        XCTAssertEqual(Tensor(3).scalar, 3)
    }

    func testValueSemantics() {
        let a = Tensor([1, 2, 3])
        var b = a
        b += Tensor([1, 1, 1])
        XCTAssertEqual(a.scalars, [1, 2, 3])
        XCTAssertEqual(b.scalars, [2, 3, 4])
        let r = a.reshaped([3, 1])
        XCTAssertEqual(a.shape, [3])
        XCTAssertEqual(r.shape, [3, 1])
    }

    func testPackedTensorsScaleChangeInPlaceAndUnpackAsViews() {
        let a = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6]), b = Tensor((0..<37).map(Float.init))
        var packed: PackedTensors? = PackedTensors([a, b], scaledBy: 0.5)
        XCTAssertEqual(packed!.count, 43)
        packed!.withUnsafeMutableBufferPointer { values in for i in values.indices { values[i] += 1 } }
        let parts = packed!.unpacked()
        packed = nil   // the views keep the block alive
        XCTAssertEqual(parts.map(\.shape), [[2, 3], [37]])
        XCTAssertEqual(parts[0].scalars, a.scalars.map { $0 * 0.5 + 1 })
        XCTAssertEqual(parts[1].scalars, b.scalars.map { $0 * 0.5 + 1 })
        XCTAssertEqual(a.scalars, [1, 2, 3, 4, 5, 6], "packing copies")
        XCTAssertEqual((parts[1] * 2).scalars, b.scalars.map { ($0 * 0.5 + 1) * 2 })
    }

    /// With subnormals flushed, a subnormal input reads as zero on every thread (the product is
    /// large enough to be split over the workers); restored, it is kept.
    func testSubnormalsFlushedOnEveryThreadAndRestored() {
        let tiny = Float.leastNormalMagnitude / 4
        let x = Tensor(shape: [1 << 17], scalars: [Float](repeating: tiny, count: 1 << 17))
        Parallel.flushSubnormals()
        let flushed = (x * 2).scalars
        Parallel.flushSubnormals(false)
        let kept = (x * 2).scalars
        XCTAssertEqual(flushed, [Float](repeating: 0, count: 1 << 17))
        XCTAssertEqual(kept, [Float](repeating: 2 * tiny, count: 1 << 17))
    }

    func testBroadcastingArithmetic() {
        let a = Tensor([[1, 2, 3], [4, 5, 6]])
        XCTAssertEqual((a + Tensor([10, 20, 30])).scalars, [11, 22, 33, 14, 25, 36])
        XCTAssertEqual((a * Tensor(shape: [2, 1], scalars: [2, 3])).scalars, [2, 4, 6, 12, 15, 18])
        XCTAssertEqual((a - 1).scalars, [0, 1, 2, 3, 4, 5])
        XCTAssertEqual((1 / Tensor([1, 2, 4])).scalars, [1, 0.5, 0.25])
        XCTAssertEqual((Tensor(shape: [2, 1], scalars: [1, 2]) + Tensor([10, 20, 30])).scalars, [11, 21, 31, 12, 22, 32])
        // A large broadcast across the inner axis, split over threads.
        let big = Tensor.ones([300, 257]) * Tensor.arange(0, 257)
        XCTAssertEqual(big.sum(alongAxis: 0).scalars, (0..<257).map { Float($0 * 300) })
    }

    func testShapeMismatchNamesBothShapes() {
        XCTAssertThrowsError(try Shape.broadcast([2, 3], [4], op: "add")) { error in
            XCTAssertEqual("\(error)", "add: shapes [2, 3] and [4] cannot be broadcast together (axis -1: 3 vs 4)")
        }
        XCTAssertThrowsError(try Shape.matmul([2, 3], [4, 5])) { error in
            XCTAssert("\(error)".contains("[2, 3]") && "\(error)".contains("[4, 5]"), "\(error)")
        }
        XCTAssertThrowsError(try Shape.reshaped([2, 3], to: [4, -1])) { error in
            XCTAssert("\(error)".contains("[2, 3]") && "\(error)".contains("[4, -1]"), "\(error)")
        }
        XCTAssertEqual(try Shape.broadcast([5, 1, 3], [4, 1]), [5, 4, 3])
    }

    func testComparisonsAndWhere() {
        let x = Tensor([-1, 0, 2])
        XCTAssertEqual((x .> 0).scalars, [0, 0, 1])
        XCTAssertEqual((x .<= 0).scalars, [1, 1, 0])
        XCTAssertEqual((x .== Tensor([-1, 1, 2])).scalars, [1, 0, 1])
        XCTAssertEqual(Tensor.where(x .> 0, x, Tensor(9)).scalars, [9, 9, 2])
        XCTAssertEqual(x.clamped(min: -0.5, max: 1).scalars, [-0.5, 0, 1])
        XCTAssertFalse((x .> 0).requiresGradient)
    }

    func testMatmul() {
        let a = Tensor([[1, 2, 3], [4, 5, 6]]), b = Tensor([[1, 0], [0, 1], [1, 1]])
        XCTAssertEqual(a.matmul(b).scalars, [4, 5, 10, 11])
        XCTAssertEqual(a.matmul(a, transposeOther: true).scalars, [14, 32, 32, 77])
        XCTAssertEqual(a.matmul(a, transposeSelf: true).scalars, [17, 22, 27, 22, 29, 36, 27, 36, 45])
        let batched = Tensor.stack([a, a * 2]).matmul(Tensor.stack([b, b]))
        XCTAssertEqual(batched.shape, [2, 2, 2])
        XCTAssertEqual(batched.scalars, [4, 5, 10, 11, 8, 10, 20, 22])
        XCTAssertEqual(linear(a, weight: Tensor([[1, 1, 1]]), bias: Tensor([1])).scalars, [7, 16])
    }

    func testLargeMatmulAgreesWithSplitProducts() {
        // 300 x 200 x 400 is split over the threads by columns; check against row-by-row products.
        let a = randomTensor([300, 200], seed: 1), b = randomTensor([200, 400], seed: 2)
        let c = a.matmul(b)
        let row = a.sliced(axis: 0, 123..<124).matmul(b)
        assertClose(c.sliced(axis: 0, 123..<124), row.scalars, tolerance: 1e-4)
    }

    func testBLASKernelsAreNamed() {
        XCTAssertFalse(BLAS.coreName.isEmpty)
        if CPU.hasAVX512 && ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil {
            XCTAssertTrue(BLAS.avx512KernelSets.contains(BLAS.coreName.lowercased()),
                          "AVX-512 CPU running OpenBLAS's \(BLAS.coreName) kernels")
        }
    }

    /// The user's OPENBLAS_CORETYPE is kept, and named when it costs AVX-512 kernels.
    func testAUserChoiceOfNarrowerKernelsIsNamed() throws {
        let note = try XCTUnwrap(BLAS.kernelNote(requested: "Haswell", hasAVX512: true, inUse: "Haswell"))
        XCTAssertTrue(note.contains("OPENBLAS_CORETYPE=Haswell"), note)
        XCTAssertNil(BLAS.kernelNote(requested: nil, hasAVX512: true, inUse: "Haswell"))
        XCTAssertNil(BLAS.kernelNote(requested: "SkylakeX", hasAVX512: true, inUse: "SkylakeX"))
        XCTAssertNil(BLAS.kernelNote(requested: "Haswell", hasAVX512: false, inUse: "Haswell"))
        if let requested = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] {
            XCTAssertEqual(BLAS.coreName.lowercased(), requested.lowercased(), "the user's OPENBLAS_CORETYPE was overridden")
        }
    }
}
