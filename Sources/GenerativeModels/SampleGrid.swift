import Datasets
import Foundation
import TensorEngine

/// The grid `deepgen sample` and the studio draw for a model, by what it can do: points on
/// their mixture, translated held-out images, one row per class, truncated styles, or plain
/// samples.
public enum SampleGrid {
    /// - Parameters:
    ///   - count: images (default 64; 2,500 points of a toy mixture); translators draw
    ///     `3 * count` cells of held-out rows.
    ///   - psi: StyleGAN's truncation (default: the run's).
    ///   - label: every image of this class (class-conditional models); nil, one row per class.
    public static func draw(
        _ model: TrainableModel, config: RunConfig, count: Int?, psi: Float? = nil, label: Int? = nil,
        dataDirectory: URL = MNIST.defaultDirectory, generator: inout RandomGenerator
    ) throws -> Image {
        let conditional = (model as? ConditionalSampling).flatMap { $0.classes > 0 ? $0 : nil }
        if let mixture = PointMixture(config.dataset, count: 1, seed: 0) {
            let samples = withoutGradients { model.sample(count: count ?? 2500, generator: &generator) }
            return PointsPlot.render(samples: samples, of: mixture, heading: config.model)
        }
        let count = count ?? 64
        if let style = model as? StyleMixing {
            return Image.grid(
                withoutGradients { style.sample(count: count, psi: psi ?? style.truncation, generator: &generator) })
        }
        if let translator = model as? Translating {
            // Held-out images: rows of input | output (| target for pairs; | F(G(a)) for a cycle).
            let test = try Catalog.dataset(
                config.dataset, split: .test, dataDirectory: dataDirectory, imageSize: config.imageShape[1],
                channels: config.imageShape[0], pairing: translator.pairing)
            translator.show(test)
            return GridHeadings.grid(
                withoutGradients { translator.sample(count: 3 * count, generator: &generator) },
                columns: translator.sampleColumns, translator.sampleHeadings)
        }
        if let conditional {
            if let label, !(0..<conditional.classes).contains(label) {
                throw TrainingError("label \(label) is not a class of this model (0...\(conditional.classes - 1))")
            }
            let perRow = max(1, count / conditional.classes)
            let labels =
                label.map { [Int](repeating: $0, count: count) }
                ?? (0..<conditional.classes).flatMap { [Int](repeating: $0, count: perRow) }
            return GridHeadings.grid(
                withoutGradients { conditional.sample(labels: labels, count: labels.count, generator: &generator) },
                columns: label == nil ? perRow : 8,
                label == nil ? GridHeadings(rows: (0..<conditional.classes).map(String.init)) : nil)
        }
        if label != nil { throw TrainingError("a label is for a class-conditional model; this is \(config.model)") }
        return Image.grid(withoutGradients { model.sample(count: count, generator: &generator) })
    }
}
