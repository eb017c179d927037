import Datasets
import Foundation
import GenerativeModels
import TestSupport
import XCTest
@testable import deepgen

/// What a redesign of the wiring must not change: for every model, 20 steps at a fixed seed,
/// through the command line, log the same losses to the bit as the fixture written before it;
/// and the run directories written then (Fixtures/legacy-runs) still load and sample.
///
/// OpenBLAS picks its kernels by CPU, and kernels sum in different orders, so the children run
/// with one kernel set (Haswell's, which every x86-64 CPU here has) and two threads. On a CPU
/// other than the fixture's, the losses are compared to 1e-4 relative instead, and the test says so.
final class GoldenRunTests: TemporaryDirectoryTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let environment = ["OPENBLAS_CORETYPE": "Haswell", "DEEPGEN_THREADS": "2", "OPENBLAS_NUM_THREADS": "1"]

    /// Each model with options small enough for a second of training.
    static let runs: [(name: String, arguments: [String])] = [
        ("pca", ["pca", "--dataset", "shapes", "--image-size", "8", "--components", "5"]),
        ("ae", ["ae", "--dataset", "shapes", "--image-size", "8", "--hidden", "16", "--latent-dim", "2"]),
        ("ae-conv", ["ae", "--dataset", "shapes", "--image-size", "8", "--architecture", "conv", "--latent-dim", "2", "--loss", "mse"]),
        ("vae", ["vae", "--dataset", "shapes", "--image-size", "8", "--hidden", "16", "--latent-dim", "2"]),
        ("vae-gaussian", ["vae", "--dataset", "shapes", "--image-size", "8", "--hidden", "16", "--likelihood", "gaussian"]),
        ("iwae", ["iwae", "--dataset", "shapes", "--image-size", "8", "--hidden", "16", "--latent-dim", "2", "--k", "3"]),
        ("vade", ["vade", "--dataset", "shapes", "--image-size", "8", "--hidden", "16,16", "--latent-dim", "2", "--clusters", "3",
                  "--pretrain-epochs", "0"]),
        ("gan", ["gan", "--dataset", "shapes", "--image-size", "8", "--latent-dim", "4", "--generator-loss", "minimax"]),
        ("dcgan", ["dcgan", "--dataset", "shapes", "--image-size", "8", "--latent-dim", "4", "--features", "4"]),
        ("wgan", ["wgan", "--dataset", "shapes", "--image-size", "8", "--latent-dim", "4", "--features", "4", "--critic-steps", "2"]),
        ("wgan-gp", ["wgan-gp", "--dataset", "shapes", "--image-size", "8", "--latent-dim", "4", "--features", "4", "--critic-steps", "2"]),
        ("pix2pix", ["pix2pix", "--dataset", "shapes2fill", "--image-size", "16", "--features", "4"]),
        ("cyclegan", ["cyclegan", "--dataset", "DOMAINS", "--image-size", "16", "--features", "4", "--residual-blocks", "1",
                      "--lr-schedule", "linear-decay"]),
        ("stylegan", ["stylegan", "--dataset", "shapes", "--image-size", "8", "--features", "8", "--latent-dim", "8"]),
        ("pixelcnn", ["pixelcnn", "--dataset", "shapes", "--image-size", "8", "--features", "8", "--layers", "2"]),
        ("pixelcnn-categorical", ["pixelcnn", "--dataset", "shapes", "--image-size", "8", "--features", "8", "--layers", "1",
                                  "--likelihood", "categorical"]),
        ("gated-pixelcnn", ["gated-pixelcnn", "--dataset", "shapes", "--image-size", "8", "--features", "8", "--layers", "2",
                            "--classes", "4"]),
        ("row-lstm", ["row-lstm", "--dataset", "shapes", "--image-size", "8", "--features", "8", "--layers", "1"]),
        ("diagonal-bilstm", ["diagonal-bilstm", "--dataset", "shapes", "--image-size", "8", "--features", "8", "--layers", "1"]),
        ("pixelcnn++", ["pixelcnn++", "--dataset", "shapes", "--image-size", "8", "--features", "8", "--layers", "1", "--logistics", "2",
                        "--lr-schedule", "cosine"]),
        ("classifier", ["classifier", "--dataset", "shapes", "--image-size", "8", "--hidden", "4,8"]),
    ]
    static let common = ["--steps", "20", "--batch-size", "8", "--seed", "3", "--log-every", "1", "--sample-every", "20", "--checkpoint-every", "20"]

    /// Two small unpaired domains for cyclegan, in `root`: rows and columns.
    static func domains(in root: URL) throws -> URL {
        let data = root.appendingPathComponent("domains")
        for folder in ["trainA", "trainB", "testA", "testB"] {
            let url = data.appendingPathComponent(folder)
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            for i in 0..<6 {
                let pixels = (0..<64).map { p -> UInt8 in folder.hasSuffix("A") ? (p / 8 == 1 + i ? 255 : 0) : (p % 8 == 1 + i ? 255 : 0) }
                try PNG.write(Image(width: 8, height: 8, channels: 1, pixels: pixels), to: url.appendingPathComponent("\(i).png"))
            }
        }
        return data
    }

    /// The CPU, as the fixture names it.
    static var cpu: String {
        let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let field = { (key: String) in info.split(separator: "\n").first { $0.hasPrefix(key) }.map { String($0.split(separator: ":").last ?? "") } ?? "" }
        return [field("vendor_id"), field("cpu family"), field("model\t")].map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
    }

    /// The losses of each step, in the log's order: [[name: value]].
    func losses(in run: URL) throws -> [[String: Float]] {
        let lines = try String(contentsOf: run.appendingPathComponent("log.jsonl"), encoding: .utf8).split(separator: "\n")
        return try lines.map { line in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            return object.filter { !["step", "epoch", "seconds"].contains($0.key) }.mapValues { Float("\($0)")! }
        }
    }

    func testTwentyStepsLogTheFixturesLosses() throws {
        let domains = try Self.domains(in: root)
        let record = ProcessInfo.processInfo.environment["DEEPGEN_RECORD_GOLDEN"] != nil
        let fixture = Self.fixtures.appendingPathComponent("golden-losses.json")
        struct Golden: Codable { var cpu: String; var losses: [String: [[String: Float]]] }
        var golden = record ? Golden(cpu: Self.cpu, losses: [:]) : try JSONDecoder().decode(Golden.self, from: Data(contentsOf: fixture))
        let sameCPU = golden.cpu == Self.cpu
        if !sameCPU { print("note: the golden losses were written on \(golden.cpu), this is \(Self.cpu): compared to 1e-4 relative") }
        for (name, arguments) in Self.runs {
            let out = root.appendingPathComponent(name)
            let given = ["train"] + arguments.map { $0 == "DOMAINS" ? domains.path : $0 } + Self.common + ["--out", out.path]
            let result = try Invocation.run(given, in: root, environment: Self.environment)
            XCTAssertEqual(result.status, 0, "\(name): \(result.err)")
            let found = try losses(in: out)
            if record {
                golden.losses[name] = found
                let legacy = Self.fixtures.appendingPathComponent("legacy-runs/\(name)")
                try? FileManager.default.removeItem(at: legacy)
                try FileManager.default.createDirectory(at: legacy, withIntermediateDirectories: true)
                // The weights where they are small (the MLP GAN's are 3 MB): the configs are what moves.
                for file in ["config.json", "model.safetensors"] {
                    let data = try Data(contentsOf: out.appendingPathComponent(file))
                    if data.count < 100_000 { try data.write(to: legacy.appendingPathComponent(file)) }
                }
                continue
            }
            let expected = try XCTUnwrap(golden.losses[name], name)
            XCTAssertEqual(found.count, expected.count, "\(name): logged steps")
            for (step, (a, b)) in zip(found, expected).enumerated() {
                XCTAssertEqual(Set(a.keys), Set(b.keys), "\(name) step \(step + 1)")
                for (key, value) in b {
                    let got = a[key] ?? .nan
                    if sameCPU {
                        XCTAssertEqual(got.bitPattern, value.bitPattern, "\(name) step \(step + 1) \(key): \(got) != \(value)")
                    } else {
                        XCTAssertEqual(got, value, accuracy: 1e-4 * max(1, abs(value)), "\(name) step \(step + 1) \(key)")
                    }
                }
            }
        }
        if record {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(golden).write(to: fixture)
        }
    }
}

/// Run directories written before the registry (config.json format 1, `Fixtures/legacy-runs`).
final class LegacyRunTests: TemporaryDirectoryTestCase {
    /// Each old config reads as the configuration its own saved command line gives today, and
    /// the weights written then load into the model built from it.
    func testRunsWrittenBeforeTheRegistryLoad() throws {
        let legacy = GoldenRunTests.fixtures.appendingPathComponent("legacy-runs")
        let names = try FileManager.default.contentsOfDirectory(atPath: legacy.path).sorted()
        XCTAssertEqual(names.count, GoldenRunTests.runs.count)
        for name in names {
            let run = RunDirectory(legacy.appendingPathComponent(name))
            var old = try RunConfig.load(from: run)
            let arguments = try XCTUnwrap(old.arguments, name)
            var today = try Train.parse(arguments).makeConfig(over: nil)
            today.imageShape = old.imageShape
            (old.arguments, today.arguments) = (nil, nil)
            // What training fits to its data: a classifier's classes (shapes has 4), a batch larger
            // than the data set (six images per domain).
            // And gan's preset since issue 38, whose old runs keep the recipe they were trained with.
            let adapted = [
                "options.classes 4 -> 10", "training.batchSize 6 -> 8", "options.discriminatorDropout 0 -> 0.3",
                "options.generatorAverage 0 -> 0.999", "options.labelSmoothing 0 -> 0.1"
            ]
            XCTAssertEqual(Train.differences(old, today).filter { !adapted.contains($0) }, [], name)
            XCTAssertEqual(old.format, 2, "read as today's format")
            if FileManager.default.fileExists(atPath: run.weights.path) {
                let (_, model) = try Catalog.load(run)
                XCTAssertFalse(model.module.stateDict().isEmpty, name)
            }
        }
    }
}
