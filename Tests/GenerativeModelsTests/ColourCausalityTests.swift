import TestSupport
import XCTest
@testable import GenerativeModels
import Datasets
import NeuralNetwork
import TensorEngine

/// p(x_i) = p(R) p(G | R) p(B | R, G) in every autoregressive model: the gradient of the
/// output for (pixel i, colour c) with respect to every input at or after (i, c) in the order
/// (pixels in raster order, colours within a pixel) is exactly zero, and with respect to the
/// colours before c at pixel i, and to the pixel before i, it is not. Grey and RGB images;
/// PixelCNN++'s output for a colour is its logistics' means, conditioned on the colours before.
final class ColourCausalityTests: XCTestCase {
    static let softmaxModels = ["pixelcnn", "gated-pixelcnn", "row-lstm", "diagonal-bilstm"]

    func network(_ name: String, channels: Int, likelihood: PixelLikelihood, seed: UInt64 = 0) -> any PixelNetwork {
        var o = PixelCNNOptions()
        (o.features, o.layers, o.firstKernel, o.likelihood, o.components, o.dropout) = (24, 2, 3, likelihood, 2, 0)
        var rng = RandomGenerator(seed: seed)
        switch name {
        case "pixelcnn": return PixelCNNNetwork(o, channels: channels, generator: &rng)
        case "gated-pixelcnn": return GatedPixelCNNNetwork(o, imageShape: [channels, 6, 6], generator: &rng)
        case "row-lstm": return PixelRNNNetwork(.row, o, channels: channels, generator: &rng)
        case "diagonal-bilstm": return PixelRNNNetwork(.diagonalBidirectional, o, channels: channels, generator: &rng)
        default: return PixelCNNPlusPlusNetwork(o, channels: channels, generator: &rng)
        }
    }

    /// |d output(colour, row, col) / d input| for every input value, [C, H, W] flattened.
    func inputGradient(_ name: String, shape: [Int], likelihood: PixelLikelihood, colour: Int, row: Int, col: Int) -> [Float] {
        let net = network(name, channels: shape[0], likelihood: likelihood)
        let x = randomTensor([1] + shape, seed: 3).sigmoid().requiringGradient()
        let out = net(x, labels: nil)
        let picked: Tensor
        if likelihood == .logisticMixture {
            let (_, raw, _, coefficients) = DiscretizedLogisticMixture.split(out, components: 2, channels: shape[0])
            let means = DiscretizedLogisticMixture.conditionedMeans(raw, coefficients: coefficients, scaledImages: x * 2 - 1)
            picked = means.sliced(starts: [0, colour, 0, row, col], sizes: [1, 1, 2, 1, 1]).sum()
        } else {
            // One value's logit of this colour (the 8th of 256, or the Bernoulli logit).
            let channel = colour * likelihood.levels + min(7, likelihood.levels - 1)
            picked = out.sliced(starts: [0, channel, row, col], sizes: [1, 1, 1, 1]).sum()
        }
        return gradients(of: picked, wrt: [x])[0].scalars.map(abs)
    }

    /// At every pixel of a small image (the first has nothing before it), and for every colour.
    func assertCausal(_ name: String, shape: [Int], likelihood: PixelLikelihood, file: StaticString = #filePath, line: UInt = #line) {
        let (c, h, w) = (shape[0], shape[1], shape[2]), plane = h * w
        var (neighbours, unseen) = (0, 0)
        defer {
            // Not a network that sees nothing: the neighbours' colours reach the outputs (a few
            // paths may pass only through ReLUs that are off for this input).
            XCTAssertLessThan(Double(unseen), 0.05 * Double(neighbours), "\(name) \(shape): \(unseen) of \(neighbours) neighbours unseen", file: file, line: line)
        }
        for here in 1..<plane {
            let (row, col) = (here / w, here % w)
            for colour in 0..<c {
                let g = inputGradient(name, shape: shape, likelihood: likelihood, colour: colour, row: row, col: col)
                var leaks: [String] = []
                for input in 0..<c {
                    for position in 0..<plane where position > here || (position == here && input >= colour) {
                        if g[input * plane + position] != 0 { leaks.append("colour \(input) at (\(position / w), \(position % w))") }
                    }
                    if input < colour {
                        XCTAssertGreaterThan(g[input * plane + here], 0, "\(name) \(shape): colour \(colour) at (\(row), \(col)) must see colour \(input) of its pixel", file: file, line: line)
                    }
                    let neighbour = col > 0 ? here - 1 : here - w // to the left, or above
                    (neighbours, unseen) = (neighbours + 1, unseen + (g[input * plane + neighbour] == 0 ? 1 : 0))
                }
                XCTAssertEqual(leaks, [], "\(name) \(shape): colour \(colour) at (\(row), \(col)) sees", file: file, line: line)
            }
        }
    }

    func testSoftmaxModelsGrey() {
        for name in Self.softmaxModels {
            assertCausal(name, shape: [1, 5, 6], likelihood: .bernoulli)
            assertCausal(name, shape: [1, 5, 6], likelihood: .categorical)
        }
    }

    func testSoftmaxModelsRedGreenBlue() {
        for name in Self.softmaxModels {
            assertCausal(name, shape: [3, 5, 6], likelihood: .categorical)
            assertCausal(name, shape: [3, 5, 6], likelihood: .bernoulli)
        }
    }

    func testPixelCNNPlusPlus() {
        assertCausal("pixelcnn++", shape: [1, 8, 8], likelihood: .logisticMixture)
        assertCausal("pixelcnn++", shape: [3, 8, 8], likelihood: .logisticMixture)
    }

    /// Colour images whose three colours are equal at every pixel, each pixel an independent
    /// coin: 1 bit per pixel, and 3 if colours were predicted independently of each other. Every
    /// model, trained briefly, gets well below 2 bits: it reads red before green and blue.
    func testEveryModelLearnsThatTheColoursAgree() {
        var rng = RandomGenerator(seed: 12)
        func images(_ n: Int) -> Tensor {
            var pixels = [Float](repeating: 0, count: n * 3 * 16)
            for image in 0..<n {
                for p in 0..<16 where rng.nextUniform() < 0.5 { for c in 0..<3 { pixels[(image * 3 + c) * 16 + p] = 1 } }
            }
            return Tensor(shape: [n, 3, 4, 4], scalars: pixels)
        }
        for name in Self.softmaxModels {
            let net = network(name, channels: 3, likelihood: .bernoulli, seed: 2)
            let m = AutoregressiveModel(network: net, likelihood: .bernoulli, imageShape: [3, 4, 4], learningRate: 1e-2)
            for _ in 0..<150 { _ = m.trainStep(Batch(images: images(32), labels: nil, indices: Array(0..<32)), generator: &rng) }
            let bitsPerPixel = -Double(m.logLikelihood(images(200)).mean().scalar) / 16 / log(2)
            XCTAssertLessThan(bitsPerPixel, 1.5, "\(name): \(bitsPerPixel) bits per pixel; 1 is the entropy, 3 without colour order")
        }
    }

    /// Features that do not split into colour groups are refused with the nearest valid values;
    /// grey images take any even width.
    func testFeaturesMustSplitIntoColourGroups() throws {
        var o = PixelCNNOptions()
        o.features = 64
        let checks: [(String, (PixelCNNOptions, [Int]) throws -> Void)] = [
            ("pixelcnn", { try PixelCNN.check($0, imageShape: $1) }),
            ("gated-pixelcnn", { try GatedPixelCNN.check($0, imageShape: $1) }),
            ("row-lstm", { try RowLSTM.check($0, imageShape: $1) }),
            ("diagonal-bilstm", { try DiagonalBiLSTM.check($0, imageShape: $1) })
        ]
        for (name, check) in checks {
            XCTAssertThrowsError(try check(o, [3, 8, 8]), name) { error in
                XCTAssert("\(error)".contains("\(name) splits its 64 features") && "\(error)".contains("multiple of 6: 60 or 66"), "\(error)")
            }
            XCTAssertNoThrow(try check(o, [1, 8, 8]), name)
            var six = o
            six.features = 6
            XCTAssertNoThrow(try check(six, [3, 8, 8]), name)
        }
        o.features = 4
        XCTAssertThrowsError(try PixelCNN.check(o, imageShape: [3, 8, 8])) { XCTAssert("\($0)".contains("multiple of 6: 6"), "\($0)") }
    }

    /// A Bernoulli model takes binary pixels only: 8-bit data is refused with what to use instead.
    func testBernoulliRefusesDataThatIsNotBinary() throws {
        let binary = ByteImageDataset(name: "binary", pixels: (0..<128).map { $0 % 3 == 0 ? 255 : 0 }, imageShape: [1, 4, 4], labels: nil)
        let grey = ByteImageDataset(name: "grey", pixels: (0..<128).map { UInt8($0) }, imageShape: [1, 4, 4], labels: nil)
        let bernoulli = PixelModelOptions<PixelCNN>()
        XCTAssertNoThrow(try bernoulli.adapted(to: binary))
        XCTAssertThrowsError(try bernoulli.adapted(to: grey)) { XCTAssert("\($0)".contains("--likelihood categorical"), "\($0)") }
        var categorical = bernoulli
        categorical.likelihood = .categorical
        XCTAssertNoThrow(try categorical.adapted(to: grey))
    }
}
