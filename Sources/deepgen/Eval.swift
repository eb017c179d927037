import ArgumentParser
import Datasets
import Foundation
import GenerativeModels
import Metrics
import NeuralNetwork
import TensorEngine

/// `deepgen eval RUN_DIR --metric METRIC`: a trained model measured on held-out data.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Evaluate a trained model; --json prints exactly one JSON object.")

    @Argument(help: "A run directory written by `deepgen train`.") var runDir: String
    @Option(help: "elbo or nll (nats per image; vae, iwae; elbo also vade; nll is exact for pixelcnn, gated-pixelcnn), bpd (bits per dimension; pixelcnn, gated-pixelcnn), mse (per pixel; pca, ae), accuracy (vade: clustering; classifier), fid (any model that samples; for a classifier run, the training images: the real-data baseline), l1, psnr, ssim (pix2pix), cycle (cyclegan), projection (stylegan: mean PSNR of held-out images projected into W+, and the classifier's label agreement), labels (class-conditional gated-pixelcnn: the share of --count samples the classifier reads as the class asked for).") var metric: String
    @Option(help: "The classifier run whose features define the FID (deepgen train classifier).") var classifier = "runs/classifier"
    @Option(help: "A second classifier run that grades projections' labels (projection): not the --classifier of the projection's loss, which would grade its own work (deepgen train classifier --hidden 16,32 --seed 1 --out runs/judge).") var judge = "runs/judge"
    @Option(help: "Images generated for the FID.") var count = 10000
    @Option(help: "Importance samples for nll.") var k = 5000
    @Option(help: "The split to evaluate.") var split = "test"
    @Option(help: "Evaluate the first N examples only.") var limit: Int?
    @Option(help: "Examples per batch.") var batchSize = 100
    @Option(help: "Seed of the sampling noise.") var seed: UInt64 = 0
    @Option(help: "Truncation psi of the samples (stylegan's fid; default the run's).") var truncation: Float?
    @Option(help: "Optimisation steps of each projection (stylegan's projection metric).") var projectionSteps = 300
    @Option(help: "Where MNIST is (default: $DEEPGEN_DATA, else ./data).") var dataDir: String?
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        guard ["elbo", "nll", "bpd", "mse", "accuracy", "fid", "l1", "psnr", "ssim", "cycle", "projection", "labels"].contains(metric) else {
            throw ValidationError("unknown metric '\(metric)'; this version measures elbo, nll, bpd, mse, accuracy, fid, l1, psnr, ssim, cycle, projection and labels")
        }
        guard count >= 2 else { throw ValidationError("--count must be at least 2") }
        guard ["train", "test"].contains(split) else { throw ValidationError("--split is train or test") }
        guard (1...100_000).contains(k), (1...65_536).contains(batchSize), (limit ?? 1) >= 1, (1...100_000).contains(projectionSteps) else {
            throw ValidationError("--k must be between 1 and 100000, --batch-size between 1 and 65536, --projection-steps between 1 and 100000, --limit positive")
        }
        guard count <= 1_000_000 else { throw ValidationError("--count must be between 2 and 1000000") }
        guard (truncation ?? 0) >= 0, (truncation ?? 0).isFinite else { throw ValidationError("--truncation must be a number, 0 or more") }
    }

    func run() throws {
        let communicator = try Launcher.communicator(.auto)
        do {
            try evaluate(communicator)
        } catch where communicator.size > 1 {
            communicator.abort("\(error)")   // never leave the other ranks waiting
        }
    }

    /// Under mpirun the metrics that are sums over the examples (elbo, nll, bpd, mse, accuracy)
    /// shard the batches across the ranks and add their sums; the others run on one process.
    func evaluate(_ communicator: Communicator) throws {
        let sharded = ["elbo", "nll", "bpd", "mse", "accuracy"].contains(metric)
        guard communicator.size == 1 || sharded else {
            throw ValidationError("\(metric) runs on one process (elbo, nll, bpd, mse and accuracy shard across ranks); start it without mpirun")
        }
        let run = RunDirectory(URL(fileURLWithPath: runDir))
        let (config, model) = try Catalog.load(run)
        if let translator = model as? Pix2Pix { return try translation(config, translator) }
        if let cycle = model as? CycleGAN { return try cycleConsistency(config, cycle) }
        if metric == "projection" {
            guard let style = model as? StyleGAN else { throw TrainingError("projection is a metric of stylegan, not of \(config.model)") }
            return try projection(config, style)
        }
        if metric == "labels" {
            guard let pixels = model as? AutoregressiveModel else { throw TrainingError("labels is a metric of class-conditional gated-pixelcnn, not of \(config.model)") }
            return try labelAgreement(config, pixels)
        }
        if truncation != nil && !(model is StyleGAN) { throw TrainingError("--truncation is an option of stylegan, not of \(config.model)") }
        guard !["l1", "psnr", "ssim", "cycle"].contains(metric) else { throw TrainingError("\(metric) is a metric of pix2pix or cyclegan, not of \(config.model)") }
        if metric == "fid" { return try frechetDistance(config, model) }
        let vae = model as? VAE, vade = model as? VaDE, pixels = model as? AutoregressiveModel
        let reconstruct: ((Tensor) -> Tensor)? = (model as? Autoencoder)?.reconstruct ?? (model as? PCAModel)?.reconstruct
        let applies = switch metric {
        case "mse": reconstruct != nil
        case "nll": vae != nil || pixels != nil
        case "bpd": pixels != nil
        case "elbo": vae != nil || vade != nil
        default: vade != nil || model is Classifier
        }
        guard applies else {
            throw TrainingError("\(metric) is not a metric of \(config.model) (elbo: vae, iwae, vade; nll: vae, iwae, pixelcnn, gated-pixelcnn; bpd: pixelcnn, gated-pixelcnn; mse: pca, ae; accuracy: vade, classifier)")
        }
        let data = try Catalog.dataset(config.dataset, split: MNIST.Split(rawValue: split)!,
                                       dataDirectory: dataDir.map { URL(fileURLWithPath: $0) } ?? MNIST.defaultDirectory,
                                       imageSize: config.imageShape[1], channels: config.imageShape[0])
        let count = min(limit ?? data.count, data.count)  // examples evaluated
        let samples = metric == "nll" && pixels == nil ? k : 1   // an autoregressive likelihood is exact
        let (rank, ranks) = (communicator.rank, communicator.size)
        let progress = rank == 0 ? Progress(total: count, label: metric, unit: "images") : nil
        var total = 0.0, done = 0
        var clusters: [Int] = [], labels: [Int] = []
        // Batch b goes to rank b mod N; its noise is keyed by its first example, so the figure
        // does not depend on the number of ranks.
        let batches = (count + batchSize - 1) / batchSize
        for b in stride(from: rank, to: batches, by: ranks) {
            let indices = Array(b * batchSize..<min((b + 1) * batchSize, count))
            var dataGenerator = RandomGenerator(seed: seed).derived(UInt64(indices[0]))   // the data's own noise (binarisation)
            var generator = dataGenerator.derived(1)                                      // the model's
            let batch = data.batch(indices, generator: &dataGenerator)
            let images = batch.images
            done += indices.count
            if metric == "accuracy" {
                guard let batchLabels = batch.labels else { throw TrainingError("\(config.dataset) has no labels to measure accuracy against") }
                clusters += vade?.clusters(images) ?? withoutGradients { (model as! Classifier).predictions(images) }
                labels += batchLabels
                progress?.update(min(done * ranks, count))
                continue
            }
            let values: Tensor = withoutGradients {
                if let pixels {
                    let nats = -pixels.logLikelihood(images, labels: batch.labels)
                    return metric == "nll" ? nats : nats / Float(Double(Shape.count(config.imageShape)) * Foundation.log(2))
                }
                switch metric {
                case "nll": return importanceSampledNLL(vae!, images.flattened(), k: k, generator: &generator)
                case "elbo": return vade.map { -$0.elbo(images.flattened(), generator: &generator).elbo }
                    ?? -vae!.elbo(images.flattened(), generator: &generator).elbo
                default: return (reconstruct!(images) - images).squared().flattened().mean(alongAxis: 1)
                }
            }
            total += values.scalars.reduce(0) { $0 + Double($1) }
            progress?.update(min(done * ranks, count), figures: [(metric, total / Double(done))])
        }
        progress?.finish()
        if ranks > 1 {
            total = communicator.sumOverRanks([total])[0]
            let capacity = ((batches + ranks - 1) / ranks) * batchSize
            clusters = communicator.gatherIntegers(clusters, capacity: capacity)
            labels = communicator.gatherIntegers(labels, capacity: capacity)
        }
        guard rank == 0 else { return }
        let value = metric != "accuracy" ? total / Double(count)
            : vade != nil ? 100 * clusteringAccuracy(clusters: clusters, labels: labels)
            : 100 * Double(zip(clusters, labels).filter { $0.0 == $0.1 }.count) / Double(count)
        let unit = metric == "mse" ? "per pixel" : metric == "accuracy" ? "percent" : metric == "bpd" ? "bits per dimension" : "nats"
        if json {
            printJSON(model: config.model, value: value, unit: unit, dataset: config.dataset, split: split, count: count, k: samples)
        } else {
            print("\(config.model) \(metric) on \(config.dataset) \(split) (\(count) images, k = \(samples)): \(String(format: "%.4f", value)) \(unit)")
        }
    }

    /// FID and class coverage of `--count` samples against the test set; for a classifier run,
    /// of as many training images (the baseline no generator can beat).
    func frechetDistance(_ config: RunConfig, _ model: TrainableModel) throws -> Void {
        let classifierRun = RunDirectory(URL(fileURLWithPath: model is Classifier ? runDir : classifier))
        let (classifierConfig, loaded) = try Catalog.load(classifierRun)
        guard let network = loaded as? Classifier else {
            throw TrainingError("\(classifierRun.url.path) holds \(classifierConfig.model), not a classifier (train one: deepgen train classifier --dataset mnist)")
        }
        guard model.drawsSamples || model is Classifier else { throw TrainingError("fid is not a metric of \(config.model)") }
        let directory = dataDir.map { URL(fileURLWithPath: $0) } ?? MNIST.defaultDirectory
        let test = try Catalog.dataset(classifierConfig.dataset, split: .test, dataDirectory: directory,
                                       imageSize: classifierConfig.imageShape[1], channels: classifierConfig.imageShape[0])
        let evaluator = try FIDEvaluator(classifier: network, test: test)
        // A model of padded digits (stylegan at 32 px) is read in the classifier's central 28 x 28.
        guard config.imageShape[0] == network.imageShape[0], config.imageShape[1] >= network.imageShape[1],
              config.imageShape[2] >= network.imageShape[2] else {
            throw TrainingError("\(config.model) draws \(config.imageShape) images, the classifier takes \(network.imageShape)")
        }
        var generator = RandomGenerator(seed: seed)
        let train = try Catalog.dataset(classifierConfig.dataset, split: .train, dataDirectory: directory,
                                        imageSize: classifierConfig.imageShape[1], channels: classifierConfig.imageShape[0])
        let total = min(count, train.count)
        var done = 0
        let progress = Progress(total: total, label: "fid", unit: "images")
        let (fid, coverage, _) = try evaluator.evaluate(count: total, progress: progress) { n in
            defer { done += n }
            if model is Classifier { return train.batch(Array(done..<(done + n)), generator: &generator).images }
            let samples = withoutGradients {
                if let truncation, let style = model as? StyleGAN { return style.sample(count: n, psi: truncation, generator: &generator) }
                return model.sample(count: n, generator: &generator)
            }
            return centreCrop(samples, to: network.imageShape)
        }
        progress.finish()
        // The classifier's own run is the floor: its training images against the test set.
        let floor = model is Classifier ? fid : try evaluator.floor(count: total, real: train)
        let shares = coverage.shares.map { String(format: "%.4f", $0) }.joined(separator: ", ")
        if json {
            printJSON(model: config.model, value: fid, unit: "fid", dataset: test.name, split: "test", count: total, k: 1,
                      extra: [Figure("real_floor", floor), Figure("classifier_accuracy", 100 * evaluator.classifierAccuracy),
                              Figure("class_shares", list: coverage.shares.map { Double($0) }, digits: 4),
                              Figure("rare_classes", list: coverage.rareClasses.map { Double($0) }, digits: 0)])
        } else {
            print("\(model is Classifier ? "training images" : config.model) FID against \(test.name) test: \(String(format: "%.3f", fid)) (\(total) images; "
                  + "real training images score \(String(format: "%.3f", floor)) at that count; classifier test accuracy \(String(format: "%.2f", 100 * evaluator.classifierAccuracy))%)")
            print("class shares: \(shares); classes below 5%: \(coverage.rareClasses)")
        }
    }

    /// A translation model on the held-out pairs: the mean L1, PSNR or SSIM of its outputs
    /// against the targets, or the FID of its outputs against the classifier's test images, with
    /// the share of outputs the classifier reads as their source's label.
    func translation(_ config: RunConfig, _ model: Pix2Pix) throws {
        guard ["l1", "psnr", "ssim", "fid"].contains(metric) else { throw TrainingError("\(metric) is not a metric of pix2pix (l1, psnr, ssim, fid)") }
        let directory = dataDir.map { URL(fileURLWithPath: $0) } ?? MNIST.defaultDirectory
        let data = try Catalog.dataset(config.dataset, split: MNIST.Split(rawValue: split)!, dataDirectory: directory,
                                       imageSize: config.imageShape[1], channels: config.imageShape[0], pairing: .paired)
        let total = min(limit ?? data.count, data.count)
        let progress = Progress(total: total, label: metric, unit: "images")
        var generator = RandomGenerator(seed: seed)
        var done = 0
        var extra: [Figure] = []
        let value: Double
        if metric == "fid" {
            let (classifierConfig, loaded) = try Catalog.load(RunDirectory(URL(fileURLWithPath: classifier)))
            guard let network = loaded as? Classifier else { throw TrainingError("\(classifier) does not hold a classifier") }
            // The classifier's own test set is the reference, as for every FID (not MNIST by name).
            let (size, channels) = (classifierConfig.imageShape[1], classifierConfig.imageShape[0])
            let test = try Catalog.dataset(classifierConfig.dataset, split: .test, dataDirectory: directory, imageSize: size, channels: channels)
            let evaluator = try FIDEvaluator(classifier: network, test: test)
            var labels: [Int] = []
            let (fid, _, predictions) = try evaluator.evaluate(count: total, batchSize: batchSize, progress: progress) { n in
                defer { done += n }
                let batch = data.batch(Array(done..<(done + n)), generator: &generator)
                labels += batch.labels ?? []
                return centreCrop(withoutGradients { model.translate(batch.images) }, to: network.imageShape)
            }
            value = fid
            let train = try Catalog.dataset(classifierConfig.dataset, split: .train, dataDirectory: directory, imageSize: size, channels: channels)
            extra.append(Figure("real_floor", try evaluator.floor(count: total, real: train)))
            extra.append(Figure("classifier_accuracy", 100 * evaluator.classifierAccuracy))
            if labels.count == predictions.count {
                let kept = 100 * Double(zip(labels, predictions).filter { $0.0 == $0.1 }.count) / Double(labels.count)
                extra.append(Figure("label_accuracy", kept))
            }
        } else {
            var sum = 0.0
            let (c, h, w) = (config.imageShape[0], config.imageShape[1], config.imageShape[2])
            while done < total {
                let batch = data.batch(Array(done..<min(done + batchSize, total)), generator: &generator)
                let outputs = withoutGradients { model.translate(batch.images) }.scalars, targets = batch.targets!.scalars
                let size = c * h * w
                for i in 0..<batch.indices.count {
                    let (a, b) = (Array(outputs[i * size..<(i + 1) * size]), Array(targets[i * size..<(i + 1) * size]))
                    sum += metric == "l1" ? ImageQuality.l1(a, b) : metric == "psnr" ? ImageQuality.psnr(a, b)
                        : ImageQuality.ssim(a, b, channels: c, height: h, width: w)
                }
                done += batch.indices.count
                progress.update(done, figures: [(metric, sum / Double(done))])
            }
            value = sum / Double(total)
        }
        progress.finish()
        let unit = metric == "psnr" ? "dB" : metric == "fid" ? "fid" : metric == "l1" ? "per pixel" : "ssim"
        if json {
            printJSON(model: config.model, value: value, unit: unit, dataset: config.dataset, split: split, count: total, k: 1, extra: extra)
        } else {
            print("\(config.model) \(metric) on \(config.dataset) \(split) (\(total) pairs): \(String(format: "%.4f", value)) \(unit)"
                  + (extra.isEmpty ? "" : "; " + extra.map(\.text).joined(separator: ", ")))
        }
    }

    /// The contract's one JSON object, its own fields first, then the `extra` figures.
    func printJSON(model: String, value: Double, unit: String, dataset: String, split: String, count: Int, k: Int, extra: [Figure] = []) {
        let fields = [("model", Figure.quoted(model)), ("metric", Figure.quoted(metric)), ("value", Figure.number(value, digits: 4)),
                      ("unit", Figure.quoted(unit)), ("dataset", Figure.quoted(dataset)), ("split", Figure.quoted(split)),
                      ("count", "\(count)"), ("k", "\(k)")] + extra.map { ($0.name, $0.json) }
        print("{" + fields.map { "\(Figure.quoted($0.0)): \($0.1)" }.joined(separator: ", ") + "}")
    }
}

/// A figure reported beside a metric's value: a number or a list of numbers, by name; written
/// as a JSON field, or as words in the text line.
struct Figure {
    let name: String
    let values: [Double]
    let isList: Bool
    let digits: Int

    init(_ name: String, _ value: Double, digits: Int = 4) { self.name = name; values = [value]; isList = false; self.digits = digits }
    init(_ name: String, list: [Double], digits: Int = 2) { self.name = name; values = list; isList = true; self.digits = digits }

    var json: String {
        let numbers = values.map { Figure.number($0, digits: digits) }
        return isList ? "[" + numbers.joined(separator: ", ") + "]" : numbers[0]
    }
    var text: String { name.replacingOccurrences(of: "_", with: " ") + " " + (isList ? json : Figure.number(values[0], digits: digits)) }

    /// A JSON number; null for NaN or an infinity, which JSON cannot hold.
    static func number(_ v: Double, digits: Int) -> String { v.isFinite ? String(format: "%.\(digits)f", v) : "null" }

    /// A JSON string, escaped (a quote or a backslash in a path stays valid).
    static func quoted(_ s: String) -> String { jsonQuoted(s) }
}
