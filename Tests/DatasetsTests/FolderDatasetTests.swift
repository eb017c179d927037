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

    /// Without --channels and --image-size, grey stays grey and colour stays colour, at the
    /// images' own size when they share one; a change to fit is noted once.
    func testChannelsAndSizeFollowTheImages() throws {
        try write(solid(90, width: 12, height: 12), "grey/a.png")
        try write(solid(90, width: 12, height: 12, channels: 3), "grey/b.png")   // RGB file, grey pixels
        let grey = try ImageFolderDataset(root.appendingPathComponent("grey"))
        XCTAssertEqual(grey.imageShape, [1, 12, 12])
        XCTAssertEqual(grey.notes, [])
        var colour = solid(90, width: 12, height: 12, channels: 3)
        colour.pixels[4] = 200
        try write(colour, "grey/c.png")
        try write(solid(10, width: 20, height: 16), "grey/d.png")
        try Data("notes".utf8).write(to: root.appendingPathComponent("grey/readme.txt"))
        let mixed = try ImageFolderDataset(root.appendingPathComponent("grey"))
        XCTAssertEqual(mixed.imageShape, [3, 28, 28], "colour when any image has colour; 28 when sizes differ")
        XCTAssertEqual(mixed.notes, ["4 of the 4 images in grey were scaled and centre-cropped to 28x28",
                                     "grey: skipped files that are not PNG or JPEG images (1 .txt)"])
        let asked = try ImageFolderDataset(root.appendingPathComponent("grey"), size: 12, channels: 1)
        XCTAssertEqual(asked.imageShape, [1, 12, 12])
        XCTAssertEqual(asked.notes.first, "1 of the 4 images in grey were scaled and centre-cropped to 12x12")
        XCTAssertEqual(asked.notes[1], "1 colour images in grey were made grey (--channels 1)")
    }

    /// Class subfolders (the ImageFolder layout) are labels in name order; JPEG files are read
    /// beside PNG ones.
    func testClassSubfoldersAreLabelsAndJPEGIsRead() throws {
        try write(solid(10), "classes/cat/1.png")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("classes/dog"), withIntermediateDirectories: true)
        try JPEG.encode(solid(200)).write(to: root.appendingPathComponent("classes/dog/2.jpg"))
        try write(solid(30), "classes/cat/3.png")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("classes/empty"), withIntermediateDirectories: true)
        let data = try ImageFolderDataset(root.appendingPathComponent("classes"))
        XCTAssertEqual(data.classNames, ["cat", "dog"])
        XCTAssertEqual(data.labels, [0, 0, 1])
        var rng = RandomGenerator(seed: 0)
        XCTAssertEqual(data.batch([2], generator: &rng).images.mean().scalar, 200 / 255, accuracy: 2 / 255)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("nothing/inside"), withIntermediateDirectories: true)
        XCTAssertThrowsError(try ImageFolderDataset(root.appendingPathComponent("nothing"))) {
            XCTAssert("\($0)".contains("holds no .png or .jpg images, neither directly nor in class subfolders"), "\($0)")
        }
    }

    func testShapesAreLabelledAndSeeded() {
        let a = ShapesDataset(count: 50, seed: 3), b = ShapesDataset(count: 50, seed: 3)
        XCTAssertEqual(a.pixels, b.pixels)
        XCTAssertEqual(Set(a.labels!), Set(0..<ShapesDataset.classes))
        XCTAssertNotEqual(epochOrder(count: 10, seed: 1, epoch: 0), epochOrder(count: 10, seed: 1, epoch: 1))
        XCTAssertEqual(epochOrder(count: 10, seed: 1, epoch: 2), epochOrder(count: 10, seed: 1, epoch: 2))
    }
}
