import Datasets
import Foundation
import NeuralNetwork
import TensorEngine

/// How long and how a run trains; saved in config.json with the model's own options.
public struct TrainingOptions: Codable, Equatable, Sendable {
    public var epochs: Int?
    public var steps: Int?
    public var batchSize: Int
    public var seed: UInt64
    public var logEvery: Int
    public var sampleEvery: Int
    public var checkpointEvery: Int
    /// A wall-time budget: training stops (with a checkpoint) once it has run this long.
    public var minutes: Double?
    /// Every this many minutes of training, a copy of the model goes to `snapshots/<minutes>min`
    /// (a run directory of its own), for curves of a metric against wall time.
    public var snapshotMinutes: Double?
    /// `cosine` decays every optimizer's rate over the planned steps to a tenth; `linear-decay`
    /// holds it for the first half and then takes it linearly to zero; absent: constant.
    public var learningRateSchedule: Schedule?

    /// How every optimizer's rate moves over the planned steps (absent: constant).
    public enum Schedule: String, Codable, CaseIterable, Sendable {
        case constant
        /// Down to a tenth of the rate over the planned steps.
        case cosine
        /// Constant for the first half of the steps, then linearly to zero (CycleGAN's).
        case linearDecay = "linear-decay"
    }

    public init(
        epochs: Int? = nil, steps: Int? = nil, batchSize: Int = 128, seed: UInt64 = 0,
        logEvery: Int = 50, sampleEvery: Int = 1000, checkpointEvery: Int = 1000
    ) {
        self.epochs = epochs; self.steps = steps; self.batchSize = batchSize; self.seed = seed
        self.logEvery = logEvery; self.sampleEvery = sampleEvery; self.checkpointEvery = checkpointEvery
    }
}

/// The one training loop. Step s draws the s-th batch of a seeded epoch order and uses a random
/// stream derived from (seed, s) alone, so a resumed run, restarted from a checkpoint at any
/// step, takes exactly the steps the uninterrupted run would have.
///
/// Data-parallel (`parallel` over N ranks): the batch size is the global batch; each rank takes
/// its contiguous slice of it, draws its examples' rows of the global batch's noise (the step
/// generator's `ExampleRows`) and averages its gradients with the other ranks' in every
/// `StepContext.minimize`. Rank 0 alone prints, logs and writes; its decisions to stop (budget,
/// Ctrl-C) and to snapshot reach the others by broadcast, so all ranks take the same steps.
public final class Trainer {
    public let model: TrainableModel
    public let dataset: Dataset
    public let options: TrainingOptions
    public let run: RunDirectory
    /// Called to write config.json (the model's typed configuration).
    let writeConfig: () throws -> Void
    public var quiet = false
    /// The title of loss.png (the CLI's: the model and its data set).
    public var title = ""
    /// The ranks training together (one process alone by default).
    public var parallel = DataParallel(SingleProcess())
    /// BatchNorm with the statistics of the global batch (`--sync-bn`), not of each rank's slice.
    public var synchronizeBatchNorm = false
    /// The run's configuration as text, compared across ranks at the start.
    public var configurationText = ""
    /// Callbacks beyond the loop's own, acting after them.
    public var extraCallbacks: [TrainingCallback] = []
    /// The bar of the training under way (none when quiet).
    var progressBar: Progress?
    /// Ends the bar's line, once, before a message or the end.
    func endProgress() { progressBar?.finish(); progressBar = nil }
    var isRoot: Bool { parallel.rank == 0 }
    /// The key of the stream whose children are the steps' generators.
    static let stepStreams: UInt64 = 0x57E9_57E9

    public init(
        model: TrainableModel, dataset: Dataset, options: TrainingOptions, run: RunDirectory,
        writeConfig: @escaping () throws -> Void
    ) {
        self.model = model; self.dataset = dataset; self.options = options; self.run = run;
        self.writeConfig = writeConfig
    }

    public var stepsPerEpoch: Int { max(1, dataset.count / options.batchSize) }
    /// The planned steps: those given, or the epochs' (one by default); a wall-time budget alone
    /// sets no count (training runs until the budget is spent).
    public var totalSteps: Int {
        if let steps = options.steps { return steps }
        if options.epochs == nil, options.minutes != nil { return Int.max }
        return (options.epochs ?? 1) * stepsPerEpoch
    }

    public enum Outcome: Equatable { case finished(steps: Int), interrupted(atStep: Int) }

    /// Trains from the start, or from the run directory's checkpoint when `resume`.
    @discardableResult
    public func train(resume: Bool = false) throws -> Outcome {
        guard options.batchSize >= 1, options.batchSize <= dataset.count else {
            throw TrainingError(
                "batch size \(options.batchSize) must be between 1 and the data set's \(dataset.count) examples")
        }
        guard options.batchSize % parallel.size == 0 else {
            throw TrainingError("the global batch of \(options.batchSize) does not divide among \(parallel.size) ranks")
        }
        if !isRoot { quiet = true }
        if parallel.size > 1 {
            let shapes = model.module.namedParameters().map { "\($0.name)\($0.parameter.shape)" }.joined(separator: ";")
            try parallel.requireAgreement([
                ("the configuration", configurationText + "\(options)"), ("the parameters", shapes),
                ("the data set", "\(dataset.name) \(dataset.count) \(dataset.imageShape)"), ("resume", "\(resume)")
            ])
        }
        var lock: RunLock?
        if isRoot {
            try CheckpointUnit.createDirectory(run.url)
            lock = try RunLock(run)
            run.clearOrphans()
        }
        defer { lock?.release() }
        var state = RunDirectory.TrainerState(step: 0, elapsedSeconds: 0)
        if resume {
            state = try run.loadCheckpoint(into: model)
            savedStep = state.step
            if isRoot { try run.truncateLog(after: state.step) }
            say("resuming \(run.url.path) at step \(state.step)\(totalSteps == Int.max ? "" : " of \(totalSteps)")")
        } else if isRoot {
            try run.removeTrainedFiles()
            try writeConfig()
            savedStep = nil
        }
        if parallel.size > 1 { // every rank starts from rank 0's weights and step
            parallel.broadcastState(of: model.module)
            var step = [Float(state.step)]
            parallel.communicator.broadcast(&step, root: 0)
            guard Int(step[0]) == state.step else {
                throw TrainingError("rank \(parallel.rank) resumed at step \(state.step), rank 0 at \(Int(step[0]))")
            }
        }
        let context = LoopContext(trainer: self, state: state)
        let logFile = isRoot ? try AppendOnlyFile(run.log) : nil
        progressBar =
            quiet
            ? nil
            : Progress(
                total: totalSteps, label: "train", startingAt: state.step,
                budget: options.minutes.map { 60 * $0 - state.elapsedSeconds })
        defer { progressBar = nil }
        let schedule: LearningRateSchedule? =
            switch options.learningRateSchedule ?? .constant {
            case .cosine: CosineDecay(totalSteps: totalSteps, minimumFactor: 0.1)
            case .linearDecay: LinearDecay(constantSteps: totalSteps / 2, decaySteps: totalSteps - totalSteps / 2)
            case .constant: nil
            }
        // In the order they act: before a step, a snapshot, the budget, the rates, Ctrl-C; after
        // it, the NaN stop, the log, the progress bar, the samples, the checkpoint.
        let callbacks: [TrainingCallback] =
            (options.snapshotMinutes.map { [Snapshots(minutes: $0, elapsed: state.elapsedSeconds)] } ?? [])
            + (options.minutes.map { [WallClockBudget(minutes: $0)] } ?? [])
            + [
                LearningRateScheduling(run: schedule, model: model, stepsPerEpoch: stepsPerEpoch), InterruptHandler(),
                NonFiniteStop(),
                JSONLLog(logFile, every: options.logEvery, total: totalSteps), ProgressReport(),
                SampleGrids(every: options.sampleEvery),
                Checkpoints(every: options.checkpointEvery)
            ] + extraCallbacks
        model.module.train()
        if let outcome = try loop(context, callbacks) { return outcome }
        context.close()
        for callback in callbacks { try callback.afterTraining(context) }
        try writeSamples(showingProgress: true, step: context.state.step)
        say(
            "done: \(context.state.step) steps in \(Progress.clock(context.state.elapsedSeconds)); \(run.url.path) "
                + "holds the model, samples.png and loss.png"
        )
        return .finished(steps: context.state.step)
    }

    /// The steps: before each, rank 0's wishes (broadcast) and the callbacks' decisions; the step
    /// itself; after it, the callbacks. Nil when the planned steps are taken or a budget ran out,
    /// the outcome when a callback stopped the run.
    func loop(_ context: LoopContext, _ callbacks: [TrainingCallback]) throws -> Outcome? {
        let rows = parallel.rows(batchSize: options.batchSize)
        let group: (any ProcessGroup)? = parallel.size > 1 ? parallel : nil
        let layers = parallel.stepLayers(of: model.module, rows: rows, synchronizingBatchNorm: synchronizeBatchNorm)
        var order: (epoch: Int, indices: [Int]) = (-1, [])
        while context.state.step < totalSteps {
            var wishes = callbacks.map { $0.wish(context) ? Float(1) : 0 }
            // rank 0's clock and Ctrl-C decide
            if parallel.size > 1 { parallel.communicator.broadcast(&wishes, root: 0) }
            for (callback, wish) in zip(callbacks, wishes) {
                switch try callback.beforeStep(context, granted: wish == 1) {
                case .proceed: continue
                case .finish: return nil
                case .stop(let outcome): return outcome
                }
            }
            let epoch = context.state.step / stepsPerEpoch, position = context.state.step % stepsPerEpoch
            if order.epoch != epoch {
                order = (epoch, epochOrder(count: dataset.count, seed: options.seed, epoch: epoch))
                try model.prepare(epoch: epoch, dataset: dataset)
            }
            // Step s draws from its own child of a stream kept for steps, so that no step's noise
            // is the stream of the initialisation or of an epoch's order (keyed from the same seed).
            var step = StepContext(
                generator: RandomGenerator(seed: options.seed, examples: rows).derived(Self.stepStreams).derived(
                    UInt64(context.state.step)),
                group: group)
            let first = position * options.batchSize + rows.offset
            let indices = Array(order.indices[first..<(first + rows.local)])
            let batch = dataset.batch(indices, generator: &step.generator)
            var losses = layers.during { model.trainStep(batch, context: &step) }
            if parallel.size > 1 { losses = parallel.average(losses) }
            context.state.step += 1
            for callback in callbacks { try callback.afterStep(context, losses: losses, epoch: epoch) }
        }
        return nil
    }

    /// For a model fitted in closed form (PCA): one fit on the whole training set, then the same
    /// files as a trained run (the log's one line holds the fit's figures; loss.png plots the
    /// cumulative explained variance).
    public func fitClosedForm(_ model: ClosedFormFitting) throws {
        try CheckpointUnit.createDirectory(run.url)
        let lock = try RunLock(run)
        defer { lock.release() }
        run.clearOrphans()
        try writeConfig()
        let started = Date()
        let figures = try model.fit(dataset)
        var record = figures.mapValues(Double.init)
        record["step"] = 1; record["epoch"] = 0; record["seconds"] = Date().timeIntervalSince(started)
        try writeAtomically(Data(RunDirectory.jsonLine(record).utf8), to: run.log)
        try run.saveCheckpoint(
            model: model, state: RunDirectory.TrainerState(step: 1, elapsedSeconds: record["seconds"]!))
        let curve = model.fitCurve
        try writeAtomically(
            PNG.encode(LinePlot.render(series: [(curve.name, curve.series)], title: title, xLabel: curve.xLabel)),
            to: run.lossPlot)
        try writeSamples(showingProgress: true)
        say(model.fitSummary(figures))
    }

    /// A copy of the model as a run directory of its own, `snapshots/<minutes>min`.
    func snapshot(minutes: Double, state: RunDirectory.TrainerState) throws {
        parallel.averageRunningStatistics(of: model.module)
        guard isRoot else { return }
        let copy = RunDirectory(
            run.url.appendingPathComponent("snapshots").appendingPathComponent(String(format: "%06.2fmin", minutes)))
        try FileManager.default.createDirectory(at: copy.url, withIntermediateDirectories: true)
        try writeAtomically(Data(contentsOf: run.config), to: copy.config)
        try copy.saveCheckpoint(model: model, state: state)
    }

    func checkpoint(_ state: RunDirectory.TrainerState) throws {
        parallel.averageRunningStatistics(of: model.module)
        guard isRoot else { savedStep = state.step; return }
        do { try run.saveCheckpoint(model: model, state: state) } catch let error as NonFiniteError {
            if !quiet { FileHandle.standardError.write(Data("\n".utf8)) }
            throw TrainingError("training stopped: \(error); \(onDisk)")
        } catch let error as FileWriteError {
            throw TrainingError("the checkpoint of step \(state.step) could not be saved: \(error); \(onDisk)")
        }
        savedStep = state.step
        try writeLossPlot()
    }

    /// The step of the last checkpoint this run published, for messages that say what is on disk.
    var savedStep: Int?
    var onDisk: String {
        savedStep.map { "the checkpoint of step \($0) in \(run.url.path) is intact" }
            ?? "no checkpoint was written, so \(run.url.path) holds no model"
    }

    /// samples.png: a grid of samples from a fixed stream (so successive grids show the same
    /// latent points), or on a toy mixture a scatter of 2,500 points over its modes; each one
    /// drawn at a step is also a frame of progress.png, the animation of training.
    public func writeSamples(showingProgress: Bool = false, step: Int? = nil) throws {
        parallel.averageRunningStatistics(of: model.module)
        guard model.drawsSamples, isRoot else { return }
        model.module.eval()
        defer { model.module.train() }
        var generator = RandomGenerator(seed: options.seed).derived(0x5A_4D_B1E5)
        let sequential = model as? SequentialSampling
        sequential?.showsSamplingProgress = showingProgress && !quiet
        defer { sequential?.showsSamplingProgress = false }
        let picture: Image
        if let mixture = dataset as? PointMixture {
            let points = withoutGradients { model.sample(count: 2500, generator: &generator) }
            picture = PointsPlot.render(samples: points, of: mixture, heading: step.map { "step \($0)" } ?? "")
        } else {
            let images = withoutGradients { model.sample(count: model.sampleCount, generator: &generator) }
            picture = GridHeadings.grid(images, columns: model.sampleColumns, model.sampleHeadings)
        }
        let png = PNG.encode(picture)
        try writeAtomically(png, to: run.samples)
        if let step { try run.addProgressFrame(png, step: step) }
    }

    func writeLossPlot() throws {
        let records = run.readLog()
        let names = Trainer.lossFirst(Set(records.flatMap(\.keys)).subtracting(["step", "epoch", "seconds"]))
        var series: [(name: String, points: [(x: Double, y: Double)])] = []
        for name in names {
            let points: [(x: Double, y: Double)] = records.compactMap { r in
                guard let y = r[name] else { return nil }
                return (x: r["step"] ?? 0, y: y)
            }
            series.append((name, points))
        }
        try writeAtomically(PNG.encode(LinePlot.render(series: series, title: title)), to: run.lossPlot)
    }

    /// "loss" first, then the other names alphabetically.
    static func lossFirst<S: Sequence>(_ names: S) -> [String] where S.Element == String {
        names.sorted { a, b in a == "loss" ? b != "loss" : (b == "loss" ? false : a < b) }
    }

    /// A line on standard error, unless quiet.
    func say(_ message: String) { if !quiet { FileHandle.standardError.write(Data((message + "\n").utf8)) } }
}
