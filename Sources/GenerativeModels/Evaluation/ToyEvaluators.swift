import Datasets
import Foundation
import NeuralNetwork
import TensorEngine

// The GAN section's two facts measured on toy data: how many modes a generator covers, and how
// far a trained discriminator is from the optimal one.

extension Evaluation {
    /// The toy mixture the run trained on, or an error naming what it trained on.
    func pointMixture(for metric: Metric, dimension: Int? = nil) throws -> PointMixture {
        guard let mixture = try data(settings.split) as? PointMixture,
            dimension.map({ $0 == mixture.dimension }) ?? true
        else {
            let wanted = dimension == 1 ? "mixture1d" : "the toy mixtures (\(PointMixture.names.joined(separator: ", ")))"
            throw TrainingError(
                "\(metric.rawValue) is measured on \(wanted); \(run) trained on \(config.dataset)")
        }
        return mixture
    }

    /// `count` samples of the run's generator as points of `mixture`.
    func samplePoints(_ count: Int, of mixture: PointMixture) -> [[Float]] {
        var generator = RandomGenerator(seed: settings.seed)
        return stride(from: 0, to: count, by: 1000).flatMap { start in
            mixture.points(of: withoutGradients { model.sample(count: min(1000, count - start), generator: &generator) })
        }
    }

    /// Modes covered by `settings.count` samples; draws RUN/modes.png.
    func modeCoverage() throws -> Measurement {
        let mixture = try pointMixture(for: .modes)
        let count = settings.count
        let points = samplePoints(count, of: mixture)
        let coverage = ModeCoverage(points: points, mixture: mixture)
        let figure = URL(fileURLWithPath: run).appendingPathComponent("modes.png")
        try writeAtomically(
            PNG.encode(PointsPlot.render(points, mixture: mixture, title: "\(config.model): \(coverage.summary)")),
            to: figure)
        let text =
            "\(config.model) on \(mixture.name): \(coverage.summary) in \(count) samples (a mode counts from "
            + "\(coverage.threshold) samples within 3 deviations); KL to uniform over the modes "
            + String(format: "%.3f", coverage.divergenceFromUniform) + " nats; \(figure.path)"
        return Measurement(
            model: config.model, metric: .modes, value: Double(coverage.covered), dataset: config.dataset,
            split: "samples", count: count, k: 1,
            extra: [
                Figure("modes_total", Double(mixture.modes.count), digits: 0),
                Figure("high_quality_percent", coverage.highQualityPercent, digits: 2),
                Figure("kl_to_uniform", coverage.divergenceFromUniform, digits: 4),
                Figure("per_mode", list: coverage.counts.map(Double.init), digits: 0)
            ], text: text)
    }

    /// D(x) against D*(x) = p_data(x) / (p_data(x) + p_g(x)) on a grid over the data's range, p_g a
    /// histogram of 10 x `settings.count` samples: the run's D, and D trained on against the
    /// generator as it stands for `settings.discriminatorSteps` more steps, which should approach
    /// D* (Goodfellow et al. 2014, Proposition 1). The value is the refitted D's mean |D - D*|
    /// under (p_data + p_g) / 2, the distribution D is trained on. Draws RUN/discriminator.png.
    func discriminatorGap() throws -> Measurement {
        let model = model as! ProbabilityDiscriminating
        let mixture = try pointMixture(for: .discriminator, dimension: 1)
        let count = 10 * settings.count, bins = 200
        let width = 2 * mixture.extent / Float(bins)
        var histogram = [Int](repeating: 0, count: bins)
        for point in samplePoints(count, of: mixture) {
            let bin = Int(((point[0] + mixture.extent) / width).rounded(.down))
            if (0..<bins).contains(bin) { histogram[bin] += 1 }
        }
        let centres = (0..<bins).map { -mixture.extent + (Float($0) + 0.5) * width }
        let generated = histogram.map { Double($0) / Double(count) / Double(width) }
        let real = centres.map { mixture.density([$0]) }
        let inputs = Tensor(shape: [bins, 1, 1, 1], scalars: centres.map { ($0 / mixture.extent + 1) / 2 })
        func probabilities() -> [Double] {
            model.module.eval()
            defer { model.module.train() }
            return withoutGradients { model.probabilityReal(inputs) }.scalars.map { Double($0) }
        }
        let optimal = zip(real, generated).map { $0 + $1 > 0 ? $0 / ($0 + $1) : .nan }
        func gap(_ d: [Double]) -> Double {
            var (sum, weight) = (0.0, 0.0)
            for i in 0..<bins where optimal[i].isFinite {
                let w = (real[i] + generated[i]) / 2
                sum += w * abs(d[i] - optimal[i]); weight += w
            }
            return sum / max(weight, 1e-12)
        }
        let trained = probabilities()
        var generator = RandomGenerator(seed: settings.seed).derived(0xD15C)
        model.fitDiscriminator(
            to: try data(.train), steps: settings.discriminatorSteps, batchSize: 128, generator: &generator)
        let refitted = probabilities()
        let value = gap(refitted)
        let xs = centres.map(Double.init)
        func curve(_ name: String, _ ys: [Double]) -> OverlayPlot.Curve {
            (name, zip(xs, ys).map { (x: $0, y: $1) })
        }
        let figure = URL(fileURLWithPath: run).appendingPathComponent("discriminator.png")
        try writeAtomically(
            PNG.encode(
                OverlayPlot.render(
                    panels: [
                        [
                            curve("D* optimal", optimal), curve("D of the run", trained),
                            curve("D, \(settings.discriminatorSteps) more steps", refitted)
                        ],
                        [curve("p_data", real), curve("p_g", generated)]
                    ],
                    title: "\(config.model) on \(mixture.name): the discriminator and the optimal one",
                    xLabel: "x")),
            to: figure)
        let text =
            "\(config.model) on \(mixture.name): mean |D(x) - D*(x)| under (p_data + p_g) / 2 = "
            + String(format: "%.4f", value) + " after \(settings.discriminatorSteps) more steps of D alone ("
            + String(format: "%.4f", gap(trained)) + " for the run's D); p_g from \(count) samples; \(figure.path)"
        return Measurement(
            model: config.model, metric: .discriminator, value: value, dataset: config.dataset, split: "samples",
            count: count, k: 1,
            extra: [
                Figure("run_gap", gap(trained)), Figure("discriminator_steps", Double(settings.discriminatorSteps), digits: 0)
            ], text: text)
    }
}
