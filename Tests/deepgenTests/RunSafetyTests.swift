import Foundation
import NeuralNetwork
import TestSupport
import XCTest

/// Runs that can be trusted: a checkpoint survives a kill at any moment of its publication and a
/// full disk, a run directory has one owner, and the exit code says how a run ended.
final class RunSafetyTests: TemporaryDirectoryTestCase {
    let tiny = ["vae", "--dataset", "shapes", "--image-size", "12", "--batch-size", "16", "--hidden", "32", "--latent-dim", "4"]

    func deepgen(_ arguments: [String], environment: [String: String] = [:], whileRunning: ((pid_t) -> Void)? = nil) throws -> Invocation {
        try Invocation.run(arguments, in: root, environment: environment, whileRunning: whileRunning)
    }

    func path(_ name: String) -> String { root.appendingPathComponent(name).path }

    /// The step of the published trainer.json, and the step written into the weights' metadata.
    func steps(of run: String) throws -> (trainer: Int, weights: String?) {
        let state = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(run)/trainer.json"))) as! [String: Any]
        let (_, metadata) = try SafeTensors.read(from: URL(fileURLWithPath: "\(run)/model.safetensors"))
        return (state["step"] as! Int, metadata["step"])
    }

    /// A kill at each stage of publishing the step-20 checkpoint leaves the step-10 unit or the
    /// step-20 unit whole (weights, optimizer and step agree), and the resumed run ends with the
    /// bytes of a run that was never interrupted.
    func testAKillAtAnyStageOfACheckpointLosesNothing() throws {
        let straight = try deepgen(["train"] + tiny + ["--steps", "30", "--checkpoint-every", "10", "--out", path("straight")])
        XCTAssertEqual(straight.status, 0, straight.err)
        for (stage, survivor) in [("unit-written", 10), ("unit-renamed", 10), ("unit-published", 20)] {
            let run = path(stage)
            XCTAssertEqual(try deepgen(["train"] + tiny + ["--steps", "10", "--checkpoint-every", "10", "--out", run]).status, 0)
            let killed = try deepgen(["train", "vae", "--resume", "--steps", "30", "--out", run], environment: ["DEEPGEN_KILL_AT": "\(stage):1"])
            XCTAssertEqual(killed.signal, SIGKILL, "\(stage): \(killed.err)")
            let (trainer, weights) = try steps(of: run)
            XCTAssertEqual(trainer, survivor, stage)
            XCTAssertEqual(weights, "\(survivor)", "\(stage): the weights are of another step than trainer.json")
            let resumed = try deepgen(["train", "vae", "--resume", "--steps", "30", "--out", run])
            XCTAssertEqual(resumed.status, 0, resumed.err)
            for file in ["model.safetensors", "optimizer.safetensors"] {
                XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: "\(run)/\(file)")), try Data(contentsOf: URL(fileURLWithPath: "\(path("straight"))/\(file)")),
                               "\(stage): \(file) differs from the uninterrupted run's")
            }
            let units = try FileManager.default.contentsOfDirectory(atPath: "\(run)/checkpoints")
            XCTAssertLessThanOrEqual(units.count, 2, "\(stage): the published unit and the one it replaced, no more: \(units)")
            XCTAssertFalse(units.contains { $0.hasPrefix(".staging") }, stage)
            XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: run).contains { $0.contains(".tmp-") }, stage)
        }
    }

    /// The disk fills up between two checkpoints: one error line saying so, exit 1, and the
    /// earlier checkpoint still loads.
    func testAFullDiskIsOneLineAndKeepsTheLastCheckpoint() throws {
        let probe = try deepgen(["train"] + tiny + ["--steps", "1", "--out", path("probe")])
        XCTAssertEqual(probe.status, 0, probe.err)
        let unit = "\(path("probe"))/checkpoint"
        let size = try FileManager.default.contentsOfDirectory(atPath: unit).reduce(0) {
            $0 + (try FileManager.default.attributesOfItem(atPath: "\(unit)/\($1)")[.size] as! Int)
        }
        let full = try deepgen(["train"] + tiny + ["--steps", "30", "--checkpoint-every", "10", "--sample-every", "1000", "--out", path("full")],
                               environment: ["DEEPGEN_DISK_FULL_AFTER": "\(size * 3 / 2 + 20_000)"])
        XCTAssertEqual(full.status, 1, full.err)
        XCTAssertEqual(full.errorLines.count, 1, full.err)
        XCTAssert(full.err.contains("No space left on device") && full.err.contains("the checkpoint of step 10"), full.err)
        XCTAssertEqual(try steps(of: path("full")).trainer, 10)
        let sampled = try deepgen(["sample", path("full"), "--count", "4"])
        XCTAssertEqual(sampled.status, 0, sampled.err)
    }

    /// A damaged checkpoint file is named, not loaded.
    func testADamagedCheckpointIsNamed() throws {
        XCTAssertEqual(try deepgen(["train"] + tiny + ["--steps", "2", "--out", path("run")]).status, 0)
        let weights = URL(fileURLWithPath: "\(path("run"))/checkpoint/model.safetensors")
        var bytes = try Data(contentsOf: weights)
        bytes[bytes.count - 3] ^= 0x40
        try bytes.write(to: weights)
        let sampled = try deepgen(["sample", path("run")])
        XCTAssertEqual(sampled.status, 1)
        XCTAssert(sampled.err.contains("model.safetensors is damaged"), sampled.err)
    }

    /// Ctrl-C: a checkpoint, then exit 130, so `train && eval` stops.
    func testAnInterruptedRunExits130WithItsCheckpoint() throws {
        let interrupted = try deepgen(["train"] + tiny + ["--steps", "100000000", "--out", path("run")]) { process in
            // Interrupt once training has begun (its log has a line).
            let log = "\(self.path("run"))/log.jsonl"
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline, ((try? Data(contentsOf: URL(fileURLWithPath: log)))?.count ?? 0) == 0 { usleep(20_000) }
            kill(process, SIGINT)
        }
        XCTAssertEqual(interrupted.status, 130, interrupted.err)
        XCTAssertNil(interrupted.signal)
        XCTAssert(interrupted.err.contains("interrupted at step"), interrupted.err)
        XCTAssertGreaterThanOrEqual(try steps(of: path("run")).trainer, 50)
    }

    /// A run directory has one owner: a second training into it is refused while the first runs;
    /// a new run does not replace an old one without --force; --resume keeps the run's options.
    func testARunDirectoryHasOneOwner() throws {
        var second: Invocation?
        let first = try deepgen(["train"] + tiny + ["--steps", "100000000", "--out", path("run")]) { process in
            let log = "\(self.path("run"))/log.jsonl"
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline, ((try? Data(contentsOf: URL(fileURLWithPath: log)))?.count ?? 0) == 0 { usleep(20_000) }
            second = try? self.deepgen(["train", "vae", "--resume", "--steps", "10", "--out", self.path("run")])
            kill(process, SIGINT)
        }
        XCTAssertEqual(first.status, 130, first.err)
        XCTAssertEqual(second?.status, 1, second?.err ?? "")
        XCTAssert(second?.err.contains("is in use by another training (pid") ?? false, second?.err ?? "")

        let again = try deepgen(["train"] + tiny + ["--steps", "5", "--out", path("run")])
        XCTAssertEqual(again.status, 64)
        XCTAssert(again.err.contains("already holds a vae run: continue it with --resume, or replace it with --force"), again.err)
        XCTAssertEqual(again.errorLines.count, 1, again.err)

        let changed = try deepgen(["train", "vae", "--resume", "--out", path("run"), "--batch-size", "32", "--seed", "4", "--learning-rate", "0.01", "--steps", "5"])
        XCTAssertEqual(changed.status, 64, changed.err)
        for difference in ["training.batchSize 16 -> 32", "training.seed 0 -> 4", "options.learningRate 0.001 -> 0.01"] {
            XCTAssert(changed.err.contains(difference), "\(difference) not in \(changed.err)")
        }
        // Stating a saved option again, or changing only how long it trains, is fine.
        let resumed = try deepgen(["train", "vae", "--resume", "--out", path("run"), "--batch-size", "16", "--checkpoint-every", "7",
                                   "--steps", "\(try steps(of: path("run")).trainer + 3)"])
        XCTAssertEqual(resumed.status, 0, resumed.err)

        let replaced = try deepgen(["train"] + tiny + ["--steps", "5", "--out", path("run"), "--force", "--seed", "9"])
        XCTAssertEqual(replaced.status, 0, replaced.err)
        XCTAssertEqual(try steps(of: path("run")).trainer, 5)
        let log = try String(contentsOf: URL(fileURLWithPath: "\(path("run"))/log.jsonl"), encoding: .utf8)
        XCTAssertEqual(log.split(separator: "\n").map { $0.prefix(11) }, ["{\"step\": 5,"], "the old run's log is gone")
    }

    /// `--minutes` alone trains until the budget is spent, past the first epoch.
    func testABudgetAloneTrainsForItsMinutes() throws {
        let started = Date()
        // Batches of 64: an epoch of shapes is 93 steps, far fewer than 1.8 s of training takes
        // even on a slow machine.
        let budget = try deepgen(["train", "vae", "--dataset", "shapes", "--image-size", "12", "--batch-size", "64", "--hidden", "32",
                                  "--latent-dim", "4", "--minutes", "0.03", "--out", path("budget")])
        XCTAssertEqual(budget.status, 0, budget.err)
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 1.8)
        XCTAssertGreaterThan(try steps(of: path("budget")).trainer, 6000 / 64, "one epoch of shapes is 93 steps")
    }

    /// A run whose weights become NaN stops naming the tensor; nothing unusable is published.
    func testNaNWeightsStopTheRunAndAreNeverSaved() throws {
        let diverged = try deepgen(["train", "gan", "--dataset", "shapes", "--image-size", "12", "--batch-size", "32",
                                    "--learning-rate", "1e10", "--checkpoint-every", "1", "--steps", "20", "--out", path("gan")])
        XCTAssertEqual(diverged.status, 1, diverged.err)
        XCTAssertEqual(diverged.errorLines.count, 1, diverged.err)
        XCTAssert(diverged.err.contains("is not finite") || diverged.err.contains("became nan"), diverged.err)
        let sampled = try deepgen(["sample", path("gan")])
        if let step = try? steps(of: path("gan")).trainer {
            XCTAssert(diverged.err.contains("the checkpoint of step \(step)"), diverged.err)
            XCTAssertEqual(sampled.status, 0, "a published checkpoint is usable: \(sampled.err)")
        } else {
            XCTAssert(diverged.err.contains("no checkpoint was written"), diverged.err)
            XCTAssertEqual(sampled.status, 1)
        }
    }
}
