import Foundation
import TestSupport
import XCTest
@testable import Datasets
import TensorEngine

final class PNGTests: XCTestCase {
    func fixture(_ name: String) -> URL { Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil)! }

    /// Pixels as ImageMagick printed them (`convert f.png -depth 8 txt:-`), row-major.
    func reference(_ name: String) throws -> [[Int]] {
        try String(contentsOf: fixture(name), encoding: .utf8).split(separator: "\n").dropFirst().map { line in
            let inside = line[line.index(after: line.firstIndex(of: "(")!)..<line.firstIndex(of: ")")!]
            return inside.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces))! }
        }
    }

    /// Files written by ImageMagick, a standard encoder, in five colour types and bit depths.
    func testFilesFromAnotherEncoderDecodeExactly() throws {
        for (file, channels) in [("rgba", 4), ("palette", 3), ("grey", 1), ("rgb16", 3), ("grey1", 1)] {
            let image = try PNG.read(fixture("\(file).png"))
            XCTAssertEqual(image.channels, channels, file)
            let expected = try reference("\(file).txt")
            XCTAssertEqual(expected.count, image.width * image.height, file)
            for (p, values) in expected.enumerated() {
                let got = (0..<channels).map { Int(image.pixels[p * channels + $0]) }
                XCTAssertEqual(got, Array(values.prefix(channels)), "\(file) pixel \(p)")
            }
        }
    }

    func testOurFilesReadBackIdentically() throws {
        var rng = RandomGenerator(seed: 1)
        for channels in [1, 2, 3, 4] {
            let pixels = (0..<(13 * 7 * channels)).map { _ in UInt8(rng.nextInt(below: 256)) }
            let image = Image(width: 13, height: 7, channels: channels, pixels: pixels)
            XCTAssertEqual(try PNG.decode(PNG.encode(image)), image)
        }
        // Smooth images exercise the Up, Average and Paeth filters.
        let rampPixels: [UInt8] = (0..<256).map { (i: Int) -> UInt8 in UInt8((i % 16) * 8 + (i / 16) * 4) }
        let ramp = Image(width: 16, height: 16, channels: 1, pixels: rampPixels)
        XCTAssertEqual(try PNG.decode(PNG.encode(ramp)), ramp)
    }

    func testCorruptAndTruncatedFilesAreRefused() throws {
        let data = PNG.encode(Image(width: 4, height: 4, channels: 1, pixels: [UInt8](repeating: 7, count: 16)))
        var corrupt = data
        corrupt[40] ^= 0xff
        XCTAssertThrowsError(try PNG.decode(corrupt)) { XCTAssert("\($0)".contains("CRC"), "\($0)") }
        XCTAssertThrowsError(try PNG.decode(data.prefix(data.count - 20))) { XCTAssert("\($0)".contains("truncated"), "\($0)") }
        XCTAssertThrowsError(try PNG.decode(Data("GIF89a".utf8))) { XCTAssert("\($0)".contains("not a PNG"), "\($0)") }
    }

    func testTensorConversionResizeAndGrid() {
        let image = Image(width: 4, height: 2, channels: 3, pixels: [UInt8](repeating: 255, count: 24))
        let t = image.tensor()
        XCTAssertEqual(t.shape, [3, 2, 4])
        XCTAssertEqual(image.tensor(channels: 1).scalars, [Float](repeating: 1, count: 8))
        XCTAssertEqual(Image(tensor: t), image)
        XCTAssertEqual(image.fitted(to: 2).width, 2)
        let grid = Image.grid(Tensor.ones([5, 1, 3, 3]), columns: 3, border: 1)
        XCTAssertEqual([grid.width, grid.height], [3 * 3 + 4, 2 * 3 + 3])
        XCTAssertEqual(grid.pixels[0], 128)                 // border
        XCTAssertEqual(grid.pixels[1 * grid.width + 1], 255) // first image
    }
}

final class JPEGTests: XCTestCase {
    func fixture(_ name: String) -> URL { Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil)! }

    /// The pixels of a binary PNM file (P5 grey, P6 RGB) with an 8-bit maximum.
    func pnm(_ name: String) throws -> (width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        let bytes = [UInt8](try Data(contentsOf: fixture(name)))
        var fields: [String] = [], i = 0
        while fields.count < 4 {
            var token = ""
            while bytes[i] == 0x0A || bytes[i] == 0x20 { i += 1 }
            while bytes[i] != 0x0A && bytes[i] != 0x20 { token.append(Character(UnicodeScalar(bytes[i]))); i += 1 }
            fields.append(token)
        }
        let (width, height) = (Int(fields[1])!, Int(fields[2])!)
        return (width, height, fields[0] == "P6" ? 3 : 1, Array(bytes[(i + 1)...]))
    }

    /// Files made by libjpeg-turbo's cjpeg (baseline colour, progressive colour, grey) decode to
    /// the pixels its djpeg printed.
    func testFilesFromAnotherEncoderDecodeExactly() throws {
        for (file, reference) in [("rgb.jpg", "rgb-jpg.ppm"), ("progressive.jpg", "progressive-jpg.ppm"), ("grey.jpg", "grey-jpg.pgm")] {
            let image = try JPEG.read(fixture(file))
            let expected = try pnm(reference)
            XCTAssertEqual([image.width, image.height, image.channels], [expected.width, expected.height, expected.channels], file)
            XCTAssertEqual(image.pixels, expected.pixels, file)
            XCTAssertEqual(try ImageFile.read(fixture(file)), image, "told apart from PNG by its first bytes")
        }
    }

    func testOurFilesReadBackClosely() throws {
        var rng = RandomGenerator(seed: 1)
        for channels in [1, 3] {
            // A smooth image (JPEG is lossy; noise would not come back close).
            let pixels = (0..<(16 * 8)).flatMap { p in (0..<channels).map { c in UInt8((p % 16) * 12 + c * 20 + rng.nextInt(below: 3)) } }
            let image = Image(width: 16, height: 8, channels: channels, pixels: pixels)
            let back = try JPEG.decode(JPEG.encode(image, quality: 100))
            XCTAssertEqual([back.width, back.height, back.channels], [16, 8, channels])
            XCTAssertLessThanOrEqual(zip(back.pixels, image.pixels).map { abs(Int($0) - Int($1)) }.max()!, 8, "channels \(channels)")
        }
    }

    func testCorruptAndTruncatedFilesAreRefused() throws {
        let data = try Data(contentsOf: fixture("rgb.jpg"))
        XCTAssertThrowsError(try JPEG.decode(data.prefix(data.count / 2))) { XCTAssert("\($0)".contains("damaged JPEG"), "\($0)") }
        var corrupt = data
        corrupt[3] = 0xC8   // the first marker becomes a reserved one (JPEG has no checksum to damage)
        XCTAssertThrowsError(try JPEG.decode(corrupt)) { XCTAssert("\($0)".contains("damaged JPEG"), "\($0)") }
        XCTAssertThrowsError(try JPEG.decode(Data("GIF89a".utf8))) { XCTAssert("\($0)".contains("not a JPEG"), "\($0)") }
        XCTAssertThrowsError(try ImageFile.read(fixture("grey.txt"))) { XCTAssert("\($0)".contains("not a PNG or JPEG file"), "\($0)") }
    }
}
