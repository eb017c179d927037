import Foundation

/// Progress of long work on standard error: a bar redrawn in place on a terminal (rate, ETA,
/// running figures), plain lines at intervals when the output is a file or a pipe.
public final class Progress {
    let total: Int
    let label: String
    let start = Date()
    let startCount: Int
    let interactive: Bool
    var lastDraw = Date.distantPast
    let plainInterval: TimeInterval
    /// Seconds from `start` after which the work stops whatever the count (a wall-time budget).
    let budget: TimeInterval?

    /// What is counted, for the rate ("steps/s").
    let unit: String

    public init(
        total: Int, label: String, unit: String = "steps", startingAt count: Int = 0, plainInterval: TimeInterval = 10,
        budget: TimeInterval? = nil
    ) {
        self.total = total; self.label = label; self.unit = unit; self.startCount = count;
        self.plainInterval = plainInterval
        self.budget = budget
        interactive = isatty(STDERR_FILENO) != 0
    }

    /// Reports `count` of `total` done, with named running figures.
    public func update(_ count: Int, figures: [(String, Double)] = [], force: Bool = false) {
        let now = Date()
        let due =
            interactive ? now.timeIntervalSince(lastDraw) >= 0.1 : now.timeIntervalSince(lastDraw) >= plainInterval
        guard due || force || count == total else { return }
        lastDraw = now
        let elapsed = now.timeIntervalSince(start)
        let rate = Double(count - startCount) / max(elapsed, 1e-9)
        let remaining = min(
            rate > 0 ? Double(total - count) / rate : 0, budget.map { max(0, $0 - elapsed) } ?? .infinity)
        let shown = figures.map { "\($0.0) \(Progress.format($0.1))" }.joined(separator: "  ")
        // Without a count to reach (a wall-time budget alone), the bar follows the clock.
        let unbounded = total == Int.max
        let fraction =
            unbounded ? min(1, elapsed / max(budget ?? 1, 1e-9)) : total > 0 ? Double(count) / Double(total) : 1
        let done = unbounded ? "\(count) \(unit)" : "\(count)/\(total) \(unit)"
        let speed = "\(String(format: "%.1f", rate)) \(unit)/s"
        if interactive {
            let width = 24, filled = Int(fraction * Double(width))
            let bar =
                String(repeating: "=", count: filled) + (filled < width ? ">" : "")
                + String(repeating: " ", count: max(0, width - filled - 1))
            write("\r\u{1B}[K\(label) [\(bar)] \(done) \(speed) ETA \(Progress.clock(remaining))  \(shown)")
        } else {
            write("\(label) \(done) (\(Int(fraction * 100))%) \(speed) ETA \(Progress.clock(remaining))  \(shown)\n")
        }
    }

    /// Ends the bar's line.
    public func finish() { if interactive { write("\n") } }

    public static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.isFinite ? seconds : 0)
        return s >= 3600
            ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }

    static func format(_ v: Double) -> String {
        abs(v) >= 1000 || abs(v) < 0.01 ? String(format: "%.3g", v) : String(format: "%.3f", v)
    }

    func write(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }
}
