import ArgumentParser
import Datasets
import TensorEngine

// StyleGAN's options as the registry takes them.

extension StyleGAN.Options: ModelOptions {
    public func makeModel(imageShape: [Int], generator: inout RandomGenerator) throws -> TrainableModel {
        StyleGAN(self, imageShape: imageShape, generator: &generator)
    }
    public func check(imageShape: [Int]) throws {
        let size = imageShape[1]
        guard size >= 8, size & (size - 1) == 0, imageShape[2] == size else {
            throw TrainingError(
                "stylegan draws square images of a power-of-two size of at least 8, not "
                    + "\(imageShape[1])x\(imageShape[2]) "
                    + "(mnist32 pads the digits to 32)")
        }
    }
    public var defaultDataset: String { "mnist32" }
}

public struct StyleGANFlags: OptionFlags {
    @Option(help: "Feature maps of the generator's coarsest layers, halving with resolution (default 128).")
    var features: Int?
    @Option(help: "Dimension of the code z (default 128).") var latentDim: Int?
    @Option(help: "Dimension of the styles w (default 128).") var styleDim: Int?
    @Option(help: "Layers of the mapping network z -> w (default 8).") var mappingLayers: Int?
    @Option(help: "Weight gamma of the R1 penalty on real images (default 1).") var r1Gamma: Float?
    @Option(help: "Steps between the lazy R1 penalties (default 16; 1: every step).") var r1Interval: Int?
    @Option(help: "Chance that a step's images mix the styles of two codes (default 0.9; 0: no mixing).")
    var mixingProbability: Float?
    @Option(help: "Adam's learning rate (default 2e-3).") var learningRate: Float?
    public init() {}
    public func validate() throws {
        try ValidationError.require((1...4096).contains(features ?? 1), "--features must be between 1 and 4096")
        try ValidationError.require(
            (1...4096).contains(latentDim ?? 1) && (1...4096).contains(styleDim ?? 1),
            "--latent-dim and --style-dim must be between 1 and 4096")
        try ValidationError.require((1...32).contains(mappingLayers ?? 1), "--mapping-layers must be between 1 and 32")
        try ValidationError.requireWeight(r1Gamma, "--r1-gamma")
        try ValidationError.require((1...10_000).contains(r1Interval ?? 1), "--r1-interval must be between 1 and 10000")
        try ValidationError.require(
            mixingProbability.map { (0...1).contains($0) } ?? true, "--mixing-probability must be between 0 and 1")
        try ValidationError.requirePositive(learningRate, "--learning-rate")
    }
    public func apply(to o: inout StyleGAN.Options) {
        o.generator.features = features ?? o.generator.features
        o.generator.latentDimension = latentDim ?? o.generator.latentDimension
        o.generator.styleDimension = styleDim ?? o.generator.styleDimension
        o.generator.mappingLayers = mappingLayers ?? o.generator.mappingLayers
        o.r1Gamma = r1Gamma ?? o.r1Gamma
        o.r1Interval = r1Interval ?? o.r1Interval
        o.mixingProbability = mixingProbability ?? o.mixingProbability
        o.learningRate = learningRate ?? o.learningRate
    }
}

extension StyleGAN: StyleMixing, LatentInterpolation {
    public var truncation: Float { options.truncation }
    public func layers(_ name: StyleLayers) -> Range<Int> { layers(name.rawValue)! }
    public func project(
        _ target: Tensor, steps: Int, learningRate: Float, features: ((Tensor) -> Tensor)?,
        generator: inout RandomGenerator,
        progress: ((Int, Float) -> Void)?
    ) -> Projection {
        project(
            target, steps: steps, learningRate: learningRate, features: features, featureWeight: 1, noiseWeight: 1e3,
            generator: &generator,
            progress: progress)
    }
    /// The truncation strip: psi from 1 (left) to 0 (right, the average image) along each row.
    public func interpolationGrid(
        pairs: Int, steps: Int, test: () throws -> Dataset, generator: inout RandomGenerator
    ) throws -> Tensor {
        truncationStrip(rows: pairs, psis: (0..<steps).map { 1 - Float($0) / Float(steps - 1) }, generator: &generator)
    }
}
