import Foundation
import XCTest
@testable import GenerativeModels
import Datasets
import NeuralNetwork
import TensorEngine
import TestSupport

/// One full training step of Pix2Pix and of CycleGAN against PyTorch: scripts/torch/translation_reference.py
/// builds both from the papers in PyTorch (16 px RGB, 2 features, batch 2), and stores the weights under
/// our names, the batch with its randomness, every loss term and each player's gradients. Here the
/// weights go into our models, the step trainStep takes runs on that batch (the optimizers' gradients
/// are recorded on their way to the update), and the numbers must agree: losses to a relative 1e-5,
/// every gradient element within 1e-4 * max(1, |torch|) and every gradient tensor within 1e-4 of its norm.
final class ParityTranslationTests: XCTestCase {
    func fixture(_ name: String) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        let url = Bundle.module.url(forResource: "Fixtures/\(name).safetensors", withExtension: nil)!
        let file = try SafeTensors.read(from: url)
        return (Dictionary(uniqueKeysWithValues: file.tensors.map { ($0.name, $0.tensor) }), file.metadata)
    }

    /// Every parameter of `module` from "weights.<prefix>.<name>", which must name no others.
    func load(_ module: Module, _ prefix: String, from reference: [String: Tensor]) {
        let parameters = module.namedParameters()
        XCTAssertEqual(reference.keys.filter { $0.hasPrefix("weights.\(prefix).") }.count, parameters.count, "weights of \(prefix)")
        for (name, p) in parameters {
            guard let t = reference["weights.\(prefix).\(name)"] else { XCTFail("the fixture has no weights.\(prefix).\(name)"); continue }
            p.assign(t)
        }
    }

    func assertLoss(_ value: Float, _ wanted: Float, _ label: String, scale: Float? = nil) {
        let tolerance = 1e-5 * (scale ?? abs(wanted))
        print("parity \(label): deepgen \(value), torch \(wanted), relative difference \(abs(value - wanted) / abs(wanted))")
        XCTAssertLessThanOrEqual(abs(value - wanted), tolerance, "\(label): deepgen \(value), torch \(wanted)")
    }

    /// `gradients[i]` against "<label>.<names[i]>"; the fixture must hold no other gradients for `label`.
    /// A tensor that is zero in exact arithmetic (a bias before a normalisation) may be off by 1e-6 of
    /// the player's whole gradient.
    func assertGradients(_ gradients: [Tensor], _ names: [String], _ label: String, _ reference: [String: Tensor]) {
        XCTAssertEqual(gradients.count, names.count, label)
        XCTAssertEqual(reference.keys.filter { $0.hasPrefix("\(label).") }.count, names.count, "gradients of \(label)")
        let expected = names.map { reference["\(label).\($0)"] ?? Tensor.zeros([0]) }
        func norm(_ t: Tensor) -> Float { t.squared().sum().scalar.squareRoot() }
        let total = expected.reduce(Float(0)) { $0 + $1.squared().sum().scalar }.squareRoot()
        var worstElement: Float = 0, worstTensor: Float = 0
        for (name, (gradient, wanted)) in zip(names, zip(gradients, expected)) {
            guard gradient.shape == wanted.shape else { XCTFail("\(label): gradient of \(name) is \(gradient.shape), torch's \(wanted.shape)"); continue }
            let excess = zip(gradient.scalars, wanted.scalars).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
            let error = norm(gradient - wanted), size = norm(wanted)
            worstElement = max(worstElement, excess)
            if size > 1e-6 * total { worstTensor = max(worstTensor, error / size) }
            XCTAssertLessThanOrEqual(excess, 1e-4, "\(label): gradient of \(name), an element off by \(excess)")
            XCTAssertLessThanOrEqual(error, 1e-4 * size + 1e-6 * total, "\(label): gradient of \(name), off by \(error) of \(size)")
        }
        print("parity \(label) gradients: \(names.count) tensors, largest |a - b| / max(1, |b|) \(worstElement), largest norm-relative \(worstTensor)")
    }

    /// Pix2Pix: D's step on (x, y) against (x, G(x)), one Adam step, then G's GAN + 100 L1 loss against
    /// the stepped D, with PyTorch's dropout masks in the U-Net.
    func testPix2PixStepMatchesPyTorch() throws {
        let (reference, metadata) = try fixture("parity-pix2pix")
        let inputs = reference["inputs"]!, targets = reference["targets"]!
        var o = Pix2Pix.Options()
        o.features = Int(metadata["features"]!)!
        let imageShape = Array(inputs.shape.dropFirst())
        XCTAssertEqual(Pix2Pix.depth(o, imageShape: imageShape), Int(metadata["depth"]!))
        XCTAssertEqual(o.learningRate, Float(metadata["learning_rate"]!)!)
        var rng = RandomGenerator(seed: 0)
        let m = Pix2Pix(o, imageShape: imageShape, generator: &rng)
        let discriminator = try XCTUnwrap(m.discriminator)
        load(m.generator, "generator", from: reference)
        load(discriminator, "discriminator", from: reference)
        let masks = (0..<3).map { reference["dropout.\($0)"]! }
        let group = GradientRecorder()
        let figures = m.trainStep(
            Batch(images: inputs, labels: nil, targets: targets, indices: Array(0..<inputs.shape[0])), dropoutMasks: masks,
            group: group)
        let recorded = group.recorded
        XCTAssertEqual(recorded.count, 2, "D's update, then G's")
        guard recorded.count == 2 else { return }
        assertLoss(figures["loss_d"]!, reference["loss_d"]!.scalar, "pix2pix loss_d")
        assertLoss(figures["loss_g"]!, reference["loss_g"]!.scalar, "pix2pix loss_g")
        // Logged in [0, 1] units: half the L1 of images in [-1, 1].
        assertLoss(figures["l1"]! * 2, reference["l1"]!.scalar, "pix2pix l1")
        // The GAN term is what the total holds beyond the paper's lambda = 100 times the L1.
        assertLoss(figures["loss_g"]! - 100 * figures["l1"]! * 2, reference["gan_g"]!.scalar, "pix2pix gan_g", scale: max(1, figures["loss_g"]!))
        assertGradients(recorded[0], discriminator.namedParameters().map { "discriminator.\($0.name)" }, "loss_d", reference)
        assertGradients(recorded[1], m.generator.namedParameters().map { "generator.\($0.name)" }, "loss_g", reference)
        // G's loss was taken against D after its Adam step: the same weights as PyTorch's.
        var worst: Float = 0
        for (name, p) in discriminator.namedParameters() {
            guard let wanted = reference["stepped.discriminator.\(name)"] else { XCTFail("the fixture has no stepped.discriminator.\(name)"); continue }
            let excess = zip(p.value.scalars, wanted.scalars).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
            worst = max(worst, excess)
            XCTAssertLessThanOrEqual(excess, 1e-6, "D's \(name) after its Adam step")
        }
        print("parity pix2pix D after its step: largest |a - b| / max(1, |b|) \(worst)")
    }

    /// CycleGAN: both generators' loss (LSGAN, cycle 10, identity 5), then both critics' on the first
    /// step's fakes, which the empty histories pass through without drawing.
    func testCycleGANStepMatchesPyTorch() throws {
        let (reference, metadata) = try fixture("parity-cyclegan")
        let a = reference["a"]!, b = reference["b"]!
        var o = CycleGAN.Options()
        o.features = Int(metadata["features"]!)!
        o.residualBlocks = Int(metadata["residual_blocks"]!)!
        var rng = RandomGenerator(seed: 0)
        let m = CycleGAN(o, imageShape: Array(a.shape.dropFirst()), generator: &rng)
        for (module, prefix) in [(m.forward as Module, "forward"), (m.backward, "backward"), (m.criticA, "critic_a"), (m.criticB, "critic_b")] {
            load(module, prefix, from: reference)
        }
        let group = GradientRecorder()
        var step = StepContext(generator: RandomGenerator(seed: 1), group: group)
        let before = step.generator
        let figures = m.trainStep(Batch(images: a, labels: nil, targets: b, indices: Array(0..<a.shape[0])), context: &step)
        let recorded = group.recorded
        XCTAssertEqual(step.generator, before, "the empty histories pass the fakes on without drawing")
        XCTAssertEqual([m.historyA.count, m.historyB.count], [a.shape[0], b.shape[0]])
        XCTAssertEqual(recorded.count, 2, "G's update, then D's")
        guard recorded.count == 2 else { return }
        assertLoss(figures["loss_g"]!, reference["loss_g"]!.scalar, "cyclegan loss_g")
        assertLoss(figures["loss_d"]!, reference["loss_d"]!.scalar, "cyclegan loss_d")
        // Logged as a quarter: two terms, images in [0, 1].
        assertLoss(figures["cycle"]! * 4, reference["cycle"]!.scalar, "cyclegan cycle")
        assertLoss(figures["identity"]! * 4, reference["identity"]!.scalar, "cyclegan identity")
        // The LSGAN terms are what the total holds beyond lambda = 10 times the cycle and 5 times the identity loss.
        assertLoss(figures["loss_g"]! - 10 * figures["cycle"]! * 4 - 5 * figures["identity"]! * 4, reference["gan_g"]!.scalar, "cyclegan gan_g",
                   scale: max(1, figures["loss_g"]!))
        assertGradients(recorded[0], m.forward.namedParameters().map { "forward.\($0.name)" } + m.backward.namedParameters().map { "backward.\($0.name)" },
                        "loss_g", reference)
        assertGradients(recorded[1], m.criticA.namedParameters().map { "critic_a.\($0.name)" } + m.criticB.namedParameters().map { "critic_b.\($0.name)" },
                        "loss_d", reference)
    }
}
