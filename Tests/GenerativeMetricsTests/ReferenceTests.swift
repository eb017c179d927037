import Foundation
import NeuralNetwork
import TensorEngine
import XCTest
@testable import GenerativeMetrics

/// Our metrics against independent computations in float64 (scripts/torch/metrics_reference.py:
/// numpy and scipy's sqrtm for the Fréchet distance, scikit-image for SSIM) on inputs where the
/// answer is not a corner case: 64-dimensional correlated features, textured images.
final class ReferenceTests: XCTestCase {
    lazy var reference: [String: Tensor] = {
        let url = Bundle.module.url(forResource: "Fixtures/metrics-reference.safetensors", withExtension: nil)!
        return Dictionary(uniqueKeysWithValues: try! SafeTensors.read(from: url).tensors.map { ($0.name, $0.tensor) })
    }()

    func testFrechetDistanceOf64DimensionalFeaturesMatchesScipy() throws {
        let a = FeatureStatistics(features: reference["fid.a"]!), b = FeatureStatistics(features: reference["fid.b"]!)
        let expected = Double(reference["fid.value"]!.scalar)
        XCTAssertEqual(try frechetDistance(a, b), expected, accuracy: 1e-5 * expected)
        XCTAssertEqual(try frechetDistance(b, a), expected, accuracy: 1e-5 * expected)
        XCTAssertEqual(try frechetDistance(a, a), 0, accuracy: 1e-6)
    }

    func testSSIMOfTexturedImagesMatchesScikitImage() {
        for (channels, size) in [(1, 20), (3, 24)] {
            let clean = reference["ssim.\(channels).\(size).clean"]!.scalars
            for degradation in ["blurred", "noisy", "shifted"] {
                let key = "ssim.\(channels).\(size).\(degradation)"
                let ours = ImageQuality.ssim(clean, reference["\(key).b"]!.scalars, channels: channels, height: size, width: size)
                XCTAssertEqual(ours, Double(reference["\(key).value"]!.scalar), accuracy: 1e-5, key)
            }
            XCTAssertEqual(ImageQuality.ssim(clean, clean, channels: channels, height: size, width: size), 1, accuracy: 1e-9)
        }
    }
}
