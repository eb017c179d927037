import Datasets
import Foundation
import NeuralNetwork
import TensorEngine

/// A network of the autoregressive family: images [N, C, H, W] in [0, 1] (and, for a
/// class-conditional one, a label per image) to logits [N, C * levels, H, W] whose values at a
/// pixel depend only on the pixels before it in raster order (and, within a pixel, on the colour
/// channels before it). Channel `c * levels + l` holds the logit of value l for colour c.
public protocol PixelNetwork: Module {
    func callAsFunction(_ images: Tensor, labels: [Int]?) -> Tensor
    /// The heights the network takes are multiples of this (its resampling's factor).
    var rowMultiple: Int { get }
}

extension PixelNetwork {
    public var rowMultiple: Int { 1 }
}

/// How a pixel's value is distributed given the pixels before it.
public enum PixelLikelihood: String, Codable, CaseIterable, Sendable {
    /// Binary pixels: one logit, Bernoulli(sigmoid(logit)).
    case bernoulli
    /// 8-bit pixels: 256 logits, a softmax over the values 0...255.
    case categorical
    /// 8-bit pixels: PixelCNN++'s discretised mixture of logistics.
    case logisticMixture = "logistic-mixture"

    /// Logits per colour value (the two softmax likelihoods).
    public var levels: Int { self == .bernoulli ? 1 : 256 }
}

/// What the autoregressive models share: the exact log-likelihood log p(x) = sum_i log p(x_i |
/// x_<i) in one pass of the network (the masks make every conditional see only its past), the
/// training step on its mean, and pixel-by-pixel sampling.
public final class AutoregressiveModel: Module, TrainableModel, SequentialSampling {
    public let likelihood: PixelLikelihood
    public let imageShape: [Int]
    /// The label classes of a class-conditional network, 0 if unconditional.
    public let classes: Int
    /// The logistics of a mixture likelihood.
    public let components: Int
    let network: any PixelNetwork
    var optimizer: Adam!

    public var module: Module { self }
    public var optimizers: [String: Optimizer] { ["model": optimizer] }
    /// Sixteen, as a grid drawn every `--sample-every` steps should cost little of the training.
    /// A conditional model draws a row of 2 per class, headed by the class.
    public var sampleCount: Int { classes > 0 ? 2 * classes : 16 }
    public var sampleColumns: Int { classes > 0 ? 2 : 8 }
    public var sampleHeadings: GridHeadings? { classes > 0 ? GridHeadings(rows: (0..<classes).map(String.init)) : nil }

    public init(
        network: any PixelNetwork, likelihood: PixelLikelihood, imageShape: [Int], classes: Int = 0,
        components: Int = 10,
        learningRate: Float
    ) {
        self.components = components
        self.network = network
        self.likelihood = likelihood
        self.imageShape = imageShape
        self.classes = classes
        super.init()
        optimizer = Adam(trainableParameters(), learningRate: learningRate)
    }

    /// The network's logits as [N, C, levels, H, W].
    func logits(_ images: Tensor, labels: [Int]?) -> Tensor {
        network(images, labels: classes > 0 ? labels : nil).reshaped([
            -1, imageShape[0], likelihood.levels, images.shape[2], images.shape[3]
        ])
    }

    /// log p(x) in nats per image, [N], for images in [0, 1] (8-bit values k / 255 for the
    /// categorical likelihood).
    public func logLikelihood(_ images: Tensor, labels: [Int]? = nil) -> Tensor {
        let n = images.shape[0]
        if likelihood == .logisticMixture {
            return DiscretizedLogisticMixture.logLikelihood(
                network(images, labels: nil), images: images, components: components)
        }
        let l = logits(images, labels: labels)
        switch likelihood {
        case .bernoulli:
            return bernoulliLogLikelihood(logits: l.reshaped([n, -1]), targets: images.reshaped([n, -1]))
        case .categorical, .logisticMixture:
            let values = images.scalars.map { Int(($0 * 255).rounded()) }
            let perValue = l.permuted([0, 1, 3, 4, 2]).reshaped([-1, 256]) // [N * C * H * W, 256], in the images' order
            return -crossEntropy(perValue, labels: values, reduction: .none).reshaped([n, -1]).sum(alongAxis: 1)
        }
    }

    /// PixelCNN++'s data-dependent initialisation, from the first 100 training images, before its
    /// first step (once: the flag is saved with the model).
    public func prepare(epoch: Int, dataset: Dataset) throws {
        guard let network = network as? PixelCNNPlusPlusNetwork, !network.isInitialized else { return }
        var generator = RandomGenerator(seed: 0) // draws a binarised data set's pixels, if any
        network.initialize(from: dataset.batch(Array(0..<min(100, dataset.count)), generator: &generator).images)
    }

    /// The training loss: -log p(x) in nats per image (summed over pixels and colours), averaged
    /// over the batch. PixelCNN++'s dropout draws its own masks, unless `dropoutKeep` gives them:
    /// the keep mask (1 kept, 0 dropped) of every gated ResNet block by its name in the network
    /// (`up_down.0`, ...), so that a step can be compared with another implementation's.
    public func loss(_ images: Tensor, labels: [Int]?, dropoutKeep: [String: Tensor]? = nil) -> Tensor {
        guard let dropoutKeep else { return -logLikelihood(images, labels: labels).mean() }
        guard let network = network as? PixelCNNPlusPlusNetwork else {
            preconditionFailure("only PixelCNN++ has dropout masks to give")
        }
        return network.withDropoutMasks(dropoutKeep) { -logLikelihood(images, labels: labels).mean() }
    }

    public func trainStep(_ batch: Batch, context: inout StepContext) -> [String: Float] {
        if classes > 0 && batch.labels == nil { preconditionFailure("a class-conditional model needs labelled data") }
        let nll = loss(batch.images, labels: batch.labels)
        context.minimize(optimizer, nll)
        return ["loss": nll.scalar]
    }

    /// Draws a progress bar while sampling, which takes a pass of the network per pixel.
    public var showsSamplingProgress = false

    public func sample(count: Int, generator: inout RandomGenerator) -> Tensor {
        sample(
            labels: classes > 0 ? (0..<count).map { $0 * classes / count } : nil, count: count, generator: &generator)
    }

    /// How `sample` draws: cached (the default) or naive (the reference).
    public var sampler = PixelSampler.cached

    public var watch: ((_ pixels: Int, _ images: () -> Tensor) -> Bool)?

    /// Shows `watch` the images with `position` pixels drawn; false when it asks to stop.
    func watched(_ position: Int, _ pixels: [Float], count: Int) -> Bool {
        guard let watch else { return true }
        return watch(position) { Tensor(shape: [count] + self.imageShape, scalars: pixels) }
    }

    /// Images of the classes `labels` (nil: unconditional), drawn by `sampler`.
    public func sample(labels: [Int]?, count: Int, generator: inout RandomGenerator) -> Tensor {
        sample(labels: labels, count: count, sampler: sampler, generator: &generator)
    }

    /// Images drawn value by value in raster order; both samplers draw the same images (a network
    /// without a cached form, such as a test's, is sampled naively).
    public func sample(labels: [Int]?, count: Int, sampler: PixelSampler, generator: inout RandomGenerator) -> Tensor {
        sampler == .cached && network is any CachedSampling
            ? cachedSample(labels: labels, count: count, generator: &generator)
            : naiveSample(labels: labels, count: count, generator: &generator)
    }

    /// Images drawn value by value in raster order (colours in order within a pixel), one pass
    /// of the network per value; `labels` picks the class of each image of a conditional model.
    /// A pass sees only the rows up to the one being drawn (rounded up to the network's row
    /// multiple): all that a row's outputs depend on, so the conditionals are those of full
    /// passes (to rounding), at about half their cost.
    func naiveSample(labels: [Int]?, count: Int, generator: inout RandomGenerator) -> Tensor {
        let (c, h, w) = (imageShape[0], imageShape[1], imageShape[2])
        let levels = likelihood.levels, plane = h * w, multiple = network.rowMultiple
        var pixels = [Float](repeating: 0, count: count * c * plane)
        let progress =
            showsSamplingProgress ? Progress(total: plane, label: "sampling \(count) images", unit: "pixels") : nil
        defer { progress?.finish() }
        withoutGradients {
            for position in 0...plane {
                guard watched(position, pixels, count: count), position < plane else { break }
                progress?.update(position + 1)
                let rows = min(h, (position / w / multiple + 1) * multiple), visible = rows * w
                let rowsSoFar = {
                    Tensor(shape: [count, c, rows, w]) { out in
                        for map in 0..<count * c {
                            for i in 0..<visible { out[map * visible + i] = pixels[map * plane + i] }
                        }
                    }
                }
                if likelihood == .logisticMixture {
                    // All colours of a pixel in one draw: the mixture conditions them on each other.
                    let values = DiscretizedLogisticMixture.sample(
                        network(rowsSoFar(), labels: nil), channels: c, components: components,
                        positions: position..<position + 1, generator: &generator
                    ).scalars
                    for map in 0..<count * c { pixels[map * plane + position] = values[map * visible + position] }
                    continue
                }
                for channel in 0..<c {
                    let l = logits(rowsSoFar(), labels: labels).scalars
                    for image in 0..<count {
                        let first = ((image * c + channel) * levels) * visible + position // logit of value 0
                        pixels[(image * c + channel) * plane + position] = drawValue(
                            { l[first + $0 * visible] }, generator: &generator)
                    }
                }
            }
        }
        return Tensor(shape: [count] + imageShape, scalars: pixels)
    }

    /// A value drawn from softmax(logits).
    static func draw(_ logits: [Float], generator: inout RandomGenerator) -> Int {
        let top = logits.max() ?? 0
        let weights = logits.map { Foundation.exp($0 - top) }
        var u = generator.nextUniform() * weights.reduce(0, +)
        for (value, weight) in weights.enumerated() {
            u -= weight
            if u < 0 { return value }
        }
        return weights.count - 1
    }
}
