import Datasets
import Foundation

/// A metric against minutes of training: the measurements `deepgen eval` recorded in a run's
/// snapshots (`snapshots/<minutes>min`, kept by `train --snapshot-minutes`), a point each. The
/// last snapshot is the final model.
public struct MetricCurve: Sendable {
    public let name: String
    public let metric: String
    public let points: [Point]

    public struct Point: Codable, Sendable, Equatable {
        public let minutes: Double
        public let value: Double
        public init(minutes: Double, value: Double) { self.minutes = minutes; self.value = value }
    }

    /// The curve of `metric` over the snapshots of the run at `run`; the error of a run without
    /// snapshots says how to keep them, and that of unmeasured snapshots gives the commands
    /// that measure them.
    public init(run: URL, name: String, metric: String) throws {
        let folder = run.appendingPathComponent("snapshots")
        let snapshots = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [])
            .compactMap { entry -> (minutes: Double, url: URL)? in
                guard entry.hasSuffix("min"), let minutes = Double(entry.dropLast(3)) else { return nil }
                return (minutes, folder.appendingPathComponent(entry))
            }
            .sorted { $0.minutes < $1.minutes }
        guard !snapshots.isEmpty else {
            throw TrainingError(
                "\(run.path) has no snapshots: train with --snapshot-minutes N to keep the model every N minutes")
        }
        let measured = snapshots.map { ($0, RunDirectory($0.url).latestMeasurements()[metric]) }
        let missing = measured.filter { $0.1 == nil }.map(\.0.url.path)
        guard missing.isEmpty else {
            // Not eval commands that would fail: a metric the model cannot give says so.
            if case let (config, model)? = Self.model(of: missing[0]) {
                let available = Metric.available(for: model)
                guard let known = Metric(rawValue: metric), available.contains(known) else {
                    throw TrainingError(
                        "\(metric) is not a metric of \(config.model); it gives "
                            + available.map(\.rawValue).joined(separator: ", "))
                }
            }
            throw TrainingError(
                "\(missing.count) of the \(snapshots.count) snapshots of \(run.path) have no \(metric) yet; measure "
                    + "them with\n" + missing.map { "  deepgen eval \($0) --metric \(metric)" }.joined(separator: "\n"))
        }
        self.name = name; self.metric = metric
        points = measured.map { Point(minutes: $0.0.minutes, value: $0.1!) }
    }

    /// The run's configuration and model, if it has them.
    static func model(of run: String) -> (RunConfig, TrainableModel)? {
        try? Catalog.load(RunDirectory(URL(fileURLWithPath: run)))
    }

    /// The curves on shared axes, each named in its colour.
    public static func plot(_ curves: [MetricCurve], title: String) -> Image {
        OverlayPlot.render(
            panels: [curves.map { ($0.name, $0.points.map { (x: $0.minutes, y: $0.value) }) }], title: title,
            xLabel: "minutes of training")
    }
}

extension RunDirectory {
    /// The latest value of each metric recorded in metrics.jsonl.
    public func latestMeasurements() -> [String: Double] {
        var latest: [String: Double] = [:]
        for line in (try? String(contentsOf: metrics, encoding: .utf8))?.split(separator: "\n") ?? [] {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let metric = object["metric"] as? String, let value = object["value"] as? Double
            else { continue }
            latest[metric] = value
        }
        return latest
    }
}
