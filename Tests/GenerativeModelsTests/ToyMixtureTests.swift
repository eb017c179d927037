import Foundation
import TestSupport
import XCTest
@testable import GenerativeModels
import Datasets
import NeuralNetwork
import TensorEngine

/// The toy mixtures of the mode-collapse benchmark, the coverage measure and the optimal
/// discriminator's comparison.
final class ToyMixtureTests: XCTestCase {
    func mixture(_ name: String, count: Int = 4000) throws -> PointMixture {
        try XCTUnwrap(PointMixture(name, count: count, seed: 1))
    }

    /// Every point lies near the mode it was drawn from, the modes are drawn about equally, the
    /// values fit [0, 1], and `points(of:)` undoes the scaling.
    func testTheMixturesAreWhatTheyClaim() throws {
        for (name, modes, deviation) in [("ring8", 8, Float(0.02)), ("grid25", 25, 0.05), ("mixture1d", 2, 0.5)] {
            let m = try mixture(name)
            XCTAssertEqual(m.modes.count, modes, name)
            XCTAssertEqual(m.deviation, deviation, name)
            var rng = RandomGenerator(seed: 0)
            let batch = m.batch(Array(0..<m.count), generator: &rng)
            XCTAssertEqual(batch.images.shape, [m.count, m.dimension, 1, 1])
            XCTAssert(batch.images.scalars.allSatisfy { $0 > 0 && $0 < 1 }, "\(name): values outside (0, 1)")
            let points = m.points(of: batch.images)
            for (point, label) in zip(points, try XCTUnwrap(batch.labels)) {
                let distance = zip(point, m.modes[label]).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
                XCTAssertLessThan(distance, 6 * deviation * Float(m.dimension), "\(name): a point far from its mode")
            }
            let share = Dictionary(grouping: try XCTUnwrap(batch.labels), by: { $0 }).mapValues { Double($0.count) / Double(m.count) }
            XCTAssertEqual(share.count, modes)
            for (_, s) in share { XCTAssertEqual(s, 1 / Double(modes), accuracy: 0.5 / Double(modes), name) }
        }
        XCTAssertNil(PointMixture("ring9", count: 10, seed: 0))
    }

    /// The 1-D density integrates to 1 over its range and peaks at the modes.
    func testTheDensityIsADensity() throws {
        let m = try mixture("mixture1d")
        let step: Float = 0.001
        let integral = stride(from: -m.extent, to: m.extent, by: step).map { m.density([$0]) * Double(step) }.reduce(0, +)
        XCTAssertEqual(integral, 1, accuracy: 1e-3)
        XCTAssertGreaterThan(m.density([2]), 10 * m.density([0]))
        let ring = try mixture("ring8")
        XCTAssertEqual(ring.density(ring.modes[3]), 1 / (2 * Double.pi * 0.0004 * 8), accuracy: 1e-3)
    }

    /// Known answers: points on three modes cover three; points between modes are of no
    /// quality; a mode below the threshold is not covered; all in one mode is log K from uniform.
    func testModeCoverageKnownAnswers() throws {
        let m = try mixture("ring8")
        let onThree = (0..<300).map { m.modes[$0 % 3] }
        let three = ModeCoverage(points: onThree, mixture: m)
        XCTAssertEqual(three.covered, 3)
        XCTAssertEqual(three.counts, [100, 100, 100, 0, 0, 0, 0, 0])
        XCTAssertEqual(three.highQualityPercent, 100)
        XCTAssertEqual(three.divergenceFromUniform, Foundation.log(8.0 / 3), accuracy: 1e-9)
        // Just inside and just outside three deviations.
        let edge = ModeCoverage(points: [[2 + 0.059, 0], [2 + 0.061, 0]], mixture: m)
        XCTAssertEqual(edge.counts[0], 1)
        let between = ModeCoverage(points: (0..<100).map { _ in [0, 0] }, mixture: m)
        XCTAssertEqual(between.covered, 0)
        XCTAssertEqual(between.highQualityPercent, 0)
        // 1,000 samples: a mode needs 1000 / 40 = 25 of them.
        let uneven = ModeCoverage(points: Array(repeating: m.modes[0], count: 976) + Array(repeating: m.modes[1], count: 24), mixture: m)
        XCTAssertEqual(uneven.threshold, 25)
        XCTAssertEqual(uneven.covered, 1)
        let uniform = ModeCoverage(points: (0..<800).map { m.modes[$0 % 8] }, mixture: m)
        XCTAssertEqual(uniform.covered, 8)
        XCTAssertEqual(uniform.divergenceFromUniform, 0, accuracy: 1e-12)
        let collapsed = ModeCoverage(points: Array(repeating: m.modes[5], count: 800), mixture: m)
        XCTAssertEqual(collapsed.divergenceFromUniform, Foundation.log(8), accuracy: 1e-9)
    }

    /// A GAN learns points; its discriminator, trained on alone against the generator as it
    /// stands, moves towards the optimal one (a refit that did nothing, or went the wrong way,
    /// would not bring the gap down).
    func testTheRefittedDiscriminatorApproachesTheOptimalOne() throws {
        let data = try mixture("mixture1d", count: 2000)
        var rng = RandomGenerator(seed: 3)
        let gan = GAN(GAN.Options(), imageShape: data.imageShape, perceptronWidths: ([32, 32], [32, 32]), generator: &rng)
        for step in 0..<200 {
            let indices = (0..<64).map { ($0 + step * 64) % data.count }
            gan.trainStep(data.batch(indices, generator: &rng), generator: &rng)
        }
        // D* on a grid from p_g's histogram, and the weighted gap of D to it.
        let points = data.points(of: withoutGradients { gan.sample(count: 20_000, generator: &rng) }).map { $0[0] }
        let bins = 40, width = 2 * data.extent / Float(bins)
        var histogram = [Double](repeating: 0, count: bins)
        for p in points where abs(p) < data.extent { histogram[Int((p + data.extent) / width)] += 1 / Double(points.count) / Double(width) }
        let centres = (0..<bins).map { -data.extent + (Float($0) + 0.5) * width }
        let inputs = Tensor(shape: [bins, 1, 1, 1], scalars: centres.map { ($0 / data.extent + 1) / 2 })
        func gap() -> Double {
            let d = withoutGradients { gan.probabilityReal(inputs) }.scalars
            var (sum, weight) = (0.0, 0.0)
            for i in 0..<bins {
                let (real, fake) = (data.density([centres[i]]), histogram[i])
                guard real + fake > 0 else { continue }
                sum += (real + fake) / 2 * abs(Double(d[i]) - real / (real + fake)); weight += (real + fake) / 2
            }
            return sum / weight
        }
        let before = gap()
        gan.fitDiscriminator(to: data, steps: 1500, batchSize: 128, generator: &rng)
        let after = gap()
        XCTAssertLessThan(after, 0.6 * before, "refitting D alone did not bring it towards D* (\(before) -> \(after))")
        XCTAssertLessThan(after, 0.1)
    }
}
