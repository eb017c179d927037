import XCTest
@testable import Datasets
import TensorEngine

final class ColoredDigitsTests: XCTestCase {
    /// Every pixel is (1 - t) background + t stroke for the digit's intensity t, with one
    /// background and one of its two strokes per image: blank pixels are the background, full
    /// ink the stroke, half ink halfway. Labels are the digits'; the colours are keyed by the
    /// index and seed (the same again, others with another seed), and all eight pairs occur.
    func testEachDigitBlendsOneBackgroundAndOneOfItsStrokes() {
        let count = 200
        var pixels = [UInt8](repeating: 0, count: count * 784)
        for image in 0..<count {
            for p in 300..<320 { pixels[image * 784 + p] = 255 }
            pixels[image * 784 + 400] = 128
        }
        let digits = ByteImageDataset(name: "t", pixels: pixels, imageShape: [1, 28, 28], labels: (0..<count).map { $0 % 10 })
        let data = ColoredDigits(digits, seed: 7)
        XCTAssertEqual(data.imageShape, [3, 28, 28])
        XCTAssertEqual(data.count, count)
        XCTAssertEqual(data.labels, digits.labels)
        let x = data.images(Array(0..<count)).scalars
        var pairs = Set<[Float]>()
        for image in 0..<count {
            let colour = { (p: Int) in (0..<3).map { x[(image * 3 + $0) * 784 + p] * 255 } }
            let (background, stroke, half) = (colour(0), colour(310), colour(400))
            guard let b = ColoredDigits.backgrounds.firstIndex(of: background.map { $0.rounded() }) else {
                return XCTFail("image \(image): background \(background) is not in the palette")
            }
            XCTAssertTrue(ColoredDigits.strokes[b].contains(stroke.map { $0.rounded() }), "image \(image): stroke \(stroke) does not go with background \(b)")
            for c in 0..<3 { XCTAssertEqual(half[c], (background[c] * 127 + stroke[c] * 128) / 255, accuracy: 0.51) }
            pairs.insert(background + stroke)
        }
        XCTAssertEqual(pairs.count, 8)
        XCTAssertEqual(ColoredDigits(digits, seed: 7).images([5, 9]).scalars, data.images([5, 9]).scalars)
        XCTAssertNotEqual(ColoredDigits(digits, seed: 8).images(Array(0..<20)).scalars, data.images(Array(0..<20)).scalars)
    }
}
