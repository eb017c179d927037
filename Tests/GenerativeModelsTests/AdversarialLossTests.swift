import Foundation
import TensorEngine
import XCTest
@testable import GenerativeModels

/// The translation models' three objectives, on known logits; and the DCGAN at other depths.
final class AdversarialLossTests: XCTestCase {
    let real = Tensor([2, -1]), fake = Tensor([0.5, -3])
    func softplus(_ x: Double) -> Double { Foundation.log(1 + Foundation.exp(x)) }

    func testDiscriminatorLosses() {
        let bce = (softplus(-2) + softplus(1)) / 2 / 2 + (softplus(0.5) + softplus(-3)) / 2 / 2
        XCTAssertEqual(Double(AdversarialLoss.minimax.discriminator(real: real, fake: fake).scalar), bce, accuracy: 1e-6)
        XCTAssertEqual(Double(AdversarialLoss.nonSaturating.discriminator(real: real, fake: fake).scalar), bce, accuracy: 1e-6)
        let squares = 0.5 * ((1 + 4) / 2 + (0.25 + 9) / 2)
        XCTAssertEqual(Double(AdversarialLoss.leastSquares.discriminator(real: real, fake: fake).scalar), squares, accuracy: 1e-6)
    }

    func testGeneratorLosses() {
        XCTAssertEqual(Double(AdversarialLoss.minimax.generator(fake: fake).scalar), -(softplus(0.5) + softplus(-3)) / 2, accuracy: 1e-6)
        XCTAssertEqual(Double(AdversarialLoss.nonSaturating.generator(fake: fake).scalar), (softplus(-0.5) + softplus(3)) / 2, accuracy: 1e-6)
        XCTAssertEqual(Double(AdversarialLoss.leastSquares.generator(fake: fake).scalar), (0.25 + 16) / 2, accuracy: 1e-6)
    }

    /// Depth 4 (Radford et al.'s 64-pixel generator: 4 -> 8 -> 16 -> 32 -> 64) draws 64-pixel
    /// images that its critic takes; depth 1 at 8 px too.
    func testTheDCGANsDepth() throws {
        for (depth, size) in [(4, 64), (1, 8)] {
            var options = GAN.Options.preset("dcgan")
            (options.depth, options.features, options.latentDimension) = (depth, 4, 8)
            try options.check(imageShape: [1, size, size])
            var rng = RandomGenerator(seed: 1)
            let gan = GAN(options, imageShape: [1, size, size], generator: &rng)
            let images = gan.generate(gan.noise(3, generator: &rng))
            XCTAssertEqual(images.shape, [3, 1, size, size])
            XCTAssertEqual(gan.discriminate(images).shape, [3])
        }
        var options = GAN.Options.preset("dcgan")
        options.depth = 4
        XCTAssertThrowsError(try options.check(imageShape: [1, 28, 28])) { XCTAssert("\($0)".contains("multiples of 16"), "\($0)") }
    }
}
