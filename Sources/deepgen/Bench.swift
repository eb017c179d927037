import ArgumentParser
import Foundation
import TensorEngine

/// `deepgen bench`: the reference workloads of shared/bench, timed as torch_ref.py times them.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time the reference workloads (compare with ../shared/bench/compare).")

    /// A workload name, a group (`sgemm`, `conv`), or `all`.
    @Argument(help: "Workload: \(Workloads.groups.map(\.name).joined(separator: ", ")), or all.")
    var workload = "all"

    @Flag(help: "Print one JSON object per workload.")
    var json = false

    @Option(help: "Timed steps (at least 30 for the published figures).")
    var steps = 30

    @Option(help: "Untimed warm-up steps.")
    var warmup = 5

    func validate() throws {
        guard workload == "all" || Workloads.groups.contains(where: { $0.name == workload }) else {
            throw ValidationError(
                "unknown workload '\(workload)'; choose one of "
                    + "\(Workloads.groups.map(\.name).joined(separator: ", ")), all"
            )
        }
        guard (1...100_000).contains(steps), (0...100_000).contains(warmup) else {
            throw ValidationError("--steps must be between 1 and 100000, --warmup between 0 and 100000")
        }
    }

    func run() throws {
        let timing = Timing(steps: steps, warmup: warmup)
        if let note = BLAS.kernelNote { FileHandle.standardError.write(Data((note + "\n").utf8)) }
        if !json {
            print("BLAS kernels: \(BLAS.coreName) · CPU: \(CPU.modelName) · threads: \(Parallel.threadCount)")
        }
        for group in Workloads.groups where (workload == "all" && group.inAll) || workload == group.name {
            for result in group.run(timing) {
                print(json ? result.json : result.line)
                fflush(stdout)
            }
        }
    }
}

struct Timing {
    let steps: Int
    let warmup: Int

    /// Median and minimum milliseconds of `steps` calls after `warmup` untimed ones.
    func measure(steps: Int? = nil, _ body: () -> Void) -> (median: Double, min: Double) {
        for _ in 0..<warmup { body() }
        var times: [Double] = []
        for _ in 0..<(steps ?? self.steps) {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        times.sort()
        let mid = times.count / 2
        let median = times.count % 2 == 1 ? times[mid] : (times[mid - 1] + times[mid]) / 2
        return (median, times[0])
    }
}

struct BenchResult {
    let workload: String
    let median: Double
    let min: Double
    /// Either samples per second or GFLOP/s, as the reference reports it.
    let rate: (key: String, value: Double)

    var json: String {
        let fields: [(String, String)] = [
            ("workload", "\"\(workload)\""), ("ms_median", format(median)), ("ms_min", format(min)),
            (rate.key, format(rate.value)), ("threads", "\(Parallel.threadCount)"),
            ("impl", "\"deepgen (BLAS \(BLAS.coreName))\"")
        ]
        return "{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
    }

    var line: String {
        let name = workload.padding(toLength: 24, withPad: " ", startingAt: 0)
        return
            "\(name) median \(String(format: "%9.2f", median)) ms   min \(String(format: "%9.2f", min)) ms   "
                + "\(rate.key)=\(String(format: "%.1f", rate.value))"
    }

    private func format(_ v: Double) -> String { String(format: "%.4f", v) }
}

struct WorkloadGroup {
    let name: String
    let run: (Timing) -> [BenchResult]
    /// Whether `all` runs it.
    var inAll = true
}
