import Datasets
import Foundation
import NeuralNetwork
import TensorEngine

/// Pix2Pix (Isola et al. 2017): a U-Net G translates an input x into an output that should be
/// its target y; a PatchGAN D judges (x, output) pairs, concatenated along channels, against
/// (x, y). G minimises the non-saturating GAN loss plus lambda * |G(x) - y|_1; D minimises
/// (BCE(D(x, y), 1) + BCE(D(x, G(x)), 0)) / 2, the halving the paper uses to slow D down.
/// With `l1Only` the same U-Net learns from the L1 loss alone: the paper's baseline.
public final class Pix2Pix: Module, TrainableModel {
    public struct Options: Codable, Equatable, Sendable {
        public var features = 32
        /// The PatchGAN's first-layer maps (nil: the same as the U-Net's `features`). D costs
        /// about as much per step as G at equal widths, as it runs three times per step.
        public var discriminatorFeatures: Int?
        /// Halvings of the U-Net at most (fewer for images smaller than 2^depth).
        public var depth = 5
        public var normalization = Normalization.batch
        public var l1Weight: Float = 100
        public var l1Only = false
        public var learningRate: Float = 2e-4
        /// The adversarial objective (Isola et al.'s: the non-saturating GAN loss).
        public var adversarialLoss = AdversarialLoss.nonSaturating
        public init() {}

        public init(from decoder: Decoder) throws { // runs saved before `adversarialLoss` existed: non-saturating
            let c = try decoder.container(keyedBy: CodingKeys.self)
            features = try c.decode(Int.self, forKey: .features)
            discriminatorFeatures = try c.decodeIfPresent(Int.self, forKey: .discriminatorFeatures)
            depth = try c.decode(Int.self, forKey: .depth)
            normalization = try c.decode(Normalization.self, forKey: .normalization)
            l1Weight = try c.decode(Float.self, forKey: .l1Weight)
            l1Only = try c.decode(Bool.self, forKey: .l1Only)
            learningRate = try c.decode(Float.self, forKey: .learningRate)
            adversarialLoss = try c.decodeIfPresent(AdversarialLoss.self, forKey: .adversarialLoss) ?? .nonSaturating
        }
    }

    public let options: Options
    public let imageShape: [Int]
    let generator: UNet
    let discriminator: PatchGAN?
    var generatorOptimizer: Adam!
    var discriminatorOptimizer: Adam?
    /// The first examples of the training set, kept for the sample grids (input | output | target).
    var preview: Batch?

    public var module: Module { self }
    public var optimizers: [String: Optimizer] {
        var all: [String: Optimizer] = ["generator": generatorOptimizer]
        if let discriminatorOptimizer { all["discriminator"] = discriminatorOptimizer }
        return all
    }

    public init(_ options: Options, imageShape: [Int], generator rng: inout RandomGenerator) {
        self.options = options
        self.imageShape = imageShape
        let c = imageShape[0]
        generator = UNet(
            channels: c, outputs: c, features: options.features, depth: Self.depth(options, imageShape: imageShape),
            normalization: options.normalization,
            generator: &rng)
        discriminator =
            options.l1Only
            ? nil
            : PatchGAN(
                channels: 2 * c, features: options.discriminatorFeatures ?? options.features,
                normalization: options.normalization,
                generator: &rng)
        super.init()
        generatorOptimizer = Adam(
            generator.trainableParameters(), learningRate: options.learningRate, beta1: 0.5, beta2: 0.999)
        discriminatorOptimizer = discriminator.map {
            Adam($0.trainableParameters(), learningRate: options.learningRate, beta1: 0.5, beta2: 0.999)
        }
    }

    /// The U-Net's halvings for an image size: `options.depth`, or as many as the size allows.
    public static func depth(_ options: Options, imageShape: [Int]) -> Int {
        var depth = 0
        while depth < options.depth && imageShape[1] % (2 << depth) == 0 && imageShape[2] % (2 << depth) == 0 {
            depth += 1
        }
        return depth
    }

    /// Outputs in [0, 1] for inputs in [0, 1].
    public func translate(_ inputs: Tensor) -> Tensor { (generator(inputs * 2 - 1) + 1) * 0.5 }

    /// D's patch logits for inputs and candidate outputs, both in [-1, 1].
    func judge(_ x: Tensor, _ y: Tensor) -> Tensor { discriminator!(Tensor.concatenate([x, y], axis: 1)) }

    /// The discriminator's loss for its logits on real and generated pairs.
    public static func discriminatorLoss(real: Tensor, fake: Tensor) -> Tensor {
        AdversarialLoss.nonSaturating.discriminator(real: real, fake: fake)
    }

    /// The generator's loss: -log D(x, G(x)) averaged over patches, plus lambda * mean |G(x) - y|.
    public func generatorLoss(fakeLogits: Tensor?, output: Tensor, target: Tensor) -> (total: Tensor, l1: Tensor) {
        let l1 = l1Loss(output, target)
        guard let fakeLogits else { return (l1, l1) }
        return (options.adversarialLoss.generator(fake: fakeLogits) + options.l1Weight * l1, l1)
    }

    public func prepare(epoch: Int, dataset: Dataset) throws {
        if preview == nil { show(dataset) }
    }

    /// Takes the first examples of `dataset` for the sample grids (the training set while
    /// training, the test set for `deepgen sample`).
    public func show(_ dataset: Dataset) {
        var rng = RandomGenerator(seed: 0)
        preview = dataset.batch(Array(0..<min(16, dataset.count)), generator: &rng)
    }

    public func trainStep(_ batch: Batch, context: inout StepContext) -> [String: Float] {
        trainStep(batch, dropoutMasks: nil, group: context.group)
    }

    /// One step of D, then of G against the stepped D. The U-Net's dropout layers draw their own
    /// masks (from their seeds, not `trainStep`'s generator) unless `dropoutMasks` gives them.
    func trainStep(_ batch: Batch, dropoutMasks: [Tensor]?, group: (any ProcessGroup)? = nil) -> [String: Float] {
        guard let targets = batch.targets else {
            preconditionFailure("pix2pix trains on pairs; the batch has no targets")
        }
        let x = batch.images * 2 - 1, y = targets * 2 - 1
        let output = generator(x, dropoutMasks: dropoutMasks)
        var figures: [String: Float] = [:]
        if let discriminatorOptimizer {
            let lossD = options.adversarialLoss.discriminator(real: judge(x, y), fake: judge(x, output.detached()))
            discriminatorOptimizer.minimize(lossD, across: group)
            figures["loss_d"] = lossD.scalar
        }
        // Scaled back to [0, 1] so the logged L1 reads as a fraction of the intensity range.
        let (lossG, l1) = generatorLoss(
            fakeLogits: discriminator == nil ? nil : judge(x, output), output: output, target: y)
        generatorOptimizer.minimize(lossG, across: group)
        figures["loss_g"] = lossG.scalar
        figures["l1"] = l1.scalar / 2
        figures["loss"] = l1.scalar / 2
        return figures
    }

    /// Rows of input | output | target for the examples `show` took (`count` / 3 of them).
    public func sample(count: Int, generator: inout RandomGenerator) -> Tensor {
        guard let preview, let targets = preview.targets else { return Tensor.zeros([0] + imageShape) }
        let n = max(1, min(count / 3, preview.images.shape[0]))
        let inputs = preview.images.sliced(axis: 0, 0..<n), outputs = translate(inputs),
            truth = targets.sliced(axis: 0, 0..<n)
        return Tensor.stack([inputs, outputs, truth], axis: 1).reshaped([3 * n] + imageShape)
    }

    public var sampleColumns: Int { 6 }
    public var sampleHeadings: GridHeadings? {
        GridHeadings(columns: Array(repeating: ["input", "output", "target"], count: 2).flatMap { $0 })
    }
}
