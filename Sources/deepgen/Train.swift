import ArgumentParser
import Datasets
import Foundation
import GenerativeModels
import TensorEngine

/// `deepgen train MODEL`: trains a model and leaves a run directory.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Train a model; the run directory gets config.json, model.safetensors, log.jsonl, samples.png and loss.png.",
        discussion: "Models (each with options of its own: deepgen train MODEL --help):\n"
            + ModelRegistry.entries.map {
                "  \($0.name.padding(toLength: 16, withPad: " ", startingAt: 0)) \($0.summary)"
            }.joined(separator: "\n"))

    @Option(
        help:
            "A run's config.json, or the same in YAML: train again with its options; flags given beside it override them.",
        completion: .file(extensions: ["json", "yaml", "yml"])
    )
    var config: String?
    @Option(
        help:
            "quick (a first look: settings chosen by measurement to show something recognisable within minutes on one core; deepgen models lists them) or paper (the papers' settings, the defaults). Flags given beside it override it.",
        completion: .list(Preset.allCases.map(\.rawValue)))
    var preset: Preset?
    enum Preset: String, ExpressibleByArgument, CaseIterable { case quick, paper }

    @Option(
        help:
            "mnist, binarized-mnist, dequantized-mnist, mnist32, colored-mnist (RGB), shapes, edges2mnist or shapes2fill (pairs), thin2thick (two domains), ring8, grid25 or mixture1d (points), or a folder of PNG or JPEG images (default: the model's; deepgen train MODEL --help).",
        completion: .list(Catalog.datasets)
    )
    var dataset: String?
    @Option(help: "Passes over the training set (default 1 when neither --steps nor --minutes is given).") var epochs:
        Int?
    @Option(help: "Optimisation steps (instead of --epochs).") var steps: Int?
    @Option(help: "Examples per step (default 128).") var batchSize: Int?
    @Option(help: "Seed of every random choice: initialisation, order, noise (default 0).") var seed: UInt64?
    @Option(help: "The run directory (default: runs/MODEL).") var out: String?
    @Flag(
        help:
            "Continue the run in --out from its last checkpoint (its options stay; --steps, --epochs, --minutes and how it logs may change)."
    )
    var resume = false
    @Flag(help: "Replace the run in --out, if there is one, with a new run.") var force = false
    @Option(help: "Where MNIST is (default: $DEEPGEN_DATA, else ./data).") var dataDir: String?
    @Option(
        help:
            "Side of the square images a folder data set is fitted to (default: the images' own size when they all share one square size, else 28; shapes: 28, shapes2fill: 64)."
    )
    var imageSize: Int?
    @Option(help: "1 (grey) or 3 (RGB), for a folder data set (default: 3 when any image has colour, else 1).")
    var channels: Int?
    @Option(help: "Stop after this many minutes of training (a wall-time budget).") var minutes: Double?
    @Option(help: "Save a copy of the model every N minutes in snapshots/ (for metric-against-time curves).")
    var snapshotMinutes: Double?
    @Option(
        help:
            "constant (the default), cosine (down to a tenth of the rate over the planned steps) or linear-decay (constant for the first half of the steps, then linearly to zero: CycleGAN's)."
    )
    var lrSchedule: TrainingOptions.Schedule?
    @Option(help: "Log every N steps (default 50).") var logEvery: Int?
    @Option(help: "Write samples.png every N steps (default 500).") var sampleEvery: Int?
    @Option(help: "Checkpoint every N steps (default 500).") var checkpointEvery: Int?
    @Option(help: "auto (data-parallel when mpirun starts several ranks), mpi, or off.") var distributed = Launcher.Mode
        .auto
    @Option(
        help:
            "Slices of each batch whose gradients are averaged as K ranks would: one process, the arithmetic of mpirun -np K."
    )
    var microBatches = 1
    @Option(
        help:
            "How ranks sum gradients: sum (MPI's all-reduce) or exact (gathered and added in rank order, bitwise independent of MPI's algorithm)."
    )
    var reduce = DataParallel.Reduction.sum
    @Flag(
        help:
            "BatchNorm with the statistics of the whole global batch, summed across ranks (default: each rank's slice)."
    ) var syncBn = false
    /// The model's name and its own options, which this command leaves to the model's flags.
    @Argument(
        parsing: .allUnrecognized,
        help: "The model (see below; none with --config), then its own options: deepgen train MODEL --help lists them.",
        completion: .list(ModelRegistry.entries.map(\.name)))
    var modelAndOptions: [String] = []
    /// The model named, if any: the first argument when it is not an option.
    var model: String? { modelAndOptions.first.flatMap { $0.hasPrefix("-") ? nil : $0 } }
    var modelOptions: [String] { Array(modelAndOptions.dropFirst(model == nil ? 0 : 1)) }

    func validate() throws {
        guard model != nil || config != nil else {
            throw ValidationError("name a model (\(ModelRegistry.names.joined(separator: " "))), or give --config")
        }
        if let model { _ = try ModelRegistry.entry(model) }
        guard epochs == nil || steps == nil else { throw ValidationError("give --epochs or --steps, not both") }
        guard preset == nil || !resume else {
            throw ValidationError("--preset sets a new run's options; a resumed run keeps its own (drop --preset)")
        }
        // Ranges beyond what the library's constructors assume, or beyond any memory: refused
        // here with the valid range rather than met as a stopped process.
        func require(_ condition: Bool, _ message: String) throws { if !condition { throw ValidationError(message) } }
        try require((4...1024).contains(imageSize ?? 28), "--image-size must be between 4 and 1024")
        try require((1...65_536).contains(batchSize ?? 1), "--batch-size must be between 1 and 65536")
        try require(
            (1...max(1, batchSize ?? 128)).contains(microBatches),
            "--micro-batches must be between 1 and the batch size")
        try require(
            (minutes ?? 1).isFinite && (snapshotMinutes ?? 1).isFinite,
            "--minutes and --snapshot-minutes must be finite")
        try require(
            (lrSchedule ?? .constant) == .constant || minutes == nil || steps != nil || epochs != nil,
            "--lr-schedule \((lrSchedule ?? .constant).rawValue) needs --steps or --epochs: with a wall-time budget "
                + "alone the schedule has no length"
        )
        try require(
            (epochs ?? 1) >= 1 && (steps ?? 1) >= 1 && (logEvery ?? 1) >= 1 && (sampleEvery ?? 1) >= 1
                && (checkpointEvery ?? 1) >= 1,
            "--epochs, --steps, --batch-size and the --*-every options must be positive")
        try require(
            (minutes ?? 1) > 0 && (snapshotMinutes ?? 1) > 0, "--minutes and --snapshot-minutes must be positive")
        try require([1, 3].contains(channels ?? 1), "--channels must be 1 or 3")
        // The model's own flags, checked now so that a misspelt one stops before any work.
        if let model { _ = try ModelRegistry.entry(model).options(modelOptions) }
    }

    func run() throws {
        let communicator = try Launcher.communicator(distributed)
        let outcome: Trainer.Outcome
        do {
            outcome = try train(communicator)
        } catch  where communicator.size > 1 {
            communicator.abort("\(error)") // never leave the other ranks waiting
        }
        // Interrupted with its checkpoint saved: not a finished run, so `train && eval` stops.
        if case .interrupted = outcome { throw ExitCode(130) }
    }

    func train(_ communicator: Communicator) throws -> Trainer.Outcome {
        guard communicator.size == 1 || microBatches == 1 else {
            throw ValidationError(
                "--micro-batches emulates ranks in one process; under mpirun the ranks are real (drop --micro-batches)")
        }
        let file = try config.map(Self.readConfig)
        let run = RunDirectory(URL(fileURLWithPath: out ?? "runs/\(model ?? file?.model ?? "run")"))
        var config: RunConfig
        if resume {
            config = try resumedConfig(run)
        } else {
            try requireFresh(run)
            config = try makeConfig(over: try presetConfig(over: file))
        }
        // A saved run's images keep its size and channels unless the flags say otherwise.
        let saved = config.imageShape.count == 3
        let size = imageSize ?? (saved ? config.imageShape[1] : nil),
            colours = channels ?? (saved ? config.imageShape[0] : nil)
        let pairing = type(of: config.options).pairing
        let data = try Catalog.dataset(
            config.dataset, split: .train, dataDirectory: dataDirectory, imageSize: size, channels: colours,
            pairing: pairing)
        var probe = RandomGenerator(seed: 0)
        let first = data.batch([0], generator: &probe)
        if pairing != .none && first.targets == nil {
            throw TrainingError(
                pairing == .paired
                    ? "\(config.model) learns from pairs; \(config.dataset) has none (use edges2mnist or a folder of "
                        + "A|B images or of A/ and B/)"
                    : "\(config.model) learns from two domains; \(config.dataset) has one (use thin2thick or a "
                        + "folder with trainA/ and trainB/)"
            )
        }
        if config.options.needsLabels && first.labels == nil {
            throw TrainingError("\(config.model) needs labelled data; \(config.dataset) has no labels")
        }
        if communicator.rank == 0 {
            for note in data.notes { FileHandle.standardError.write(Data("note: \(note)\n".utf8)) }
        }
        if config.training.batchSize > data.count {
            let ranks = max(communicator.size, microBatches), shrunk = data.count / ranks * ranks
            guard shrunk >= 1 else {
                throw TrainingError("\(config.dataset) holds \(data.count) examples, too few for \(ranks) ranks")
            }
            if communicator.rank == 0 {
                FileHandle.standardError.write(
                    Data(
                        ("note: \(config.dataset) holds \(data.count) examples, fewer than a batch of "
                            + "\(config.training.batchSize); batches of \(shrunk) instead\n")
                            .utf8))
            }
            config.training.batchSize = shrunk
        }
        if !resume {
            config.imageShape = data.imageShape  // a new run takes its data's
            try Catalog.check(config)  // the model takes these images before they adapt its options
            config.options = try config.options.adapted(to: data)
        }
        guard config.imageShape == data.imageShape else {
            throw TrainingError(
                "the data set's images are \(data.imageShape), the run's model expects \(config.imageShape)")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let configurationText = String(decoding: try encoder.encode(config), as: UTF8.self)
        func trainer(_ communicator: Communicator) throws -> Trainer {
            let trainer = Trainer(
                model: try Catalog.makeModel(config), dataset: data, options: config.training, run: run
            ) { [config] in
                try config.save(to: run)
            }
            trainer.parallel = DataParallel(communicator, exact: reduce == .exact)
            trainer.synchronizeBatchNorm = syncBn
            trainer.configurationText = configurationText
            trainer.title = "\(config.model) on \(URL(fileURLWithPath: config.dataset).lastPathComponent)"
            return trainer
        }
        let ranks = max(communicator.size, microBatches)
        let main = try trainer(communicator)
        if let fitted = main.model as? ClosedFormFitting {
            guard !resume else {
                throw TrainingError("\(config.model) is fitted in one go; there is nothing to resume")
            }
            guard ranks == 1 else {
                throw TrainingError(
                    "\(config.model) is fitted in closed form on one process; it has no data-parallel training")
            }
            try main.fitClosedForm(fitted)
            return .finished(steps: 1)
        }
        if communicator.rank == 0 {
            let split = ranks > 1 ? " over \(ranks) \(microBatches > 1 ? "micro-batches" : "ranks")" : ""
            // A wall-time budget alone has no planned number of steps.
            let planned = main.totalSteps < Int.max ? "\(main.totalSteps) steps" : "steps"
            let budget = config.training.minutes.map { " for up to \(String(format: "%g", $0)) minutes" } ?? ""
            FileHandle.standardError.write(
                Data(
                    ("training \(config.model) on \(config.dataset) (\(data.count) examples, \(planned) of "
                        + "\(config.training.batchSize)\(split)\(budget)) into \(run.url.path)\n")
                        .utf8))
            if let note = BLAS.kernelNote { FileHandle.standardError.write(Data((note + "\n").utf8)) }
        }
        if microBatches > 1 {
            var outcome = Trainer.Outcome.finished(steps: 0)
            try ThreadGroup(size: microBatches).run { rank in
                let replica = rank.rank == 0 ? main : try trainer(SingleProcess())
                replica.parallel = DataParallel(rank, exact: reduce == .exact)
                let own = try replica.train(resume: resume)
                if rank.rank == 0 { outcome = own }
            }
            return outcome
        }
        return try main.train(resume: resume)
    }

    /// The configuration `--preset quick` stands for, over --config's if given: the base that the
    /// flags then override.
    func presetConfig(over file: RunConfig?) throws -> RunConfig? {
        guard preset == .quick else { return file }
        let entry = try ModelRegistry.entry(model ?? file?.model ?? "")
        FileHandle.standardError.write(
            Data(
                ("preset quick: \(entry.quick.arguments.joined(separator: " ")) (flags given beside it override "
                    + "these)\n").utf8))
        return try Train.parse([entry.name] + entry.quick.arguments).makeConfig(over: file)
    }

    /// The configuration from the flags, over `base` (a saved run's, or --config's) if given:
    /// the flags given set their fields, the others keep the base's values, or the defaults.
    func makeConfig(over base: RunConfig?) throws -> RunConfig {
        if let base, let model, model != base.model {
            throw UsageError(
                "the configuration is of \(base.model), not \(model); drop the model's name or the --config")
        }
        let entry = try ModelRegistry.entry(model ?? base?.model ?? "")
        let options = try entry.options(modelOptions, over: base?.options)
        var training =
            base?.training
            ?? TrainingOptions(batchSize: 128, seed: 0, logEvery: 50, sampleEvery: 500, checkpointEvery: 500)
        if let steps { training.steps = steps; training.epochs = nil }
        if let epochs { training.epochs = epochs; training.steps = nil }
        // A wall-time budget alone trains until it is spent; otherwise one epoch by default.
        if training.steps == nil && training.epochs == nil && minutes == nil && base?.training.minutes == nil {
            training.epochs = 1
        }
        training.batchSize = batchSize ?? training.batchSize
        training.seed = seed ?? training.seed
        training.minutes = minutes ?? training.minutes
        training.snapshotMinutes = snapshotMinutes ?? training.snapshotMinutes
        if let lrSchedule { training.learningRateSchedule = lrSchedule == .constant ? nil : lrSchedule }
        training.logEvery = logEvery ?? training.logEvery
        training.sampleEvery = sampleEvery ?? training.sampleEvery
        training.checkpointEvery = checkpointEvery ?? training.checkpointEvery
        var config = try RunConfig(
            model: entry.name, dataset: dataset ?? base?.dataset, imageShape: base?.imageShape ?? [],
            training: training, options: options)
        config.arguments = Self.invocation
        return config
    }

    var dataDirectory: URL { dataDir.map { URL(fileURLWithPath: $0) } ?? MNIST.defaultDirectory }
}
