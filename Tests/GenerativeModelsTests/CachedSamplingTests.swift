import XCTest
@testable import GenerativeModels
import NeuralNetwork
import TensorEngine

/// The cached sampler against the naive one: from the same random stream, exactly the same
/// images and the same number of draws; every conditional it uses equal (to float tolerance) to
/// the network's full pass over the finished images (where a conditional sees only its past, so
/// it is the one the naive sampler used); and the same images again when every cached map starts
/// as NaN (so nothing not yet drawn, or not yet computed, is ever read). Small random networks
/// with every layer type; non-square images, so rows and columns cannot be confused.
final class CachedSamplingTests: XCTestCase {
    func options(_ likelihood: PixelLikelihood, features: Int = 8, layers: Int = 2, firstKernel: Int = 5, classes: Int = 0) -> PixelCNNOptions {
        var o = PixelCNNOptions()
        (o.features, o.layers, o.firstKernel, o.likelihood, o.classes, o.components) = (features, layers, firstKernel, likelihood, classes, 3)
        return o
    }

    func model(_ name: String, _ o: PixelCNNOptions, imageShape: [Int], seed: UInt64 = 1) -> AutoregressiveModel {
        var rng = RandomGenerator(seed: seed)
        let c = imageShape[0]
        let network: any PixelNetwork = switch name {
        case "pixelcnn": PixelCNNNetwork(o, channels: c, generator: &rng)
        case "gated-pixelcnn": GatedPixelCNNNetwork(o, imageShape: imageShape, generator: &rng)
        case "row-lstm": PixelRNNNetwork(.row, o, channels: c, generator: &rng)
        case "diagonal-bilstm": PixelRNNNetwork(.diagonalBidirectional, o, channels: c, generator: &rng)
        default: PixelCNNPlusPlusNetwork(o, channels: c, generator: &rng)
        }
        let m = AutoregressiveModel(network: network, likelihood: o.likelihood, imageShape: imageShape, classes: o.classes,
                                    components: o.components, learningRate: o.learningRate)
        m.eval()
        return m
    }

    /// Naive and cached (plain and poisoned) draw the same images; the cached conditionals are
    /// the full pass's. Returns the images, for tests that look further.
    @discardableResult
    func assertSameDraws(_ m: AutoregressiveModel, labels: [Int]? = nil, count: Int = 3, seed: UInt64 = 7,
                         file: StaticString = #filePath, line: UInt = #line) -> Tensor {
        var (a, b, c) = (RandomGenerator(seed: seed), RandomGenerator(seed: seed), RandomGenerator(seed: seed))
        let naive = m.sample(labels: labels, count: count, sampler: .naive, generator: &a)
        var seen: [(position: Int, channel: Int, values: Tensor)] = []
        let cached = m.cachedSample(labels: labels, count: count, generator: &b) { seen.append(($0, $1, $2)) }
        let poisoned = m.cachedSample(labels: labels, count: count, generator: &c, poisoned: true)
        XCTAssertEqual(cached.scalars, naive.scalars, "cached and naive images differ", file: file, line: line)
        XCTAssertEqual(poisoned.scalars, naive.scalars, "the poisoned cache read something not yet drawn", file: file, line: line)
        XCTAssertEqual(b, a, "the samplers took different numbers of draws", file: file, line: line)
        XCTAssertEqual(c, a, file: file, line: line)
        // Not a degenerate test: the images vary.
        XCTAssertGreaterThan(Set(naive.scalars).count, 1, "every value drawn alike", file: file, line: line)

        let (channels, h, w) = (m.imageShape[0], m.imageShape[1], m.imageShape[2])
        let mixture = m.likelihood == .logisticMixture
        let full = withoutGradients { mixture ? m.network(naive, labels: nil) : m.logits(naive, labels: labels) }.scalars
        let perImage = full.count / count, plane = h * w
        XCTAssertEqual(seen.count, plane * (mixture ? 1 : channels), file: file, line: line)
        var worst: Float = 0
        for (position, channel, values) in seen {
            let v = values.scalars, perValue = values.shape[1]
            for image in 0..<count {
                for k in 0..<perValue {
                    // [N, C, levels, H, W] (or [N, P, H, W]): value k of this colour at this position.
                    let expected = full[image * perImage + (channel * perValue + k) * plane + position]
                    worst = max(worst, abs(v[image * perValue + k] - expected) / max(1, abs(expected)))
                }
            }
        }
        XCTAssertLessThan(worst, 1e-4, "the cached conditionals differ from the full pass's", file: file, line: line)
        return naive
    }

    func testPixelCNNGrey() {
        assertSameDraws(model("pixelcnn", options(.bernoulli), imageShape: [1, 5, 7]))
        assertSameDraws(model("pixelcnn", options(.categorical), imageShape: [1, 6, 5]))
    }

    func testPixelCNNColourRedGreenBlue() {
        assertSameDraws(model("pixelcnn", options(.categorical, features: 12), imageShape: [3, 5, 6]))
        assertSameDraws(model("pixelcnn", options(.bernoulli, features: 6), imageShape: [3, 6, 5]))
    }

    func testGatedPixelCNN() {
        assertSameDraws(model("gated-pixelcnn", options(.bernoulli, layers: 3), imageShape: [1, 6, 7]))
        assertSameDraws(model("gated-pixelcnn", options(.categorical, features: 12), imageShape: [3, 5, 6]))
        assertSameDraws(model("gated-pixelcnn", options(.bernoulli, features: 6, layers: 3), imageShape: [3, 6, 5]))
    }

    func testClassConditionalGatedPixelCNN() {
        let labels = [2, 0, 1]
        let m = model("gated-pixelcnn", options(.bernoulli, layers: 3, classes: 3), imageShape: [1, 6, 7])
        assertSameDraws(m, labels: labels)
        assertSameDraws(model("gated-pixelcnn", options(.categorical, features: 12, classes: 3), imageShape: [3, 5, 6]), labels: labels)
        // With label maps (the location-dependent conditioning), grey and colour.
        var mapped = options(.bernoulli, layers: 3, classes: 3)
        mapped.labelMaps = 2
        assertSameDraws(model("gated-pixelcnn", mapped, imageShape: [1, 6, 7]), labels: labels)
        var colourMapped = options(.categorical, features: 12, classes: 3)
        colourMapped.labelMaps = 3
        assertSameDraws(model("gated-pixelcnn", colourMapped, imageShape: [3, 5, 6]), labels: labels)
        // The labels reach the cached sampler: other labels, other conditionals (at the first
        // pixel, the labels are all there is).
        func first(_ labels: [Int]) -> [Float] {
            var generator = RandomGenerator(seed: 7), seen: [Float] = []
            _ = m.cachedSample(labels: labels, count: 3, generator: &generator) { if $0 == 0 { seen = $2.scalars } }
            return seen
        }
        let (a, b) = (first(labels), first([1, 2, 0]))
        XCTAssertEqual(a.count, 3)
        XCTAssertGreaterThan(zip(a, b).map { abs($0 - $1) }.max() ?? 0, 1e-3)
    }

    func testRowLSTM() {
        assertSameDraws(model("row-lstm", options(.bernoulli), imageShape: [1, 5, 7]))
        assertSameDraws(model("row-lstm", options(.categorical, layers: 1, firstKernel: 3), imageShape: [1, 6, 5]))
        var wide = options(.bernoulli)
        wide.rowKernel = 5
        assertSameDraws(model("row-lstm", wide, imageShape: [1, 5, 7]))
    }

    func testRowLSTMColourRedGreenBlue() {
        assertSameDraws(model("row-lstm", options(.categorical, features: 12), imageShape: [3, 5, 6]))
        var wide = options(.bernoulli, features: 6, firstKernel: 3)
        wide.rowKernel = 5
        assertSameDraws(model("row-lstm", wide, imageShape: [3, 6, 5]))
    }

    func testDiagonalBiLSTM() {
        assertSameDraws(model("diagonal-bilstm", options(.bernoulli), imageShape: [1, 5, 7]))
        assertSameDraws(model("diagonal-bilstm", options(.categorical, layers: 1, firstKernel: 3), imageShape: [1, 7, 4]))
    }

    func testDiagonalBiLSTMColourRedGreenBlue() {
        assertSameDraws(model("diagonal-bilstm", options(.categorical, features: 12), imageShape: [3, 5, 6]))
        assertSameDraws(model("diagonal-bilstm", options(.bernoulli, features: 6, firstKernel: 3), imageShape: [3, 6, 4]))
    }

    func testPixelCNNPlusPlusGrey() {
        assertSameDraws(model("pixelcnn++", options(.logisticMixture, layers: 1), imageShape: [1, 8, 12]))
    }

    func testPixelCNNPlusPlusColour() {
        assertSameDraws(model("pixelcnn++", options(.logisticMixture, layers: 2), imageShape: [3, 8, 8]))
    }

    /// The default sampler is the cached one, and `sample(count:)` draws what it draws.
    func testCachedIsTheDefault() {
        let m = model("pixelcnn", options(.bernoulli), imageShape: [1, 4, 4])
        var (a, b) = (RandomGenerator(seed: 3), RandomGenerator(seed: 3))
        XCTAssertEqual(m.sample(count: 2, generator: &a).scalars, m.cachedSample(labels: nil, count: 2, generator: &b).scalars)
        XCTAssertEqual(PixelSampler.allCases.map(\.rawValue), ["cached", "naive"])
    }

    /// The bench's PixelCNN (a plain `Sequential` of masked convolutions) through its graph gives
    /// the network's own outputs at every position.
    func testMaskedStackGivesTheNetworksOutputs() {
        var rng = RandomGenerator(seed: 5)
        let net = Sequential(MaskedConv2d(.a, 1, 8, kernel: 5, generator: &rng), Function.relu(),
                             MaskedConv2d(.b, 8, 8, kernel: 3, generator: &rng), Function.relu(), Conv2d(8, 1, kernel: 1, generator: &rng))
        let x = Tensor.bernoulli([2, 1, 5, 6], probability: 0.5, generator: &rng)
        let full = withoutGradients { net(x) }.scalars, pixels = x.scalars
        let graph = SamplingGraph.maskedStack(net, images: 2, height: 5, width: 6)
        for position in 0..<30 {
            graph.advance(drawn: position)
            let out = graph.outputs(at: position).scalars
            for image in 0..<2 {
                XCTAssertEqual(out[image], full[image * 30 + position], accuracy: 1e-4)
                graph.write(image: image, position: position, channel: 0, value: pixels[image * 30 + position])
            }
        }
    }
}
