import ArgumentParser
import Datasets
import NeuralNetwork
import TensorEngine

/// The digit classifier the GAN metrics stand on (as the Inception network does for ImageNet):
/// two blocks of two 3x3 convolutions and a 2x2 max-pool (32 then 64 channels), a 128-unit
/// hidden layer whose activations are the features of the FID, dropout, and 10 logits.
public final class Classifier: Module, TrainableModel {
    public struct Options: Codable, Equatable, Sendable {
        public var classes = 10
        public var featureDimension = 128
        public var dropout: Float = 0.5
        public var learningRate: Float = 1e-3
        /// The maps of the two convolution blocks; another architecture than the FID's makes a
        /// judge whose errors are not the FID classifier's.
        public var widths = [32, 64]
        public init() {}

        public init(from decoder: Decoder) throws { // runs saved before `widths` existed: 32, 64
            let c = try decoder.container(keyedBy: CodingKeys.self), d = Options()
            classes = try c.decodeIfPresent(Int.self, forKey: .classes) ?? d.classes
            featureDimension = try c.decodeIfPresent(Int.self, forKey: .featureDimension) ?? d.featureDimension
            dropout = try c.decodeIfPresent(Float.self, forKey: .dropout) ?? d.dropout
            learningRate = try c.decodeIfPresent(Float.self, forKey: .learningRate) ?? d.learningRate
            widths = try c.decodeIfPresent([Int].self, forKey: .widths) ?? d.widths
        }
    }

    public let options: Options
    public let imageShape: [Int]
    let body: Sequential
    let head: Sequential
    var optimizer: Adam!

    public var module: Module { self }
    public var optimizers: [String: Optimizer] { ["model": optimizer] }
    public var drawsSamples: Bool { false }

    public init(_ options: Options, imageShape: [Int], generator: inout RandomGenerator) {
        self.options = options
        self.imageShape = imageShape
        let (c, h, w) = (imageShape[0], imageShape[1], imageShape[2])
        precondition(h % 4 == 0 && w % 4 == 0, "the classifier pools twice; \(h)x\(w) is not divisible by 4")
        func block(_ input: Int, _ output: Int) -> [any Layer] {
            [
                Conv2d(input, output, kernel: 3, padding: 1, generator: &generator), Function.relu(),
                Conv2d(output, output, kernel: 3, padding: 1, generator: &generator), Function.relu(),
                Function { maxPool2d($0, kernel: 2) }
            ]
        }
        let (first, second) = (options.widths[0], options.widths[1])
        body = Sequential(
            block(c, first) + block(first, second) + [
                Function.flatten(),
                Linear(second * (h / 4) * (w / 4), options.featureDimension, generator: &generator), Function.relu()
            ])
        head = Sequential([
            Dropout(options.dropout, generator: &generator),
            Linear(options.featureDimension, options.classes, generator: &generator)
        ])
        super.init()
        optimizer = Adam(trainableParameters(), learningRate: options.learningRate)
    }

    /// The penultimate activations, [N, featureDimension]: the space the FID is measured in.
    public func features(_ images: Tensor) -> Tensor { body(images) }

    public func logits(_ images: Tensor) -> Tensor { head(body(images)) }

    public func predictions(_ images: Tensor) -> [Int] {
        logits(images).argmax(alongAxis: 1).scalars.map { Int($0) }
    }

    public func trainStep(_ batch: Batch, context: inout StepContext) -> [String: Float] {
        guard let labels = batch.labels else { preconditionFailure("the classifier trains on labelled data") }
        let logits = self.logits(batch.images)
        let loss = crossEntropy(logits, labels: labels)
        context.minimize(optimizer, loss)
        let correct = zip(logits.argmax(alongAxis: 1).scalars, labels).filter { Int($0.0) == $0.1 }.count
        return ["loss": loss.scalar, "accuracy": Float(correct) / Float(labels.count)]
    }

    public func sample(count: Int, generator: inout RandomGenerator) -> Tensor {
        preconditionFailure("a classifier draws no samples")
    }
}

extension Classifier.Options: ModelOptions {
    public func makeModel(imageShape: [Int], generator: inout RandomGenerator) throws -> TrainableModel {
        Classifier(self, imageShape: imageShape, generator: &generator)
    }
    public func check(imageShape: [Int]) throws { try requireQuartered(imageShape, "the classifier") }
    public var needsLabels: Bool { true }
    /// As many outputs as the data has classes (a labelled folder's), at least two.
    public func adapted(to data: Dataset) throws -> Self {
        guard let largest = (data as? ByteImageDataset)?.labels?.max() else { return self }
        var options = self
        options.classes = max(2, largest + 1)
        return options
    }
}

public struct ClassifierFlags: OptionFlags {
    @Option(help: "The maps of the two convolution blocks, e.g. 16,32 (default 32,64).") var hidden: Widths?
    @Option(help: "Adam's learning rate (default 1e-3).") var learningRate: Float?
    public init() {}
    public func validate() throws {
        try ValidationError.require(
            hidden.map { $0.values.count == 2 } ?? true,
            "--hidden of the classifier gives the maps of its two convolution blocks, e.g. 16,32")
        try ValidationError.requirePositive(learningRate, "--learning-rate")
    }
    public func apply(to o: inout Classifier.Options) {
        o.widths = hidden?.values ?? o.widths
        o.learningRate = learningRate ?? o.learningRate
    }
}

extension Classifier: Classifying {}
