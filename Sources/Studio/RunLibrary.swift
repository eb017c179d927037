import Foundation
import GenerativeModels
import Hummingbird

#if canImport(Glibc)
import Glibc
#endif

/// The run directories under the studio's folder, and their models, each loaded once and
/// reloaded when training publishes a newer checkpoint.
final class RunLibrary: @unchecked Sendable {
    /// The folder, symbolic links resolved: every run named must resolve inside it.
    let root: URL
    private let lock = NSLock()
    private var loaded: [String: LoadedRun] = [:]

    init(root: URL) throws {
        guard let real = Self.realPath(root.path) else {
            throw TrainingError("\(root.path) is not a folder of runs (it does not exist)")
        }
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: real, isDirectory: &isFolder), isFolder.boolValue else {
            throw TrainingError("\(root.path) is not a folder of runs")
        }
        self.root = URL(fileURLWithPath: real)
    }

    func summaries() -> [RunSummary] { RunSummary.scan(root) }

    /// The run called `name`, its path under the root; a name with `..`, a hidden part, or a
    /// symbolic link that leads out of the root names nothing.
    func directory(_ name: String) throws -> RunDirectory {
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        guard !name.isEmpty, name.utf8.count <= 1024, parts.allSatisfy({ !$0.isEmpty && !$0.hasPrefix(".") }) else {
            throw HTTPError(
                .badRequest, message: "'\(name)' is not a run name: a run is named by its folder under the runs folder")
        }
        guard let real = Self.realPath(root.appendingPathComponent(name).path) else {
            throw HTTPError(.notFound, message: "no run called \(name)")
        }
        guard real.hasPrefix(root.path + "/") else {
            throw HTTPError(.badRequest, message: "\(name) leads out of the runs folder")
        }
        let run = RunDirectory(URL(fileURLWithPath: real))
        guard FileManager.default.fileExists(atPath: run.config.path) else {
            throw HTTPError(.notFound, message: "no run called \(name) (the folder holds no config.json)")
        }
        return run
    }

    /// The run's model, loaded from its newest checkpoint; shared by the requests that only
    /// read it (one at a time: a model holds state while it samples).
    func run(_ name: String) throws -> LoadedRun {
        let directory = try directory(name)
        let stamp = LoadedRun.stamp(directory)
        lock.lock()
        if let run = loaded[name], run.stamp == stamp {
            lock.unlock()
            return run
        }
        lock.unlock()
        let run = try LoadedRun(directory, stamp: stamp)
        lock.lock()
        loaded[name] = run
        lock.unlock()
        return run
    }

    /// A copy of its own, for long work (projections, pixel-by-pixel drawing) that must not hold
    /// the shared one.
    func privateCopy(_ name: String) throws -> LoadedRun {
        let directory = try directory(name)
        return try LoadedRun(directory, stamp: LoadedRun.stamp(directory))
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}

/// A run's configuration and its model, used by one request at a time.
final class LoadedRun: @unchecked Sendable {
    let directory: RunDirectory
    let config: RunConfig
    private let model: TrainableModel
    /// Where the published checkpoint's weights are, and when they were written: a newer
    /// checkpoint is loaded anew.
    let stamp: String?
    private let lock = NSLock()

    init(_ directory: RunDirectory, stamp: String?) throws {
        guard stamp != nil else {
            throw HTTPError(.conflict, message: "\(directory.url.lastPathComponent) has no checkpoint yet")
        }
        do {
            (config, model) = try Catalog.load(directory)
        } catch let error as TrainingError {
            throw HTTPError(.conflict, message: error.description)
        }
        self.directory = directory
        self.stamp = stamp
    }

    static func stamp(_ directory: RunDirectory) -> String? {
        guard let weights = RunLibrary.realPath(directory.weights.path),
            let written = (try? FileManager.default.attributesOfItem(atPath: weights))?[.modificationDate] as? Date
        else { return nil }
        return "\(weights) \(written.timeIntervalSince1970)"
    }

    func use<T>(_ body: (TrainableModel) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(model)
    }
}
