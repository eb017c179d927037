import Foundation
import TestSupport
import XCTest
@testable import GenerativeModels
import Datasets
import NeuralNetwork
import TensorEngine

final class TrainerTests: TemporaryDirectoryTestCase {

    func config(steps: Int) -> RunConfig {
        var options = VAE.Options()
        options.latentDimension = 3
        options.hiddenDimensions = [12]
        return try! RunConfig(model: "vae", dataset: "shapes", imageShape: [1, 8, 8],
                         training: TrainingOptions(steps: steps, batchSize: 16, seed: 5, logEvery: 1, sampleEvery: 4, checkpointEvery: 3), options: options)
    }

    func trainer(_ config: RunConfig, in name: String) throws -> Trainer {
        let run = RunDirectory(root.appendingPathComponent(name))
        let trainer = Trainer(model: try Catalog.makeModel(config), dataset: ShapesDataset(count: 100, size: 8, seed: 1),
                              options: config.training, run: run) { try config.save(to: run) }
        trainer.quiet = true
        return trainer
    }

    func testARunLeavesEveryFile() throws {
        let t = try trainer(config(steps: 5), in: "run")
        XCTAssertEqual(try t.train(), .finished(steps: 5))
        for file in ["config.json", "model.safetensors", "optimizer.safetensors", "trainer.json", "log.jsonl", "samples.png", "loss.png"] {
            XCTAssert(FileManager.default.fileExists(atPath: t.run.url.appendingPathComponent(file).path), "missing \(file)")
        }
        XCTAssertEqual(t.run.readLog().map { Int($0["step"]!) }, [1, 2, 3, 4, 5])
        XCTAssertEqual(try RunConfig.load(from: t.run), config(steps: 5))
        let samples = try PNG.read(t.run.samples)
        XCTAssertEqual(samples.width, 8 * 8 + 9 * 2)
        _ = try PNG.read(t.run.lossPlot)
        let (_, reloaded) = try Catalog.load(t.run)
        XCTAssertEqual(reloaded.module.stateDict().map(\.tensor.scalars), t.model.module.stateDict().map(\.tensor.scalars))
    }

    /// The cosine schedule ends at a tenth of the base rate; a spent wall-time budget stops the
    /// run early with a checkpoint; snapshots are run directories that load.
    func testScheduleBudgetAndSnapshots() throws {
        var c = config(steps: 8)
        c.training.learningRateSchedule = .cosine
        let t = try trainer(c, in: "cosine")
        XCTAssertEqual(try t.train(), .finished(steps: 8))
        let rate = t.model.optimizers["model"]!.learningRate
        XCTAssertEqual(rate, 1e-3 * CosineDecay(totalSteps: 8, minimumFactor: 0.1).factor(atStep: 7), accuracy: 1e-9)

        var budget = config(steps: 1_000_000)
        budget.training.minutes = 2.0 / 60           // two seconds
        budget.training.snapshotMinutes = 0.6 / 60
        let b = try trainer(budget, in: "budget")
        guard case .finished(let steps) = try b.train() else { return XCTFail("the budget should end the run") }
        XCTAssert(steps > 0 && steps < 1_000_000, "\(steps) steps")
        let snapshots = try FileManager.default.contentsOfDirectory(atPath: b.run.url.appendingPathComponent("snapshots").path).sorted()
        XCTAssertGreaterThanOrEqual(snapshots.count, 2, "\(snapshots)")
        let last = RunDirectory(b.run.url.appendingPathComponent("snapshots").appendingPathComponent(snapshots.last!))
        let (_, reloaded) = try Catalog.load(last)
        XCTAssertEqual(reloaded.module.stateDict().map(\.tensor.scalars), b.model.module.stateDict().map(\.tensor.scalars))
    }

    /// Three steps, a stop, and a resumed run to six end with the weights of six steps in one go.
    func testResumeContinuesExactly() throws {
        let straight = try trainer(config(steps: 6), in: "straight")
        try straight.train()
        let first = try trainer(config(steps: 3), in: "resumed")
        try first.train()
        let second = try trainer(config(steps: 6), in: "resumed")
        XCTAssertEqual(try second.train(resume: true), .finished(steps: 6))
        XCTAssertEqual(second.model.module.stateDict().map(\.tensor.scalars), straight.model.module.stateDict().map(\.tensor.scalars))
        XCTAssertEqual(second.run.readLog().map { Int($0["step"]!) }, [1, 2, 3, 4, 5, 6])
    }

    final class Exploding: TrainableModel {
        let module: Module = Linear(1, 1, generator: &shared)
        var optimizers: [String: Optimizer] { [:] }
        var calls = 0
        let interruptAt: Int?
        init(interruptAt: Int? = nil) { self.interruptAt = interruptAt }
        func trainStep(_ batch: Batch, context: inout StepContext) -> [String: Float] {
            calls += 1
            if calls == interruptAt { raise(SIGINT) }
            return ["loss": interruptAt == nil && calls == 3 ? .nan : 1]
        }
        func sample(count: Int, generator: inout RandomGenerator) -> Tensor { Tensor.zeros([count, 1, 8, 8]) }
    }

    func testNaNStopsTrainingAndNamesTheStep() throws {
        let run = RunDirectory(root.appendingPathComponent("nan"))
        let t = Trainer(model: Exploding(), dataset: ShapesDataset(count: 32, size: 8), options: TrainingOptions(steps: 10, batchSize: 8), run: run) {}
        t.quiet = true
        XCTAssertThrowsError(try t.train()) { error in
            XCTAssert("\(error)".contains("step 3") && "\(error)".contains("nan"), "\(error)")
        }
    }

    /// A model whose weight becomes NaN at one step while its loss stays finite (a GAN at an
    /// absurd rate): training stops at the checkpoint after it, naming the tensor, and says
    /// truly what is on disk.
    final class Diverging: TrainableModel {
        let layer = Linear(1, 1, generator: &shared)
        var module: Module { layer }
        var optimizers: [String: Optimizer] { [:] }
        var calls = 0
        let divergeAt: Int
        init(divergeAt: Int) { self.divergeAt = divergeAt }
        func trainStep(_ batch: Batch, context: inout StepContext) -> [String: Float] {
            calls += 1
            if calls == divergeAt { layer.weight.assign(Tensor(shape: [1, 1], scalars: [.infinity])) }
            return ["loss": 1]
        }
        func sample(count: Int, generator: inout RandomGenerator) -> Tensor { Tensor.zeros([count, 1, 8, 8]) }
    }

    func testWeightsThatAreNotFiniteAreNeverCheckpointed() throws {
        let run = RunDirectory(root.appendingPathComponent("diverged"))
        var options = TrainingOptions(steps: 10, batchSize: 8)
        options.checkpointEvery = 1
        let t = Trainer(model: Diverging(divergeAt: 3), dataset: ShapesDataset(count: 32, size: 8), options: options, run: run) {}
        t.quiet = true
        XCTAssertThrowsError(try t.train()) { error in
            XCTAssert("\(error)".contains("weight is not finite (NaN or infinite) at step 3") && "\(error)".contains("the checkpoint of step 2"), "\(error)")
        }
        XCTAssertEqual(run.checkpointStep(), 2)
        let reloaded = Diverging(divergeAt: 0)
        try Checkpoint.load(reloaded.module, from: run.url)
        XCTAssert(reloaded.layer.weight.value.allFinite)

        let early = RunDirectory(root.appendingPathComponent("diverged-early"))
        let u = Trainer(model: Diverging(divergeAt: 1), dataset: ShapesDataset(count: 32, size: 8), options: options, run: early) {}
        u.quiet = true
        XCTAssertThrowsError(try u.train()) { XCTAssert("\($0)".contains("no checkpoint was written"), "\($0)") }
        XCTAssertNil(early.checkpointStep())
    }

    /// One training owns a run directory: a second is refused while the first holds it.
    func testASecondTrainingOfARunIsRefused() throws {
        let t = try trainer(config(steps: 2), in: "owned")
        try FileManager.default.createDirectory(at: t.run.url, withIntermediateDirectories: true)
        let lock = try RunLock(t.run)
        XCTAssertThrowsError(try t.train()) { XCTAssert("\($0)".contains("is in use by another training (pid \(getpid())"), "\($0)") }
        lock.release()
        XCTAssertEqual(try t.train(), .finished(steps: 2))
    }

    /// A resumed run clears what a killed writer left (a staging folder, temporary files) and
    /// continues from the published checkpoint.
    func testAResumedRunClearsOrphans() throws {
        let first = try trainer(config(steps: 3), in: "orphans")
        try first.train()
        let units = first.run.url.appendingPathComponent(CheckpointUnit.folder)
        try FileManager.default.createDirectory(at: units.appendingPathComponent(".staging-1-step-00000004"), withIntermediateDirectories: true)
        try Data("x".utf8).write(to: first.run.url.appendingPathComponent(".log.jsonl.tmp-1"))
        let second = try trainer(config(steps: 4), in: "orphans")
        XCTAssertEqual(try second.train(resume: true), .finished(steps: 4))
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: units.path)), ["step-00000003", "step-00000004"],
                       "the staging folder is gone; the unit of step 3 stays while step 4's replaces it")
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: first.run.url.path).contains { $0.contains(".tmp-") })
    }

    /// A full disk during a checkpoint stops training with the reason and leaves the last good
    /// checkpoint in place.
    func testAFullDiskKeepsTheLastCheckpoint() throws {
        let probe = try trainer(config(steps: 3), in: "probe")
        try probe.train()
        let unit = try XCTUnwrap(try CheckpointUnit.verified(in: probe.run.url))
        let sizeOfOne = try FileManager.default.contentsOfDirectory(atPath: unit.path).reduce(0) {
            $0 + (try FileManager.default.attributesOfItem(atPath: unit.appendingPathComponent($1).path)[.size] as! Int)
        }
        var c = config(steps: 9)
        c.training.sampleEvery = 1000
        let t = try trainer(c, in: "full")
        // Room for the config, the log, a loss plot and one checkpoint and a half.
        FaultInjection.diskLeft = sizeOfOne * 3 / 2 + 10_000
        defer { FaultInjection.diskLeft = nil }
        XCTAssertThrowsError(try t.train()) { error in
            XCTAssert("\(error)".contains("No space left on device") && "\(error)".contains("the checkpoint of step 3"), "\(error)")
        }
        FaultInjection.diskLeft = nil
        XCTAssertEqual(t.run.checkpointStep(), 3)
        _ = try Catalog.load(t.run)
    }

    func testInterruptSavesACheckpointAndStops() throws {
        let run = RunDirectory(root.appendingPathComponent("interrupted"))
        let t = Trainer(model: Exploding(interruptAt: 2), dataset: ShapesDataset(count: 32, size: 8), options: TrainingOptions(steps: 10, batchSize: 8), run: run) {}
        t.quiet = true
        XCTAssertEqual(try t.train(), .interrupted(atStep: 2))
        XCTAssertEqual(try JSONDecoder().decode(RunDirectory.TrainerState.self, from: Data(contentsOf: run.trainerState)).step, 2)
    }

    func testPCAIsFittedInOneGoAndReloads() throws {
        var options = PCAModel.Options()
        options.components = 5
        let config = try RunConfig(model: "pca", dataset: "shapes", imageShape: [1, 8, 8], training: TrainingOptions(steps: 1), options: options)
        let run = RunDirectory(root.appendingPathComponent("pca"))
        let data = ShapesDataset(count: 200, size: 8, seed: 1)
        let model = try Catalog.makeModel(config) as! PCAModel
        let t = Trainer(model: model, dataset: data, options: config.training, run: run) { try config.save(to: run) }
        t.quiet = true
        try t.fitClosedForm(model)
        let figures = run.readLog()[0]
        XCTAssertGreaterThan(figures["explained_variance"]!, 0.3)
        let (_, reloaded) = try Catalog.load(run)
        var rng = RandomGenerator(seed: 0)
        let x = data.batch([0, 1, 2], generator: &rng).images
        XCTAssertEqual((reloaded as! PCAModel).reconstruct(x).scalars, model.reconstruct(x).scalars)
        for file in ["config.json", "model.safetensors", "log.jsonl", "samples.png", "loss.png"] {
            XCTAssert(FileManager.default.fileExists(atPath: run.url.appendingPathComponent(file).path), file)
        }
    }

    func testUnknownNamesAreRefused() {
        XCTAssertThrowsError(try ModelRegistry.entry("vea")) { XCTAssert("\($0)".contains("unknown model 'vea'"), "\($0)") }
        XCTAssertThrowsError(try Catalog.dataset("fashion", split: .train)) { XCTAssert("\($0)".contains("unknown data set 'fashion'"), "\($0)") }
    }
}

nonisolated(unsafe) var shared = RandomGenerator(seed: 0)

/// The loop's callbacks: a callback of the caller's sees every step and the end, in order.
final class TrainingCallbackTests: TemporaryDirectoryTestCase {
    final class Recorder: TrainingCallback {
        var events: [String] = []
        func beforeStep(_ context: LoopContext, granted: Bool) throws -> LoopDecision {
            events.append("before \(context.state.step)")
            return context.state.step == 3 ? .finish : .proceed
        }
        func afterStep(_ context: LoopContext, losses: [String: Float], epoch: Int) throws {
            events.append("after \(context.state.step) \(losses["loss"]!.isFinite)")
        }
        func afterTraining(_ context: LoopContext) throws { events.append("end \(context.state.step)") }
    }

    func testACallbackSeesEveryStepAndCanFinishTheRun() throws {
        var options = VAE.Options()
        (options.latentDimension, options.hiddenDimensions) = (2, [8])
        let config = try RunConfig(model: "vae", dataset: "shapes", imageShape: [1, 8, 8],
                                   training: TrainingOptions(steps: 10, batchSize: 8, seed: 1, logEvery: 1, sampleEvery: 100, checkpointEvery: 100),
                                   options: options)
        let run = RunDirectory(root.appendingPathComponent("run"))
        let trainer = Trainer(model: try Catalog.makeModel(config), dataset: ShapesDataset(count: 64, size: 8, seed: 1),
                              options: config.training, run: run) { try config.save(to: run) }
        trainer.quiet = true
        let recorder = Recorder()
        trainer.extraCallbacks = [recorder]
        XCTAssertEqual(try trainer.train(), .finished(steps: 3))
        XCTAssertEqual(recorder.events, ["before 0", "after 1 true", "before 1", "after 2 true", "before 2", "after 3 true", "before 3", "end 3"])
        XCTAssertEqual(run.readLog().count, 3, "the log's callback acted before the caller's")
    }
}
