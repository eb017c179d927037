import Foundation
import TestSupport
import XCTest
@testable import GenerativeModels
import Datasets
import NeuralNetwork
import TensorEngine

final class ClassifierTests: XCTestCase {
    /// The classifier learns the four shapes; its features put held-out real images near the
    /// test set and uniform noise far from it.
    func testClassifierLearnsAndFeaturesSeparateRealFromNoise() throws {
        var rng = RandomGenerator(seed: 1)
        var options = Classifier.Options()
        options.classes = ShapesDataset.classes
        let classifier = Classifier(options, imageShape: [1, 12, 12], generator: &rng)
        let train = ShapesDataset(count: 512, size: 12, seed: 2), test = ShapesDataset(count: 256, size: 12, seed: 3)
        for epoch in 0..<8 {
            let order = epochOrder(count: 512, seed: 4, epoch: epoch)
            for start in stride(from: 0, to: 512, by: 32) {
                _ = classifier.trainStep(train.batch(Array(order[start..<start + 32]), generator: &rng), generator: &rng)
            }
        }
        let evaluator = try FIDEvaluator(classifier: classifier, test: test)
        XCTAssertGreaterThan(evaluator.classifierAccuracy, 0.9)
        var done = 0
        let real = try evaluator.evaluate(count: 256, batchSize: 100) { n in
            defer { done += n }
            return train.batch(Array(done..<(done + n)), generator: &rng).images
        }
        let noise = try evaluator.evaluate(count: 256, batchSize: 100) { n in Tensor.uniform([n, 1, 12, 12], generator: &rng) }
        XCTAssertLessThan(real.fid * 10, noise.fid, "real \(real.fid), noise \(noise.fid)")
        XCTAssert(real.coverage.rareClasses.isEmpty, "\(real.coverage.shares)")
        XCTAssertEqual(real.coverage.shares.reduce(0, +), 1, accuracy: 1e-9)

        // The reference itself scores 0 (an identical set is identical); the floor is real images
        // of another split at the same count, the real pass above.
        var index = 0
        let identical = try evaluator.evaluate(count: 256, batchSize: 100) { n in
            defer { index += n }
            return test.batch(Array(index..<(index + n)), generator: &rng).images
        }
        XCTAssertEqual(identical.fid, 0, accuracy: 1e-3)
        XCTAssertEqual(try evaluator.floor(count: 256, real: train), real.fid, accuracy: 1e-9 * max(1, real.fid))
        // A floor of more images than the real set holds is refused, not padded out.
        XCTAssertThrowsError(try evaluator.floor(count: 300, real: ShapesDataset(count: 256, size: 12, seed: 2))) { XCTAssert("\($0)".contains("holds 256"), "\($0)") }
    }

    /// `eval --metric recognisable` counts a sample for the class the classifier gives more than
    /// 0.9, and not at all when no class gets that much (a tie, or 0.9 exactly).
    func testConfidentReadingsCountOnlyClearReadings() {
        let p = Tensor([[0.95, 0.05, 0], [0.1, 0.85, 0.05], [0, 0.01, 0.99], [0.9, 0.1, 0], [0.02, 0.97, 0.01], [1.0 / 3, 1.0 / 3, 1.0 / 3]])
        XCTAssertEqual(Evaluation.confidentReadings(p, threshold: 0.9), [1, 1, 1])
        XCTAssertEqual(Evaluation.confidentReadings(p, threshold: 0.5), [2, 2, 1])
    }
}
