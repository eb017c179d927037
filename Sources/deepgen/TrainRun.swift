import ArgumentParser
import Foundation
import GenerativeModels
import NeuralNetwork
import Yams

/// What `train` does with a run directory that exists: refuse to overwrite it unless told
/// (`--force`), and continue it (`--resume`) only as it was configured.
extension Train {
    /// Options a resumed run may change: how long it trains, how it reports and where it runs,
    /// not what it trains. (The README lists them.)
    static let adjustableOnResume = [
        "steps", "epochs", "minutes", "snapshot-minutes", "log-every", "sample-every", "checkpoint-every",
        "data-dir", "distributed", "micro-batches", "reduce"
    ]
    /// The fields of config.json those options set.
    static let adjustableFields: Set<String> = [
        "training.steps", "training.epochs", "training.minutes", "training.snapshotMinutes",
        "training.logEvery", "training.sampleEvery", "training.checkpointEvery", "arguments"
    ]

    /// This process's arguments after `train`.
    static var invocation: [String] { Array(CommandLine.arguments.drop { $0 != "train" }.dropFirst()) }

    /// A configuration file: a run's config.json, or the same fields in YAML.
    static func readConfig(_ path: String) throws -> RunConfig {
        let url = URL(fileURLWithPath: path)
        let file =
            url.hasDirectoryPath
                || FileManager.default.fileExists(atPath: url.appendingPathComponent("config.json").path)
            ? url.appendingPathComponent("config.json") : url
        guard let data = FileManager.default.contents(atPath: file.path) else {
            throw TrainingError("\(file.path) cannot be read")
        }
        do {
            if ["yaml", "yml"].contains(file.pathExtension.lowercased()) {
                return try YAMLDecoder().decode(RunConfig.self, from: String(decoding: data, as: UTF8.self))
            }
            return try JSONDecoder().decode(RunConfig.self, from: data)
        } catch let error as TrainingError {
            throw TrainingError("\(file.path): \(error)")
        } catch {
            throw TrainingError("\(file.path) is not a DeepGenerative run configuration: \(error)")
        }
    }

    /// A new run must not land on an old one by accident: without `--force`, a directory that
    /// holds a run is refused; with it, the old run's files go before the new config is written.
    func requireFresh(_ run: RunDirectory) throws {
        let fileManager = FileManager.default
        let files = [run.config, run.log, run.url.appendingPathComponent(CheckpointUnit.link), run.weights]
        guard
            files.contains(where: {
                fileManager.fileExists(atPath: $0.path)
                    || (try? fileManager.destinationOfSymbolicLink(atPath: $0.path)) != nil
            })
        else { return }
        guard force else {
            let held = (try? RunConfig.load(from: run)).map { "a \($0.model) run" } ?? "a run"
            throw UsageError(
                "\(run.url.path) already holds \(held): continue it with --resume, or replace it with --force")
        }
    }

    /// The saved configuration with this command line's flags over it; a flag that changes
    /// anything but how long the run trains and how it reports is refused, with the list.
    func resumedConfig(_ run: RunDirectory) throws -> RunConfig {
        let saved = try RunConfig.load(from: run)
        guard model == nil || model == saved.model else {
            throw TrainingError("\(run.url.path) holds a \(saved.model) run, not \(model!)")
        }
        var config = try makeConfig(over: saved)
        config.arguments = saved.arguments
        let differences = Self.differences(saved, config).filter { change in
            !Self.adjustableFields.contains { change.hasPrefix($0 + " ") }
        }
        guard differences.isEmpty else {
            throw UsageError(
                "--resume continues \(run.url.path) as it was configured, but this command changes "
                    + "\(differences.joined(separator: ", ")); "
                    + "drop those options, or start a new run (--force, or another --out). A resumed run may change --"
                    + Self.adjustableOnResume.joined(separator: ", --"))
        }
        return config
    }

    /// The fields of two configurations that differ, as "path old -> new".
    static func differences(_ a: RunConfig, _ b: RunConfig) -> [String] {
        let x = flattened(a), y = flattened(b)
        return Set(x.keys).union(y.keys).filter { $0 != "arguments" && x[$0] != y[$0] }.sorted().map {
            "\($0) \(x[$0] ?? "none") -> \(y[$0] ?? "none")"
        }
    }

    static func flattened(_ config: RunConfig) -> [String: String] {
        guard let data = try? JSONEncoder().encode(config), let object = try? JSONSerialization.jsonObject(with: data)
        else { return [:] }
        var fields: [String: String] = [:]
        func walk(_ value: Any, _ path: String) {
            if let dictionary = value as? [String: Any] {
                for (key, inner) in dictionary { walk(inner, path.isEmpty ? key : "\(path).\(key)") }
            } else {
                fields[path] = "\(value)"
            }
        }
        walk(object, "")
        return fields
    }
}

extension Train {
    /// `deepgen train MODEL --help`: the common options, then that model's own, with its
    /// defaults; nil for any other command line.
    static func modelHelp(_ arguments: [String]) -> String? {
        let rest = Array(arguments.dropFirst())
        guard rest.first == "train", rest.contains(where: { $0 == "--help" || $0 == "-h" }),
            let name = rest.dropFirst().first(where: { !$0.hasPrefix("-") }), let entry = try? ModelRegistry.entry(name)
        else { return nil }
        let own = entry.flagsHelp.components(separatedBy: "\n").drop { !$0.hasPrefix("OPTIONS:") }.dropFirst()
            .filter { !$0.contains("-h, --help") && !$0.contains("Show help information") }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let defaults = (try? encoder.encode(entry.defaults)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        return helpMessage(columns: nil).replacingOccurrences(
            of: "[<model-and-options> ...]", with: "\(name) [OPTIONS OF \(name.uppercased())]")
            + "\n\(name.uppercased()): \(entry.summary)\nOPTIONS OF \(name.uppercased()):\n"
            + own.joined(separator: "\n")
            + "\n\nDEFAULTS OF \(name.uppercased()) (dataset \(entry.defaults.defaultDataset); config.json's "
                + "\"options\"):\n"
            + defaults
    }
}
