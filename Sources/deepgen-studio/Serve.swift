import ArgumentParser
import Datasets
import Foundation
import GenerativeModels
import Hummingbird
import Studio

/// `deepgen serve` (which hands over to this binary): the web studio over a folder of runs.
@main
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deepgen serve",
        abstract: "A local web studio: browse the runs of a folder and play with their models in the browser.")

    @OptionGroup var options: ServeOptions

    func run() async throws {
        var limits = Studio.Limits()
        limits.seconds = options.timeLimit
        let host = options.host
        let app = try Studio.application(
            runs: URL(fileURLWithPath: options.runs), host: host, port: options.port,
            dataDirectory: options.dataDir.map { URL(fileURLWithPath: $0) } ?? MNIST.defaultDirectory, limits: limits
        ) { port in
            print("deepgen studio: http://\(host):\(port)/ (Ctrl-C stops it)")
            fflush(stdout)
        }
        try await app.runService()
    }
}
