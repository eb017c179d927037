import Foundation
import TestSupport
import XCTest
@testable import Datasets
import TensorEngine

final class TranslationTaskTests: XCTestCase {
    /// edges2mnist: a filled 4 x 7 rectangle becomes its one-pixel outline, the target is the
    /// rectangle itself, both padded by 2 to 32 x 32, and the pair keeps the digit's label.
    func testEdgesLineUpWithTheirDigits() {
        var pixels = [UInt8](repeating: 0, count: 2 * 784)
        for r in 10..<14 { for c in 8..<15 { pixels[784 + r * 28 + c] = 200 } }
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
                let inside = y >= 10 && y < 14 && x >= 8 && x < 15
                let interior = y > 10 && y < 13 && x > 8 && x < 14
                XCTAssertEqual(sketch[r * 32 + c], inside && !interior ? 1 : 0, "sketch at \(r), \(c)")
                let expected: Float = inside ? 200 : (y == 20 && x == 20 ? 100 : 0)
                XCTAssertEqual(target[r * 32 + c], expected / 255, accuracy: 1e-6, "target at \(r), \(c)")
            }
        }
        XCTAssertEqual(data.batch([0], generator: &rng).images.scalars.reduce(0, +), 0, "an empty image has no edges")
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
