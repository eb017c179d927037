import Foundation
import TestSupport
import XCTest
@testable import Datasets
import TensorEngine

final class TranslationTaskTests: XCTestCase {
    /// edges2mnist: a bar three pixels thick becomes a line one pixel wide along its middle,
    /// drawn only where the digit has ink (>= 128); the target is the digit untouched, padded
    /// by 2 to 32 x 32; faint ink stays in the target but draws nothing.
    func testEdgesLineUpWithTheirDigits() {
        var pixels = [UInt8](repeating: 0, count: 2 * 784)
        for r in 10..<13 { for c in 5..<21 { pixels[784 + r * 28 + c] = 200 } }
        pixels[784 + 20 * 28 + 20] = 100   // faint ink (< 128) draws no edge but stays in the target
        let data = EdgesToDigits(ByteImageDataset(name: "t", pixels: pixels, imageShape: [1, 28, 28], labels: [4, 7]))
        var rng = RandomGenerator(seed: 0)
        let batch = data.batch([1], generator: &rng)
        XCTAssertEqual(batch.images.shape, [1, 1, 32, 32])
        XCTAssertEqual(batch.labels, [7])
        let sketch = batch.images.scalars, target = batch.targets!.scalars
        for r in 0..<32 {
            for c in 0..<32 {
                let (y, x) = (r - 2, c - 2)
                let inside = y >= 10 && y < 13 && x >= 5 && x < 21
                if !inside { XCTAssertEqual(sketch[r * 32 + c], 0, "a line outside the ink at \(r), \(c)") }
                let expected: Float = inside ? 200 : (y == 20 && x == 20 ? 100 : 0)
                XCTAssertEqual(target[r * 32 + c], expected / 255, accuracy: 1e-6, "target at \(r), \(c)")
            }
        }
        // One pixel per column along the bar, on its middle row, away from the ends.
        for x in 7..<19 {
            XCTAssertEqual((10..<13).map { sketch[($0 + 2) * 32 + x + 2] }, [0, 1, 0], "column \(x)")
        }
        XCTAssertEqual(data.batch([0], generator: &rng).images.scalars.reduce(0, +), 0, "an empty image has no edges")
    }

    /// Zhang-Suen thinning keeps a one-pixel line as it is (nothing to peel), and thins a ring
    /// two pixels thick to a closed loop one pixel wide: every pixel kept is ink, and the
    /// inside stays cut off from the outside (the loop is not broken).
    func testThinningKeepsLinesAndLoops() {
        let side = 12
        var line = [Bool](repeating: false, count: side * side)
        for i in 2..<9 { line[i * side + i] = true; line[9 * side + i] = true }  // a diagonal and a bottom stroke
        XCTAssertEqual(EdgesToDigits.thinned(line, side: side), line)
        var ring = [Bool](repeating: false, count: side * side)
        for r in 1..<11 { for c in 1..<11 where !(r >= 3 && r < 9 && c >= 3 && c < 9) { ring[r * side + c] = true } }
        let loop = EdgesToDigits.thinned(ring, side: side)
        XCTAssertTrue(zip(loop, ring).allSatisfy { !$0 || $1 }, "thinning only removes ink")
        XCTAssertLessThan(loop.filter { $0 }.count, ring.filter { $0 }.count * 2 / 3)
        // Flood the background from the corner through 4-neighbours: the centre must stay dry.
        var wet = [Bool](repeating: false, count: side * side), stack = [0]
        while let i = stack.popLast() {
            guard !wet[i], !loop[i] else { continue }
            wet[i] = true
            let (r, c) = (i / side, i % side)
            for (dr, dc) in [(-1, 0), (1, 0), (0, -1), (0, 1)] where (0..<side).contains(r + dr) && (0..<side).contains(c + dc) {
                stack.append((r + dr) * side + c + dc)
            }
        }
        XCTAssertFalse(wet[6 * side + 6], "the loop was broken")
    }

    /// shapes2fill: RGB pairs of the same shape; the outline's colour is the fill's, the inside of
    /// the outline image stays white, and the fill is lighter at its top than at its bottom.
    func testFilledShapesPairUp() {
        let data = FilledShapes(count: 6, size: 32, seed: 1)
        var rng = RandomGenerator(seed: 0)
        let batch = data.batch(Array(0..<6), generator: &rng)
        XCTAssertEqual(batch.images.shape, [6, 3, 32, 32])
        let inputs = batch.images.scalars, targets = batch.targets!.scalars
        for n in 0..<6 {
            let plane = 32 * 32, base = n * 3 * plane
            let filled = (0..<plane).filter { p in (0..<3).contains { targets[base + $0 * plane + p] < 1 } }
            let drawn = (0..<plane).filter { p in (0..<3).contains { inputs[base + $0 * plane + p] < 1 } }
            XCTAssertGreaterThan(filled.count, 30)
            XCTAssertGreaterThan(drawn.count, 10)
            XCTAssertLessThan(drawn.count, filled.count, "an outline is thinner than the shape")
            let rows = filled.map { $0 / 32 }
            let top = rows.min()!, bottom = rows.max()!
            func brightness(_ row: Int) -> Float {
                let ps = filled.filter { $0 / 32 == row }
                return ps.map { p in (0..<3).map { targets[base + $0 * plane + p] }.reduce(0, +) }.reduce(0, +) / Float(ps.count)
            }
            XCTAssertGreaterThan(brightness(top), brightness(bottom))
        }
    }
}
