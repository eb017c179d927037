import Foundation

/// What a run directory holds, in brief: for `deepgen runs` and the studio.
public struct RunSummary: Encodable, Sendable {
    /// The folder's path under the directory scanned.
    public var name: String
    public var model: String
    public var dataset: String
    /// Steps taken, and the wall time they took.
    public var steps: Int
    public var seconds: Double
    /// The last logged losses.
    public var losses: [String: Double]
    /// The latest value of each metric `deepgen eval` measured on the run.
    public var metrics: [String: Double]

    /// The run at `run`, or nil if it holds no configuration.
    public init?(_ run: RunDirectory, name: String) {
        guard let config = try? RunConfig.load(from: run) else { return nil }
        let log = run.readLog()
        self.name = name
        model = config.model
        dataset = URL(fileURLWithPath: config.dataset).lastPathComponent
        steps = Int(log.last?["step"] ?? 0)
        seconds = log.last?["seconds"] ?? 0
        losses = (log.last ?? [:]).filter { !["step", "epoch", "seconds"].contains($0.key) }
        metrics = run.latestMeasurements()
    }

    /// Every run directory under `root` (itself included), by name; a run's snapshots and
    /// checkpoint units are not runs of their own.
    public static func scan(_ root: URL) -> [RunSummary] {
        let fileManager = FileManager.default
        var found: [RunSummary] = []
        func visit(_ url: URL, _ name: String, depth: Int) {
            if let summary = RunSummary(RunDirectory(url), name: name.isEmpty ? url.lastPathComponent : name) {
                found.append(summary); return
            }
            guard depth < 4, let children = try? fileManager.contentsOfDirectory(atPath: url.path) else { return }
            for child in children.sorted() where !child.hasPrefix(".") && !["snapshots", "checkpoints"].contains(child)
            {
                var isFolder: ObjCBool = false
                let next = url.appendingPathComponent(child)
                if fileManager.fileExists(atPath: next.path, isDirectory: &isFolder), isFolder.boolValue {
                    visit(next, name.isEmpty ? child : name + "/" + child, depth: depth + 1)
                }
            }
        }
        visit(root, "", depth: 0)
        return found
    }
}

extension RunDirectory {
    /// The measurements `deepgen eval` took of the run, one JSON object per line.
    public var metrics: URL { url.appendingPathComponent("metrics.jsonl") }

    /// Adds a measurement's JSON line to metrics.jsonl; a run folder that cannot be written
    /// keeps no record, which is not an error of the measurement.
    public func record(_ json: String) -> Bool {
        guard let file = try? AppendOnlyFile(metrics) else { return false }
        return (try? file.append(json + "\n")) != nil
    }
}
