import ArgumentParser
import Foundation
import GenerativeModels
import NeuralNetwork

/// What `train` does with a run directory that exists: refuse to overwrite it unless told
/// (`--force`), and continue it (`--resume`) only as it was configured.
extension Train {
    /// Options a resumed run may change: how long it trains, how it reports and where it runs,
    /// not what it trains. (The README lists them.)
    static let adjustableOnResume: Set<String> = [
        "steps", "epochs", "minutes", "snapshot-minutes", "log-every", "sample-every", "checkpoint-every",
        "data-dir", "distributed", "micro-batches", "reduce", "out", "resume", "force",
    ]
    /// The options that take no value.
    static let flags: Set<String> = ["resume", "force", "linear", "l1-only", "sync-bn"]

    /// This process's arguments after `train`.
    static var invocation: [String] { Array(CommandLine.arguments.drop { $0 != "train" }.dropFirst()) }

    /// An argument list cut into options (`--name value`, `--name=value`, a flag) and positional
    /// arguments (name nil), in order.
    static func options(in arguments: [String]) -> [(name: String?, tokens: [String])] {
        var result: [(name: String?, tokens: [String])] = []
        var i = 0
        while i < arguments.count {
            let token = arguments[i]
            guard token.hasPrefix("--") else { result.append((nil, [token])); i += 1; continue }
            let name = String(token.dropFirst(2).prefix { $0 != "=" })
            if token.contains("=") || flags.contains(name) || i + 1 == arguments.count {
                result.append((name, [token])); i += 1
            } else {
                result.append((name, [token, arguments[i + 1]])); i += 2
            }
        }
        return result
    }

    /// A new run must not land on an old one by accident: without `--force`, a directory that
    /// holds a run is refused; with it, the old run's files go before the new config is written.
    func requireFresh(_ run: RunDirectory) throws {
        let fileManager = FileManager.default
        let files = [run.config, run.log, run.url.appendingPathComponent(CheckpointUnit.link), run.weights]
        guard files.contains(where: { fileManager.fileExists(atPath: $0.path) || (try? fileManager.destinationOfSymbolicLink(atPath: $0.path)) != nil })
        else { return }
        guard force else {
            let held = (try? RunConfig.load(from: run)).map { "a \($0.model) run" } ?? "a run"
            throw UsageError("\(run.url.path) already holds \(held): continue it with --resume, or replace it with --force")
        }
    }

    /// The saved configuration, with the options a resumed run may change taken from this command
    /// line; any other option that differs from the saved one is refused, with the list.
    func resumedConfig(_ run: RunDirectory) throws -> RunConfig {
        var config = try RunConfig.load(from: run)
        guard config.model == model else { throw TrainingError("\(run.url.path) holds a \(config.model) run, not \(model)") }
        let given = Self.options(in: Self.invocation)
        if let saved = config.arguments {
            let kept = Self.options(in: saved).filter { !Self.adjustableOnResume.contains($0.name ?? "") }.flatMap(\.tokens)
            let changed = given.filter { $0.name.map { !Self.adjustableOnResume.contains($0) } ?? false }.flatMap(\.tokens)
            let after = try Train.parse(kept + changed).makeConfig()
            let differences = (try? Train.parse(kept).makeConfig()).map { Self.differences($0, after) } ?? []
            guard differences.isEmpty else {
                throw UsageError("--resume continues \(run.url.path) as it was configured, but this command changes \(differences.joined(separator: ", ")); "
                    + "drop those options, or start a new run (--force, or another --out). A resumed run may change --\(Self.adjustableOnResume.subtracting(["out", "resume", "force"]).sorted().joined(separator: ", --"))")
            }
        }
        let names = Set(given.compactMap(\.name))
        if let steps { config.training.steps = steps; config.training.epochs = nil }
        if let epochs { config.training.epochs = epochs; config.training.steps = nil }
        if let minutes { config.training.minutes = minutes }
        if let snapshotMinutes { config.training.snapshotMinutes = snapshotMinutes }
        if names.contains("log-every") { config.training.logEvery = logEvery }
        if names.contains("sample-every") { config.training.sampleEvery = sampleEvery }
        if names.contains("checkpoint-every") { config.training.checkpointEvery = checkpointEvery }
        return config
    }

    /// The fields of two configurations that differ, as "path old -> new".
    static func differences(_ a: RunConfig, _ b: RunConfig) -> [String] {
        let x = flattened(a), y = flattened(b)
        return Set(x.keys).union(y.keys).filter { $0 != "arguments" && x[$0] != y[$0] }.sorted().map { "\($0) \(x[$0] ?? "none") -> \(y[$0] ?? "none")" }
    }

    static func flattened(_ config: RunConfig) -> [String: String] {
        guard let data = try? JSONEncoder().encode(config), let object = try? JSONSerialization.jsonObject(with: data) else { return [:] }
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
