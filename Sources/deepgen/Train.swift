import ArgumentParser
import Datasets
import Foundation
import GenerativeModels
import TensorEngine

/// `deepgen train MODEL`: trains a model and leaves a run directory.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Train a model; the run directory gets config.json, model.safetensors, log.jsonl, samples.png and loss.png.")

    @Argument(help: "The model: \(Catalog.models.joined(separator: " ")).")
    var model: String

    @Option(help: "mnist, binarized-mnist, shapes, edges2mnist or shapes2fill (pairs), thin2thick (two domains), or a folder of PNG images (default: binarized-mnist for pca, ae, vae, iwae and the autoregressive models, edges2mnist for pix2pix, thin2thick for cyclegan, mnist otherwise).")
    var dataset: String?

    @Option(help: "Passes over the training set (default 1 when --steps is not given).")
    var epochs: Int?

    @Option(help: "Optimisation steps (instead of --epochs).")
    var steps: Int?

    @Option(help: "Examples per step.")
    var batchSize = 128

    @Option(help: "Seed of every random choice (initialisation, order, noise).")
    var seed: UInt64 = 0

    @Option(help: "The run directory (default: runs/MODEL).")
    var out: String?

    @Flag(help: "Continue the run in --out from its last checkpoint (its options stay; --steps, --epochs, --minutes and how it logs may change).")
    var resume = false

    @Flag(help: "Replace the run in --out, if there is one, with a new run.")
    var force = false

    @Option(help: "Where MNIST is (default: $DEEPGEN_DATA, else ./data).")
    var dataDir: String?

    @Option(help: "Side of the square images a folder data set is fitted to (default: the images' own size when they all share one square size, else 28; shapes: 28, shapes2fill: 64).")
    var imageSize: Int?

    @Option(help: "1 (grey) or 3 (RGB), for a folder data set (default: 3 when any image has colour, else 1).")
    var channels: Int?

    @Option(help: "Stop after this many minutes of training (a wall-time budget).") var minutes: Double?
    @Option(help: "Save a copy of the model every N minutes in snapshots/ (for metric-against-time curves).") var snapshotMinutes: Double?
    @Option(help: "constant, cosine (down to a tenth of the rate over the planned steps) or linear-decay (constant for the first half of the steps, then linearly to zero: CycleGAN's).") var lrSchedule = "constant"
    @Option(help: "Log every N steps.") var logEvery = 50
    @Option(help: "Write samples.png every N steps.") var sampleEvery = 500
    @Option(help: "Checkpoint every N steps.") var checkpointEvery = 500

    @Option(help: "Latent dimension (ae, vae, iwae, vade; default 2 for ae, 10 for vade, 20 otherwise).") var latentDim: Int?
    @Option(help: "Hidden layer widths, comma-separated (ae, vae, iwae MLPs; default 512,256 for ae, 500,500,2000 for vade, 400 otherwise; classifier: the maps of its two convolution blocks, default 32,64).") var hidden: String?
    @Option(help: "Principal components to keep (pca).") var components = 50
    @Option(help: "mlp or conv (ae, vae, iwae).") var architecture = "mlp"
    @Option(help: "Pixel likelihood: bernoulli or gaussian (vae, iwae decoders); bernoulli or categorical, a 256-way softmax on 8-bit mnist (pixelcnn, gated-pixelcnn, row-lstm, diagonal-bilstm).") var likelihood = "bernoulli"
    @Option(help: "Reconstruction loss, bce or mse (ae).") var loss = "bce"
    @Flag(help: "No activations, for comparison with PCA (ae).") var linear = false
    @Option(help: "Importance samples k of the training bound (iwae; vae uses 1).") var k = 5
    @Option(help: "Adam's learning rate (default 2e-3 for vade, 1e-3 otherwise).") var learningRate: Float?
    @Option(help: "Mixture components, the clusters (vade).") var clusters = 10
    @Option(help: "The generator's loss, non-saturating or minimax (gan, dcgan).") var generatorLoss = "non-saturating"
    @Option(help: "Discriminator updates per generator update (default 5 for wgan and wgan-gp, 1 otherwise).") var criticSteps: Int?
    @Option(help: "Weight clipping bound (wgan).") var clip: Float = 0.01
    @Option(help: "Gradient penalty weight lambda (wgan-gp).") var penalty: Float = 10
    @Option(help: "Epochs of autoencoder pre-training before the prior is fitted (vade).") var pretrainEpochs = VaDE.Options().pretrainEpochs
    @Option(help: "How the autoencoder is pre-trained (vade): sgd-mse (DEC's: SGD at rate 1, momentum 0.9, on the squared error) or adam-bce (Adam on the Bernoulli loss).") var pretraining = VaDE.Options().pretraining.rawValue
    @Option(help: "The rate's factor every 10 epochs after pre-training, down to a tenth of it (vade; the authors' 0.9, 1: constant).") var lrDecay: Float = 0.9
    @Option(help: "Feature maps (dcgan, wgan, wgan-gp: the discriminator's first layer, the generator's last; pixelcnn, row-lstm, diagonal-bilstm: 2h of the residual stream, the LSTMs having h units; gated-pixelcnn: per stack; pix2pix: the first layer's, doubling with depth; default 64, 32 for pix2pix).") var features: Int?
    @Option(help: "Residual blocks (pixelcnn), gated layers (gated-pixelcnn) or LSTM layers (row-lstm, diagonal-bilstm) after the first layer; gated ResNet blocks per resolution (pixelcnn++).") var layers = 7
    @Option(help: "Label classes of a class-conditional gated-pixelcnn (0: unconditional).") var classes = 0
    @Option(help: "Logistics in the output mixture (pixelcnn++).") var logistics = 10
    @Option(help: "Dropout in the gated ResNet blocks (pixelcnn++).") var dropout: Float = 0.5
    @Option(help: "Stride-1 3x3 convolutions added at each inner resolution of the generator and the discriminator (dcgan, wgan, wgan-gp).") var refiningLayers = 0
    @Option(help: "The PatchGAN's first-layer feature maps (pix2pix; default: --features).") var discriminatorFeatures: Int?
    @Option(help: "batch or instance normalisation (pix2pix).") var normalization = "batch"
    @Option(help: "Weight lambda of the L1 loss (pix2pix).") var l1Weight: Float = 100
    @Flag(help: "Train the generator on the L1 loss alone, no discriminator: the baseline (pix2pix).") var l1Only = false
    @Option(help: "Residual blocks of each generator (cyclegan).") var residualBlocks = 6
    @Option(help: "Weight gamma of the R1 penalty on real images (stylegan).") var r1Gamma: Float = 1
    @Option(help: "auto (data-parallel when mpirun starts several ranks), mpi, or off.") var distributed = "auto"
    @Option(help: "Slices of each batch whose gradients are averaged as K ranks would: one process, the arithmetic of mpirun -np K.") var microBatches = 1
    @Option(help: "How ranks sum gradients: sum (MPI's all-reduce) or exact (gathered and added in rank order, bitwise independent of MPI's algorithm).") var reduce = "sum"
    @Flag(help: "BatchNorm with the statistics of the whole global batch, summed across ranks (default: each rank's slice).") var syncBn = false
    @Option(help: "Weight lambda of the cycle loss; the identity loss weighs half of it (cyclegan).") var cycleWeight: Float = 10

    func validate() throws {
        guard Catalog.models.contains(model) else {
            throw ValidationError("unknown model '\(model)'; models: \(Catalog.models.joined(separator: " "))")
        }
        guard epochs == nil || steps == nil else { throw ValidationError("give --epochs or --steps, not both") }
        // Ranges beyond what the library's constructors assume, or beyond any memory: refused
        // here with the valid range rather than met as a stopped process.
        func require(_ condition: Bool, _ message: String) throws { if !condition { throw ValidationError(message) } }
        func finite(_ value: Float?) -> Bool { value?.isFinite ?? true }
        try require((4...1024).contains(imageSize ?? 28), "--image-size must be between 4 and 1024")
        try require((1...65_536).contains(batchSize), "--batch-size must be between 1 and 65536")
        try require((1...max(1, batchSize)).contains(microBatches), "--micro-batches must be between 1 and the batch size")
        try require((1...1000).contains(k), "--k must be between 1 and 1000")
        try require((1...4096).contains(latentDim ?? 1), "--latent-dim must be between 1 and 4096")
        try require(components >= 1, "--components must be positive")
        try require(finite(learningRate) && (learningRate ?? 1) > 0, "--learning-rate must be a positive number")
        try require(clusters <= 1000, "--clusters must be between 2 and 1000")
        try require((criticSteps ?? 1) <= 1000, "--critic-steps must be between 1 and 1000")
        try require(finite(clip) && finite(penalty) && finite(r1Gamma) && r1Gamma >= 0 && finite(l1Weight) && finite(cycleWeight),
                    "--clip, --penalty, --r1-gamma, --l1-weight and --cycle-weight must be finite, and all but --clip may be 0")
        try require((features ?? 1) <= 4096 && (discriminatorFeatures ?? 1) <= 4096, "--features and --discriminator-features must be between 1 and 4096")
        try require(refiningLayers <= 16 && layers <= 256 && residualBlocks <= 64, "--refining-layers goes up to 16, --layers to 256, --residual-blocks to 64")
        try require((0...1000).contains(classes) && logistics <= 100, "--classes must be between 0 and 1000, --logistics between 1 and 100")
        try require(pretrainEpochs <= 100_000, "--pretrain-epochs must be between 0 and 100000")
        try require((minutes ?? 1).isFinite && (snapshotMinutes ?? 1).isFinite, "--minutes and --snapshot-minutes must be finite")
        try require(lrSchedule == "constant" || minutes == nil || steps != nil || epochs != nil,
                    "--lr-schedule \(lrSchedule) needs --steps or --epochs: with a wall-time budget alone the schedule has no length")
        guard (epochs ?? 1) >= 1, (steps ?? 1) >= 1, batchSize >= 1, logEvery >= 1, sampleEvery >= 1, checkpointEvery >= 1 else {
            throw ValidationError("--epochs, --steps, --batch-size and the --*-every options must be positive")
        }
        guard (minutes ?? 1) > 0, (snapshotMinutes ?? 1) > 0 else { throw ValidationError("--minutes and --snapshot-minutes must be positive") }
        guard ["constant", "cosine", "linear-decay"].contains(lrSchedule) else { throw ValidationError("--lr-schedule is constant, cosine or linear-decay") }
        guard ["non-saturating", "minimax"].contains(generatorLoss) else { throw ValidationError("--generator-loss is non-saturating or minimax") }
        guard (criticSteps ?? 1) >= 1, clip > 0, penalty >= 0 else { throw ValidationError("--critic-steps and --clip must be positive, --penalty not negative") }
        guard clusters >= 2, pretrainEpochs >= 0, lrDecay > 0, lrDecay <= 1 else {
            throw ValidationError("--clusters must be at least 2, --pretrain-epochs not negative, --lr-decay in (0, 1]")
        }
        guard VaDE.Pretraining(rawValue: pretraining) != nil else { throw ValidationError("--pretraining is adam-bce or sgd-mse") }
        guard [1, 3].contains(channels ?? 1) else { throw ValidationError("--channels must be 1 or 3") }
        guard Normalization(rawValue: normalization) != nil, l1Weight >= 0 else { throw ValidationError("--normalization is batch or instance; --l1-weight not negative") }
        guard (features ?? 1) >= 1, (discriminatorFeatures ?? 1) >= 1, refiningLayers >= 0 else { throw ValidationError("--features and --discriminator-features must be positive, --refining-layers not negative") }
        guard ["auto", "mpi", "off"].contains(distributed), ["sum", "exact"].contains(reduce), microBatches >= 1 else {
            throw ValidationError("--distributed is auto, mpi or off; --reduce sum or exact; --micro-batches positive")
        }
        guard residualBlocks >= 0, cycleWeight >= 0 else { throw ValidationError("--residual-blocks and --cycle-weight must not be negative") }
        guard (hidden ?? "1").split(separator: ",", omittingEmptySubsequences: false).allSatisfy({ Int($0).map { (1...65_536).contains($0) } ?? false }) else {
            throw ValidationError("--hidden takes widths between 1 and 65536 separated by commas, e.g. 400 or 200,200")
        }
        guard model != "classifier" || hidden == nil || hidden!.split(separator: ",").count == 2 else {
            throw ValidationError("--hidden of the classifier gives the maps of its two convolution blocks, e.g. 16,32")
        }
        guard Autoencoder.Architecture(rawValue: architecture) != nil, Autoencoder.Loss(rawValue: loss) != nil else {
            throw ValidationError("--architecture is mlp or conv, --loss bce or mse")
        }
        if Catalog.autoregressive.contains(model) {
            if model == "pixelcnn++" {
                guard likelihood == "bernoulli" || likelihood == "logistic-mixture" else {   // bernoulli: the option's default
                    throw ValidationError("pixelcnn++ has one likelihood, the discretised logistic mixture")
                }
            } else {
                guard let l = PixelLikelihood(rawValue: likelihood), l != .logisticMixture else {
                    throw ValidationError("--likelihood of \(model) is bernoulli or categorical")
                }
            }
            guard logistics >= 1, (0..<1).contains(dropout) else { throw ValidationError("--logistics must be positive and --dropout in [0, 1)") }
            guard (features ?? 2) >= 2, (features ?? 2) % 2 == 0, layers >= 0, classes >= 0 else {
                throw ValidationError("--features must be even and positive, --layers and --classes not negative")
            }
            guard classes == 0 || model == "gated-pixelcnn" else { throw ValidationError("--classes is an option of gated-pixelcnn") }
        } else if VAE.Likelihood(rawValue: likelihood) == nil {
            throw ValidationError("--likelihood of \(model) is bernoulli or gaussian")
        }
    }

    func run() throws {
        let communicator = try Launcher.communicator(distributed)
        let outcome: Trainer.Outcome
        do {
            outcome = try train(communicator)
        } catch where communicator.size > 1 {
            communicator.abort("\(error)")   // never leave the other ranks waiting
        }
        // Interrupted with its checkpoint saved: not a finished run, so `train && eval` stops.
        if case .interrupted = outcome { throw ExitCode(130) }
    }

    func train(_ communicator: Communicator) throws -> Trainer.Outcome {
        try Catalog.checkModel(model)
        guard communicator.size == 1 || microBatches == 1 else {
            throw ValidationError("--micro-batches emulates ranks in one process; under mpirun the ranks are real (drop --micro-batches)")
        }
        let run = RunDirectory(URL(fileURLWithPath: out ?? "runs/\(model)"))
        var config: RunConfig
        if resume {
            config = try resumedConfig(run)
        } else {
            try requireFresh(run)
            config = makeConfig()
        }
        // A resumed run's images keep the run's size and channels unless the flags say otherwise.
        let saved = resume && config.imageShape.count == 3
        let size = imageSize ?? (saved ? config.imageShape[1] : nil), colours = channels ?? (saved ? config.imageShape[0] : nil)
        let data = try Catalog.dataset(config.dataset, split: .train, dataDirectory: dataDirectory, imageSize: size, channels: colours,
                                       pairing: Catalog.pairing(for: config.model))
        if Catalog.pairing(for: config.model) != .none {
            var probe = RandomGenerator(seed: 0)
            guard data.batch([0], generator: &probe).targets != nil else {
                throw TrainingError(config.model == "pix2pix"
                    ? "pix2pix learns from pairs; \(config.dataset) has none (use edges2mnist or a folder of A|B images or of A/ and B/)"
                    : "cyclegan learns from two domains; \(config.dataset) has one (use thin2thick or a folder with trainA/ and trainB/)")
            }
        }
        if config.model == "classifier" || (config.pixelcnn?.classes ?? 0) > 0 {
            var probe = RandomGenerator(seed: 0)
            guard data.batch([0], generator: &probe).labels != nil else { throw TrainingError("\(model) needs labelled data; \(config.dataset) has no labels") }
        }
        if communicator.rank == 0 {
            for note in data.notes { FileHandle.standardError.write(Data("note: \(note)\n".utf8)) }
        }
        if config.training.batchSize > data.count {
            let ranks = max(communicator.size, microBatches), shrunk = data.count / ranks * ranks
            guard shrunk >= 1 else { throw TrainingError("\(config.dataset) holds \(data.count) examples, too few for \(ranks) ranks") }
            if communicator.rank == 0 {
                FileHandle.standardError.write(Data("note: \(config.dataset) holds \(data.count) examples, fewer than a batch of \(config.training.batchSize); batches of \(shrunk) instead\n".utf8))
            }
            config.training.batchSize = shrunk
        }
        if let clusters = config.vade?.clusters, clusters > data.count {
            throw TrainingError("vade fits \(clusters) clusters to the codes of \(data.count) examples; give --clusters \(data.count) or fewer")
        }
        // A classifier of a labelled folder has as many outputs as the folder has classes.
        if !resume, config.model == "classifier", let largest = (data as? ByteImageDataset)?.labels?.max() {
            config.classifier?.classes = max(2, largest + 1)
        }
        if let classes = config.pixelcnn?.classes, classes > 0, let largest = (data as? ByteImageDataset)?.labels?.max(), largest >= classes {
            throw TrainingError("\(config.dataset)'s labels go up to \(largest); a conditional model of them needs --classes \(largest + 1) or more")
        }
        if config.imageShape.isEmpty { config.imageShape = data.imageShape }
        guard config.imageShape == data.imageShape else {
            throw TrainingError("the data set's images are \(data.imageShape), the run's model expects \(config.imageShape)")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let configurationText = String(decoding: try encoder.encode(config), as: UTF8.self)
        func trainer(_ communicator: Communicator) throws -> Trainer {
            let trainer = Trainer(model: try Catalog.makeModel(config), dataset: data, options: config.training, run: run) { [config] in
                try config.save(to: run)
            }
            trainer.parallel = DataParallel(communicator, exact: reduce == "exact")
            trainer.synchronizeBatchNorm = syncBn
            trainer.configurationText = configurationText
            trainer.title = "\(config.model) on \(URL(fileURLWithPath: config.dataset).lastPathComponent)"
            return trainer
        }
        let ranks = max(communicator.size, microBatches)
        let first = try trainer(communicator)
        if let pca = first.model as? PCAModel {
            guard !resume else { throw TrainingError("PCA is fitted in one go; there is nothing to resume") }
            guard ranks == 1 else { throw TrainingError("PCA is fitted in closed form on one process; it has no data-parallel training") }
            try first.fitClosedForm(pca)
            return .finished(steps: 1)
        }
        if communicator.rank == 0 {
            let split = ranks > 1 ? " over \(ranks) \(microBatches > 1 ? "micro-batches" : "ranks")" : ""
            FileHandle.standardError.write(Data("training \(model) on \(config.dataset) (\(data.count) examples, \(first.totalSteps) steps of \(config.training.batchSize)\(split)) into \(run.url.path)\n".utf8))
            if let note = BLAS.kernelNote { FileHandle.standardError.write(Data((note + "\n").utf8)) }
        }
        if microBatches > 1 {
            var outcome = Trainer.Outcome.finished(steps: 0)
            try ThreadGroup(size: microBatches).run { rank in
                let replica = rank.rank == 0 ? first : try trainer(SingleProcess())
                replica.parallel = DataParallel(rank, exact: reduce == "exact")
                let own = try replica.train(resume: resume)
                if rank.rank == 0 { outcome = own }
            }
            return outcome
        }
        return try first.train(resume: resume)
    }

    /// The configuration of a new run from the flags.
    func makeConfig() -> RunConfig {
        // A wall-time budget alone trains until it is spent; otherwise one epoch by default.
        var training = TrainingOptions(epochs: steps == nil ? (epochs ?? (minutes == nil ? 1 : nil)) : nil, steps: steps, batchSize: batchSize, seed: seed,
                                       logEvery: logEvery, sampleEvery: sampleEvery, checkpointEvery: checkpointEvery)
        training.minutes = minutes
        training.snapshotMinutes = snapshotMinutes
        training.learningRateSchedule = lrSchedule == "constant" ? nil : lrSchedule
        // 8-bit pixels need the intensities, not the binarised images.
        let defaultDataset = likelihood == "categorical" || model == "pixelcnn++" ? "mnist" : Catalog.defaultDataset(for: model)
        var config = RunConfig(model: model, dataset: dataset ?? defaultDataset, imageShape: [], training: training)
        let widths = hidden.map { $0.split(separator: ",").compactMap { Int($0) } }
        if model == "pca" {
            var options = PCAModel.Options()
            options.components = components
            config.pca = options
        } else if model == "ae" {
            var options = Autoencoder.Options()
            options.architecture = Autoencoder.Architecture(rawValue: architecture)!
            options.loss = Autoencoder.Loss(rawValue: loss)!
            options.linear = linear
            options.latentDimension = latentDim ?? options.latentDimension
            options.hiddenDimensions = widths ?? options.hiddenDimensions
            options.learningRate = learningRate ?? options.learningRate
            config.autoencoder = options
        } else if ["gan", "dcgan", "wgan", "wgan-gp"].contains(model) {
            var options = GAN.Options.preset(model)
            if model == "gan" || model == "dcgan" { options.loss = GAN.Loss(rawValue: generatorLoss)! }
            options.latentDimension = latentDim ?? options.latentDimension
            options.criticSteps = criticSteps ?? options.criticSteps
            options.learningRate = learningRate ?? options.learningRate
            options.clip = clip
            options.penaltyWeight = penalty
            options.features = features ?? options.features
            options.refiningLayers = refiningLayers
            config.gan = options
        } else if model == "pix2pix" {
            var options = Pix2Pix.Options()
            options.features = features ?? options.features
            options.discriminatorFeatures = discriminatorFeatures
            options.normalization = Normalization(rawValue: normalization)!
            options.l1Weight = l1Weight
            options.l1Only = l1Only
            options.learningRate = learningRate ?? options.learningRate
            config.pix2pix = options
        } else if model == "stylegan" {
            var options = StyleGAN.Options()
            options.generator.features = features ?? options.generator.features
            options.generator.latentDimension = latentDim ?? options.generator.latentDimension
            options.r1Gamma = r1Gamma
            options.learningRate = learningRate ?? options.learningRate
            config.stylegan = options
        } else if model == "cyclegan" {
            var options = CycleGAN.Options()
            options.features = features ?? options.features
            options.residualBlocks = residualBlocks
            options.cycleWeight = cycleWeight
            options.learningRate = learningRate ?? options.learningRate
            config.cyclegan = options
        } else if model == "classifier" {
            var options = Classifier.Options()
            options.learningRate = learningRate ?? options.learningRate
            options.widths = widths ?? options.widths
            config.classifier = options
        } else if Catalog.autoregressive.contains(model) {
            var options = PixelCNNOptions()
            options.features = features ?? options.features
            options.layers = layers
            options.likelihood = model == "pixelcnn++" ? .logisticMixture : PixelLikelihood(rawValue: likelihood)!
            options.components = logistics
            options.dropout = dropout
            options.classes = classes
            options.learningRate = learningRate ?? options.learningRate
            config.pixelcnn = options
        } else if model == "vade" {
            var options = VaDE.Options()
            options.latentDimension = latentDim ?? options.latentDimension
            options.hiddenDimensions = widths ?? options.hiddenDimensions
            options.clusters = clusters
            options.pretrainEpochs = pretrainEpochs
            options.learningRate = learningRate ?? options.learningRate
            options.learningRateDecay = lrDecay
            options.pretraining = VaDE.Pretraining(rawValue: pretraining)!
            config.vade = options
        } else {
            var options = VAE.Options()
            options.latentDimension = latentDim ?? options.latentDimension
            options.hiddenDimensions = widths ?? options.hiddenDimensions
            options.importanceSamples = model == "iwae" ? k : 1
            options.learningRate = learningRate ?? options.learningRate
            options.likelihood = VAE.Likelihood(rawValue: likelihood)!
            options.architecture = Autoencoder.Architecture(rawValue: architecture)!
            config.vae = options
        }
        config.arguments = Self.invocation
        return config
    }

    var dataDirectory: URL { dataDir.map { URL(fileURLWithPath: $0) } ?? MNIST.defaultDirectory }
}
