import ArgumentParser
import Foundation
import GenerativeModels

/// `deepgen runs [DIR]`: the run directories under DIR, with their figures.
struct Runs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "List the run directories under a folder: model, data set, steps, wall time, last losses and the metrics deepgen eval measured."
    )

    @Argument(help: "The folder to look in (default: runs).", completion: .directory) var directory = "runs"
    @Flag(help: "One JSON object per run, a line each.") var json = false

    func run() throws {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isFolder), isFolder.boolValue else {
            throw TrainingError("\(directory) is not a folder")
        }
        let runs = RunSummary.scan(URL(fileURLWithPath: directory))
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            for run in runs { print(String(decoding: try encoder.encode(run), as: UTF8.self)) }
            return
        }
        guard !runs.isEmpty else { return print("no runs under \(directory)") }
        let figures = { (values: [String: Double]) in
            values.sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.4g", $0.value))" }.joined(
                separator: ", ")
        }
        let rows =
            [["run", "model", "data", "steps", "time", "last losses", "metrics"]]
            + runs.map { run in
                [
                    run.name, run.model, run.dataset, String(run.steps), Progress.clock(run.seconds),
                    figures(run.losses), figures(run.metrics)
                ]
            }
        let widths = (0..<7).map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            print(
                zip(row, widths).map { $0.0.padding(toLength: $0.1, withPad: " ", startingAt: 0) }.joined(
                    separator: "  "
                ).trimmingCharacters(in: .whitespaces))
        }
    }
}
