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

    static var binary: URL { URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("deepgen") }

    /// Runs deepgen with `arguments` in `directory`; `environment` is added to this process's.
    /// A run longer than `timeout` seconds is killed and reported as timed out. Started with
    /// posix_spawn, not Foundation's Process, which has crashed when two threads launch at once.
    static func run(_ arguments: [String], in directory: URL, environment: [String: String] = [:], timeout: TimeInterval = 300,
                    whileRunning: ((pid_t) -> Void)? = nil) throws -> Invocation {
        let outFile = directory.appendingPathComponent(".out-\(UUID().uuidString)"), errFile = directory.appendingPathComponent(".err-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: outFile); try? FileManager.default.removeItem(at: errFile) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, outFile.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, errFile.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let variables = ProcessInfo.processInfo.environment.merging(environment) { $1 }.map { "\($0.key)=\($0.value)" }
        // env -C: the folder to run in (env then executes deepgen in its own process).
        let argv = (["/usr/bin/env", "-C", directory.path, binary.path] + arguments).map { strdup($0) } + [nil]
        let envp = variables.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, "/usr/bin/env", &actions, nil, argv, envp)
        guard spawned == 0 else { throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EINVAL) }
        whileRunning?(pid)
        let deadline = Date().addingTimeInterval(timeout)
        var (timedOut, status): (Bool, Int32) = (false, 0)
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Date() > deadline && !timedOut { timedOut = true; kill(pid, SIGKILL) }
            usleep(5_000)
        }
        let signal = status & 0x7f   // WIFSIGNALED / WTERMSIG / WEXITSTATUS, which Swift does not import as macros
        return Invocation(status: signal == 0 ? (status >> 8) & 0xff : signal, signal: signal == 0 ? nil : signal,
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
