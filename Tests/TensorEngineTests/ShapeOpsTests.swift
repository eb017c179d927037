import TestSupport
import XCTest
@testable import TensorEngine

final class ShapeOpsTests: XCTestCase {
    let x = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])

    func testReshapePermute() {
        XCTAssertEqual(x.reshaped([3, -1]).shape, [3, 2])
        XCTAssertEqual(x.transposed().scalars, [1, 4, 2, 5, 3, 6])
        let t = Tensor(shape: [2, 3, 4], scalars: (0..<24).map(Float.init))
        let p = t.permuted([2, 0, 1])
        XCTAssertEqual(p.shape, [4, 2, 3])
        XCTAssertEqual(p.sliced(starts: [1, 1, 0], sizes: [1, 1, 3]).scalars, [13, 17, 21])
        XCTAssertEqual(x.unsqueezed(0).shape, [1, 2, 3])
        XCTAssertEqual(x.unsqueezed(-1).shape, [2, 3, 1])
        XCTAssertEqual(x.unsqueezed(0).squeezed().shape, [2, 3])
        XCTAssertEqual(t.flattened().shape, [2, 12])
    }

    func testSlicePadConcatenate() {
        XCTAssertEqual(x.sliced(axis: 1, 1..<3).scalars, [2, 3, 5, 6])
        XCTAssertEqual(x.padded([(1, 0), (0, 1)], value: -1).scalars, [-1, -1, -1, -1, 1, 2, 3, -1, 4, 5, 6, -1])
        XCTAssertEqual(Tensor.concatenate([x, x * 10], axis: 0).scalars, [1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60])
        XCTAssertEqual(Tensor.concatenate([x, Tensor([[7], [8]])], axis: 1).scalars, [1, 2, 3, 7, 4, 5, 6, 8])
        XCTAssertEqual(Tensor.stack([Tensor([1, 2]), Tensor([3, 4])], axis: 1).scalars, [1, 3, 2, 4])
        let parts = x.split(sizes: [2, 1], axis: 1)
        XCTAssertEqual(parts[0].scalars, [1, 2, 4, 5])
        XCTAssertEqual(parts[1].scalars, [3, 6])
        XCTAssertEqual(x.split(into: 2, axis: 0)[1].scalars, [4, 5, 6])
    }

    func testRepeatGatherTakeOneHot() {
        XCTAssertEqual(Tensor([1, 2]).repeated([3]).scalars, [1, 2, 1, 2, 1, 2])
        XCTAssertEqual(Tensor([[1, 2]]).repeated([2, 2]).scalars, [1, 2, 1, 2, 1, 2, 1, 2])
        XCTAssertEqual(x.gather([2, 0], alongAxis: 1).scalars, [3, 1, 6, 4])
        XCTAssertEqual(x.gather([1, 1, 0], alongAxis: 0).shape, [3, 3])
        XCTAssertEqual(x.reversed(alongAxis: 1).scalars, [3, 2, 1, 6, 5, 4])
        XCTAssertEqual(x.reversed(alongAxis: 0).scalars, [4, 5, 6, 1, 2, 3])
        XCTAssertEqual(x.shifted(alongAxis: 1, by: 1).scalars, [0, 1, 2, 0, 4, 5])
        XCTAssertEqual(x.shifted(alongAxis: 1, by: -2).scalars, [3, 0, 0, 6, 0, 0])
        XCTAssertEqual(x.shifted(alongAxis: 0, by: 1).scalars, [0, 0, 0, 1, 2, 3])
        XCTAssertEqual(x.shifted(alongAxis: 1, by: 4).scalars, [0, 0, 0, 0, 0, 0])
        XCTAssertEqual(x.take([2, 0], alongAxis: 1).scalars, [3, 4])
        XCTAssertEqual(Tensor.oneHot([2, 0], classes: 3).scalars, [0, 0, 1, 1, 0, 0])
        XCTAssertEqual(Tensor([1, 2]).expanded(to: [2, 2]).scalars, [1, 2, 1, 2])
    }

    func testPoolingAndUpsampling() {
        let img = Tensor(shape: [1, 1, 4, 4], scalars: (1...16).map(Float.init))
        XCTAssertEqual(avgPool2d(img, kernel: 2).scalars, [3.5, 5.5, 11.5, 13.5])
        XCTAssertEqual(maxPool2d(img, kernel: 2).scalars, [6, 8, 14, 16])
        // Windows of 3 at stride 2 from (-1, -1): the padding never wins, even against negatives.
        XCTAssertEqual(maxPool2d(-img, kernel: 3, stride: 2, padding: 1).scalars, [-1, -2, -5, -6])
        XCTAssertEqual(upsampleNearest(Tensor(shape: [1, 1, 1, 2], scalars: [1, 2]), scale: 2).scalars, [1, 1, 2, 2, 1, 1, 2, 2])
        XCTAssertEqual(blockSum(img, scale: 2).scalars, [14, 22, 46, 54])
        // Skewing moves row i right by i (the diagonals become columns); unskewing undoes it.
        let x = Tensor(shape: [1, 1, 2, 3], scalars: [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(skewed(x).shape, [1, 1, 2, 4])
        XCTAssertEqual(skewed(x).scalars, [1, 2, 3, 0, 0, 4, 5, 6])
        XCTAssertEqual(skewed(x, width: 5).scalars, [1, 2, 3, 0, 0, 0, 4, 5, 6, 0])
        XCTAssertEqual(unskewed(skewed(x, width: 5), width: 3).scalars, x.scalars)
        // Half-pixel centres (PyTorch, align_corners false): 1-D [0, 4] to 4 samples gives 0, 1, 3, 4.
        let row = Tensor(shape: [1, 1, 1, 2], scalars: [0, 4])
        assertClose(upsampleBilinear(row, size: (1, 4)), [0, 1, 3, 4])
        assertClose(upsampleBilinear(row, size: (1, 3), alignCorners: true), [0, 2, 4])
    }
}
