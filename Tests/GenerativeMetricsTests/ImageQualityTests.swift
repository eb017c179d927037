import Foundation
import XCTest
@testable import GenerativeMetrics

final class ImageQualityTests: XCTestCase {
    /// Known answers: a uniform error of 0.1 is an L1 of 0.1 and a PSNR of 20 dB; identical images
    /// have SSIM 1; two flat images of 0.2 and 0.3 keep only SSIM's luminance term,
    /// (2 * 0.2 * 0.3 + C1) / (0.2^2 + 0.3^2 + C1).
    func testKnownAnswers() {
        let a = [Float](repeating: 0.2, count: 2 * 16 * 16), b = [Float](repeating: 0.3, count: 2 * 16 * 16)
        XCTAssertEqual(ImageQuality.l1(a, b), 0.1, accuracy: 1e-6)
        XCTAssertEqual(ImageQuality.psnr(a, b), 20, accuracy: 1e-4)
        XCTAssertEqual(ImageQuality.psnr(a, a), 100)
        let c1 = 0.0001
        XCTAssertEqual(ImageQuality.ssim(a, b, channels: 2, height: 16, width: 16), (2 * 0.2 * 0.3 + c1) / (0.04 + 0.09 + c1), accuracy: 1e-6)
        var rng = SystemRandomNumberGenerator()
        let x = (0..<(16 * 16)).map { _ in Float.random(in: 0...1, using: &rng) }
        XCTAssertEqual(ImageQuality.ssim(x, x, channels: 1, height: 16, width: 16), 1, accuracy: 1e-9)
    }

    /// SSIM is symmetric, at most 1, and falls as noise grows; an inverted image scores below 0.
    func testSSIMOrdersDegradations() {
        let (h, w) = (20, 20)
        let x = (0..<(h * w)).map { i in Float(0.5 + 0.4 * sin(Double(i % w) / 3) * cos(Double(i / w) / 4)) }
        func noisy(_ amount: Float) -> [Float] { x.enumerated().map { i, v in v + amount * Float(sin(Double(i) * 12.9898) * 0.5) } }
        let small = ImageQuality.ssim(x, noisy(0.05), channels: 1, height: h, width: w)
        let large = ImageQuality.ssim(x, noisy(0.3), channels: 1, height: h, width: w)
        XCTAssertEqual(small, ImageQuality.ssim(noisy(0.05), x, channels: 1, height: h, width: w), accuracy: 1e-12)
        XCTAssertLessThan(large, small)
        XCTAssertLessThan(small, 1)
        XCTAssertLessThan(ImageQuality.ssim(x, x.map { 1 - $0 }, channels: 1, height: h, width: w), 0)
    }
}
