import ArgumentParser
import Datasets
import TensorEngine

// The translation models' options as the registry takes them.

extension Normalization: ExpressibleByArgument {}
extension AdversarialLoss: ExpressibleByArgument {}

/// Both translation models judge patches with a PatchGAN.
func requirePatches(_ imageShape: [Int], _ model: String) throws {
    guard min(imageShape[1], imageShape[2]) >= PatchGAN.minimumSide else {
        throw TrainingError(
            "\(model)'s PatchGAN needs images of at least \(PatchGAN.minimumSide)x\(PatchGAN.minimumSide), "
                + "not \(imageShape[1])x\(imageShape[2]) (--image-size)")
    }
}

extension Pix2Pix.Options: ModelOptions {
    public func makeModel(imageShape: [Int], generator: inout RandomGenerator) throws -> TrainableModel {
        Pix2Pix(self, imageShape: imageShape, generator: &generator)
    }
    public func check(imageShape: [Int]) throws {
        try requirePatches(imageShape, "pix2pix")
        guard Pix2Pix.depth(self, imageShape: imageShape) >= 2 else {
            throw TrainingError(
                "pix2pix halves its images at least twice; \(imageShape[1])x\(imageShape[2]) is not divisible by 4")
        }
    }
    public var defaultDataset: String { "edges2mnist" }
    public static var pairing: Pairing { .paired }
}

public struct Pix2PixFlags: OptionFlags {
    @Option(help: "The U-Net's first-layer feature maps, doubling with depth (default 32).") var features: Int?
    @Option(help: "The PatchGAN's first-layer feature maps (default: --features).") var discriminatorFeatures: Int?
    @Option(help: "batch or instance normalisation (default batch).") var normalization: Normalization?
    @Option(help: "Weight lambda of the L1 loss (default 100).") var l1Weight: Float?
    @Flag(help: "Train the generator on the L1 loss alone, no discriminator: the baseline.") var l1Only = false
    @Option(help: "Adam's learning rate (default 2e-4).") var learningRate: Float?
    @Option(help: "The adversarial loss: minimax, non-saturating (the default) or least-squares.") var adversarialLoss:
        AdversarialLoss?
    public init() {}
    public func validate() throws {
        try ValidationError.require(
            (1...4096).contains(features ?? 1) && (1...4096).contains(discriminatorFeatures ?? 1),
            "--features and --discriminator-features must be between 1 and 4096")
        try ValidationError.requireWeight(l1Weight, "--l1-weight")
        try ValidationError.requirePositive(learningRate, "--learning-rate")
    }
    public func apply(to o: inout Pix2Pix.Options) {
        o.features = features ?? o.features
        o.discriminatorFeatures = discriminatorFeatures ?? o.discriminatorFeatures
        o.normalization = normalization ?? o.normalization
        o.l1Weight = l1Weight ?? o.l1Weight
        o.l1Only = l1Only || o.l1Only
        o.learningRate = learningRate ?? o.learningRate
        o.adversarialLoss = adversarialLoss ?? o.adversarialLoss
    }
}

extension CycleGAN.Options: ModelOptions {
    public func makeModel(imageShape: [Int], generator: inout RandomGenerator) throws -> TrainableModel {
        CycleGAN(self, imageShape: imageShape, generator: &generator)
    }
    public func check(imageShape: [Int]) throws {
        try requirePatches(imageShape, "cyclegan")
        try requireQuartered(imageShape, "cyclegan")
    }
    public var defaultDataset: String { "thin2thick" }
    public static var pairing: Pairing { .unpaired }
}

public struct CycleGANFlags: OptionFlags {
    @Option(help: "The generators' first-layer feature maps (default 32).") var features: Int?
    @Option(help: "Residual blocks of each generator (default 6).") var residualBlocks: Int?
    @Option(help: "Weight lambda of the cycle loss (default 10).") var cycleWeight: Float?
    @Option(
        help:
            "The identity loss's weight as a fraction of the cycle weight (default 0.5; 0 turns it off: the chapter's objective)."
    )
    var identityFraction: Float?
    @Option(
        help: "Generated images kept to show the discriminators (Shrivastava et al.'s history; default 50, 0: none).")
    var historySize: Int?
    @Option(help: "Adam's learning rate (default 2e-4).") var learningRate: Float?
    @Option(help: "The adversarial loss: minimax, non-saturating or least-squares (the default).") var adversarialLoss:
        AdversarialLoss?
    public init() {}
    public func validate() throws {
        try ValidationError.require((1...4096).contains(features ?? 1), "--features must be between 1 and 4096")
        try ValidationError.require(
            (0...64).contains(residualBlocks ?? 0), "--residual-blocks must be between 0 and 64")
        try ValidationError.requireWeight(cycleWeight, "--cycle-weight")
        try ValidationError.requireWeight(identityFraction, "--identity-fraction")
        try ValidationError.require(
            (0...10_000).contains(historySize ?? 0), "--history-size must be between 0 and 10000")
        try ValidationError.requirePositive(learningRate, "--learning-rate")
    }
    public func apply(to o: inout CycleGAN.Options) {
        o.features = features ?? o.features
        o.residualBlocks = residualBlocks ?? o.residualBlocks
        o.cycleWeight = cycleWeight ?? o.cycleWeight
        o.identityFraction = identityFraction ?? o.identityFraction
        o.historySize = historySize ?? o.historySize
        o.learningRate = learningRate ?? o.learningRate
        o.adversarialLoss = adversarialLoss ?? o.adversarialLoss
    }
}

extension Pix2Pix: Translating {
    /// A to B only: pix2pix learnt one direction.
    public func translate(_ images: Tensor, reverse: Bool) -> Tensor {
        precondition(!reverse, "pix2pix translates from A to B only")
        return translate(images)
    }
    public var pairing: Pairing { .paired }
}

extension CycleGAN: Translating {
    public var pairing: Pairing { .unpaired }
    /// The first 16 held-out images of domain A.
    public func show(_ data: Dataset) {
        var generator = RandomGenerator(seed: 0)
        show(data.batch(Array(0..<min(16, data.count)), generator: &generator).images)
    }
}
