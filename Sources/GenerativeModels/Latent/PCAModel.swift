import Datasets
import Foundation
import NeuralNetwork
import TensorEngine

/// PCA as a model of the catalogue: fitted in closed form on the whole training set (the
/// training loop calls `fit` instead of taking steps), saved as buffers, sampled by decoding
/// codes drawn with each component's variance.
public final class PCAModel: Module, ClosedFormFitting {
    public struct Options: Codable, Equatable, Sendable {
        public var components = 50
        public init() {}
    }

    public let options: Options
    public let imageShape: [Int]
    let mean: Buffer
    let components: Buffer
    let explainedVariance: Buffer
    let explainedVarianceRatio: Buffer

    public var module: Module { self }
    public var optimizers: [String: Optimizer] { [:] }

    public init(_ options: Options, imageShape: [Int]) {
        self.options = options
        self.imageShape = imageShape
        let d = Shape.count(imageShape), m = options.components
        mean = Buffer(Tensor.zeros([d]))
        components = Buffer(Tensor.zeros([m, d]))
        explainedVariance = Buffer(Tensor.zeros([m]))
        explainedVarianceRatio = Buffer(Tensor.zeros([m]))
    }

    public var pca: PCA {
        PCA(
            mean: mean.value, components: components.value, explainedVariance: explainedVariance.value,
            explainedVarianceRatio: explainedVarianceRatio.value)
    }

    /// Fits on every example of `data`; returns figures for the log.
    public func fit(_ data: Dataset) throws -> [String: Float] {
        guard options.components <= Shape.count(imageShape) else {
            throw TrainingError("PCA: \(options.components) components of \(Shape.count(imageShape))-dimensional data")
        }
        var generator = RandomGenerator(seed: 0)
        let x = data.batch(Array(0..<data.count), generator: &generator).images.flattened()
        let fitted = try PCA(fitting: x, components: options.components)
        mean.value = fitted.mean; components.value = fitted.components
        explainedVariance.value = fitted.explainedVariance; explainedVarianceRatio.value = fitted.explainedVarianceRatio
        return ["mse": fitted.reconstructionError(x), "explained_variance": fitted.explainedVarianceRatio.sum().scalar]
    }

    /// The cumulative share of the variance the first m components explain.
    public var fitCurve: (series: [(x: Double, y: Double)], name: String, xLabel: String) {
        var cumulative = 0.0
        let curve = explainedVarianceRatio.value.scalars.enumerated().map { i, r -> (x: Double, y: Double) in
            cumulative += Double(r); return (Double(i + 1), cumulative)
        }
        return (curve, "explained variance", "components")
    }

    public func fitSummary(_ figures: [String: Float]) -> String {
        "PCA: \(options.components) components explain "
            + "\(String(format: "%.1f", 100 * figures["explained_variance"]!))% of the variance; "
            + "reconstruction MSE \(String(format: "%.5f", figures["mse"]!))"
    }

    public func trainStep(_ batch: Batch, context: inout StepContext) -> [String: Float] {
        preconditionFailure("PCA is fitted in closed form (Trainer.fitClosedForm), not by steps")
    }

    public func sample(count: Int, generator: inout RandomGenerator) -> Tensor {
        decode(codes: codes(count: count, generator: &generator))
    }

    public func reconstruct(_ images: Tensor) -> Tensor {
        pca.decode(pca.encode(images.flattened())).reshaped(images.shape)
    }
}
