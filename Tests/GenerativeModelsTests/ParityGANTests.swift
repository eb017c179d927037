import Foundation
import TestSupport
import XCTest
@testable import GenerativeModels
import NeuralNetwork
import TensorEngine

/// One training step of each adversarial model against PyTorch. scripts/torch/gan_reference.py wrote
/// the fixtures from the papers' objectives (not from our Swift): a tiny model's weights under
/// our names, a batch with its noise, and PyTorch's losses (with their terms) and gradients for
/// both players. Here the same weights, images and noise go through the methods `trainStep` calls
/// (`criticLoss`, `updateCritic`, `generatorLoss(latents:)`), with BatchNorm in train mode as in
/// training, and the numbers must agree: losses to 1e-5 relative, each parameter's gradient to
/// 1e-4 of its norm.
final class ParityGANTests: XCTestCase {
    struct Fixture {
        let tensors: [String: Tensor]
        let metadata: [String: String]
        subscript(_ name: String) -> Tensor {
            guard let t = tensors[name] else { fatalError("fixture has no tensor \(name)") }
            return t
        }
    }

    /// Worst relative differences seen, printed at the end of each test.
    var worstLoss: Float = 0, worstGradient: Float = 0, worstElement: Float = 0

    func fixture(_ model: String) throws -> Fixture {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/parity-\(model).safetensors", withExtension: nil))
        let file = try SafeTensors.read(from: url)
        return Fixture(tensors: Dictionary(uniqueKeysWithValues: file.tensors.map { ($0.name, $0.tensor) }), metadata: file.metadata)
    }

    /// The catalogue's preset at the fixture's size, holding the fixture's weights.
    func model(_ name: String, _ f: Fixture, configure: (inout GAN.Options) -> Void = { _ in }) throws -> GAN {
        var options = GAN.Options.preset(name)
        options.latentDimension = Int(f.metadata["latent"]!)!
        options.features = Int(f.metadata["features"]!)!
        configure(&options)
        let widths = { (key: String) in f.metadata[key]!.split(separator: ",").map { Int($0)! } }
        var rng = RandomGenerator(seed: 1)
        let m = GAN(options, imageShape: Array(f["images"].shape.dropFirst()),
                    perceptronWidths: (generator: widths("g_hidden"), discriminator: widths("d_hidden")), generator: &rng)
        try m.load(stateDict: f.tensors.filter { $0.key.hasPrefix("weights.") }
            .reduce(into: [:]) { $0[String($1.key.dropFirst("weights.".count))] = $1.value })
        return m
    }

    func checkLoss(_ value: Tensor, _ expected: Tensor, _ label: String) {
        let (a, b) = (value.scalar, expected.scalar)
        let relative = abs(a - b) / abs(b)
        worstLoss = max(worstLoss, relative)
        XCTAssertLessThanOrEqual(relative, 1e-5, "\(label): \(a), PyTorch \(b)")
    }

    /// The gradient of `loss` for every parameter of `module` against `label.prefix.<name>`:
    /// |a - b| <= 1e-4 |b| per tensor (norms; plus 1e-6 of all the gradients' norm, for the
    /// gradients that are zero in exact arithmetic, like a critic's last bias under a Wasserstein loss).
    func checkGradients(_ loss: Tensor, _ module: Module, _ prefix: String, _ label: String, _ f: Fixture) {
        let parameters = module.namedParameters()
        let expected = parameters.map { f["\(label).\(prefix).\($0.name)"] }
        let total = expected.reduce(Float(0)) { $0 + $1.squared().sum().scalar }.squareRoot()
        XCTAssertGreaterThan(total, 0, label)
        let computed = gradients(of: loss, wrt: parameters.map(\.parameter.value))
        for ((name, _), (gradient, wanted)) in zip(parameters, zip(computed, expected)) {
            XCTAssertEqual(gradient.shape, wanted.shape, "\(label): gradient of \(name)")
            let error = (gradient - wanted).squared().sum().scalar.squareRoot()
            let size = wanted.squared().sum().scalar.squareRoot()
            if size > 1e-6 * total { worstGradient = max(worstGradient, error / size) }
            for (a, b) in zip(gradient.scalars, wanted.scalars) { worstElement = max(worstElement, abs(a - b) / max(1, abs(b))) }
            XCTAssertLessThanOrEqual(error, 1e-4 * size + 1e-6 * total, "\(label): gradient of \(name) (norm \(size))")
        }
    }

    /// The critic's update: its loss and terms, and the gradient of the loss for every critic parameter.
    func checkCritic(_ m: GAN, _ f: Fixture) {
        let critic = m.criticLoss(images: f["images"], latents: f["z"], mix: f.tensors["mix"])
        checkLoss(critic.realTerm, f["term.real"], "real term")
        checkLoss(critic.fakeTerm, f["term.fake"], "fake term")
        if let penalty = critic.penalty {
            checkLoss(m.options.penaltyWeight * penalty, f["term.penalty"], "weighted penalty")
        } else {
            XCTAssertNil(f.tensors["term.penalty"], "PyTorch's loss has a penalty and ours none")
        }
        checkLoss(critic.loss, f["loss_d"], "loss_d")
        checkGradients(critic.loss, m.discriminator, "discriminator", "loss_d", f)
    }

    func report(_ model: String) {
        print("parity \(model): worst relative loss difference \(worstLoss), gradient (norm) \(worstGradient), element \(worstElement)")
    }

    /// Goodfellow et al.'s MLP GAN: D's BCE pair, and G's loss both ways, minimax
    /// E log(1 - D(G(z))) and non-saturating -E log D(G(z)), on the same latents.
    func testGANMatchesPyTorch() throws {
        let f = try fixture("gan")
        for loss in [GAN.Loss.minimax, .nonSaturating] {
            // The fixture's players: D without dropout (random) or label smoothing, no average of G.
            let m = try model("gan", f) {
                $0.loss = loss; $0.discriminatorDropout = 0; $0.labelSmoothing = 0; $0.generatorAverage = 0
            }
            XCTAssertEqual(m.options.architecture, .mlp)
            checkCritic(m, f)
            let label = "loss_g.\(loss.rawValue)"
            let lossG = m.generatorLoss(latents: f["z_g"])
            checkLoss(lossG, f[label], label)
            checkGradients(lossG, m.generator, "generator", label, f)
        }
        report("gan")
    }

    /// Radford et al.'s DCGAN (non-saturating), BatchNorm on batch statistics in G and D.
    func testDCGANMatchesPyTorch() throws {
        let f = try fixture("dcgan")
        let m = try model("dcgan", f)
        XCTAssertEqual(m.options.loss, .nonSaturating)
        checkCritic(m, f)
        let lossG = m.generatorLoss(latents: f["z_g"])
        checkLoss(lossG, f["loss_g"], "loss_g")
        checkGradients(lossG, m.generator, "generator", "loss_g", f)
        report("dcgan")
    }

    /// WGAN: the critic's -(E f(x) - E f(G(z))) and G's -E f(G(z)); then one critic update (the
    /// one `trainStep` makes: RMSProp at the preset's rate, then clipping) leaves the critic's
    /// weights where PyTorch's RMSprop and clamp_(-c, c) left them, all inside [-c, c].
    func testWGANMatchesPyTorchAndClipsAfterTheCriticStep() throws {
        let f = try fixture("wgan")
        let m = try model("wgan", f)
        XCTAssertEqual(m.options.clip, Float(f.metadata["clip"]!)!)
        XCTAssertEqual(m.options.learningRate, Float(f.metadata["learning_rate"]!)!)
        checkCritic(m, f)
        let lossG = m.generatorLoss(latents: f["z_g"])
        checkLoss(lossG, f["loss_g"], "loss_g")
        checkGradients(lossG, m.generator, "generator", "loss_g", f)

        let c = m.options.clip
        let before = m.discriminator.namedParameters().map { $0.parameter.value.scalars }
        XCTAssertTrue(before.joined().contains { abs($0) > c }, "the fixture's critic has weights to clip")
        m.updateCritic(images: f["images"], latents: f["z"], mix: nil)
        var clipped = 0, inside = 0
        for (name, parameter) in m.discriminator.namedParameters() {
            let wanted = f["after.discriminator.\(name)"].scalars, got = parameter.value.scalars
            for (a, b) in zip(got, wanted) {
                XCTAssertLessThanOrEqual(abs(a), c, "\(name) outside [-c, c] after the critic's update")
                XCTAssertEqual(a, b, accuracy: 1e-6, "\(name) after the critic's update")
                if abs(a) == c { clipped += 1 } else { inside += 1 }
            }
        }
        XCTAssertGreaterThan(clipped, 0)
        XCTAssertGreaterThan(inside, 0)
        report("wgan")
    }

    /// WGAN-GP: the critic's loss with lambda (|grad f(x^)| - 1)^2 at the fixture's interpolates
    /// x^ = e x + (1 - e) G(z) (a gradient of a gradient), no BatchNorm in the critic; G's -E f(G(z)).
    func testWGANGPMatchesPyTorch() throws {
        let f = try fixture("wgan-gp")
        let m = try model("wgan-gp", f)
        XCTAssertEqual(m.options.penaltyWeight, Float(f.metadata["lambda"]!)!)
        XCTAssertFalse(m.discriminator.namedModules().contains { $0.module is BatchNorm })
        checkCritic(m, f)
        let lossG = m.generatorLoss(latents: f["z_g"])
        checkLoss(lossG, f["loss_g"], "loss_g")
        checkGradients(lossG, m.generator, "generator", "loss_g", f)
        report("wgan-gp")
    }
}
