import Foundation
import TestSupport
import XCTest
@testable import GenerativeModels
import Datasets
import NeuralNetwork
import TensorEngine

final class GANTests: XCTestCase {
    func model(_ name: String, imageShape: [Int] = [1, 4, 4], seed: UInt64 = 0, configure: (inout GAN.Options) -> Void = { _ in }) -> GAN {
        var options = GAN.Options.preset(name)
        options.latentDimension = 3
        configure(&options)
        var rng = RandomGenerator(seed: seed)
        return GAN(options, imageShape: imageShape, generator: &rng)
    }

    /// The losses by hand: BCE with logits for the classic pair, score differences for the critic.
    func testLossesKnownAnswers() {
        let real = Tensor([2, 0.5]), fake = Tensor([-1, 3])
        let softplus = { (x: Double) in Foundation.log1p(Foundation.exp(x)) }
        let gan = model("gan") { $0.labelSmoothing = 0 }
        XCTAssertEqual(Double(gan.discriminatorLoss(real: real, fake: fake).scalar),
                       (softplus(-2) + softplus(-0.5)) / 2 + (softplus(-1) + softplus(3)) / 2, accuracy: 1e-5)
        XCTAssertEqual(Double(gan.generatorLoss(fake: fake).scalar), (softplus(1) + softplus(-3)) / 2, accuracy: 1e-5)
        let minimax = model("gan") { $0.loss = .minimax }
        XCTAssertEqual(Double(minimax.generatorLoss(fake: fake).scalar), -(softplus(-1) + softplus(3)) / 2, accuracy: 1e-5)
        let wgan = model("wgan")
        XCTAssertEqual(wgan.discriminatorLoss(real: real, fake: fake).scalar, 1 - 1.25, accuracy: 1e-6)
        XCTAssertEqual(wgan.generatorLoss(fake: fake).scalar, -1, accuracy: 1e-6)
    }

    /// One-sided label smoothing S: the real images' term is BCE(l, 1 - S); the fakes' and G's
    /// losses are unchanged. Its minimum over a real logit is at sigmoid(l) = 1 - S, not at
    /// infinity: the discriminator gains nothing by growing certain of the real images.
    func testLabelSmoothingKnownAnswers() throws {
        let softplus = { (x: Double) in Foundation.log1p(Foundation.exp(x)) }
        let real = Tensor([2, 0.5]), fake = Tensor([1, -3])
        let smoothed = model("gan") { $0.labelSmoothing = 0.1 }
        let realTerm = (0.9 * softplus(-2) + 0.1 * softplus(2) + 0.9 * softplus(-0.5) + 0.1 * softplus(0.5)) / 2
        XCTAssertEqual(Double(smoothed.discriminatorLoss(real: real, fake: fake).scalar),
                       realTerm + (softplus(1) + softplus(-3)) / 2, accuracy: 1e-5)
        let terms = smoothed.discriminatorTerms(real: real, fake: fake)
        XCTAssertEqual(Double(terms.real.scalar), realTerm, accuracy: 1e-5)
        XCTAssertEqual(smoothed.generatorLoss(fake: fake).scalar, model("gan").generatorLoss(fake: fake).scalar)
        let logit = Tensor([Float(log(0.9 / 0.1))]).requiringGradient()
        let slope = gradients(of: smoothed.discriminatorLoss(real: logit, fake: Tensor([0])), wrt: [logit])[0].scalar
        XCTAssertEqual(slope, 0, accuracy: 1e-6)
    }

    /// Dropout in the MLP discriminator: a layer after each hidden activation; in training two
    /// calls on the same images differ, in evaluation the network is its other layers alone.
    func testDiscriminatorDropout() throws {
        var rng = RandomGenerator(seed: 5)
        var o = GAN.Options()
        o.discriminatorDropout = 0.3
        let gan = GAN(o, imageShape: [1, 28, 28], generator: &rng)
        XCTAssertEqual(gan.discriminator.layers.filter { $0 is Dropout }.count, 2)
        let x = Tensor.uniform([4, 1, 28, 28], low: -1, high: 1, generator: &rng)
        gan.discriminator.train()
        XCTAssertNotEqual(gan.discriminate(x).scalars, gan.discriminate(x).scalars)
        gan.discriminator.eval()
        let withoutDropout = Sequential(gan.discriminator.layers.filter { !($0 is Dropout) })
        XCTAssertEqual(gan.discriminate(x).scalars, withoutDropout(x).reshaped([-1]).scalars)
    }

    /// Signs: every loss falls when its player does better (D scores reals up and fakes down;
    /// G gets its fakes scored up).
    func testEachLossFallsWhenItsPlayerWins() {
        for name in ["gan", "wgan", "wgan-gp"] {
            for loss in name == "gan" ? [GAN.Loss.minimax, .nonSaturating] : [GAN.Options.preset(name).loss] {
                let m = model(name) { $0.loss = loss }
                let real = Tensor([0.3, -0.2]), fake = Tensor([0.1, 0.4])
                XCTAssertLessThan(m.discriminatorLoss(real: real + 1, fake: fake - 1).scalar, m.discriminatorLoss(real: real, fake: fake).scalar, "\(loss)")
                XCTAssertLessThan(m.generatorLoss(fake: fake + 1).scalar, m.generatorLoss(fake: fake).scalar, "\(loss)")
            }
        }
    }

    /// A discriminator that confidently rejects the fakes (logit -10): the minimax loss's gradient
    /// has all but vanished (sigmoid(-10) ~ 4.5e-5), the non-saturating one's is ~1 per example,
    /// and both push the fakes' logits up.
    func testNonSaturatingGradientSurvivesAConfidentDiscriminator() {
        let fake = Tensor([-10, -10]).requiringGradient()
        let nonSaturating = gradients(of: model("gan").generatorLoss(fake: fake), wrt: [fake])[0].scalars
        let minimax = gradients(of: model("gan") { $0.loss = .minimax }.generatorLoss(fake: fake), wrt: [fake])[0].scalars
        for i in 0..<2 {
            XCTAssertEqual(nonSaturating[i], -0.5 * (1 - 1 / (1 + Foundation.exp(10))), accuracy: 1e-6)
            XCTAssertEqual(minimax[i], -0.5 / (1 + Foundation.exp(10)), accuracy: 1e-7)
            XCTAssertLessThan(minimax[i], 0)
            XCTAssertGreaterThan(abs(nonSaturating[i]), 1000 * abs(minimax[i]))
        }
    }

    /// The penalty against the input gradient measured by central finite differences of D at the
    /// same interpolates (the same uniform draws, from a copy of the generator).
    func testGradientPenaltyMatchesFiniteDifferences() {
        let gan = model("wgan-gp")
        var rng = RandomGenerator(seed: 3)
        let real = Tensor.uniform([3, 1, 4, 4], low: -1, high: 1, generator: &rng)
        let fake = Tensor.uniform([3, 1, 4, 4], low: -1, high: 1, generator: &rng)
        var draws = rng
        let penalty = Double(gan.gradientPenalty(real: real, fake: fake, generator: &rng).scalar)
        let e = Tensor.uniform([3, 1, 1, 1], generator: &draws)
        let interpolates = (e * real + (1 - e) * fake).scalars.map(Double.init)
        var expected = 0.0
        let h = 1e-2
        for n in 0..<3 {
            var squared = 0.0
            for i in 0..<16 {
                func score(_ delta: Double) -> Double {
                    var x = interpolates
                    x[n * 16 + i] += delta
                    return Double(gan.discriminate(Tensor(shape: [3, 1, 4, 4], scalars: x.map(Float.init))).scalars[n])
                }
                let derivative = (score(h) - score(-h)) / (2 * h)
                squared += derivative * derivative
            }
            expected += (squared.squareRoot() - 1) * (squared.squareRoot() - 1) / 3
        }
        XCTAssertEqual(penalty, expected, accuracy: 1e-3 * max(1, expected))
    }

    /// After a WGAN step every critic weight is inside [-c, c]; the generator's are not clipped.
    func testWeightClippingBoundsTheCritic() {
        let gan = model("wgan", imageShape: [1, 8, 8]) { $0.clip = 0.01 }
        var rng = RandomGenerator(seed: 4)
        let batch = Batch(images: Tensor.uniform([4, 1, 8, 8], generator: &rng), labels: nil, indices: [0, 1, 2, 3])
        for _ in 0..<5 { _ = gan.trainStep(batch, generator: &rng) }
        for p in gan.discriminator.parameters() {
            XCTAssertLessThanOrEqual(p.value.abs().max().scalar, 0.01)
        }
        XCTAssertGreaterThan(gan.generator.parameters().map { $0.value.abs().max().scalar }.max()!, 0.01)
    }

    /// One generator update per `criticSteps` discriminator updates; the logged figures.
    func testCriticStepsAndLoggedFigures() {
        let gan = model("wgan-gp", imageShape: [1, 8, 8])
        var rng = RandomGenerator(seed: 5)
        let batch = Batch(images: Tensor.uniform([4, 1, 8, 8], generator: &rng), labels: nil, indices: [0, 1, 2, 3])
        var generatorSteps = 0
        for _ in 0..<10 {
            let figures = gan.trainStep(batch, generator: &rng)
            XCTAssertNotNil(figures["wasserstein"]); XCTAssertNotNil(figures["penalty"])
            if figures["loss_g"] != nil { generatorSteps += 1 }
        }
        XCTAssertEqual(generatorSteps, 2)
        XCTAssertEqual(gan.generatorOptimizer.step, 2)
        let samples = gan.sample(count: 3, generator: &rng)
        XCTAssertEqual(samples.shape, [3, 1, 8, 8])
        XCTAssert(samples.min().scalar >= 0 && samples.max().scalar <= 1)
        XCTAssertEqual(gan.interpolate(pairs: 2, steps: 5, generator: &rng).shape, [10, 1, 8, 8])
    }

    /// The DCGAN learns the shapes' pixel statistics within a few hundred steps: its samples'
    /// mean intensity moves from the untrained generator's towards the data's.
    func testDCGANMovesTowardsTheData() {
        let gan = model("dcgan", imageShape: [1, 12, 12], seed: 6) { $0.latentDimension = 16 }
        let data = ShapesDataset(count: 256, size: 12, seed: 7)
        var rng = RandomGenerator(seed: 8)
        let target = data.batch(Array(0..<256), generator: &rng).images.mean().scalar
        gan.eval()
        let before = abs(gan.sample(count: 64, generator: &rng).mean().scalar - target)
        gan.train()
        for step in 0..<150 {
            let start = (step * 32) % 256
            let figures = gan.trainStep(data.batch(Array(start..<start + 32), generator: &rng), generator: &rng)
            XCTAssert(figures.values.allSatisfy(\.isFinite))
        }
        gan.eval()
        let after = abs(gan.sample(count: 64, generator: &rng).mean().scalar - target)
        XCTAssertLessThan(after, before * 0.5, "distance to the data's mean intensity: \(before) before, \(after) after")
    }

    /// `features` sets the DCGAN's widths (F maps next to the image, 2F inward), counted here layer
    /// by layer; a run saved before the option existed reads back with Radford et al.'s 64.
    func testDCGANWidthAndOlderConfigs() throws {
        let (f, latent, cells) = (8, 3, 2 * 2)   // 8x8 images: 2x2 maps at the innermost layer
        let gan = model("dcgan", imageShape: [1, 8, 8]) { $0.features = f }
        let generator = latent * 2 * f * cells + 2 * (2 * f * cells) + 2 * f * f * 16 + 2 * f + f * 16 + 1
        let discriminator = (f * 16 + f) + 2 * f * f * 16 + 2 * (2 * f) + (2 * f * cells + 1)
        let count = { (module: Module) in module.trainableParameters().map(\.value.count).reduce(0, +) }
        XCTAssertEqual(count(gan.generator), generator)
        XCTAssertEqual(count(gan.discriminator), discriminator)
        // Each refining layer adds a 3x3 convolution and its BatchNorm at both inner resolutions
        // (biases instead of BatchNorm in a gradient-penalty critic), and keeps the shapes.
        let refined = model("dcgan", imageShape: [1, 8, 8]) { $0.features = f; $0.refiningLayers = 2 }
        let added = 2 * ((f * f * 9 + 2 * f) + (4 * f * f * 9 + 4 * f))
        XCTAssertEqual(count(refined.generator), generator + added)
        XCTAssertEqual(count(refined.discriminator), discriminator + added)
        let critic = model("wgan-gp", imageShape: [1, 8, 8]) { $0.features = f; $0.refiningLayers = 1 }
        XCTAssertEqual(count(critic.discriminator), count(model("wgan-gp", imageShape: [1, 8, 8]) { $0.features = f }.discriminator)
                       + (f * f * 9 + f) + (4 * f * f * 9 + 2 * f))
        var rng = RandomGenerator(seed: 3)
        XCTAssertEqual(refined.discriminate(refined.generate(refined.noise(2, generator: &rng))).shape, [2])

        var json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(GAN.Options.preset("dcgan"))) as! [String: Any]
        XCTAssertEqual(json.removeValue(forKey: "features") as? Int, 64)
        XCTAssertEqual(json.removeValue(forKey: "refiningLayers") as? Int, 0)
        let older = try JSONDecoder().decode(GAN.Options.self, from: JSONSerialization.data(withJSONObject: json))
        XCTAssertEqual(older, GAN.Options.preset("dcgan"))
    }

    /// The averaged generator's BatchNorm statistics are measured on its own activations when it
    /// samples: after training steps, its first normalisation's running variance is the variance
    /// of its own first layer's outputs over fresh codes, not G's running statistics (nor the
    /// initial ones), and the measurement is repeatable.
    func testTheAveragedGeneratorMeasuresItsOwnStatistics() throws {
        let m = model("dcgan", imageShape: [1, 8, 8]) { $0.features = 4; $0.generatorAverage = 0.5 }
        var rng = RandomGenerator(seed: 1)
        let images = Tensor.uniform([4, 1, 8, 8], generator: &rng)
        for _ in 0..<3 { _ = m.trainStep(Batch(images: images, labels: nil, indices: [0, 1, 2, 3]), generator: &rng) }
        m.module.eval()
        let first = m.sample(count: 2, generator: &rng)
        let average = try XCTUnwrap(m.averagedGenerator), norm = try XCTUnwrap(average.layers[1] as? BatchNorm)
        let live = try XCTUnwrap(m.generator.layers[1] as? BatchNorm)
        let outputs = withoutGradients { average.layers[0](m.noise(8192, generator: &rng)) }
        let centred = outputs - outputs.mean(alongAxis: 0, keepDims: true)
        let variance = centred.squared().mean(alongAxis: 0).scalars
        let measured = norm.runningVar.value.scalars
        for (v, r) in zip(variance, measured) { XCTAssertEqual(r, v, accuracy: 0.05 * v) }
        XCTAssertGreaterThan(zip(measured, live.runningVar.value.scalars).map { abs($0 - $1) }.max() ?? 0, 0.2 * (variance.max() ?? 0))
        m.averageStatisticsStale = true
        var again = RandomGenerator(seed: 1)
        _ = m.sample(count: 2, generator: &again)
        XCTAssertEqual(norm.runningVar.value.scalars, measured, "the same weights, the same statistics")
        XCTAssertEqual(first.shape, [2, 1, 8, 8])
        m.updateAverage()
        XCTAssertTrue(m.averageStatisticsStale, "moved weights: to be measured again")
    }

    /// `generatorAverage`: after G's t-th update the average moves (1 - decay) of the way to G's
    /// new weights, decay = min(generatorAverage, (1 + t) / (10 + t)) (known answer, every
    /// parameter: at 0.2, the ramp's 2/11 at the first update, then 0.2); G and D start where they would without
    /// it; samples come from the average, and a reloaded checkpoint samples the same; with no
    /// average, samples come from G itself.
    func testTheGeneratorsMovingAverage() throws {
        for name in ["gan", "dcgan"] {
            let shape = name == "gan" ? [1, 4, 4] : [1, 8, 8]
            let plain = model(name, imageShape: shape) { $0.features = 4; $0.generatorAverage = 0 }
            let averaged = model(name, imageShape: shape) { $0.features = 4; $0.generatorAverage = 0.2 }
            XCTAssertEqual(plain.generator.parameters().map(\.value.scalars), averaged.generator.parameters().map(\.value.scalars), name)
            XCTAssertEqual(plain.discriminator.parameters().map(\.value.scalars), averaged.discriminator.parameters().map(\.value.scalars), name)
            let average = try XCTUnwrap(averaged.averagedGenerator)
            XCTAssertEqual(average.parameters().map(\.value.scalars), averaged.generator.parameters().map(\.value.scalars), "starts at G")
            XCTAssertTrue(average.parameters().allSatisfy(\.isFrozen))
            var rng = RandomGenerator(seed: 1)
            let images = Tensor.uniform([4] + shape, generator: &rng)
            for decay in [Float(2) / 11, 0.2, 0.2] {
                let before = average.parameters().map(\.value.scalars)
                _ = averaged.trainStep(Batch(images: images, labels: nil, indices: [0, 1, 2, 3]), generator: &rng)
                for (p, (old, live)) in zip(average.parameters(), zip(before, averaged.generator.parameters())) {
                    let expected = zip(old, live.value.scalars).map { decay * $0 + (1 - decay) * $1 }
                    XCTAssertEqual(p.value.scalars, expected, "\(name): the average of one step")
                }
            }
            averaged.module.eval()
            let z = averaged.noise(3, generator: &rng)
            XCTAssertEqual(averaged.draw(z).scalars, average(z).scalars)
            XCTAssertNotEqual(averaged.draw(z).scalars, averaged.generator(z).scalars, "\(name): samples come from the average")
            XCTAssertEqual(plain.draw(z).scalars, plain.generator(z).scalars)
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gan-average-\(name)-\(getpid())")
            defer { try? FileManager.default.removeItem(at: directory) }
            try Checkpoint.save(averaged, config: averaged.options, to: directory)
            let reloaded = model(name, imageShape: shape, seed: 9) { $0.features = 4; $0.generatorAverage = 0.2 }
            try Checkpoint.load(reloaded, from: directory)
            reloaded.module.eval()
            var (a, b) = (RandomGenerator(seed: 2), RandomGenerator(seed: 2))
            XCTAssertEqual(reloaded.sample(count: 3, generator: &a).scalars, averaged.sample(count: 3, generator: &b).scalars)
        }
    }
}
