import Foundation
import XCTest
@testable import Datasets

/// Animated PNG: the frames written come back, with the chunk sequence the specification asks
/// for; viewers without APNG see the first frame.
final class APNGTests: XCTestCase {
    func frame(_ k: Int, channels: Int = 3) -> Image {
        Image(width: 5, height: 4, channels: channels, pixels: (0..<5 * 4 * channels).map { UInt8(($0 * 7 + k * 40) % 256) })
    }

    func testFramesComeBackInOrder() throws {
        let frames = (0..<3).map { frame($0) }
        for data in [try PNG.encodeAnimation(frames, delay: 0.3), try PNG.encodeAnimation(files: frames.map(PNG.encode), delay: 0.3)] {
            let animation = try PNG.decodeAnimation(data)
            XCTAssertEqual(animation.declaredFrames, 3)
            XCTAssertEqual(animation.frames.map(\.pixels), frames.map(\.pixels))
            XCTAssertEqual(animation.frames.map(\.width), [5, 5, 5])
            // fcTL 0, then fcTL 1 + fdAT 2, fcTL 3 + fdAT 4: one sequence, no gaps.
            XCTAssertEqual(animation.sequenceNumbers, [[0], [1, 2], [3, 4]])
            XCTAssertEqual(animation.delays, [0.3, 0.3, 0.3])
            XCTAssertEqual(try PNG.decode(data).pixels, frames[0].pixels, "the still image is the first frame")
        }
    }

    func testFramesOfDifferentSizesAreRefused() {
        let other = Image(width: 4, height: 4, channels: 3, pixels: [UInt8](repeating: 1, count: 48))
        XCTAssertThrowsError(try PNG.encodeAnimation([frame(0), other])) { error in
            XCTAssert("\(error)".contains("share one size"), "\(error)")
        }
        XCTAssertThrowsError(try PNG.encodeAnimation([frame(0), frame(1, channels: 1)]))
        XCTAssertThrowsError(try PNG.encodeAnimation([Image]()))
    }

    func testACorruptAnimationIsAnError() throws {
        var data = try PNG.encodeAnimation([frame(0), frame(1)])
        data[data.count - 20] ^= 0xFF
        XCTAssertThrowsError(try PNG.decodeAnimation(data))
    }
}
