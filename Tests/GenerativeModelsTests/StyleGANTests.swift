import Foundation
import TestSupport
import XCTest
@testable import GenerativeModels
import Datasets
import NeuralNetwork
import TensorEngine

final class StyleGANTests: XCTestCase {
    func generator(seed: UInt64 = 0) -> StyleGenerator {
        var o = StyleGenerator.Options()
        o.latentDimension = 8; o.styleDimension = 6; o.mappingLayers = 3; o.features = 8; o.minimumFeatures = 4
        var rng = RandomGenerator(seed: seed)
        return StyleGenerator(o, imageShape: [1, 16, 16], generator: &rng)
    }

    /// Demodulated weights have unit L2 norm per output channel, whatever the style.
    func testDemodulatedWeightsHaveUnitNorm() {
        var rng = RandomGenerator(seed: 1)
        let conv = ModulatedConv2d(5, 4, kernel: 3, styleDimension: 6, generator: &rng)
        let styles = randomTensor([3, 5], seed: 2, scale: 3)
        let norms = conv.styledWeights(styles).squared().sum(alongAxes: [2, 3, 4]).sqrt()
        assertClose(norms, [Float](repeating: 1, count: 12), tolerance: 1e-4)
    }

    /// The batched computation (input scaled, shared convolution, output demodulated) equals one
    /// convolution per image with that image's styled and demodulated weights.
    func testModulatedConvolutionEqualsPerImageWeights() {
        var rng = RandomGenerator(seed: 15)
        let conv = ModulatedConv2d(3, 4, kernel: 3, styleDimension: 5, generator: &rng)
        let x = randomTensor([2, 3, 6, 6], seed: 16), w = randomTensor([2, 5], seed: 17)
        let weights = conv.styledWeights(conv.affine(w))
        let perImage = Tensor.concatenate((0..<2).map { i in
            conv2d(x.sliced(axis: 0, i..<i + 1), weights.sliced(axis: 0, i..<i + 1).squeezed(0), padding: 1)
        }, axis: 0)
        assertClose(conv(x, w), perImage.scalars, tolerance: 1e-4)
    }

    /// A style of ones (the affine's weight zero, its bias one) leaves the convolution plain.
    func testModulationByOnesIsThePlainConvolution() {
        var rng = RandomGenerator(seed: 3)
        let conv = ModulatedConv2d(3, 2, kernel: 3, styleDimension: 4, demodulate: false, generator: &rng)
        withoutGradients { conv.affine.weight.assign(Tensor.zeros(conv.affine.weight.value.shape)) }
        let x = randomTensor([2, 3, 5, 5], seed: 4)
        let plain = conv2d(x, conv.weight.value / Float(27).squareRoot(), padding: 1)
        assertClose(conv(x, randomTensor([2, 4], seed: 5)), plain.scalars, tolerance: 1e-5)
    }

    /// Equalized learning rate: the stored weights are N(0, 1) / lrMultiplier and are scaled by
    /// lrMultiplier / sqrt(fan_in) at every call, so the gradient reaching a stored weight is that
    /// scale times the gradient of the weight actually used.
    func testEqualizedLearningRateScalesAtRunTime() {
        var rng = RandomGenerator(seed: 6)
        let layer = EqualizedLinear(400, 300, lrMultiplier: 0.01, generator: &rng)
        let stored = layer.weight.value.scalars
        let mean = stored.reduce(0, +) / Float(stored.count)
        let sd = (stored.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(stored.count)).squareRoot()
        XCTAssertEqual(sd, 100, accuracy: 2, "N(0, 1) / 0.01")
        let x = randomTensor([2, 400], seed: 7)
        let effective = layer.weight.value * (0.01 / 20)
        assertClose(layer(x), linear(x, weight: effective, bias: layer.bias.value * 0.01).scalars, tolerance: 1e-5)
        let g = gradients(of: layer(x).sum(), wrt: [layer.weight.value])[0]
        let byHand = x.sum(alongAxis: 0).unsqueezed(0).expanded(to: [300, 400]) * (0.01 / 20)
        assertClose(g, byHand.scalars, tolerance: 1e-5)
    }

    /// Truncation: psi = 0 takes every w to w_avg, psi = 1 leaves w as it is.
    func testTruncation() {
        let g = generator()
        withoutGradients { g.averageStyle.value = randomTensor([6], seed: 8) }
        let w = g.map(randomTensor([4, 8], seed: 9))
        for row in 0..<4 { assertClose(g.truncated(w, psi: 0).sliced(axis: 0, row..<row + 1), g.averageStyle.value.scalars) }
        XCTAssertEqual(g.truncated(w, psi: 1).scalars, w.scalars)
        let half = g.truncated(w, psi: 0.5)
        assertClose(half, ((w + g.averageStyle.value.unsqueezed(0)) * 0.5).scalars, tolerance: 1e-5)
    }

    /// The truncation strip: at psi 0 every row is the average image; at psi 1 the rows differ.
    func testTruncationStrip() {
        let m = styleGAN()
        var rng = RandomGenerator(seed: 4)
        withoutGradients { m.averaged.averageStyle.value = randomTensor([6], seed: 8) }
        let strip = withoutGradients { m.truncationStrip(rows: 3, psis: [1, 0.5, 0], generator: &rng) }
        XCTAssertEqual(strip.shape, [9, 1, 8, 8])
        let cell = { (row: Int, column: Int) in strip.sliced(axis: 0, (3 * row + column)..<(3 * row + column + 1)).scalars }
        for row in 1..<3 {
            XCTAssertLessThan(zip(cell(row, 2), cell(0, 2)).map { abs($0 - $1) }.max()!, 1e-5, "psi 0: the average image in every row")
            XCTAssertNotEqual(cell(row, 0), cell(0, 0), "psi 1: each row its own latent")
        }
    }

    /// A crossover at layer k takes layers < k from the first latent and >= k from the second; the
    /// synthesis reads them layer by layer, so another crossover gives another image.
    func testMixingCrossover() {
        let g = generator()
        XCTAssertEqual(g.styleCount, 6, "4 x 4: one convolution; 8 and 16: two each; one more for the last toRGB")
        let a = g.map(randomTensor([2, 8], seed: 10)), b = g.map(randomTensor([2, 8], seed: 11))
        let mixed = g.mixed(a, b, crossover: 2)
        XCTAssertEqual(mixed.shape, [2, 6, 6])
        for layer in 0..<6 {
            let expected = layer < 2 ? a : b
            XCTAssertEqual(mixed.sliced(axis: 1, layer..<layer + 1).squeezed(1).scalars, expected.scalars, "layer \(layer)")
        }
        var none: RandomGenerator? = nil
        let image = g.synthesize(mixed, noise: &none)
        XCTAssertEqual(image.shape, [2, 1, 16, 16])
        var again: RandomGenerator? = nil
        XCTAssertEqual(g.synthesize(g.mixed(a, b, crossover: 2), noise: &again).scalars, image.scalars, "fixed noise: the same image")
        var other: RandomGenerator? = nil
        XCTAssertNotEqual(g.synthesize(g.mixed(a, b, crossover: 3), noise: &other).scalars, image.scalars)
    }

    /// Noise: drawn maps change the image once the strengths are non-zero; seeded draws repeat.
    func testNoiseInputs() {
        let g = generator()
        withoutGradients { for c in g.convolutions { c.noiseStrength.assign(Tensor.full(c.noiseStrength.value.shape, 0.5)) } }
        let styles = g.broadcast(g.map(randomTensor([1, 8], seed: 12)))
        var one: RandomGenerator? = RandomGenerator(seed: 1), same: RandomGenerator? = RandomGenerator(seed: 1), two: RandomGenerator? = RandomGenerator(seed: 2)
        let a = g.synthesize(styles, noise: &one)
        XCTAssertEqual(g.synthesize(styles, noise: &same).scalars, a.scalars)
        XCTAssertNotEqual(g.synthesize(styles, noise: &two).scalars, a.scalars)
    }

    func styleGAN(seed: UInt64 = 0, mixing: Float = 0.9) -> StyleGAN {
        var o = StyleGAN.Options()
        o.generator.latentDimension = 8; o.generator.styleDimension = 6; o.generator.mappingLayers = 2
        o.generator.features = 8; o.generator.minimumFeatures = 4
        o.r1Gamma = 2; o.r1Interval = 2; o.mixingProbability = mixing; o.averageHalfLife = 20
        var rng = RandomGenerator(seed: seed)
        return StyleGAN(o, imageShape: [1, 8, 8], generator: &rng)
    }

    /// Lazy R1: every `r1Interval` steps of D's optimizer (and only then) its objective is the
    /// logistic loss plus the interval times the penalty; training logs it on those steps.
    func testLazyR1JoinsTheObjectiveEveryIntervalWeightedByIt() {
        let m = styleGAN()
        let real = randomTensor([3, 1, 8, 8], seed: 30), fake = randomTensor([3, 1, 8, 8], seed: 31)
        let plain = m.discriminatorLoss(real: real, fake: fake).scalar, penalty = m.r1Penalty(real).scalar
        XCTAssertGreaterThan(penalty, 0)
        for step in 0..<5 {
            let (loss, figures) = m.discriminatorObjective(real: real, fake: fake, step: step)
            XCTAssertEqual(loss.scalar, step % 2 == 0 ? plain + 2 * penalty : plain, accuracy: 1e-5 * abs(plain), "step \(step)")
            XCTAssertEqual(figures["r1"] != nil, step % 2 == 0, "step \(step)")
        }
        var rng = RandomGenerator(seed: 32)
        let logged = (0..<3).map { _ in
            m.trainStep(Batch(images: Tensor.uniform([2, 1, 8, 8], generator: &rng), labels: nil, indices: [0, 1]), generator: &rng)["r1"] != nil
        }
        XCTAssertEqual(logged, [true, false, true])
    }

    /// The averaged generator follows the trained one at the rate of its half-life in images
    /// (20 here), or of 5% of the images seen while that is shorter (the ramp-up); w's average
    /// moves at StyleGAN2's 0.995.
    func testAveragesMoveAtTheirRates() {
        let m = styleGAN()
        var rng = RandomGenerator(seed: 33)
        _ = m.trainStep(Batch(images: Tensor.uniform([4, 1, 8, 8], generator: &rng), labels: nil, indices: [0, 1, 2, 3]), generator: &rng)
        // 200 images seen: a half-life of 10; 1,000: the full 20.
        for (seen, halfLife) in [(200, 10.0), (1000, 20.0)] {
            let before = m.averaged.parameters().map(\.value.scalars), wBefore = m.generator.averageStyle.value.scalars
            let w = randomTensor([4, 6], seed: 34)
            m.updateAverages(w: w, batchSize: 4, imagesSeen: seen)
            let beta = Float(Foundation.pow(0.5, 4.0 / halfLife))
            for (k, (average, trained)) in zip(m.averaged.parameters(), m.generator.parameters()).enumerated() {
                assertClose(average.value, zip(before[k], trained.value.scalars).map { beta * $0 + (1 - beta) * $1 }, tolerance: 1e-6, "\(seen) images: parameter \(k)")
            }
            assertClose(m.generator.averageStyle.value, zip(wBefore, w.mean(alongAxis: 0).scalars).map { 0.995 * $0 + 0.005 * $1 }, tolerance: 1e-6)
        }
    }

    /// With mixing, the styles switch from one w to another at a crossover inside the layers;
    /// without it, every layer has the same w.
    func testMixingProbabilityDecidesTheStyles() {
        for (mixing, mixed) in [(Float(1), true), (Float(0), false)] {
            let m = styleGAN(mixing: mixing)
            var rng = RandomGenerator(seed: 35)
            let styles = m.styles(2, generator: &rng).styles
            let count = m.generator.styleCount
            let first = styles.sliced(axis: 1, 0..<1).scalars, last = styles.sliced(axis: 1, (count - 1)..<count).scalars
            XCTAssertEqual(first != last, mixed, "mixing probability \(mixing)")
            let changes = (1..<count).filter { l in styles.sliced(axis: 1, l..<l + 1).scalars != styles.sliced(axis: 1, (l - 1)..<l).scalars }
            XCTAssertEqual(changes.count, mixed ? 1 : 0, "one crossover")
        }
    }

    /// R1 against finite differences: gamma/2 times the mean over images of the squared norm of
    /// D's input gradient, each component by central differences on a tiny discriminator.
    func testR1PenaltyMatchesFiniteDifferences() {
        let m = styleGAN()
        let x = randomTensor([2, 1, 8, 8], seed: 13, scale: 0.5)
        let penalty = Double(m.r1Penalty(x).scalar)
        let values = x.scalars, eps: Float = 1e-2
        var squares = 0.0
        for i in 0..<values.count {
            var up = values, down = values
            up[i] += eps; down[i] -= eps
            let f = { (v: [Float]) in Double(m.discriminator(Tensor(shape: x.shape, scalars: v)).sum().scalar) }
            let derivative = (f(up) - f(down)) / Double(2 * eps)
            squares += derivative * derivative
        }
        XCTAssertEqual(penalty, 2 / 2 * squares / 2, accuracy: 2e-2 * max(1, penalty))
    }

    /// One step's numbers against PyTorch's (scripts/torch/stylegan_reference.py wrote the
    /// fixture from the same architecture): on the same weights, images, latents and noise maps,
    /// the discriminator's loss, the R1 penalty (a gradient of a gradient) and the generator's
    /// loss with a mixing crossover agree, and so does the gradient of each for every parameter.
    /// `DEEPGEN_STYLEGAN_REFERENCE` names another fixture of the script (`--size 32 --features 64
    /// ...`, too large to commit): its metadata gives the sizes, so the fast convolution kernels
    /// of a training run's size get the same check.
    func testLossesAndGradientsMatchPyTorch() throws {
        let url =
            ProcessInfo.processInfo.environment["DEEPGEN_STYLEGAN_REFERENCE"].map { URL(fileURLWithPath: $0) }
            ?? Bundle.module.url(forResource: "Fixtures/stylegan-reference.safetensors", withExtension: nil)!
        let file = try SafeTensors.read(from: url)
        let reference = Dictionary(uniqueKeysWithValues: file.tensors.map { ($0.name, $0.tensor) })
        let m: StyleGAN
        if let size = file.metadata["size"].flatMap({ Int($0) }) {
            var o = StyleGAN.Options()
            func read(_ key: String) -> Int { Int(file.metadata[key]!)! }
            o.generator.latentDimension = read("latent"); o.generator.styleDimension = read("style")
            o.generator.mappingLayers = read("mapping"); o.generator.features = read("features")
            o.generator.minimumFeatures = read("minimum"); o.r1Gamma = Float(file.metadata["gamma"]!)!
            var rng = RandomGenerator(seed: 0)
            m = StyleGAN(o, imageShape: [1, size, size], generator: &rng)
        } else {
            m = styleGAN()
        }
        for (prefix, module) in [("generator", m.generator as Module), ("discriminator", m.discriminator)] {
            try module.load(stateDict: reference.filter { $0.key.hasPrefix("weights.\(prefix).") }
                .reduce(into: [:]) { $0[String($1.key.dropFirst("weights.\(prefix).".count))] = $1.value })
        }
        let real = reference["real"]!, fake = reference["fake"]!
        let crossover = Int(file.metadata["crossover"]!)!
        XCTAssertEqual(Float(file.metadata["gamma"]!), m.options.r1Gamma)
        func check(_ label: String, _ loss: Tensor, _ prefix: String, _ module: Module) {
            XCTAssertEqual(loss.scalar, reference[label]!.scalar, accuracy: 1e-5 * max(1, abs(loss.scalar)), label)
            let parameters = module.namedParameters()
            let expected = parameters.map { reference["\(label).\(prefix).\($0.name)"]! }
            let total = expected.reduce(Float(0)) { $0 + $1.squared().sum().scalar }.squareRoot()
            for ((name, _), (gradient, wanted)) in zip(parameters, zip(gradients(of: loss, wrt: parameters.map(\.parameter.value)), expected)) {
                let error = (gradient - wanted).squared().sum().scalar.squareRoot()
                let size = wanted.squared().sum().scalar.squareRoot()
                XCTAssertLessThanOrEqual(error, 1e-4 * size + 1e-6 * total, "\(label): gradient of \(name)")
            }
        }
        check("loss_d", m.discriminatorLoss(real: real, fake: fake), "discriminator", m.discriminator)
        check("r1", m.r1Penalty(real), "discriminator", m.discriminator)
        let styles = m.generator.mixed(m.generator.map(reference["z1"]!), m.generator.map(reference["z2"]!), crossover: crossover)
        var drawn: RandomGenerator? = nil
        let maps = (0..<m.generator.convolutions.count).map { reference["noise.\($0)"]! }
        check("loss_g", m.generatorLoss(fake: m.generator.synthesize(styles, noise: &drawn, maps: maps)), "generator", m.generator)
    }

    /// The minibatch deviation by hand: four images in groups of four, one column; each map holds
    /// the mean over features of the per-feature standard deviation across the group. Also for
    /// nearly alike images far from 0 (a collapsed generator's), where E[x^2] - E[x]^2 in floats
    /// would be rounding noise.
    func testMinibatchStandardDeviation() {
        let m = styleGAN()
        let spread = randomTensor([4, 2, 2, 2], seed: 14)
        // The second case's deviations are ~5e-4: 1% of them is 5e-6.
        for (x, tolerance) in [(spread, Float(1e-4)), (30 + 1e-3 * spread, Float(5e-6))] {
            let v = x.scalars
            var expected = 0.0
            for f in 0..<8 {
                let column = (0..<4).map { Double(v[$0 * 8 + f]) }
                let mean = column.reduce(0, +) / 4
                expected += (column.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 4 + 1e-8).squareRoot()
            }
            let maps = m.discriminator.minibatchDeviation(x)
            XCTAssertEqual(maps.shape, [4, 1, 2, 2])
            assertClose(maps, [Float](repeating: Float(expected / 8), count: 16), tolerance: tolerance)
        }
    }

    /// Training steps run, are reproducible from the seed, move the averaged generator only part
    /// of the way, and a reloaded checkpoint draws the same samples.
    func testTrainingIsSeededAndReloads() throws {
        func run() -> StyleGAN {
            let m = styleGAN()
            var rng = RandomGenerator(seed: 5)
            for _ in 0..<3 {
                let batch = Batch(images: Tensor.uniform([4, 1, 8, 8], generator: &rng), labels: nil, indices: [0, 1, 2, 3])
                let figures = m.trainStep(batch, generator: &rng)
                XCTAssert(figures.values.allSatisfy(\.isFinite))
            }
            return m
        }
        let a = run(), b = run()
        XCTAssertEqual(a.generator.parameters().map(\.value.scalars), b.generator.parameters().map(\.value.scalars))
        let trained = a.generator.parameters()[0].value.scalars, average = a.averaged.parameters()[0].value.scalars
        XCTAssertNotEqual(trained, average)
        var r1 = RandomGenerator(seed: 9), r2 = RandomGenerator(seed: 9)
        let samples = a.sample(count: 3, generator: &r1)
        XCTAssertTrue(samples.scalars.allSatisfy { $0 >= 0 && $0 <= 1 })
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stylegan-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try Checkpoint.save(a, config: a.options, to: directory)
        let reloaded = styleGAN(seed: 77)
        try Checkpoint.load(reloaded, from: directory)
        XCTAssertEqual(reloaded.sample(count: 3, generator: &r2).scalars, samples.scalars)
    }

    /// The mixing grid: the top row holds the sources, the left column the destinations, and a
    /// cell mixing in no layer at all is its destination.
    func testMixingGridLayout() {
        let m = styleGAN()
        var a = RandomGenerator(seed: 3), b = RandomGenerator(seed: 3)
        let grid = m.mixingGrid(sources: 2, destinations: 2, layers: m.layers("coarse")!, psi: 1, generator: &a)
        XCTAssertEqual(grid.shape, [9, 1, 8, 8])
        XCTAssertEqual(grid.sliced(axis: 0, 0..<1).scalars, [Float](repeating: 1, count: 64), "blank corner")
        let none = m.mixingGrid(sources: 2, destinations: 2, layers: 0..<0, psi: 1, generator: &b)
        for row in 1...2 {
            for column in 1...2 { XCTAssertEqual(none.sliced(axis: 0, 3 * row + column..<3 * row + column + 1).scalars, none.sliced(axis: 0, 3 * row..<3 * row + 1).scalars) }
        }
        XCTAssertNotEqual(grid.sliced(axis: 0, 4..<5).scalars, grid.sliced(axis: 0, 3..<4).scalars, "coarse styles change the destination")
        XCTAssertEqual(m.layers("coarse"), 0..<3)
        XCTAssertEqual(m.layers("middle"), 3..<4)
        XCTAssertTrue(m.layers("fine")!.isEmpty, "an 8 px model (4 styles) has no 32 px layers")
    }

    /// Projection of images the model drew itself finds each again, two in one batch: far nearer
    /// than the image of w_avg, and the noise maps stay normalised per image; stylizing with no
    /// layers gives the projection.
    func testProjectionRecoversGeneratedImages() {
        let m = styleGAN()
        var rng = RandomGenerator(seed: 21)
        withoutGradients { m.averaged.averageStyle.value = m.averaged.map(Tensor.normal([500, 8], generator: &rng)).mean(alongAxis: 0) }
        var none: RandomGenerator? = nil
        let w = m.averaged.map(Tensor.normal([2, 8], generator: &rng))
        let target = withoutGradients { ((m.averaged.synthesize(m.averaged.broadcast(w), noise: &none) + 1) * 0.5).clamped(min: 0, max: 1) }
        let average = withoutGradients { ((m.averaged.synthesize(m.averaged.broadcast(m.averaged.averageStyle.value.unsqueezed(0)), noise: &none) + 1) * 0.5) }
        let projection = m.project(target, steps: 150, learningRate: 0.05, generator: &rng)
        for i in 0..<2 {
            let wanted = target.sliced(axis: 0, i..<i + 1)
            let found = Double((projection.image.sliced(axis: 0, i..<i + 1) - wanted).squared().mean().scalar)
            let baseline = Double((average.clamped(min: 0, max: 1) - wanted).squared().mean().scalar)
            XCTAssertLessThan(found, 0.25 * baseline, "image \(i): projection \(found), w_avg \(baseline)")
            for map in projection.noise {
                XCTAssertEqual(Double(map.sliced(axis: 0, i..<i + 1).squared().mean().scalar), 1, accuracy: 1e-3)
            }
        }
        assertClose(m.stylize(projection, with: m.averaged.broadcast(w), layers: 0..<0), projection.image.scalars, tolerance: 1e-5)
    }
}
