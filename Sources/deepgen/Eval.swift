import ArgumentParser
import Datasets
import Foundation
import GenerativeModels
import GenerativeMetrics
import NeuralNetwork
import TensorEngine

/// `deepgen eval RUN_DIR --metric METRIC`: a trained model measured on held-out data.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a trained model; --json prints exactly one JSON object.")

    @Argument(help: "A run directory written by `deepgen train`.", completion: .directory) var runDir: String
    @Option(
        help:
            "elbo or nll (nats per image), bpd (bits per dimension), mse (per pixel), accuracy (clustering or classifier, percent), fid (samples; for a classifier run, the training images: the real-data baseline), l1, psnr, ssim (pix2pix), cycle (cyclegan), projection (stylegan: mean PSNR of held-out images projected into W+, and a judge's label agreement), labels (a class-conditional model: the share of --count samples the classifier reads as the class asked for), recognisable (the share of --count samples the classifier reads as some class with probability above 0.9), modes (a GAN on ring8 or grid25: modes covered), discriminator (a GAN on mixture1d: D against the optimal D*). A model gives those its capabilities allow; the error lists them."
    )
    var metric: Metric
    @Option(help: "The classifier run whose features define the FID (deepgen train classifier).") var classifier =
        "runs/classifier"
    @Option(
        help:
            "A second classifier run that grades projections' labels (projection): not the --classifier of the projection's loss, which would grade its own work (deepgen train classifier --hidden 16,32 --seed 1 --out runs/judge)."
    )
    var judge = "runs/judge"
    @Option(help: "Images generated for the FID and the label agreement; points for modes (and 10x for discriminator).")
    var count = 10000
    @Option(help: "Importance samples for an estimated nll.") var k = 5000
    @Option(help: "The split to evaluate.") var split = MNIST.Split.test
    @Option(help: "Evaluate the first N examples only.") var limit: Int?
    @Option(help: "Examples per batch.") var batchSize = 100
    @Option(help: "Seed of the sampling noise.") var seed: UInt64 = 0
    @Option(help: "Truncation psi of the samples (stylegan's fid; default the run's).") var truncation: Float?
    @Option(help: "Optimisation steps of each projection (stylegan's projection metric).") var projectionSteps = 300
    @Option(help: "Steps of the discriminator alone against the trained generator (discriminator metric).")
    var discriminatorSteps = 5000
    @Option(help: "Where MNIST is (default: $DEEPGEN_DATA, else ./data).") var dataDir: String?
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        guard count >= 2 else { throw ValidationError("--count must be at least 2") }
        guard (1...100_000).contains(k), (1...65_536).contains(batchSize), (limit ?? 1) >= 1,
            (1...100_000).contains(projectionSteps), (0...1_000_000).contains(discriminatorSteps)
        else {
            throw ValidationError(
                "--k must be between 1 and 100000, --batch-size between 1 and 65536, --projection-steps between 1 "
                    + "and 100000, --discriminator-steps between 0 and 1000000, --limit positive"
            )
        }
        guard count <= 1_000_000 else { throw ValidationError("--count must be between 2 and 1000000") }
        guard (truncation ?? 0) >= 0, (truncation ?? 0).isFinite else {
            throw ValidationError("--truncation must be a number, 0 or more")
        }
    }

    func run() throws {
        let communicator = try Launcher.communicator(.auto)
        do {
            var settings = EvaluationSettings()
            settings.classifier = classifier; settings.judge = judge; settings.count = count; settings.k = k;
            settings.split = split
            settings.limit = limit; settings.batchSize = batchSize; settings.seed = seed;
            settings.truncation = truncation
            settings.projectionSteps = projectionSteps; settings.communicator = communicator
            settings.discriminatorSteps = discriminatorSteps
            settings.dataDirectory = dataDir.map { URL(fileURLWithPath: $0) } ?? MNIST.defaultDirectory
            // not rank 0
            guard let measurement = try Evaluation(run: runDir, settings: settings).measure(metric) else { return }
            print(json ? measurement.json : measurement.text)
            // Kept beside the run for `deepgen runs` and the studio.
            if !RunDirectory(URL(fileURLWithPath: runDir)).record(measurement.json) {
                FileHandle.standardError.write(
                    Data("note: \(runDir) cannot be written; the measurement is not kept in metrics.jsonl\n".utf8))
            }
        } catch  where communicator.size > 1 {
            communicator.abort("\(error)") // never leave the other ranks waiting
        }
    }
}

extension Metric: ExpressibleByArgument {}
extension MNIST.Split: ExpressibleByArgument {}
