import Datasets
import Foundation
import NeuralNetwork
import TensorEngine

/// What the loop and its callbacks share while a run trains.
public final class LoopContext {
    public unowned let trainer: Trainer
    /// Steps taken and the wall time they took, before this session.
    public var state: RunDirectory.TrainerState
    /// When this session began.
    let started = Date()
    /// How the loop ended, when a callback ended it.
    var outcome: Trainer.Outcome?

    init(trainer: Trainer, state: RunDirectory.TrainerState) { self.trainer = trainer; self.state = state }

    /// Whether this session's time is already in `state`.
    var closed = false
    /// Wall time of the whole run so far, past sessions included.
    public var elapsed: Double {
        closed ? state.elapsedSeconds : state.elapsedSeconds + Date().timeIntervalSince(started)
    }
    /// Adds this session's time to `state`: the loop has ended.
    func close() { state.elapsedSeconds = elapsed; closed = true }
    /// The state with this session's time added, as a checkpoint saves it.
    var current: RunDirectory.TrainerState { RunDirectory.TrainerState(step: state.step, elapsedSeconds: elapsed) }
}

/// What a callback tells the loop before a step.
public enum LoopDecision { case proceed, finish, stop(Trainer.Outcome) }

/// A part of the training loop that acts at its events (after swift-models' `TrainingLoop`
/// callbacks): checkpoints, logs, budgets, schedules. Decisions made from rank 0's clock or
/// signals are `wish`es, broadcast to every rank before `beforeStep`, so all ranks take the
/// same steps.
public protocol TrainingCallback: AnyObject {
    /// Rank 0's wish to act before the next step (a clock ran out, Ctrl-C).
    func wish(_ context: LoopContext) -> Bool
    /// Before each step, with rank 0's wish.
    func beforeStep(_ context: LoopContext, granted: Bool) throws -> LoopDecision
    /// After each step, with its losses (averaged over the ranks).
    func afterStep(_ context: LoopContext, losses: [String: Float], epoch: Int) throws
    /// When the planned steps are taken or a budget ran out.
    func afterTraining(_ context: LoopContext) throws
}

extension TrainingCallback {
    public func wish(_ context: LoopContext) -> Bool { false }
    public func beforeStep(_ context: LoopContext, granted: Bool) throws -> LoopDecision { .proceed }
    public func afterStep(_ context: LoopContext, losses: [String: Float], epoch: Int) throws {}
    public func afterTraining(_ context: LoopContext) throws {}
}

/// A copy of the model every `snapshotMinutes` of training, and of the final model.
final class Snapshots: TrainingCallback {
    let minutes: Double
    var next: Double
    var lastStep: Int?
    init(minutes: Double, elapsed: Double) {
        self.minutes = minutes; next = (floor(elapsed / (60 * minutes)) + 1) * 60 * minutes
    }
    func wish(_ context: LoopContext) -> Bool { context.elapsed >= next }
    func beforeStep(_ context: LoopContext, granted: Bool) throws -> LoopDecision {
        if granted {
            try context.trainer.snapshot(minutes: next / 60, state: context.state)
            lastStep = context.state.step
            next += 60 * minutes
        }
        return .proceed
    }
    func afterTraining(_ context: LoopContext) throws {
        if lastStep != context.state.step {
            try context.trainer.snapshot(minutes: context.state.elapsedSeconds / 60, state: context.state)
        }
    }
}

/// Stops the run when `minutes` of training are spent.
final class WallClockBudget: TrainingCallback {
    let minutes: Double
    init(minutes: Double) { self.minutes = minutes }
    func wish(_ context: LoopContext) -> Bool { context.elapsed >= 60 * minutes }
    func beforeStep(_ context: LoopContext, granted: Bool) throws -> LoopDecision {
        guard granted else { return .proceed }
        context.trainer.endProgress()
        context.trainer.say("the \(minutes)-minute budget is spent at step \(context.state.step)")
        return .finish
    }
}

/// Every optimizer's rate for the step: its base rate times the run's schedule (--lr-schedule)
/// and the model's own (VaDE's decay).
final class LearningRateScheduling: TrainingCallback {
    let run: (any LearningRateSchedule)?
    let own: [String: any LearningRateSchedule]
    let baseRates: [String: Float]
    init(run: (any LearningRateSchedule)?, model: TrainableModel, stepsPerEpoch: Int) {
        self.run = run
        own = model.learningRateSchedules(stepsPerEpoch: stepsPerEpoch)
        baseRates = model.optimizers.mapValues(\.learningRate)
    }
    func beforeStep(_ context: LoopContext, granted: Bool) throws -> LoopDecision {
        for (name, optimizer) in context.trainer.model.optimizers {
            guard run != nil || own[name] != nil else { continue }
            let step = context.state.step
            optimizer.learningRate =
                baseRates[name]! * (run?.factor(atStep: step) ?? 1) * (own[name]?.factor(atStep: step) ?? 1)
        }
        return .proceed
    }
}

/// The first Ctrl-C asks for a checkpoint at the end of the current step; a second one, for a
/// user who cannot wait, exits at once (the last checkpoint stays intact).
final class InterruptHandler: TrainingCallback {
    nonisolated(unsafe) static var requested: sig_atomic_t = 0
    let previous: (@convention(c) (Int32) -> Void)?
    init() {
        previous = signal(SIGINT) { _ in
            if InterruptHandler.requested != 0 { _exit(130) }
            InterruptHandler.requested = 1
        }
    }
    deinit { signal(SIGINT, previous); Self.requested = 0 }
    func wish(_ context: LoopContext) -> Bool { Self.requested != 0 }
    func beforeStep(_ context: LoopContext, granted: Bool) throws -> LoopDecision {
        guard granted else { return .proceed }
        context.trainer.endProgress()
        context.close()
        try context.trainer.checkpoint(context.state)
        context.trainer.say(
            "interrupted at step \(context.state.step); checkpoint saved in \(context.trainer.run.url.path) "
                + "(continue with --resume)"
        )
        return .stop(.interrupted(atStep: context.state.step))
    }
}

/// Stops at the step whose loss is NaN or infinite, saying what is on disk.
final class NonFiniteStop: TrainingCallback {
    func afterStep(_ context: LoopContext, losses: [String: Float], epoch: Int) throws {
        guard let bad = losses.first(where: { !$0.value.isFinite }) else { return }
        context.trainer.endProgress()
        throw TrainingError(
            "training stopped at step \(context.state.step): the \(bad.key) became \(bad.value); "
                + "\(context.trainer.onDisk)"
        )
    }
}

/// One JSON line of losses every `every` steps, and at the last.
final class JSONLLog: TrainingCallback {
    let file: AppendOnlyFile?
    let every: Int, total: Int
    init(_ file: AppendOnlyFile?, every: Int, total: Int) { self.file = file; self.every = every; self.total = total }
    func afterStep(_ context: LoopContext, losses: [String: Float], epoch: Int) throws {
        guard context.state.step % every == 0 || context.state.step == total else { return }
        var record = losses.mapValues(Double.init)
        record["step"] = Double(context.state.step); record["epoch"] = Double(epoch)
        record["seconds"] = context.elapsed
        try file?.append(RunDirectory.jsonLine(record))
    }
}

/// The progress bar, with running averages of the losses.
final class ProgressReport: TrainingCallback {
    var running: [String: Double] = [:]
    func afterStep(_ context: LoopContext, losses: [String: Float], epoch: Int) throws {
        for (name, value) in losses {
            running[name] = running[name].map { 0.95 * $0 + 0.05 * Double(value) } ?? Double(value)
        }
        context.trainer.progressBar?.update(
            context.state.step, figures: Trainer.lossFirst(running.keys).map { ($0, running[$0]!) })
    }
    func afterTraining(_ context: LoopContext) throws { context.trainer.endProgress() }
}

/// samples.png every `every` steps.
final class SampleGrids: TrainingCallback {
    let every: Int
    init(every: Int) { self.every = every }
    func afterStep(_ context: LoopContext, losses: [String: Float], epoch: Int) throws {
        if context.state.step % every == 0 { try context.trainer.writeSamples(step: context.state.step) }
    }
}

/// A checkpoint every `every` steps, and of the final step.
final class Checkpoints: TrainingCallback {
    let every: Int
    init(every: Int) { self.every = every }
    func afterStep(_ context: LoopContext, losses: [String: Float], epoch: Int) throws {
        if context.state.step % every == 0 { try context.trainer.checkpoint(context.current) }
    }
    func afterTraining(_ context: LoopContext) throws {
        if context.trainer.savedStep != context.state.step { try context.trainer.checkpoint(context.state) }
        let parallel = context.trainer.parallel
        if parallel.size > 1 { try parallel.requireIdenticalState(of: context.trainer.model.module) }
    }
}
