import Datasets
import NeuralNetwork
import TensorEngine

/// What the one training loop needs from a model: how to take a step and how to sample. The
/// loop owns epochs, batches, progress, logs, checkpoints, resumption and NaN checks; a model
/// with two optimizers (a GAN) keeps both and steps them inside `trainStep`.
public protocol TrainableModel: AnyObject {
    /// Every parameter and buffer, saved as `model.safetensors`.
    var module: Module { get }
    /// The optimizers by name; their state is saved so `--resume` continues exactly.
    var optimizers: [String: Optimizer] { get }
    /// One optimisation step on `batch`, drawing from `context.generator` and minimising through
    /// `context.minimize`. Returns the losses to log, by name; "loss" is the one the progress
    /// bar shows first.
    func trainStep(_ batch: Batch, context: inout StepContext) -> [String: Float]
    /// `count` new images [N, C, H, W] with values in [0, 1].
    func sample(count: Int, generator: inout RandomGenerator) -> Tensor
    /// Called at the start of every epoch (and of a resumed one) with the training set, for a
    /// model that needs a pass over all of it at some point (VaDE fits its prior after pre-training).
    func prepare(epoch: Int, dataset: Dataset) throws
    /// False for a model that is not generative (the classifier): no samples.png.
    var drawsSamples: Bool { get }
    /// Images per row of samples.png (a translation model shows input | output | target twice).
    var sampleColumns: Int { get }
    /// Images in samples.png.
    var sampleCount: Int { get }
    /// Titles of samples.png's columns or rows, when they differ in kind (input, output, target;
    /// the class of a row).
    var sampleHeadings: GridHeadings? { get }
    /// The model's own schedules of its optimizers' rates, by optimizer name; the loop applies
    /// them with the run's `--lr-schedule`.
    func learningRateSchedules(stepsPerEpoch: Int) -> [String: any LearningRateSchedule]
}

/// What the loop hands one training step: its random stream (whose `examples` say which rows of
/// the global batch this process holds) and, in data-parallel training, the processes its
/// gradients are averaged over. Nothing about the step travels any other way.
public struct StepContext {
    public var generator: RandomGenerator
    public let group: (any ProcessGroup)?

    public init(generator: RandomGenerator, group: (any ProcessGroup)? = nil) {
        self.generator = generator
        self.group = group
    }

    /// One step of `optimizer` down the gradient of `loss` (averaged over the group).
    public func minimize(_ optimizer: Optimizer, _ loss: Tensor) {
        optimizer.minimize(loss, across: group)
    }
}

extension TrainableModel {
    /// One step on one process, drawing from `generator`.
    @discardableResult
    public func trainStep(_ batch: Batch, generator: inout RandomGenerator) -> [String: Float] {
        var context = StepContext(generator: generator)
        defer { generator = context.generator }
        return trainStep(batch, context: &context)
    }

    public func prepare(epoch: Int, dataset: Dataset) throws {}
    public var drawsSamples: Bool { true }
    public var sampleColumns: Int { 8 }
    public var sampleCount: Int { 64 }
    public var sampleHeadings: GridHeadings? { nil }
    public func learningRateSchedules(stepsPerEpoch: Int) -> [String: any LearningRateSchedule] { [:] }
}

/// A model fitted in closed form on the whole training set in one go (PCA), not by steps.
public protocol ClosedFormFitting: TrainableModel {
    /// Fits on every example of `data`; returns figures for the log.
    func fit(_ data: Dataset) throws -> [String: Float]
    /// The curve loss.png shows for the fit, with its x-axis label.
    var fitCurve: (series: [(x: Double, y: Double)], name: String, xLabel: String) { get }
    /// One line on what the fit found.
    func fitSummary(_ figures: [String: Float]) -> String
}

/// A model whose sampling is long (one network pass per pixel) and can show its progress.
public protocol SequentialSampling: AnyObject {
    var showsSamplingProgress: Bool { get set }
    /// How it draws: reusing what earlier draws computed (cached), or a pass per value (naive).
    var sampler: PixelSampler { get set }
    /// Called before each pixel is drawn and once after the last, with the pixels drawn so far
    /// and the images as they stand ([count, C, H, W], zero where nothing is drawn yet): the
    /// studio's live view. Returning false stops the drawing there.
    var watch: ((_ pixels: Int, _ images: () -> Tensor) -> Bool)? { get set }
}

/// A training or evaluation failure with a one-line message.
public struct TrainingError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A parameter, buffer or optimizer state that holds NaN or an infinity.
public struct NonFiniteError: Error, CustomStringConvertible {
    public let step: Int
    public let tensor: String
    public var description: String { "\(tensor) is not finite (NaN or infinite) at step \(step)" }
}
