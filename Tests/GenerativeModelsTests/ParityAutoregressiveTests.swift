import Foundation
import XCTest
@testable import GenerativeModels
import Datasets
import NeuralNetwork
import TensorEngine

/// One training step against PyTorch's, for every autoregressive model. The fixtures
/// (scripts/torch/autoregressive_reference.py, from the PyTorch twins scripts/torch/pixelcnn.py
/// and pixelcnnpp.py) hold a tiny model's weights under our names, one batch (with its labels,
/// or PixelCNN++'s dropout masks), and what PyTorch computes from them in float64: the loss,
/// -log p(x) in nats per image averaged over the batch, and its gradient for every parameter.
/// Our model loads the weights and runs `AutoregressiveModel.loss`, the function `trainStep`
/// minimises; the loss must agree to 1e-5 relative and every gradient element to
/// 1e-4 * max(1, |reference|). PixelCNN++ (sixteen weight-normalised blocks and the logistic
/// bins' differences of sigmoids, where float32 itself strays by some 1e-4 from float64) is held
/// to the norm of each gradient tensor instead: |ours - reference| <= 1e-4 |reference| + 1e-6
/// |all gradients|, as the StyleGAN reference test. A mask shifted by a pixel, a colour group
/// swapped, a logistic bin edge moved or a wrong gate changes these numbers far beyond that.
final class ParityAutoregressiveTests: XCTestCase {
    struct Fixture {
        let tensors: [String: Tensor]
        let metadata: [String: String]
        subscript(_ name: String) -> Tensor? { tensors[name] }
        func int(_ key: String) -> Int? { metadata[key].flatMap { Int($0) } }
    }

    func fixture(_ name: String) throws -> Fixture {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/parity-\(name).safetensors", withExtension: nil), name)
        let file = try SafeTensors.read(from: url)
        return Fixture(tensors: Dictionary(uniqueKeysWithValues: file.tensors.map { ($0.name, $0.tensor) }), metadata: file.metadata)
    }

    /// The fixture's model as the catalogue builds it, with the fixture's weights.
    func model(_ f: Fixture) throws -> AutoregressiveModel {
        var o = PixelCNNOptions()
        o.features = try XCTUnwrap(f.int("features"))
        o.layers = try XCTUnwrap(f.int("layers"))
        o.firstKernel = f.int("firstKernel") ?? o.firstKernel
        o.likelihood = try XCTUnwrap(f.metadata["likelihood"].flatMap(PixelLikelihood.init(rawValue:)))
        o.classes = f.int("classes") ?? 0
        o.labelMaps = f.int("labelMaps") ?? 0
        o.components = f.int("components") ?? o.components
        o.dropout = f.metadata["dropout"].flatMap { Float($0) } ?? o.dropout
        let images = try XCTUnwrap(f["images"])
        let imageShape = Array(images.shape.dropFirst())
        XCTAssertEqual(imageShape[0], f.int("channels"))
        var rng = RandomGenerator(seed: 0)
        let network: any PixelNetwork
        switch f.metadata["model"] {
        case "pixelcnn": network = PixelCNNNetwork(o, channels: imageShape[0], generator: &rng)
        case "gated-pixelcnn": network = GatedPixelCNNNetwork(o, imageShape: imageShape, generator: &rng)
        case "row-lstm": network = PixelRNNNetwork(.row, o, generator: &rng)
        case "diagonal-bilstm": network = PixelRNNNetwork(.diagonalBidirectional, o, generator: &rng)
        case "pixelcnn++": network = PixelCNNPlusPlusNetwork(o, channels: imageShape[0], generator: &rng)
        case let other: throw XCTSkip("unknown model \(other ?? "nil")")
        }
        let m = AutoregressiveModel(network: network, likelihood: o.likelihood, imageShape: imageShape, classes: o.classes,
                                    components: o.components, learningRate: o.learningRate)
        // Every parameter from the fixture (and nothing else in it); buffers as they are.
        let weights = f.tensors.filter { $0.key.hasPrefix("weights.") }.reduce(into: [String: Tensor]()) { $0[String($1.key.dropFirst(8))] = $1.value }
        XCTAssertEqual(Set(weights.keys), Set(m.namedParameters().map(\.name)), "the fixture's weights are the model's parameters")
        var state = Dictionary(uniqueKeysWithValues: m.stateDict().map { ($0.name, $0.tensor) })
        state.merge(weights) { $1 }
        try m.load(stateDict: state)
        return m
    }

    /// Worst relative errors seen, for the log.
    struct Agreement { var loss: Float = 0; var gradient: Float = 0; var gradientNorm: Float = 0 }

    /// Loads `name`, runs the training loss on its batch and compares loss and gradients.
    @discardableResult
    func check(_ name: String, elementwise: Bool = true, file: StaticString = #filePath, line: UInt = #line) throws -> Agreement {
        let f = try fixture(name)
        let m = try model(f)
        let images = f["images"]!
        let labels = f["labels"].map { $0.scalars.map { Int($0) } }
        let keep = f.tensors.filter { $0.key.hasPrefix("keep.") }.reduce(into: [String: Tensor]()) { $0[String($1.key.dropFirst(5))] = $1.value }
        let loss = m.loss(images, labels: labels, dropoutKeep: keep.isEmpty ? nil : keep)
        let wanted = f["loss"]!.scalar
        var agreement = Agreement()
        agreement.loss = abs(loss.scalar - wanted) / abs(wanted)
        XCTAssertLessThanOrEqual(agreement.loss, 1e-5, "\(name): loss \(loss.scalar), PyTorch \(wanted)", file: file, line: line)
        let parameters = m.namedParameters()
        let references = parameters.map { f["grad.\($0.name)"]! }
        let total = references.reduce(Float(0)) { $0 + $1.squared().sum().scalar }.squareRoot()
        for ((parameterName, _), (gradient, reference)) in zip(parameters, zip(gradients(of: loss, wrt: parameters.map(\.parameter.value)), references)) {
            XCTAssertEqual(gradient.shape, reference.shape, "\(name): gradient of \(parameterName)", file: file, line: line)
            let worst = zip(gradient.scalars, reference.scalars).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
            let error = (gradient - reference).squared().sum().scalar.squareRoot(), size = reference.squared().sum().scalar.squareRoot()
            agreement.gradient = max(agreement.gradient, worst)
            agreement.gradientNorm = max(agreement.gradientNorm, error / (size + 1e-2 * total))
            if elementwise {
                XCTAssertLessThanOrEqual(worst, 1e-4, "\(name): gradient of \(parameterName) (norm-relative \(error / size))", file: file, line: line)
            } else {
                XCTAssertLessThanOrEqual(error, 1e-4 * size + 1e-6 * total, "\(name): gradient of \(parameterName) (worst element \(worst))", file: file, line: line)
            }
        }
        // trainStep minimises this loss: it reports the same number before its update (PixelCNN++'s
        // own dropout draws differ from the fixture's masks, so not there).
        if keep.isEmpty {
            var rng = RandomGenerator(seed: 1)
            let figures = m.trainStep(Batch(images: images, labels: labels, indices: Array(0..<images.shape[0])), generator: &rng)
            XCTAssertEqual(figures["loss"]!, wanted, accuracy: 1e-5 * abs(wanted), "\(name): trainStep's loss", file: file, line: line)
        }
        print("parity \(name): loss \(loss.scalar) vs \(wanted), relative \(agreement.loss); worst gradient element \(agreement.gradient), worst |error| / (|reference| + 1% |all gradients|) \(agreement.gradientNorm)")
        return agreement
    }

    func testPixelCNNBernoulli() throws { try check("pixelcnn") }
    /// Colour groups in every mask and the 256-way softmax of each colour.
    func testPixelCNNCategoricalRGB() throws { try check("pixelcnn-categorical-rgb") }
    func testGatedPixelCNN() throws { try check("gated-pixelcnn") }
    /// The label embeddings inside both stacks' gates.
    func testGatedPixelCNNConditional() throws { try check("gated-pixelcnn-conditional") }
    /// And each class's learned map through a 1x1 convolution into every gate.
    func testGatedPixelCNNLabelMaps() throws { try check("gated-pixelcnn-label-maps") }
    func testRowLSTM() throws { try check("row-lstm") }
    func testDiagonalBiLSTM() throws { try check("diagonal-bilstm") }
    /// The discretised logistic mixture with the fixture's dropout masks in every gated block.
    func testPixelCNNPlusPlusGrey() throws { try check("pixelcnnpp", elementwise: false) }
    /// The colour mixture: green's and blue's means moved by red (and green) at the pixel.
    func testPixelCNNPlusPlusRGB() throws { try check("pixelcnnpp-rgb", elementwise: false) }

    /// The explicit masks are the whole of the randomness: the same masks give the same loss
    /// twice, and other masks another loss.
    func testDropoutMasksAreExplicit() throws {
        let f = try fixture("pixelcnnpp")
        let m = try model(f)
        let keep = f.tensors.filter { $0.key.hasPrefix("keep.") }.reduce(into: [String: Tensor]()) { $0[String($1.key.dropFirst(5))] = $1.value }
        let a = m.loss(f["images"]!, labels: nil, dropoutKeep: keep).scalar
        let b = m.loss(f["images"]!, labels: nil, dropoutKeep: keep).scalar
        XCTAssertEqual(a, b)
        var flipped = keep
        flipped["up_down.0"] = 1 - keep["up_down.0"]!
        XCTAssertNotEqual(m.loss(f["images"]!, labels: nil, dropoutKeep: flipped).scalar, a, "the masks reach the blocks")
    }
}
