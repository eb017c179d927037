import ArgumentParser
import Datasets
import Foundation
import Hummingbird
import Studio

/// `deepgen serve` (which hands over to this binary): the web studio over a folder of runs.
@main
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deepgen serve",
        abstract: "A local web studio: browse the runs of a folder and play with their models in the browser.")

    @Argument(help: "The folder of run directories (default: runs).", completion: .directory) var runs = "runs"
    @Option(help: "The port to listen on; 0 picks a free one.") var port = 8080
    @Option(help: "The address to listen on: 127.0.0.1 keeps the studio to this machine.") var host = "127.0.0.1"
    @Option(help: "Where MNIST is, for the translation models' held-out grids (default: $DEEPGEN_DATA, else ./data).")
    var dataDir: String?
    @Option(help: "Seconds one request may spend drawing before it is refused.") var timeLimit: Double = 60

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        guard timeLimit > 0 else { throw ValidationError("--time-limit must be positive") }
    }

    func run() async throws {
        var limits = Studio.Limits()
        limits.seconds = timeLimit
        let host = self.host
        let app = try Studio.application(
            runs: URL(fileURLWithPath: runs), host: host, port: port,
            dataDirectory: dataDir.map { URL(fileURLWithPath: $0) } ?? MNIST.defaultDirectory, limits: limits
        ) { port in
            print("deepgen studio: http://\(host):\(port)/ (Ctrl-C stops it)")
            fflush(stdout)
        }
        try await app.runService()
    }
}
