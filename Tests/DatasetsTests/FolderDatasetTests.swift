import Foundation
import TestSupport
import XCTest
@testable import Datasets
import TensorEngine

final class FolderDatasetTests: TemporaryDirectoryTestCase {

    func write(_ image: Image, _ path: String) throws { try PNG.write(image, to: root.appendingPathComponent(path)) }
    func solid(_ value: UInt8, width: Int = 8, height: Int = 8, channels: Int = 1) -> Image {
        Image(width: width, height: height, channels: channels, pixels: [UInt8](repeating: value, count: width * height * channels))
    }

    func testFolderOfGreyRGBAndRGBAImagesFittedToSize() throws {
        try write(solid(255, width: 12, height: 8), "imgs/a.png")
        try write(solid(128, channels: 3), "imgs/b.png")
        try write(solid(0, width: 16, height: 16, channels: 4), "imgs/c.png")
        let data = try ImageFolderDataset(root.appendingPathComponent("imgs"), size: 4, channels: 3)
        XCTAssertEqual(data.count, 3)
        XCTAssertEqual(data.imageShape, [3, 4, 4])
        var rng = RandomGenerator(seed: 0)
        let x = data.batch([0, 1, 2], generator: &rng).images
        XCTAssertEqual(x.sliced(axis: 0, 0..<1).mean().scalar, 1, accuracy: 1e-6)
        XCTAssertEqual(x.sliced(axis: 0, 1..<2).mean().scalar, 128 / 255, accuracy: 1e-6)
        XCTAssertEqual(x.sliced(axis: 0, 2..<3).max().scalar, 0)
    }

    func testPairedLayouts() throws {
        // Side by side: A (left, 50) | B (right, 200).
        var side = solid(50, width: 16, height: 8)
        for y in 0..<8 { for x in 8..<16 { side.pixels[y * 16 + x] = 200 } }
        try write(side, "sbs/1.png")
        var rng = RandomGenerator(seed: 0)
        let sbs = try PairedFolderDataset(root.appendingPathComponent("sbs"), size: 8, channels: 1)
        let batch = sbs.batch([0], generator: &rng)
        XCTAssertEqual(batch.images.mean().scalar, 50 / 255, accuracy: 1e-6)
        XCTAssertEqual(batch.targets!.mean().scalar, 200 / 255, accuracy: 1e-6)
        // A/ and B/ with matching names.
        try write(solid(10), "ab/A/x.png"); try write(solid(20), "ab/B/x.png")
        let ab = try PairedFolderDataset(root.appendingPathComponent("ab"), size: 8, channels: 1)
        XCTAssertEqual(ab.batch([0], generator: &rng).targets!.mean().scalar, 20 / 255, accuracy: 1e-6)
        try write(solid(30), "ab/A/y.png")
        XCTAssertThrowsError(try PairedFolderDataset(root.appendingPathComponent("ab"), size: 8, channels: 1)) {
            XCTAssert("\($0)".contains("y.png has no partner"), "\($0)")
        }
    }

    func testUnpairedLayout() throws {
        try write(solid(1), "cyc/trainA/1.png"); try write(solid(2), "cyc/trainA/2.png"); try write(solid(3), "cyc/trainB/9.png")
        let domains = try UnpairedFolders(root.appendingPathComponent("cyc"), split: .train, size: 8, channels: 1)
        XCTAssertEqual([domains.a.count, domains.b.count], [2, 1])
        XCTAssertThrowsError(try UnpairedFolders(root.appendingPathComponent("cyc"), split: .test, size: 8, channels: 1))
    }

    func testShapesAreLabelledAndSeeded() {
        let a = ShapesDataset(count: 50, seed: 3), b = ShapesDataset(count: 50, seed: 3)
        XCTAssertEqual(a.pixels, b.pixels)
        XCTAssertEqual(Set(a.labels!), Set(0..<ShapesDataset.classes))
        XCTAssertNotEqual(epochOrder(count: 10, seed: 1, epoch: 0), epochOrder(count: 10, seed: 1, epoch: 1))
        XCTAssertEqual(epochOrder(count: 10, seed: 1, epoch: 2), epochOrder(count: 10, seed: 1, epoch: 2))
    }
}
