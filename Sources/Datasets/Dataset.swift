import Foundation
import TensorEngine

/// Examples a model trains on: images [C, H, W] with values in [0, 1], and labels when known.
public protocol Dataset: AnyObject {
    var count: Int { get }
    /// [C, H, W] of one example.
    var imageShape: [Int] { get }
    var name: String { get }
    /// The examples at `indices` as [B, C, H, W]; `generator` supplies any per-batch randomness
    /// (dynamic binarisation), so a batch depends only on it and the indices.
    func batch(_ indices: [Int], generator: inout RandomGenerator) -> Batch
    /// What the user should know about how the data was read (resized images, skipped files),
    /// each said once.
    var notes: [String] { get }
}

extension Dataset {
    public var notes: [String] { [] }
}

public struct Batch {
    public let images: Tensor
    public let labels: [Int]?
    /// The paired target of each image (pix2pix: image -> target), when the data set has pairs.
    public let targets: Tensor?
    public let indices: [Int]
    public init(images: Tensor, labels: [Int]?, targets: Tensor? = nil, indices: [Int]) {
        self.images = images; self.labels = labels; self.targets = targets; self.indices = indices
    }
}

/// The order of examples in an epoch: a seeded permutation, the same for a seed and epoch on
/// every run (and on every process of a data-parallel run).
public func epochOrder(count: Int, seed: UInt64, epoch: Int) -> [Int] {
    var rng = RandomGenerator(seed: seed).derived(UInt64(epoch) &+ 0x5EED)
    return rng.permutation(count)
}

/// Examples held in memory as bytes (0...255), turned into floats a batch at a time.
public class ByteImageDataset: Dataset {
    public let count: Int
    public let imageShape: [Int]
    public let name: String
    let pixels: [UInt8]
    public let labels: [Int]?
    /// The names of the label classes, when the data names them (class subfolders).
    public internal(set) var classNames: [String]?
    public internal(set) var notes: [String] = []

    public init(name: String, pixels: [UInt8], imageShape: [Int], labels: [Int]?) {
        precondition(pixels.count % Shape.count(imageShape) == 0)
        self.name = name; self.pixels = pixels; self.imageShape = imageShape; self.labels = labels
        count = pixels.count / Shape.count(imageShape)
    }

    /// Intensities k / 255 in [0, 1].
    public func images(_ indices: [Int]) -> Tensor {
        let size = Shape.count(imageShape)
        return Tensor(shape: [indices.count] + imageShape) { out in
            pixels.withUnsafeBufferPointer { src in
                for (row, index) in indices.enumerated() {
                    precondition(index >= 0 && index < count, "\(name): example \(index) of \(count)")
                    let from = src.baseAddress! + index * size, to = out.baseAddress! + row * size
                    for i in 0..<size { to[i] = Float(from[i]) * (1 / 255) }
                }
            }
        }
    }

    public func batch(_ indices: [Int], generator: inout RandomGenerator) -> Batch {
        Batch(images: images(indices), labels: labels.map { l in indices.map { l[$0] } }, indices: indices)
    }
}

/// MNIST as intensities in [0, 1], or binarised: dynamically (a fresh Bernoulli draw with the
/// pixel's intensity every time an example is used, for training) or once with a fixed seed per
/// example (for a test set whose likelihoods are comparable between runs and models).
public final class MNISTDataset: ByteImageDataset {
    public enum Binarization: String, Codable, Sendable { case none, dynamic, fixed }
    public static let fixedBinarizationSeed: UInt64 = 0xB1_7A_12_ED
    public let binarization: Binarization

    public init(
        _ split: MNIST.Split, directory: URL = MNIST.defaultDirectory, binarization: Binarization = .none
    ) throws {
        let data = try MNIST.load(split, from: directory)
        self.binarization = binarization
        super.init(
            name: binarization == .none ? "mnist" : "binarized-mnist", pixels: data.images, imageShape: [1, 28, 28],
            labels: data.labels)
    }

    public override func batch(_ indices: [Int], generator: inout RandomGenerator) -> Batch {
        Batch(
            images: MNISTDataset.binarize(images(indices), indices: indices, mode: binarization, generator: &generator),
            labels: labels.map { l in indices.map { l[$0] } }, indices: indices)
    }

    /// Intensities `x` of the examples `indices`, binarised as `mode` says.
    public static func binarize(
        _ x: Tensor, indices: [Int], mode: Binarization, generator: inout RandomGenerator
    ) -> Tensor {
        switch mode {
        case .none: return x
        case .dynamic: return Tensor.bernoulli(probabilities: x, exampleAxis: 0, generator: &generator)
        case .fixed:
            // Each example's draw is keyed by its index alone: any subset, order or batch size
            // sees the same binary image.
            return Tensor.concatenate(
                indices.enumerated().map { row, index in
                    var rng = RandomGenerator(seed: fixedBinarizationSeed).derived(UInt64(index))
                    return Tensor.bernoulli(probabilities: x.sliced(axis: 0, row..<row + 1), generator: &rng)
                }, axis: 0)
        }
    }
}

/// Procedurally drawn shapes (class 0: filled square, 1: ring, 2: cross, 3: horizontal bar) at
/// random places and sizes: a labelled image set that needs no download, for tests and demos.
public final class ShapesDataset: ByteImageDataset {
    public static let classes = 4

    public init(count: Int, size: Int = 28, seed: UInt64 = 0) {
        var rng = RandomGenerator(seed: seed)
        var pixels = [UInt8](repeating: 0, count: count * size * size)
        var labels: [Int] = []
        for n in 0..<count {
            let label = rng.nextInt(below: ShapesDataset.classes)
            labels.append(label)
            let radius = Float(size) * (0.2 + 0.15 * rng.nextUniform())
            let cx = Float(size) / 2 + (rng.nextUniform() - 0.5) * Float(size) * 0.3
            let cy = Float(size) / 2 + (rng.nextUniform() - 0.5) * Float(size) * 0.3
            for y in 0..<size {
                for x in 0..<size {
                    let dx = Float(x) + 0.5 - cx, dy = Float(y) + 0.5 - cy
                    let inside: Bool
                    switch label {
                    case 0: inside = abs(dx) < radius && abs(dy) < radius
                    case 1: inside = abs((dx * dx + dy * dy).squareRoot() - radius) < Float(size) / 14
                    case 2:
                        inside =
                            (abs(dx) < Float(size) / 14 || abs(dy) < Float(size) / 14) && abs(dx) < radius
                            && abs(dy) < radius
                    default: inside = abs(dy) < Float(size) / 10 && abs(dx) < radius
                    }
                    if inside { pixels[n * size * size + y * size + x] = 255 }
                }
            }
        }
        super.init(name: "shapes", pixels: pixels, imageShape: [1, size, size], labels: labels)
    }
}

/// Images of 8-bit levels made continuous by uniform dequantisation (Theis et al. 2016): level k
/// becomes (k + u) / 256 with u ~ U[0, 1), drawn afresh for every batch in training and fixed per
/// example (keyed by its index) for a test set, so that a density's likelihoods are comparable.
/// A density p on these values bounds the levels' probabilities: -log P(k) <= -log p(x) +
/// D log 256, which is how bits per dimension are counted on them.
public final class DequantizedImages: Dataset {
    public let base: ByteImageDataset
    public let fixedNoise: Bool
    public var name: String { "dequantized-" + base.name }
    public var count: Int { base.count }
    public var imageShape: [Int] { base.imageShape }
    /// Levels per value: 256.
    public let levels = 256

    public init(_ base: ByteImageDataset, fixedNoise: Bool) {
        self.base = base
        self.fixedNoise = fixedNoise
    }

    public func batch(_ indices: [Int], generator: inout RandomGenerator) -> Batch {
        let shape = [indices.count] + imageShape
        let noise =
            fixedNoise
            ? Tensor.concatenate(
                indices.map { index in
                    var rng = RandomGenerator(seed: 0xDE_9A_A7).derived(UInt64(index))
                    return Tensor.uniform([1] + imageShape, generator: &rng)
                }, axis: 0)
            : Tensor.uniform(shape, exampleAxis: 0, generator: &generator)
        // k / 255 back to the level k, then into its bin of width 1/256.
        let levels = Tensor(shape: shape, scalars: base.images(indices).scalars.map { ($0 * 255).rounded() })
        return Batch(
            images: (levels + noise) / 256, labels: base.labels.map { l in indices.map { l[$0] } }, indices: indices)
    }
}
