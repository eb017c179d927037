import Foundation
import TestSupport
import XCTest
@testable import GenerativeModels
import Datasets
import NeuralNetwork
import TensorEngine

final class PixelCNNTests: TemporaryDirectoryTestCase {
    func options(_ configure: (inout PixelCNNOptions) -> Void = { _ in }) -> PixelCNNOptions {
        var o = PixelCNNOptions()
        o.features = 8
        o.layers = 2
        o.firstKernel = 3
        configure(&o)
        return o
    }

    func model(_ name: String, _ o: PixelCNNOptions, imageShape: [Int] = [1, 6, 6], seed: UInt64 = 0) -> AutoregressiveModel {
        var rng = RandomGenerator(seed: seed)
        let network: any PixelNetwork = switch name {
        case "pixelcnn": PixelCNNNetwork(o, channels: imageShape[0], generator: &rng)
        case "gated-pixelcnn": GatedPixelCNNNetwork(o, imageShape: imageShape, generator: &rng)
        case "row-lstm": PixelRNNNetwork(.row, o, generator: &rng)
        default: PixelRNNNetwork(.diagonalBidirectional, o, generator: &rng)
        }
        return AutoregressiveModel(network: network, likelihood: o.likelihood, imageShape: imageShape, classes: o.classes,
                                   learningRate: o.learningRate)
    }

    /// |d logit(channel `output`, row, col) / d input| for every input value, [C, H, W] flattened.
    func inputGradient(_ m: AutoregressiveModel, output: Int, row: Int, col: Int, labels: [Int]? = nil) -> [Float] {
        let shape = m.imageShape
        let x = randomTensor([1] + shape, seed: 3).sigmoid().requiringGradient()
        let logits = m.network(x, labels: labels)
        let picked = logits.sliced(starts: [0, output, row, col], sizes: [1, 1, 1, 1]).sum()
        return gradients(of: picked, wrt: [x])[0].scalars.map(abs)
    }

    /// PixelCNN: nothing at or after (3, 3) in raster order reaches its logit; the pixels above and
    /// to the left do; and the blind spot shows: (2, 5), up and right, is earlier yet never seen.
    func testPixelCNNIsCausalAndHasItsBlindSpot() {
        let m = model("pixelcnn", options())
        let g = inputGradient(m, output: 0, row: 3, col: 3)
        for index in (3 * 6 + 3)..<36 { XCTAssertEqual(g[index], 0, "pixel \(index / 6),\(index % 6) is not before (3, 3)") }
        for (r, c) in [(2, 2), (2, 3), (2, 4), (3, 2), (1, 3), (3, 1)] { XCTAssertGreaterThan(g[r * 6 + c], 0, "(\(r), \(c))") }
        XCTAssertEqual(g[2 * 6 + 5], 0, "the blind spot of stacked masked convolutions")
    }

    /// Colour masks: red at a pixel sees none of that pixel, green sees its red, blue its red
    /// and green; no colour sees a later pixel.
    func testColourMasksOrderRedGreenBlue() {
        let m = model("pixelcnn", options { $0.features = 12 }, imageShape: [3, 5, 5])
        let plane = 25, at = 2 * 5 + 2
        for colour in 0..<3 {
            let g = inputGradient(m, output: colour, row: 2, col: 2)
            for input in 0..<3 {
                if input < colour { XCTAssertGreaterThan(g[input * plane + at], 0, "colour \(colour) must see colour \(input) of its pixel") }
                else { XCTAssertEqual(g[input * plane + at], 0, "colour \(colour) must not see colour \(input) of its pixel") }
                for later in (at + 1)..<plane { XCTAssertEqual(g[input * plane + later], 0) }
            }
            XCTAssertGreaterThan(g[at - 1], 0, "the pixel to the left")
        }
    }

    /// Gated PixelCNN: exactly zero at (5, 2) and after, non-zero at every earlier pixel (the
    /// receptive field of three layers covers all of a 6 x 6 image above and left): no blind spot.
    func testGatedPixelCNNIsCausalWithoutABlindSpot() {
        for (classes, maps) in [(0, 0), (3, 0), (3, 2)] {
            let m = model("gated-pixelcnn", options { $0.layers = 3; $0.firstKernel = 5; $0.classes = classes; $0.labelMaps = maps })
            let g = inputGradient(m, output: 0, row: 5, col: 2, labels: classes > 0 ? [1] : nil)
            let target = 5 * 6 + 2
            for index in 0..<36 {
                if index < target { XCTAssertGreaterThan(g[index], 0, "pixel \(index / 6),\(index % 6) is before (5, 2) but unseen") }
                else { XCTAssertEqual(g[index], 0, "pixel \(index / 6),\(index % 6) is not before (5, 2)") }
            }
        }
    }

    /// Row LSTM: nothing at or after (3, 3) reaches its logit; the pixels to the left and the
    /// triangle above do (row 2 up to column 4, row 1 up to column 5), but not (2, 5): the
    /// triangular context of §3.1.
    func testRowLSTMIsCausal() {
        let m = model("row-lstm", options())
        let g = inputGradient(m, output: 0, row: 3, col: 3)
        for index in (3 * 6 + 3)..<36 { XCTAssertEqual(g[index], 0, "pixel \(index / 6),\(index % 6) is not before (3, 3)") }
        for (r, c) in [(3, 2), (3, 0), (2, 3), (2, 4), (1, 5), (0, 0)] { XCTAssertGreaterThan(g[r * 6 + c], 0, "(\(r), \(c))") }
        XCTAssertEqual(g[2 * 6 + 5], 0, "outside the triangle")
    }

    /// A wider row kernel (`--row-kernel`) widens the triangle: with one layer after a 3x3 mask A,
    /// (3, 3) sees row 2 up to column 4 (the mask's reach) either way, and row 1 up to column 5
    /// with k = 3 but up to 6 with k = 5, the state-to-state kernel reaching one column further
    /// per row; never anything at or after itself.
    func testAWiderRowKernelWidensTheTriangle() {
        for (k, seen, unseen) in [(3, [(3, 2), (2, 4), (1, 5)], [(2, 5), (1, 6)]), (5, [(3, 1), (2, 4), (1, 6)], [(2, 5), (1, 7)])] {
            let m = model("row-lstm", options { $0.rowKernel = k; $0.layers = 1 }, imageShape: [1, 6, 8])
            let g = inputGradient(m, output: 0, row: 3, col: 3)
            for index in (3 * 8 + 3)..<48 { XCTAssertEqual(g[index], 0, "k \(k): pixel \(index / 8),\(index % 8) is not before (3, 3)") }
            for (r, c) in seen { XCTAssertGreaterThan(g[r * 8 + c], 0, "k \(k): (\(r), \(c))") }
            for (r, c) in unseen { XCTAssertEqual(g[r * 8 + c], 0, "k \(k): (\(r), \(c)) is outside the triangle") }
        }
    }

    /// Diagonal BiLSTM: one layer already sees every earlier pixel of a 6 x 6 image and nothing
    /// at or after (3, 2), the right-to-left direction included (it is shifted down a row).
    func testDiagonalBiLSTMIsCausalWithoutABlindSpot() {
        let m = model("diagonal-bilstm", options { $0.layers = 1 })
        let g = inputGradient(m, output: 0, row: 3, col: 2)
        for index in 0..<36 {
            if index < 3 * 6 + 2 { XCTAssertGreaterThan(g[index], 0, "pixel \(index / 6),\(index % 6) is before (3, 2) but unseen") }
            else { XCTAssertEqual(g[index], 0, "pixel \(index / 6),\(index % 6) is not before (3, 2)") }
        }
    }

    /// The conditional model's output depends on the label; the same image under two labels
    /// gets two likelihoods.
    func testLabelsReachTheGates() {
        let m = model("gated-pixelcnn", options { $0.classes = 3 })
        var rng = RandomGenerator(seed: 4)
        let x = Tensor.bernoulli([2, 1, 6, 6], probability: 0.5, generator: &rng)
        let a = m.logLikelihood(x, labels: [0, 0]).scalars, b = m.logLikelihood(x, labels: [2, 2]).scalars
        XCTAssertNotEqual(a, b)
    }

    /// A label map conditions by position: with one, the label changes the first pixel's
    /// logit by different amounts at different pixels of an empty image; and the options refuse
    /// a label map without labels.
    func testLabelMapsConditionByPosition() throws {
        let m = model("gated-pixelcnn", options { $0.classes = 3; $0.labelMaps = 2; $0.layers = 0; $0.firstKernel = 1 })
        let x = Tensor.zeros([1, 1, 6, 6])
        let shift = (m.network(x, labels: [2]) - m.network(x, labels: [0])).scalars
        // One 1x1 layer over a constant image: without a map, positions differ only by whether
        // the shifts bring in padding (first row, first column): at most 4 values.
        XCTAssertGreaterThan(Set(shift.map { ($0 * 1e4).rounded() }).count, 30, "the label's pull is the same everywhere")
        let plain = model("gated-pixelcnn", options { $0.classes = 3; $0.layers = 0; $0.firstKernel = 1 })
        let constant = (plain.network(x, labels: [2]) - plain.network(x, labels: [0])).scalars
        XCTAssertLessThanOrEqual(Set(constant.map { ($0 * 1e4).rounded() }).count, 4)
        let gated = try XCTUnwrap(ModelRegistry.entries.first { $0.name == "gated-pixelcnn" })
        XCTAssertThrowsError(try gated.options(["--label-maps", "2"])) { XCTAssert("\($0)".contains("--classes"), "\($0)") }
        XCTAssertNoThrow(try gated.options(["--label-maps", "2", "--classes", "3"]))
    }

    /// log p(x) against sums taken by hand over the network's own logits: Bernoulli
    /// -softplus(-l) / -softplus(l) per pixel, and log softmax over 256 values at each pixel's
    /// value, in Double, with the logits read in the network's layout.
    func testLogLikelihoodKnownAnswers() {
        var rng = RandomGenerator(seed: 7)
        let binary = model("pixelcnn", options())
        let x = Tensor.bernoulli([2, 1, 6, 6], probability: 0.4, generator: &rng)
        let l = binary.network(x, labels: nil).scalars, xs = x.scalars
        for image in 0..<2 {
            var expected = 0.0
            for i in 0..<36 {
                let logit = Double(l[image * 36 + i])
                expected -= xs[image * 36 + i] == 1 ? Foundation.log1p(Foundation.exp(-logit)) : Foundation.log1p(Foundation.exp(logit))
            }
            XCTAssertEqual(Double(binary.logLikelihood(x).scalars[image]), expected, accuracy: 1e-3)
        }
        let eightBit = model("gated-pixelcnn", options { $0.likelihood = .categorical }, imageShape: [1, 4, 4])
        let values = (0..<32).map { _ in rng.nextInt(below: 256) }
        let images = Tensor(shape: [2, 1, 4, 4], scalars: values.map { Float($0) / 255 })
        let logits = eightBit.network(images, labels: nil).scalars   // [2, 256, 4, 4]
        for image in 0..<2 {
            var expected = 0.0
            for pixel in 0..<16 {
                let row = (0..<256).map { Double(logits[(image * 256 + $0) * 16 + pixel]) }
                let top = row.max()!
                let logNormaliser = top + Foundation.log(row.reduce(0) { $0 + Foundation.exp($1 - top) })
                expected += row[values[image * 16 + pixel]] - logNormaliser
            }
            XCTAssertEqual(Double(eightBit.logLikelihood(images).scalars[image]), expected, accuracy: 1e-2)
        }
    }

    /// With the output layer zeroed every value is equally likely: log p(x) = -D log 2 (binary)
    /// and -D log 256 (8-bit), whatever the image.
    func testUniformModelsGiveTheCountingLikelihood() {
        for (name, likelihood) in [("pixelcnn", PixelLikelihood.bernoulli), ("gated-pixelcnn", .categorical)] {
            let m = model(name, options { $0.likelihood = likelihood })
            let last = m.network.parameters().suffix(2)   // the head's last weight and bias
            withoutGradients { for p in last { p.assign(Tensor.zeros(p.value.shape)) } }
            var rng = RandomGenerator(seed: 8)
            let values = Tensor.uniform([3, 1, 6, 6], generator: &rng).scalars
            let images = Tensor(shape: [3, 1, 6, 6], scalars: values.map { likelihood == .bernoulli ? ($0 < 0.5 ? 0 : 1) : ($0 * 255).rounded() / 255 })
            for value in m.logLikelihood(images).scalars {
                XCTAssertEqual(Double(value), -36 * Foundation.log(likelihood == .bernoulli ? 2 : 256), accuracy: 1e-3)
            }
        }
    }

    /// Learning: 8 x 8 images whose columns are each all black or all white. Only the first row
    /// is uncertain (8 bits, 5.55 nats); every network gets from 44 nats (uniform) to near that.
    func testEveryNetworkLearnsColumnImages() throws {
        var rng = RandomGenerator(seed: 11)
        func columns(_ n: Int) -> Tensor {
            var pixels = [Float](repeating: 0, count: n * 64)
            for image in 0..<n {
                for c in 0..<8 where rng.nextUniform() < 0.5 { for r in 0..<8 { pixels[image * 64 + r * 8 + c] = 1 } }
            }
            return Tensor(shape: [n, 1, 8, 8], scalars: pixels)
        }
        for name in ["pixelcnn", "gated-pixelcnn", "row-lstm", "diagonal-bilstm"] {
            let m = model(name, options { $0.features = 16; $0.learningRate = 3e-3 }, imageShape: [1, 8, 8], seed: 2)
            for step in 0..<300 { _ = m.trainStep(Batch(images: columns(32), labels: nil, indices: Array(0..<32)), generator: &rng); _ = step }
            let nll = -Double(m.logLikelihood(columns(200)).mean().scalar)
            XCTAssertLessThan(nll, 9, "\(name): \(nll) nats; the first row alone costs 5.55")
            XCTAssertGreaterThan(nll, 5.0, "\(name) cannot know the first row")
        }
    }

    /// Sampling passes only the rows drawn so far: each network's outputs for the top rows of an
    /// image are those of the whole image (to BLAS's rounding, which varies with the width).
    func testTopRowsAloneGiveTheirOwnOutputs() {
        for name in ["pixelcnn", "gated-pixelcnn", "row-lstm", "diagonal-bilstm"] {
            let m = model(name, options())
            let x = randomTensor([2, 1, 6, 6], seed: 4).sigmoid()
            let full = m.network(x, labels: nil)
            for rows in [1, 4] {
                let top = m.network(x.sliced(axis: 2, 0..<rows), labels: nil)
                assertClose(top, full.sliced(axis: 2, 0..<rows).scalars, tolerance: 1e-5, "\(name), \(rows) rows")
            }
        }
    }

    /// Sampling is seeded, gives binary values, one class per row on request, and a reloaded
    /// checkpoint gives the same likelihoods and samples.
    func testSamplingIsSeededAndCheckpointsReload() throws {
        try assertSamplingIsSeededAndCheckpointsReload(labelMaps: 0)
        try assertSamplingIsSeededAndCheckpointsReload(labelMaps: 2)
    }

    func assertSamplingIsSeededAndCheckpointsReload(labelMaps: Int) throws {
        let m = model("gated-pixelcnn", options { $0.classes = 3; $0.labelMaps = labelMaps })
        var a = RandomGenerator(seed: 5), b = RandomGenerator(seed: 5)
        let first = m.sample(labels: [0, 1, 2], count: 3, generator: &a)
        XCTAssertEqual(first.shape, [3, 1, 6, 6])
        XCTAssertEqual(first.scalars, m.sample(labels: [0, 1, 2], count: 3, generator: &b).scalars)
        XCTAssertTrue(first.scalars.allSatisfy { $0 == 0 || $0 == 1 })
        try Checkpoint.save(m, config: PixelCNNOptions(), to: root)
        let reloaded = model("gated-pixelcnn", options { $0.classes = 3; $0.labelMaps = labelMaps }, seed: 99)
        try Checkpoint.load(reloaded, from: root)
        XCTAssertEqual(reloaded.logLikelihood(first, labels: [0, 1, 2]).scalars, m.logLikelihood(first, labels: [0, 1, 2]).scalars)
        var c = RandomGenerator(seed: 5)
        XCTAssertEqual(reloaded.sample(labels: [0, 1, 2], count: 3, generator: &c).scalars, first.scalars)
    }
}
