import Foundation
import TestSupport
import XCTest
@testable import GenerativeModels
import Datasets
import NeuralNetwork
import TensorEngine

/// One training step's numbers against PyTorch's (scripts/torch/latent_reference.py wrote the
/// fixtures from the papers' objectives, not from our code): on the same weights, batch and noise,
/// the loss that `trainStep` minimises and its terms agree to a relative 1e-5, and the gradient of
/// the loss for every parameter to 1e-4 of its norm. A dropped KL, a flipped sign, a wrong IWAE
/// weighting or wrong VaDE responsibilities fails here.
final class ParityLatentTests: XCTestCase {
    struct Fixture {
        let name: String
        let tensors: [String: Tensor]
        let metadata: [String: String]

        init(_ name: String) throws {
            self.name = name
            let url = Bundle.module.url(forResource: "Fixtures/parity-\(name).safetensors", withExtension: nil)!
            let file = try SafeTensors.read(from: url)
            tensors = Dictionary(uniqueKeysWithValues: file.tensors.map { ($0.name, $0.tensor) })
            // "key=value key=value ...": the script writes one metadata entry so its bytes reproduce.
            metadata = file.metadata["config"]!.split(separator: " ").reduce(into: [:]) {
                let pair = $1.split(separator: "=", maxSplits: 1).map(String.init)
                $0[pair[0]] = pair[1]
            }
        }

        subscript(_ key: String) -> Tensor { tensors[key]! }
        func integer(_ key: String) -> Int { Int(metadata[key]!)! }
        var hidden: [Int] { metadata["hidden"]!.split(separator: ",").map { Int($0)! } }

        /// The tensors under `prefix.`, by the rest of their names.
        func group(_ prefix: String) -> [String: Tensor] {
            tensors.filter { $0.key.hasPrefix(prefix + ".") }.reduce(into: [:]) { $0[String($1.key.dropFirst(prefix.count + 1))] = $1.value }
        }

        /// The step's terms: every tensor that is neither a weight, a gradient nor an input.
        var terms: [String: Tensor] {
            tensors.filter { !$0.key.hasPrefix("weights.") && !$0.key.hasPrefix("grad.") && !["x", "noise"].contains($0.key) }
        }
    }

    /// Square 16-pixel images, as the script's.
    func imageShape(_ f: Fixture) -> [Int] {
        let side = Int(Double(f.integer("pixels")).squareRoot())
        XCTAssertEqual(side * side, f.integer("pixels"))
        return [1, side, side]
    }

    func vae(_ f: Fixture) throws -> VAE {
        var options = VAE.Options()
        options.hiddenDimensions = f.hidden
        options.latentDimension = f.integer("latent")
        options.importanceSamples = f.integer("k")
        options.likelihood = VAE.Likelihood(rawValue: f.metadata["likelihood"]!)!
        var rng = RandomGenerator(seed: 0)
        let m = VAE(options, imageShape: imageShape(f), generator: &rng)
        try m.load(stateDict: f.group("weights"))
        return m
    }

    func vade(_ f: Fixture) throws -> VaDE {
        var options = VaDE.Options()
        options.hiddenDimensions = f.hidden
        options.latentDimension = f.integer("latent")
        options.clusters = f.integer("clusters")
        var rng = RandomGenerator(seed: 0)
        let m = VaDE(options, imageShape: imageShape(f), generator: &rng)
        try m.load(stateDict: f.group("weights"))
        XCTAssertFalse(m.isPretraining, "the fixture is a step of the VaDE phase")
        return m
    }

    /// The same terms as PyTorch's, and the loss's gradient for every parameter within 1e-4 of
    /// the reference's norm (plus 1e-6 of all gradients' norm, for a tensor whose gradient is 0).
    func check(_ f: Fixture, _ model: Module, _ terms: [String: Tensor]) {
        XCTAssertEqual(Set(terms.keys), Set(f.terms.keys), f.name)
        var worstTerm: Float = 0, worstGradient: Float = 0
        for (name, value) in terms {
            guard let wanted = f.terms[name]?.scalar else { continue }
            XCTAssertEqual(value.scalar, wanted, accuracy: 1e-5 * max(1, abs(wanted)), "\(f.name): \(name)")
            worstTerm = max(worstTerm, abs(value.scalar - wanted) / max(1, abs(wanted)))
        }
        let parameters = model.namedParameters()
        let expected = f.group("grad")
        XCTAssertEqual(Set(parameters.map(\.name)), Set(expected.keys), "\(f.name): the parameters with a reference gradient")
        let total = expected.values.reduce(Float(0)) { $0 + $1.squared().sum().scalar }.squareRoot()
        let computed = gradients(of: terms["loss"]!, wrt: parameters.map(\.parameter.value))
        for ((name, _), gradient) in zip(parameters, computed) {
            guard let wanted = expected[name] else { continue }
            let error = (gradient - wanted).squared().sum().scalar.squareRoot()
            let size = wanted.squared().sum().scalar.squareRoot()
            XCTAssertGreaterThan(size, 0, "\(f.name): \(name) has a gradient to compare")
            XCTAssertLessThanOrEqual(error, 1e-4 * size + 1e-6 * total, "\(f.name): gradient of \(name)")
            worstGradient = max(worstGradient, error / max(size, 1e-30))
        }
        print("parity-\(f.name): largest relative difference, terms \(worstTerm), gradients \(worstGradient)")
    }

    func testVAEBernoulliMatchesPyTorch() throws {
        let f = try Fixture("vae")
        let m = try vae(f)
        check(f, m, m.loss(f["x"], noise: f["noise"]))
    }

    func testVAEGaussianMatchesPyTorch() throws {
        let f = try Fixture("vae-gaussian")
        let m = try vae(f)
        XCTAssertEqual(m.options.likelihood, .gaussian)
        check(f, m, m.loss(f["x"], noise: f["noise"]))
    }

    /// k = 5 importance samples, the noise [5, N, d].
    func testIWAEMatchesPyTorch() throws {
        let f = try Fixture("iwae")
        let m = try vae(f)
        XCTAssertEqual(m.options.importanceSamples, 5)
        check(f, m, m.loss(f["x"], noise: f["noise"]))
    }

    /// The VaDE phase, the prior's parameters among the weights.
    func testVaDEMatchesPyTorch() throws {
        let f = try Fixture("vade")
        let m = try vade(f)
        check(f, m, m.loss(f["x"], noise: f["noise"]))
    }

    /// `trainStep` reports the loss of the method checked above, on noise drawn from its
    /// generator: the parity tests cover what training minimises.
    func testTrainStepMinimisesTheCheckedLoss() throws {
        for name in ["vae", "iwae", "vade"] {
            let f = try Fixture(name)
            let x = f["x"], batch = Batch(images: f["x"].reshaped([-1] + imageShape(f)), labels: nil, indices: Array(0..<f["x"].shape[0]))
            var a = RandomGenerator(seed: 3), b = RandomGenerator(seed: 3)
            let expected: Float, reported: [String: Float]
            if name == "vade" {
                let m = try vade(f)
                expected = withoutGradients { m.loss(x, noise: Tensor.normal([x.shape[0], f.integer("latent")], generator: &a))["loss"]!.scalar }
                reported = m.trainStep(batch, generator: &b)
            } else {
                let m = try vae(f)
                expected = withoutGradients { m.loss(x, noise: m.noise(batchSize: x.shape[0], generator: &a))["loss"]!.scalar }
                reported = m.trainStep(batch, generator: &b)
            }
            XCTAssertEqual(reported["loss"], expected, name)
            XCTAssertEqual(a.nextUniform(), b.nextUniform(), "\(name): the step draws as many random numbers")
        }
    }
}
