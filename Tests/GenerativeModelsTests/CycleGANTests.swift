import Foundation
import TestSupport
import XCTest
@testable import GenerativeModels
import Datasets
import NeuralNetwork
import TensorEngine

final class CycleGANTests: XCTestCase {
    func model(_ configure: (inout CycleGAN.Options) -> Void = { _ in }) -> CycleGAN {
        var o = CycleGAN.Options()
        o.features = 4
        o.residualBlocks = 1
        configure(&o)
        var rng = RandomGenerator(seed: 0)
        return CycleGAN(o, imageShape: [1, 8, 8], generator: &rng)
    }

    /// Reflection padding mirrors without repeating the edge, as PyTorch's ReflectionPad2d, and
    /// its gradient sums over the copies.
    func testReflectionPadding() {
        let x = Tensor(shape: [1, 1, 2, 3], scalars: [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(reflectionPadded(x, 1).scalars, [5, 4, 5, 6, 5,
                                                        2, 1, 2, 3, 2,
                                                        5, 4, 5, 6, 5,
                                                        2, 1, 2, 3, 2])
        assertGradientsMatchFiniteDifferences([randomTensor([1, 2, 3, 4], seed: 1)]) { reflectionPadded($0[0], 2).squared().sum() }
    }

    /// The cycle and identity losses by hand on tiny tensors.
    func testCycleAndIdentityLossesKnownAnswers() {
        let a = Tensor([0, 1, -1, 0.5]), b = Tensor([1, 1, 0, 0])
        let (cycle, identity) = model().reconstructionLosses(a: a, b: b, cycledA: Tensor([0, 0.5, -1, 0.5]), cycledB: Tensor([1, 0, 0, 1]),
                                                             identityA: Tensor([0.5, 1, -1, 0.5]), identityB: Tensor([1, 1, 0.25, 0]))
        XCTAssertEqual(cycle.scalar, 0.5 / 4 + 2 / 4, accuracy: 1e-6)
        XCTAssertEqual(identity.scalar, 0.25 / 4 + 0.5 / 4, accuracy: 1e-6)
        XCTAssertEqual(CycleGAN.leastSquares(Tensor([0.5, 2]), target: 1).scalar, (0.25 + 1) / 2, accuracy: 1e-6)
    }

    /// The history: while filling, every image passes and is kept; once full, about half are
    /// swapped for older ones, never more than `capacity` are held, and every image handed out
    /// is one that was generated.
    func testHistoryBuffer() {
        let history = ImageHistory(capacity: 4, imageShape: [1, 1, 1])
        var rng = RandomGenerator(seed: 3)
        let first = Tensor(shape: [4, 1, 1, 1], scalars: [1, 2, 3, 4])
        XCTAssertEqual(history.exchange(first, generator: &rng).scalars, [1, 2, 3, 4])
        XCTAssertEqual(history.count, 4)
        var swapped = 0, seen = Set<Float>([1, 2, 3, 4])
        for round in 0..<200 {
            let values = (0..<4).map { Float(100 + round * 4 + $0) }
            let out = history.exchange(Tensor(shape: [4, 1, 1, 1], scalars: values), generator: &rng).scalars
            seen.formUnion(values)   // an image stored earlier in the same batch may already come back
            for (o, v) in zip(out, values) where o != v {
                swapped += 1
                XCTAssert(seen.contains(o), "\(o) was never generated")
            }
            XCTAssertEqual(history.count, 4)
        }
        XCTAssertEqual(Double(swapped) / 800, 0.5, accuracy: 0.06)
    }

    /// The linear decay's factors: constant for the first half, then down to zero.
    func testLinearDecaySchedule() {
        let s = LinearDecay(constantSteps: 4, decaySteps: 4)
        for (step, expected) in [Float(1), 1, 1, 1, 0.8, 0.6, 0.4, 0.2, 0].enumerated() {
            XCTAssertEqual(s.factor(atStep: step), expected, accuracy: 1e-6, "step \(step)")
        }
    }

    /// Training steps lower the cycle loss on thin -> thick squares, and the grids show a, G(a),
    /// F(G(a)); a reloaded checkpoint (history included) translates alike.
    func testTrainingAndReload() throws {
        let squares = ByteImageDataset(name: "squares", pixels: (0..<16).flatMap { i -> [UInt8] in
            (0..<784).map { p in (p / 28 >= 4 + i && p / 28 < 10 + i && p % 28 >= 8 && p % 28 < 12) ? 255 : 0 }
        }, imageShape: [1, 28, 28], labels: Array(0..<16))
        let data = UnpairedDataset.thinToThick(squares)
        XCTAssertEqual(data.a.labels, [0, 2, 4, 6, 8, 10, 12, 14])
        XCTAssertEqual(data.b.labels, [1, 3, 5, 7, 9, 11, 13, 15])
        var rng = RandomGenerator(seed: 1)
        let thick = data.b.images([0]).scalars, thin = squares.images([1]).scalars
        XCTAssertEqual(thick.filter { $0 > 0 }.count, 8 * 6, "a 6 x 4 bar grown by one pixel on every side")
        XCTAssertEqual(thin.filter { $0 > 0 }.count, 6 * 4)
        var o = CycleGAN.Options(); o.features = 4; o.residualBlocks = 1; o.learningRate = 2e-3
        var seeds = RandomGenerator(seed: 0)
        let m = CycleGAN(o, imageShape: [1, 28, 28], generator: &seeds)
        try m.prepare(epoch: 0, dataset: data)
        let first = m.trainStep(data.batch(Array(0..<8), generator: &rng), generator: &rng)["cycle"]!
        var last = first
        for _ in 0..<40 { last = m.trainStep(data.batch(Array(0..<8), generator: &rng), generator: &rng)["cycle"]! }
        XCTAssertLessThan(last, 0.6 * first)
        XCTAssertEqual(m.sample(count: 6, generator: &rng).shape, [6, 1, 28, 28])
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cyclegan-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try Checkpoint.save(m, config: o, to: directory)
        let reloaded = CycleGAN(o, imageShape: [1, 28, 28], generator: &rng)
        try Checkpoint.load(reloaded, from: directory)
        m.eval(); reloaded.eval()
        let images = data.a.images([0, 1])
        XCTAssertEqual(reloaded.translate(images).scalars, m.translate(images).scalars)
        XCTAssertEqual(reloaded.historyA.images.value.scalars, m.historyA.images.value.scalars)
    }
}
