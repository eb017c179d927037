import Datasets
import Foundation
import XCTest

/// Tiny runs of the models whose capabilities the studio shows, trained once per test process
/// by the deepgen built beside the tests (a second or two each), in a folder of their own.
final class TinyRuns: @unchecked Sendable {
    static let shared = TinyRuns()
    static let names = ["vae", "vade", "pix2pix", "gated-pixelcnn", "nested/stylegan"]
    static let arguments: [String: [String]] = [
        "vae": ["vae", "--dataset", "shapes", "--image-size", "8", "--hidden", "16", "--latent-dim", "2"],
        "vade": [
            "vade", "--dataset", "shapes", "--image-size", "8", "--hidden", "16,16", "--latent-dim", "2", "--clusters",
            "3",
            "--pretrain-epochs", "0"
        ],
        "pix2pix": ["pix2pix", "--dataset", "shapes2fill", "--image-size", "16", "--features", "4"],
        "gated-pixelcnn": [
            "gated-pixelcnn", "--dataset", "shapes", "--image-size", "8", "--features", "8", "--layers", "2",
            "--classes", "4"
        ],
        "nested/stylegan": [
            "stylegan", "--dataset", "shapes", "--image-size", "8", "--features", "8", "--latent-dim", "8"
        ]
    ]
    static let common = [
        "--steps", "12", "--batch-size", "8", "--seed", "3", "--log-every", "1", "--sample-every", "12",
        "--checkpoint-every", "12"
    ]

    private let lock = NSLock()
    private var folder: URL?

    /// The folder of runs, trained on first use.
    func root() throws -> URL {
        lock.lock()
        defer { lock.unlock() }
        if let folder { return folder }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("studio-runs-\(getpid())")
        try? FileManager.default.removeItem(at: folder)
        for name in Self.names {
            try Self.train(Self.arguments[name]! + Self.common + ["--out", folder.appendingPathComponent(name).path])
        }
        self.folder = folder
        return folder
    }

    /// A link inside the runs folder to a run outside it: `escape`, which must name nothing.
    func outsideLink() throws -> String {
        let root = try root()
        let outside = root.deletingLastPathComponent().appendingPathComponent("studio-outside-\(getpid())")
        if !FileManager.default.fileExists(atPath: outside.path) {
            try FileManager.default.copyItem(at: root.appendingPathComponent("vae"), to: outside)
        }
        let link = root.appendingPathComponent("escape")
        if (try? FileManager.default.destinationOfSymbolicLink(atPath: link.path)) == nil {
            try FileManager.default.createSymbolicLink(at: link, withDestinationURL: outside)
        }
        return "escape"
    }

    static var deepgen: URL {
        var folder = Bundle(for: TinyRuns.self).bundleURL.deletingLastPathComponent()
        if !FileManager.default.fileExists(atPath: folder.appendingPathComponent("deepgen").path) {
            folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        }
        return folder.appendingPathComponent("deepgen")
    }

    static func train(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = deepgen
        process.arguments = ["train"] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(["DEEPGEN_THREADS": "1"]) { $1 }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let printed = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TrainingFailed(
                description:
                    "deepgen train \(arguments.joined(separator: " ")): \(String(decoding: printed, as: UTF8.self))")
        }
    }

    struct TrainingFailed: Error, CustomStringConvertible { let description: String }
}
