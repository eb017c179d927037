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
                      "--r1-interval": "4", "--mixing-probability": "0.5", "--layers": "2", "--classes": "3", "--logistics": "2",
                      "--dropout": "0.25", "--components": "3", "--beta": "0.5"]
        for entry in ModelRegistry.entries {
            let flags = Invocation.modelOptions(entry).map { "--" + $0.name }
            XCTAssertFalse(flags.isEmpty, entry.name)
            for flag in Set(flags) {
                let value = try XCTUnwrap(values[flag], "\(entry.name) \(flag): no test value")
                var arguments = [flag]
                if let value { arguments.append(value) }
                if flag == "--likelihood" && entry.name != "vae" && entry.name != "iwae" && entry.name != "beta-vae" { arguments[1] = "categorical" }
                let options = try entry.options(arguments)
                let encoder = JSONEncoder()
                XCTAssertNotEqual(try encoder.encode(options), try encoder.encode(entry.defaults), "\(entry.name) \(flag) sets nothing")
            }
        }
    }
}
