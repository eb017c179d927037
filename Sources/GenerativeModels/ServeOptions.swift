import ArgumentParser

/// The options of `deepgen serve`, declared once for deepgen (which hands them over) and
/// deepgen-studio (which serves).
public struct ServeOptions: ParsableArguments {
    @Argument(help: "The folder of run directories.", completion: .directory) public var runs = "runs"
    @Option(help: "The port to listen on; 0 picks a free one.") public var port = 8080
    @Option(help: "The address to listen on: 127.0.0.1 keeps the studio to this machine.") public var host = "127.0.0.1"
    @Option(help: "Where MNIST is, for the translation models' held-out grids (default: $DEEPGEN_DATA, else ./data).")
    public var dataDir: String?
    @Option(help: "Seconds one request may spend drawing before it is refused.") public var timeLimit: Double = 60

    public init() {}

    public func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        guard timeLimit > 0, timeLimit.isFinite else { throw ValidationError("--time-limit must be positive") }
    }

    /// The command line that gives these options again.
    public var arguments: [String] {
        [runs, "--port", String(port), "--host", host, "--time-limit", String(timeLimit)]
            + (dataDir.map { ["--data-dir", $0] } ?? [])
    }
}
