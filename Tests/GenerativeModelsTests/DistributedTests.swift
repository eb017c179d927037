import Foundation
import TestSupport
import XCTest
@testable import GenerativeModels
import Datasets
import NeuralNetwork
import TensorEngine

final class DistributedTests: TemporaryDirectoryTestCase {
    /// The in-process ranks: sums and gathers in rank order, broadcasts from any root, and the
    /// exact sum equal to the plain one.
    func testThreadGroupCollectives() throws {
        let group = ThreadGroup(size: 3)
        var seen = [[Float]](repeating: [], count: 3)
        try group.run { c in
            var sum: [Float] = [Float(c.rank), 1]
            c.allReduceSum(&sum)
            var exact: [Float] = [Float(c.rank) * 0.1, 1]
            c.allReduceSumExact(&exact)
            var root: [Float] = [Float(c.rank + 10)]
            c.broadcast(&root, root: 2)
            c.barrier()
            seen[c.rank] = sum + exact + root + c.allGather([Float(c.rank)])
        }
        let expected: [Float] = [3, 3, (0 + 0.1) + 0.2, 3, 12, 0, 1, 2]
        XCTAssertEqual(seen, [expected, expected, expected])
    }

    /// Evaluation's reductions: Double sums that keep what a Float would lose, and integer lists
    /// of different lengths gathered whole in rank order.
    func testSumsAndGathersForEvaluation() throws {
        let group = ThreadGroup(size: 3)
        var sums = [[Double]](repeating: [], count: 3), gathered = [[Int]](repeating: [], count: 3)
        try group.run { c in
            // 1e6 + 0.001 * rank: a Float near a million keeps 1/16, not thousandths.
            sums[c.rank] = c.sumOverRanks([1e6 + 0.001 * Double(c.rank), -Double(c.rank)])
            gathered[c.rank] = c.gatherIntegers(Array(repeating: c.rank + 7, count: c.rank), capacity: 4)
        }
        for r in 0..<3 {
            XCTAssertEqual(sums[r][0], 3e6 + 0.003, accuracy: 1e-6)
            XCTAssertEqual(sums[r][1], -3)
            XCTAssertEqual(gathered[r], [8, 9, 9])
        }
    }

    struct Refusal: Error {}

    /// A failing rank ends the run with its error; the ranks waiting on it are released.
    /// Each rank's gradients are replaced by the mean over ranks, exactly: the 1/K that Adam would
    /// hide (it ignores a constant scale) is checked here on its own, in both reductions.
    func testGradientsAreAveragedNotSummed() throws {
        for exact in [false, true] {
            var results = [[[Float]]](repeating: [], count: 4)
            try ThreadGroup(size: 4).run { c in
                let mine = [Tensor([Float(c.rank + 1), -2 * Float(c.rank)]), Tensor(shape: [1, 1], scalars: [Float(10 * c.rank)])]
                results[c.rank] = DataParallel(c, exact: exact).averageGradients(mine).map(\.scalars)
            }
            for rank in 0..<4 { XCTAssertEqual(results[rank], [[2.5, -3], [15]], "rank \(rank), exact \(exact)") }
        }
    }

    func testAFailingRankEndsTheRun() {
        let group = ThreadGroup(size: 2)
        XCTAssertThrowsError(try group.run { c in
            var x: [Float] = [1]
            c.allReduceSum(&x)
            if c.rank == 0 { throw Refusal() }
            c.allReduceSum(&x)
        }) { XCTAssert($0 is Refusal) }
    }

    /// Ranks started with different settings stop at once, naming what differs.
    func testDisagreeingRanksAreNamed() {
        XCTAssertThrowsError(try ThreadGroup(size: 2).run { c in
            try DataParallel(c).requireAgreement([("the seed", "1"), ("the batch size", c.rank == 0 ? "64" : "32")])
        }) { XCTAssert("\($0)".contains("the batch size") && !"\($0)".contains("the seed"), "\($0)") }
    }

    /// The end-of-training check: identical weights pass, one changed bit on one rank stops it.
    func testADriftedRankIsCaught() throws {
        for drift in [false, true] {
            let run = { try ThreadGroup(size: 2).run { c in
                var rng = RandomGenerator(seed: 3)
                let layer = Linear(4, 3, generator: &rng)
                if drift && c.rank == 1 {
                    var w = layer.weight.value.scalars
                    w[5] = Float(bitPattern: w[5].bitPattern ^ 1)
                    layer.weight.assign(Tensor(shape: layer.weight.shape, scalars: w))
                }
                try DataParallel(c).requireIdenticalState(of: layer)
            } }
            if drift { XCTAssertThrowsError(try run()) { XCTAssert("\($0)".contains("the trained parameters"), "\($0)") } }
            else { XCTAssertNoThrow(try run()) }
        }
    }

    /// Synchronised BatchNorm on two ranks, each with half a batch: the outputs and the input
    /// gradients of the whole batch's normalisation (and the same running statistics).
    func testSynchronisedBatchNormIsTheWholeBatchs() throws {
        let x = randomTensor([8, 3, 2, 2], seed: 41), w = randomTensor([8, 3, 2, 2], seed: 42)
        let whole = BatchNorm(3)
        let input = x.requiringGradient()
        let output = whole(input)
        let gradient = gradients(of: (output * w).sum(), wrt: [input])[0]
        var outputs = [[Float]](repeating: [], count: 2), grads = outputs, running = outputs
        try ThreadGroup(size: 2).run { c in
            let parallel = DataParallel(c)
            let norm = BatchNorm(3)
            norm.statisticsGroup = parallel
            let slice = x.sliced(axis: 0, 4 * c.rank..<4 * c.rank + 4).requiringGradient()
            let y = norm(slice)
            outputs[c.rank] = y.scalars
            grads[c.rank] = gradients(of: (y * w.sliced(axis: 0, 4 * c.rank..<4 * c.rank + 4)).sum(), wrt: [slice])[0].scalars
            running[c.rank] = norm.runningMean.value.scalars + norm.runningVar.value.scalars
        }
        assertClose(output, outputs[0] + outputs[1], tolerance: 1e-4)
        assertClose(gradient, grads[0] + grads[1], tolerance: 1e-4)
        assertClose(Tensor(whole.runningMean.value.scalars + whole.runningVar.value.scalars), running[0], tolerance: 1e-5)
        XCTAssertEqual(running[0], running[1])
    }

    func config(steps: Int) -> RunConfig {
        var options = VAE.Options()
        options.latentDimension = 3
        options.hiddenDimensions = [12]
        return try! RunConfig(model: "vae", dataset: "shapes", imageShape: [1, 8, 8],
                         training: TrainingOptions(steps: steps, batchSize: 16, seed: 5, logEvery: 1, sampleEvery: 100, checkpointEvery: 100), options: options)
    }

    func trainer(_ name: String, _ communicator: Communicator, exact: Bool = false) throws -> Trainer {
        let run = RunDirectory(root.appendingPathComponent(name))
        let config = config(steps: 6)
        let trainer = Trainer(model: try Catalog.makeModel(config), dataset: ShapesDataset(count: 100, size: 8, seed: 1),
                              options: config.training, run: run) { try config.save(to: run) }
        trainer.quiet = true
        trainer.parallel = DataParallel(communicator, exact: exact)
        return trainer
    }

    /// K ranks on slices of the global batch: every rank ends with the same weights, rank 0
    /// alone writes, and the result is the one-process run on the whole batch up to the order
    /// of additions (the noise of each example is the same, keyed by its place in the batch).
    func testRanksOnSlicesTrainAsOneProcessOnTheWholeBatch() throws {
        let single = try trainer("single", SingleProcess())
        try single.train()
        let reference = single.model.module.parameters().flatMap(\.value.scalars)
        for (ranks, exact) in [(2, false), (4, true)] {
            var weights = [[Float]](repeating: [], count: ranks)
            try ThreadGroup(size: ranks).run { c in
                let t = try self.trainer("ranks\(ranks)", c, exact: exact)
                try t.train()
                weights[c.rank] = t.model.module.parameters().flatMap(\.value.scalars)
            }
            XCTAssert(weights.allSatisfy { $0 == weights[0] }, "\(ranks) ranks hold identical parameters")
            let distance = zip(weights[0], reference).map { abs($0 - $1) }.max()!
            XCTAssertLessThan(distance, 1e-4, "\(ranks) ranks against one process")
            XCTAssertGreaterThan(zip(weights[0], try trainer("init", SingleProcess()).model.module.parameters().flatMap(\.value.scalars))
                .map { abs($0 - $1) }.max()!, 1e-3, "the ranks trained")
            let run = root.appendingPathComponent("ranks\(ranks)")
            XCTAssertEqual(RunDirectory(run).readLog().count, 6, "one log, written by rank 0")
        }
    }

    /// The same ranks twice give the same bytes.
    func testRanksAreReproducible() throws {
        var results: [[Float]] = []
        for attempt in 0..<2 {
            var first: [Float] = []
            try ThreadGroup(size: 2).run { c in
                let t = try self.trainer("again\(attempt)", c)
                try t.train()
                if c.rank == 0 { first = t.model.module.parameters().flatMap(\.value.scalars) }
            }
            results.append(first)
        }
        XCTAssertEqual(results[0], results[1])
    }
}
