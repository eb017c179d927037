import ArgumentParser
import Datasets
import Foundation
import GenerativeModels

/// `deepgen curves RUN...`: a metric against minutes of training, from runs' measured snapshots.
struct Curves: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A metric against minutes of training, one curve per run: a table and a PNG.",
        discussion: """
            The points are the measurements of each run's snapshots: train with --snapshot-minutes N, then \
            measure every snapshot with deepgen eval RUN/snapshots/<minutes>min --metric METRIC (the error lists \
            the commands for the snapshots not yet measured).
            """)

    @Argument(help: "Run directories trained with --snapshot-minutes.", completion: .directory) var runs: [String]
    @Option(help: "The metric, as deepgen eval recorded it (default: fid).") var metric = "fid"
    @Option(help: "The PNG to write (default: curves-METRIC.png).") var out: String?
    @Flag(help: "Print one JSON object: each run's points.") var json = false

    func validate() throws {
        guard !runs.isEmpty else { throw ValidationError("name at least one run directory") }
        guard Set(runs).count == runs.count else { throw ValidationError("each run directory once") }
    }

    func run() throws {
        let curves = try runs.map { try MetricCurve(run: URL(fileURLWithPath: $0), name: $0, metric: metric) }
        let path = out ?? "curves-\(metric).png"
        try PNG.encode(MetricCurve.plot(curves, title: "\(metric) against minutes"))
            .write(to: URL(fileURLWithPath: path), options: .atomic)
        if json {
            struct Output: Encodable { let metric: String, png: String, runs: [String: [MetricCurve.Point]] }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let output = Output(
                metric: metric, png: path, runs: Dictionary(uniqueKeysWithValues: curves.map { ($0.name, $0.points) }))
            return print(String(decoding: try encoder.encode(output), as: UTF8.self))
        }
        for curve in curves {
            print(
                "\(curve.name): "
                    + curve.points.map { String(format: "%.4g at %.4g min", $0.value, $0.minutes) }.joined(separator: ", "))
        }
        print("wrote \(path)")
    }
}
