import Foundation
import GenerativeModels
import TestSupport
import XCTest
@testable import deepgen

/// `train`'s options: each model's own flags, typed values, `--config` and `--resume` over a
/// saved configuration.
final class TrainOptionsTests: TemporaryDirectoryTestCase {
    func deepgen(_ arguments: String...) throws -> Invocation { try Invocation.run(arguments, in: root) }

    func testEveryOptionAResumeMayChangeExists() throws {
        let names = Set(try Invocation.arguments(of: ["train"], in: root).compactMap(\.name))
        XCTAssert(Set(Train.adjustableOnResume).isSubset(of: names), "\(Set(Train.adjustableOnResume).subtracting(names))")
    }

    /// `train MODEL --help` lists the common options and that model's own, not another's.
    func testAModelsHelpShowsItsOwnOptions() throws {
        let dcgan = try deepgen("train", "dcgan", "--help")
        XCTAssertEqual(dcgan.status, 0)
        for flag in ["--steps", "--features", "--generator-loss", "--refining-layers"] { XCTAssert(dcgan.out.contains(flag), flag) }
        for flag in ["--clip", "--penalty", "--k ", "--classes", "--r1-gamma"] { XCTAssertFalse(dcgan.out.contains(flag), flag) }
        let wgan = try deepgen("train", "wgan", "--help")
        XCTAssert(wgan.out.contains("--clip") && !wgan.out.contains("--generator-loss"), wgan.out)
        let all = try deepgen("train", "--help")
        for entry in ModelRegistry.entries { XCTAssert(all.out.contains(entry.name), entry.name) }
    }

    /// A misspelt option or value stops with a usage error, never trains with a default.
    func testMisspeltOptionsAndValuesAreRefused() throws {
        for (arguments, text) in [(["vae", "--lr-schedule", "cosin"], "cosine"), (["vae", "--latent-dimm", "3"], "--latent-dimm"),
                                  (["dcgan", "--clip", "0.1"], "--clip"), (["vae", "--likelihood", "poisson"], "gaussian"),
                                  (["vae", "--distributed", "yes"], "mpi"), (["vae", "--reduce", "mean"], "exact")] {
            let result = try Invocation.run(["train"] + arguments + ["--out", root.appendingPathComponent("x").path], in: root)
            XCTAssertEqual(result.status, 64, "\(arguments): \(result.err)")
            XCTAssert(result.err.contains(text), "\(arguments): \(result.err)")
        }
    }

    /// Every flag of every model reaches its options: given a value other than the default, the
    /// options differ from the defaults.
    func testEveryModelFlagSetsItsOptions() throws {
        let values = ["--latent-dim": "3", "--hidden": "7,5", "--learning-rate": "0.125", "--architecture": "conv", "--loss": "mse",
                      "--linear": nil, "--likelihood": "gaussian", "--k": "9", "--clusters": "4", "--pretrain-epochs": "3",
                      "--pretraining": "adam-bce", "--lr-decay": "0.5", "--critic-steps": "3", "--features": "6", "--refining-layers": "1",
                      "--generator-loss": "minimax", "--clip": "0.5", "--penalty": "3", "--discriminator-features": "5",
                      "--normalization": "instance", "--l1-weight": "3", "--l1-only": nil, "--residual-blocks": "2", "--cycle-weight": "3",
                      "--identity-fraction": "0", "--history-size": "3", "--style-dim": "5", "--mapping-layers": "2", "--r1-gamma": "3",
                      "--r1-interval": "4", "--mixing-probability": "0.5", "--layers": "2", "--classes": "3", "--label-maps": "2", "--logistics": "2",
                      "--dropout": "0.25", "--components": "3", "--beta": "0.5",
                      "--first-kernel": "5", "--adversarial-loss": "minimax", "--depth": "3", "--row-kernel": "5",
                      "--decoder-variance": "learned", "--generator-average": "0.5", "--label-smoothing": "0.25",
                      "--discriminator-dropout": "0.375", "--mixture-weights": "uniform",
                      "--adam-epsilon": "1e-4", "--warmup-epochs": "2", "--prior-restarts": "3"]
        for entry in ModelRegistry.entries {
            let flags = Invocation.modelOptions(entry).map { "--" + $0.name }
            XCTAssertFalse(flags.isEmpty, entry.name)
            for flag in Set(flags) {
                let value = try XCTUnwrap(values[flag], "\(entry.name) \(flag): no test value")
                var arguments = [flag]
                if let value { arguments.append(value) }
                if flag == "--likelihood" && entry.name != "vae" && entry.name != "iwae" && entry.name != "beta-vae" { arguments[1] = "categorical" }
                if flag == "--architecture" && entry.name.hasPrefix("wgan") { arguments[1] = "mlp" }
                // Maps of labels need labels: measured against the same classes without maps.
                let base = flag == "--label-maps" ? try entry.options(["--classes", "3"]) : entry.defaults
                if flag == "--label-maps" { arguments += ["--classes", "3"] }
                let options = try entry.options(arguments)
                let encoder = JSONEncoder()
                XCTAssertNotEqual(try encoder.encode(options), try encoder.encode(base), "\(entry.name) \(flag) sets nothing")
            }
        }
    }
}

/// `train --config`: a run's configuration trained again, with flags over it.
final class ConfigFileTests: TemporaryDirectoryTestCase {
    func train(_ arguments: String...) throws -> Invocation { try train(arguments) }
    func train(_ arguments: [String]) throws -> Invocation { try Invocation.run(["train"] + arguments, in: root) }

    func log(_ run: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(run).appendingPathComponent("log.jsonl"), encoding: .utf8)
            .replacingOccurrences(of: #""seconds": [0-9.e+-]+, "#, with: "", options: .regularExpression)
    }

    /// The same configuration trains the same run; a flag beside it changes that option only.
    func testAConfigTrainsAgainAndFlagsOverrideIt() throws {
        XCTAssertEqual(try train("vae", "--dataset", "shapes", "--image-size", "8", "--hidden", "12", "--latent-dim", "2", "--steps", "6",
                                 "--batch-size", "8", "--log-every", "1", "--out", "a").status, 0)
        let again = try train("--config", "a/config.json", "--out", "b")
        XCTAssertEqual(again.status, 0, again.err)
        XCTAssertEqual(try log("a"), try log("b"), "the same losses")
        XCTAssertEqual(try train("--config", "a", "--latent-dim", "3", "--steps", "2", "--out", "c").status, 0)
        let c = try RunConfig.load(from: RunDirectory(root.appendingPathComponent("c")))
        XCTAssertEqual(c.options(as: VAE.Options.self)?.latentDimension, 3)
        XCTAssertEqual(c.options(as: VAE.Options.self)?.hiddenDimensions, [12], "kept from the file")
        XCTAssertEqual(c.training.steps, 2)
        let other = try train("dcgan", "--config", "a/config.json", "--out", "d")
        XCTAssertEqual(other.status, 64)
        XCTAssert(other.err.contains("the configuration is of vae, not dcgan"), other.err)
    }

    /// `--preset quick` sets its values, printed at the start and saved like any option; flags
    /// beside it override them; `--preset paper` is the defaults; a preset never rides on a
    /// resumed run. Every model's quick preset is a valid set of flags.
    func testPresetsSetValuesThatFlagsOverride() throws {
        let small = ["--dataset", "shapes", "--image-size", "8", "--hidden", "12"]
        let quick = try train(["vae", "--preset", "quick", "--steps", "2", "--latent-dim", "3", "--out", "q"] + small)
        XCTAssertEqual(quick.status, 0, quick.err)
        let preset = try ModelRegistry.entry("vae").quick.arguments.joined(separator: " ")
        XCTAssert(preset.contains("--batch-size 64") && quick.err.contains("preset quick: \(preset)"), quick.err)
        let q = try RunConfig.load(from: RunDirectory(root.appendingPathComponent("q")))
        XCTAssertEqual(q.training.batchSize, 64, "the preset's")
        XCTAssertEqual(q.training.steps, 2, "the flag's over the preset's")
        XCTAssertEqual(q.options(as: VAE.Options.self)?.latentDimension, 3)
        XCTAssertEqual(try train(["vae", "--preset", "paper", "--steps", "2", "--out", "p"] + small).status, 0)
        XCTAssertEqual(try RunConfig.load(from: RunDirectory(root.appendingPathComponent("p"))).training.batchSize, 128)
        let resumed = try train(["vae", "--preset", "quick", "--resume", "--out", "q"] + small)
        XCTAssertEqual(resumed.status, 64)
        XCTAssert(resumed.err.contains("--preset"), resumed.err)
        for entry in ModelRegistry.entries {
            XCTAssertNoThrow(try Train.parse([entry.name] + entry.quick.arguments), entry.name)
            XCTAssertFalse(entry.quick.time.isEmpty || entry.quick.result.isEmpty || entry.quick.paper.isEmpty, "\(entry.name): not measured")
        }
    }

    /// The same fields in YAML.
    func testAYAMLConfigTrains() throws {
        let yaml = """
            model: iwae
            dataset: shapes
            imageShape: [1, 8, 8]
            training: {batchSize: 8, seed: 2, steps: 3, logEvery: 1, sampleEvery: 100, checkpointEvery: 100}
            options: {latentDimension: 2, hiddenDimensions: [8], importanceSamples: 4, learningRate: 0.001, likelihood: bernoulli, architecture: mlp}
            """
        try yaml.write(to: root.appendingPathComponent("run.yaml"), atomically: true, encoding: .utf8)
        let trained = try train("--config", "run.yaml", "--out", "y")
        XCTAssertEqual(trained.status, 0, trained.err)
        let saved = try RunConfig.load(from: RunDirectory(root.appendingPathComponent("y")))
        XCTAssertEqual(saved.model, "iwae")
        XCTAssertEqual(saved.options(as: VAE.Options.self)?.importanceSamples, 4)
        try "model: vae\ndataset: [".write(to: root.appendingPathComponent("bad.yaml"), atomically: true, encoding: .utf8)
        let bad = try train("--config", "bad.yaml", "--out", "z")
        XCTAssertEqual(bad.status, 1)
        XCTAssert(bad.err.contains("bad.yaml is not a DeepGenerative run configuration"), bad.err)
    }
}

/// `deepgen runs`: every run under a folder with its figures, including what eval measured.
final class RunsCommandTests: TemporaryDirectoryTestCase {
    func testRunsListsModelsStepsLossesAndMetrics() throws {
        let trained = try Invocation.run(["train", "vae", "--dataset", "shapes", "--image-size", "8", "--hidden", "8", "--steps", "4",
                                          "--batch-size", "8", "--log-every", "2", "--out", "runs/deep/a"], in: root)
        XCTAssertEqual(trained.status, 0, trained.err)
        XCTAssertEqual(try Invocation.run(["train", "pca", "--dataset", "shapes", "--image-size", "8", "--components", "3", "--out", "runs/b"],
                                          in: root).status, 0)
        let eval = try Invocation.run(["eval", "runs/deep/a", "--metric", "elbo", "--limit", "16"], in: root)
        XCTAssertEqual(eval.status, 0, eval.err)
        let listed = try Invocation.run(["runs", "--json"], in: root)
        XCTAssertEqual(listed.status, 0, listed.err)
        let runs = try listed.out.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        XCTAssertEqual(runs.map { $0["name"] as? String }, ["b", "deep/a"])
        let a = runs[1]
        XCTAssertEqual(a["model"] as? String, "vae")
        XCTAssertEqual(a["steps"] as? Int, 4)
        XCTAssertNotNil((a["losses"] as? [String: Double])?["loss"])
        let elbo = try XCTUnwrap((a["metrics"] as? [String: Double])?["elbo"])
        XCTAssert(eval.out.contains(String(format: "%.4f", elbo)), "\(eval.out) vs \(elbo)")
        let table = try Invocation.run(["runs"], in: root)
        XCTAssert(table.out.contains("deep/a") && table.out.contains("elbo"), table.out)
        XCTAssertEqual(try Invocation.run(["runs", "nowhere"], in: root).status, 1)
    }
}
