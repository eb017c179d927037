import Datasets
import Foundation
import NeuralNetwork
import TensorEngine

/// CycleGAN (Zhu et al. 2017): generators G: A -> B and F: B -> A, trained without pairs.
/// Discriminators D_A and D_B (PatchGANs, InstanceNorm) use the least-squares loss; the
/// generators minimise (D_B(G(a)) - 1)^2 + (D_A(F(b)) - 1)^2 + lambda (|F(G(a)) - a|_1 +
/// |G(F(b)) - b|_1) + lambda_id (|G(b) - b|_1 + |F(a) - a|_1), with lambda = 10 and lambda_id =
/// lambda / 2. Each discriminator sees generated images drawn half the time from a history of
/// the last 50 (§4, after Shrivastava et al.), kept in buffers so a resumed run has them.
public final class CycleGAN: Module, TrainableModel {
    public struct Options: Codable, Equatable, Sendable {
        public var features = 32
        public var residualBlocks = 6
        public var cycleWeight: Float = 10
        /// The identity loss's weight as a fraction of the cycle weight.
        public var identityFraction: Float = 0.5
        public var historySize = 50
        public var learningRate: Float = 2e-4
        /// The adversarial objective (Zhu et al.'s: least squares).
        public var adversarialLoss = AdversarialLoss.leastSquares
        public init() {}

        public init(from decoder: Decoder) throws { // runs saved before `adversarialLoss` existed: least squares
            let c = try decoder.container(keyedBy: CodingKeys.self)
            features = try c.decode(Int.self, forKey: .features)
            residualBlocks = try c.decode(Int.self, forKey: .residualBlocks)
            cycleWeight = try c.decode(Float.self, forKey: .cycleWeight)
            identityFraction = try c.decode(Float.self, forKey: .identityFraction)
            historySize = try c.decode(Int.self, forKey: .historySize)
            learningRate = try c.decode(Float.self, forKey: .learningRate)
            adversarialLoss = try c.decodeIfPresent(AdversarialLoss.self, forKey: .adversarialLoss) ?? .leastSquares
        }
    }

    public let options: Options
    public let imageShape: [Int]
    let forward: ResNetGenerator
    let backward: ResNetGenerator
    let criticA: PatchGAN
    let criticB: PatchGAN
    let historyA: ImageHistory
    let historyB: ImageHistory
    var generatorOptimizer: Adam!
    var discriminatorOptimizer: Adam!
    var preview: Tensor?

    public var module: Module { self }
    public var optimizers: [String: Optimizer] {
        ["generator": generatorOptimizer, "discriminator": discriminatorOptimizer]
    }
    public var sampleColumns: Int { 6 }
    /// A, its translation G(A) and the translation back F(G(A)), twice per row.
    public var sampleHeadings: GridHeadings? {
        GridHeadings(columns: Array(repeating: ["a", "g(a)", "f(g(a))"], count: 2).flatMap { $0 })
    }

    public init(_ options: Options, imageShape: [Int], generator rng: inout RandomGenerator) {
        self.options = options
        self.imageShape = imageShape
        let c = imageShape[0]
        forward = ResNetGenerator(
            channels: c, features: options.features, blocks: options.residualBlocks, generator: &rng)
        backward = ResNetGenerator(
            channels: c, features: options.features, blocks: options.residualBlocks, generator: &rng)
        criticA = PatchGAN(channels: c, features: options.features, normalization: .instance, generator: &rng)
        criticB = PatchGAN(channels: c, features: options.features, normalization: .instance, generator: &rng)
        historyA = ImageHistory(capacity: options.historySize, imageShape: imageShape)
        historyB = ImageHistory(capacity: options.historySize, imageShape: imageShape)
        super.init()
        generatorOptimizer = Adam(
            forward.trainableParameters() + backward.trainableParameters(), learningRate: options.learningRate,
            beta1: 0.5, beta2: 0.999)
        discriminatorOptimizer = Adam(
            criticA.trainableParameters() + criticB.trainableParameters(), learningRate: options.learningRate,
            beta1: 0.5, beta2: 0.999)
    }

    /// A -> B (or B -> A with `reverse`), images in [0, 1].
    public func translate(_ images: Tensor, reverse: Bool = false) -> Tensor {
        ((reverse ? backward : forward)(images * 2 - 1) + 1) * 0.5
    }

    /// The least-squares GAN loss of scores against a target of 1 (real) or 0 (fake).
    static func leastSquares(_ scores: Tensor, target: Float) -> Tensor { (scores - target).squared().mean() }

    /// The cycle and identity terms for real a and b (in [-1, 1]), their round trips and their
    /// images under the generator into their own domain.
    public func reconstructionLosses(
        a: Tensor, b: Tensor, cycledA: Tensor, cycledB: Tensor,
        identityA: Tensor, identityB: Tensor
    ) -> (cycle: Tensor, identity: Tensor) {
        (l1Loss(cycledA, a) + l1Loss(cycledB, b), l1Loss(identityB, b) + l1Loss(identityA, a))
    }

    public func prepare(epoch: Int, dataset: Dataset) throws {
        if preview == nil {
            var rng = RandomGenerator(seed: 0)
            preview = dataset.batch(Array(0..<min(16, dataset.count)), generator: &rng).images
        }
    }

    public func trainStep(_ batch: Batch, context: inout StepContext) -> [String: Float] {
        guard let targets = batch.targets else {
            preconditionFailure("cyclegan trains on two domains; the batch has no B images")
        }
        let a = batch.images * 2 - 1, b = targets * 2 - 1
        let aToB = forward(a), bToA = backward(b)
        let (cycle, identity) = reconstructionLosses(
            a: a, b: b, cycledA: backward(aToB), cycledB: forward(bToA),
            identityA: backward(a), identityB: forward(b))
        let loss = options.adversarialLoss
        let adversarial = loss.generator(fake: criticB(aToB)) + loss.generator(fake: criticA(bToA))
        let lossG =
            adversarial + options.cycleWeight * cycle + options.cycleWeight * options.identityFraction * identity
        context.minimize(generatorOptimizer, lossG)
        let pastB = historyB.exchange(aToB.detached(), generator: &context.generator),
            pastA = historyA.exchange(bToA.detached(), generator: &context.generator)
        let lossD =
            loss.discriminator(real: criticB(b), fake: criticB(pastB))
            + loss.discriminator(real: criticA(a), fake: criticA(pastA))
        context.minimize(discriminatorOptimizer, lossD)
        return [
            "loss": cycle.scalar / 4, "cycle": cycle.scalar / 4, "identity": identity.scalar / 4,
            "loss_g": lossG.scalar, "loss_d": lossD.scalar
        ]
    }

    /// Rows of a | G(a) | F(G(a)) for the first training images.
    public func sample(count: Int, generator: inout RandomGenerator) -> Tensor {
        guard let preview else { return Tensor.zeros([0] + imageShape) }
        let n = max(1, min(count / 3, preview.shape[0]))
        let a = preview.sliced(axis: 0, 0..<n), b = translate(a)
        return Tensor.stack([a, b, translate(b, reverse: true)], axis: 1).reshaped([3 * n] + imageShape)
    }

    /// Shows these images (held-out ones, for `deepgen sample`) in the sample grids.
    public func show(_ images: Tensor) { preview = images }
}

/// The last `capacity` generated images a discriminator has seen (Shrivastava et al. 2017): until
/// it is full every image is stored and passed on; then each image is, with probability 1/2,
/// swapped for a random stored one (which it replaces), else passed on as it is.
final class ImageHistory: Module {
    let images: Buffer
    let stored: Buffer
    let capacity: Int

    init(capacity: Int, imageShape: [Int]) {
        self.capacity = capacity
        images = Buffer(Tensor.zeros([capacity] + imageShape))
        stored = Buffer(Tensor(0))
    }

    var count: Int { Int(stored.value.scalar) }

    func exchange(_ batch: Tensor, generator: inout RandomGenerator) -> Tensor {
        guard capacity > 0 else { return batch }
        let size = batch.count / batch.shape[0]
        var out = batch.scalars, memory = images.value.scalars, filled = count
        for i in 0..<batch.shape[0] {
            let image = Array(out[i * size..<(i + 1) * size])
            if filled < capacity {
                memory.replaceSubrange(filled * size..<(filled + 1) * size, with: image)
                filled += 1
            } else if generator.nextUniform() < 0.5 {
                let slot = generator.nextInt(below: capacity)
                out.replaceSubrange(i * size..<(i + 1) * size, with: memory[slot * size..<(slot + 1) * size])
                memory.replaceSubrange(slot * size..<(slot + 1) * size, with: image)
            }
        }
        images.value = Tensor(shape: images.value.shape, scalars: memory)
        stored.value = Tensor(Float(filled))
        return Tensor(shape: batch.shape, scalars: out)
    }
}
