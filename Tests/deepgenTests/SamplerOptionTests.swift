import Foundation
import XCTest

/// `deepgen sample --sampler`: both samplers write the same grid; a model that is not
/// autoregressive refuses the option.
extension CommandLineTests {
    func testSamplerOptionDrawsTheSameGridAndIsRefusedElsewhere() throws {
        let pixelcnn = root.appendingPathComponent("pixelcnn").path, vae = root.appendingPathComponent("vae").path
        var trained = try deepgen("train", "pixelcnn", "--dataset", "shapes", "--image-size", "8", "--features", "8", "--layers", "1",
                                  "--steps", "1", "--batch-size", "16", "--out", pixelcnn)
        XCTAssertEqual(trained.status, 0, trained.err)
        var grids: [Data] = []
        for sampler in ["cached", "naive"] {
            let out = root.appendingPathComponent("\(sampler).png")
            let sample = try deepgen("sample", pixelcnn, "--count", "6", "--sampler", sampler, "--out", out.path)
            XCTAssertEqual(sample.status, 0, sample.err)
            grids.append(try Data(contentsOf: out))
        }
        XCTAssertEqual(grids[0], grids[1], "the cached and naive samplers drew different images")
        trained = try deepgen("train", "vae", "--dataset", "shapes", "--steps", "1", "--batch-size", "16", "--out", vae)
        XCTAssertEqual(trained.status, 0, trained.err)
        assertFails(try deepgen("sample", vae, "--sampler", "naive"), saying: "--sampler is for the autoregressive models")
    }
}
