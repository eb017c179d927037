import Foundation
import GenerativeModels
import XCTest

/// One run of the deepgen built beside this test bundle: how it ended and what it printed.
struct Invocation {
    var status: Int32
    /// The signal that ended the process, if one did.
    var signal: Int32?
    var out: String
    var err: String
    var timedOut = false

    nonisolated(unsafe) static let launching = NSLock()

    static var binary: URL { URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("deepgen") }

    /// Runs deepgen with `arguments` in `directory`; `environment` is added to this process's.
    /// A run longer than `timeout` seconds is killed and reported as timed out.
    static func run(_ arguments: [String], in directory: URL, environment: [String: String] = [:], timeout: TimeInterval = 300,
                    whileRunning: ((Process) -> Void)? = nil) throws -> Invocation {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let outFile = directory.appendingPathComponent(".out-\(UUID().uuidString)"), errFile = directory.appendingPathComponent(".err-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: outFile.path, contents: nil)
        FileManager.default.createFile(atPath: errFile.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: outFile); try? FileManager.default.removeItem(at: errFile) }
        process.standardOutput = try FileHandle(forWritingTo: outFile)
        process.standardError = try FileHandle(forWritingTo: errFile)
        // One launch at a time: Foundation's Process.run copies the environment and arguments
        // without a lock of its own, and two threads launching at once have crashed it.
        launching.lock()
        do { try process.run() } catch { launching.unlock(); throw error }
        launching.unlock()
        whileRunning?(process)
        let deadline = Date().addingTimeInterval(timeout)
        var timedOut = false
        while process.isRunning {
            if Date() > deadline { timedOut = true; kill(process.processIdentifier, SIGKILL) }
            usleep(5_000)
        }
        let signalled = process.terminationReason == .uncaughtSignal
        return Invocation(status: process.terminationStatus, signal: signalled ? process.terminationStatus : nil,
                          out: (try? String(contentsOf: outFile, encoding: .utf8)) ?? "", err: (try? String(contentsOf: errFile, encoding: .utf8)) ?? "",
                          timedOut: timedOut)
    }

    /// An argument of a command as `--experimental-dump-help` describes it.
    struct Argument: Decodable {
        struct Name: Decodable { let name: String }
        let kind: String
        let preferredName: Name?
        let abstract: String?
        var name: String? { preferredName?.name }
    }

    /// The arguments of `command` (e.g. ["train"] or ["data", "export"]), from the parser itself.
    static func arguments(of command: [String], in directory: URL) throws -> [Argument] {
        struct Dump: Decodable { struct Command: Decodable { let arguments: [Argument]? }; let command: Command }
        let dump = try run(command + ["--experimental-dump-help"], in: directory)
        return try JSONDecoder().decode(Dump.self, from: Data(dump.out.utf8)).command.arguments ?? []
    }

    /// The options of a model's own flags, from their help: each name, and whether it takes a value.
    static func modelOptions(_ entry: ModelEntry) -> [(name: String, takesValue: Bool)] {
        entry.flagsHelp.split(separator: "\n").compactMap { line in
            let words = line.trimmingCharacters(in: .whitespaces).split(separator: " ")
            guard let first = words.first, first.range(of: "^--[a-z0-9-]+$", options: .regularExpression) != nil, first != "--help" else { return nil }
            return (String(first.dropFirst(2)), words.count > 1 && words[1].hasPrefix("<"))
        }
    }

    /// The lines of standard error that report an error.
    var errorLines: [Substring] { err.split(separator: "\n").filter { $0.hasPrefix("Error:") } }
}
