import Foundation
import TestSupport
import XCTest
@testable import GenerativeModels
import Datasets
import NeuralNetwork
import TensorEngine

final class Pix2PixTests: XCTestCase {
    func model(_ configure: (inout Pix2Pix.Options) -> Void = { _ in }) -> Pix2Pix {
        var o = Pix2Pix.Options()
        o.features = 4
        o.depth = 5
        configure(&o)
        var rng = RandomGenerator(seed: 0)
        return Pix2Pix(o, imageShape: [1, 32, 32], generator: &rng)
    }

    /// The U-Net's output has the input's size, and its levels are wired as the paper draws them:
    /// each decoder block takes the previous one's output beside the encoder's maps of the same
    /// size, composed here by hand from the blocks themselves.
    func testUNetSkipConnections() {
        let m = model()
        m.module.eval()
        let x = randomTensor([2, 1, 32, 32], seed: 1)
        let net = m.generator
        let d = net.down.reduce(into: [Tensor]()) { maps, block in maps.append(block(maps.last ?? x)) }
        XCTAssertEqual(d.map { $0.shape[2] }, [16, 8, 4, 2, 1])
        let u = net.up
        let byHand = u[4](.concatenate([u[3](.concatenate([u[2](.concatenate([u[1](.concatenate([u[0](d[4]), d[3]], axis: 1)), d[2]], axis: 1)),
                                                            d[1]], axis: 1)), d[0]], axis: 1))
        let y = net(x)
        XCTAssertEqual(y.shape, [2, 1, 32, 32])
        assertClose(y, byHand.scalars)
        // With the bottleneck cut (its weights zero) the output still follows the input: the
        // skips carry it.
        withoutGradients { for p in net.down[4].parameters() { p.assign(Tensor.zeros(p.value.shape)) } }
        XCTAssertNotEqual(net(x).scalars, net(randomTensor([2, 1, 32, 32], seed: 2)).scalars)
    }

    /// The discriminator judges the pair: the same output beside another input gets other logits,
    /// and its first layer takes the input's and the output's channels.
    func testDiscriminatorSeesInputAndOutput() {
        let m = model()
        let y = randomTensor([1, 1, 32, 32], seed: 3).tanh()
        let a = m.judge(randomTensor([1, 1, 32, 32], seed: 4).tanh(), y), b = m.judge(randomTensor([1, 1, 32, 32], seed: 5).tanh(), y)
        XCTAssertEqual(a.shape, [1, 1, 6, 6], "6 x 6 patches at 32 px")
        XCTAssertNotEqual(a.scalars, b.scalars)
        XCTAssertEqual(m.discriminator!.parameters()[0].value.shape[1], 2)
        XCTAssertEqual(m.discriminator!.parameters()[0].value.shape[0], m.options.features)
        XCTAssertEqual(model { $0.discriminatorFeatures = 8 }.discriminator!.parameters()[0].value.shape[0], 8, "a width of its own")
    }

    /// The losses by hand: D halves BCE(real, 1) + BCE(fake, 0); G is softplus(-logit) averaged
    /// over patches plus lambda times the mean absolute error; the baseline has only the L1.
    func testLossesKnownAnswers() {
        let softplus = { (x: Double) in Foundation.log1p(Foundation.exp(x)) }
        let real = Tensor([1, -0.5]), fake = Tensor([0.2, -2])
        XCTAssertEqual(Double(Pix2Pix.discriminatorLoss(real: real, fake: fake).scalar),
                       ((softplus(-1) + softplus(0.5)) / 2 + (softplus(0.2) + softplus(-2)) / 2) / 2, accuracy: 1e-5)
        let output = Tensor([0.5, -0.5, 1, 0]), target = Tensor([0, -0.5, 0.5, 1])
        let (total, l1) = model { $0.l1Weight = 10 }.generatorLoss(fakeLogits: fake, output: output, target: target)
        XCTAssertEqual(l1.scalar, 0.5, accuracy: 1e-6)
        XCTAssertEqual(Double(total.scalar), (softplus(-0.2) + softplus(2)) / 2 + 10 * 0.5, accuracy: 1e-5)
        let baseline = model { $0.l1Only = true }
        XCTAssertNil(baseline.discriminator)
        XCTAssertEqual(baseline.generatorLoss(fakeLogits: nil, output: output, target: target).total.scalar, 0.5, accuracy: 1e-6)
        XCTAssertEqual(Set(baseline.optimizers.keys), ["generator"])
    }

    /// A few steps on edge -> digit pairs of drawn squares lower the L1, and the samples show
    /// input | output | target.
    func testTrainingLowersTheL1() throws {
        let squares = ByteImageDataset(name: "squares", pixels: (0..<32).flatMap { i -> [UInt8] in
            let (top, side) = (4 + i % 12, 6 + i % 5)
            return (0..<784).map { p in (p / 28 >= top && p / 28 < top + side && p % 28 >= 6 && p % 28 < 6 + side + i % 7) ? 255 : 0 }
        }, imageShape: [1, 28, 28], labels: Array(repeating: 0, count: 32))
        let data = EdgesToDigits(squares)
        let m = model { $0.l1Only = true; $0.learningRate = 2e-3 }
        try m.prepare(epoch: 0, dataset: data)
        var rng = RandomGenerator(seed: 1)
        let first = m.trainStep(data.batch(Array(0..<16), generator: &rng), generator: &rng)["l1"]!
        var last = first
        for step in 0..<60 { last = m.trainStep(data.batch(Array((step % 2 * 16)..<(step % 2 * 16 + 16)), generator: &rng), generator: &rng)["l1"]! }
        XCTAssertLessThan(last, 0.5 * first)
        let grid = m.sample(count: 12, generator: &rng)
        XCTAssertEqual(grid.shape, [12, 1, 32, 32])
        XCTAssertEqual(grid.sliced(axis: 0, 0..<1).scalars, data.batch([0], generator: &rng).images.scalars, "input first")
        XCTAssertEqual(grid.sliced(axis: 0, 2..<3).scalars, data.batch([0], generator: &rng).targets!.scalars, "target third")
    }
}
