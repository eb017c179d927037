import Dispatch
import Foundation
import GenerativeModels
import TestSupport
import XCTest

/// Every option of every subcommand, read from the command's own description
/// (`--experimental-dump-help`), given each kind of bad value: the command ends with 0 (a value
/// that is valid after all), 1 or 64, never by a signal or a hang, and a failure is one line.
final class BadValueMatrixTests: TemporaryDirectoryTestCase {
    static let badValues = ["0", "-1", "-7", "99999999999", "1e30", "nan", "inf", "x", ""]

    /// Removes `--name value` from an argument list, so the value under test is the only one.
    func without(_ name: String, _ arguments: [String]) -> [String] {
        var kept: [String] = [], skip = false
        for (i, token) in arguments.enumerated() {
            if skip { skip = false; continue }
            if token == "--\(name)" { skip = i + 1 < arguments.count && !arguments[i + 1].hasPrefix("--"); continue }
            kept.append(token)
        }
        return kept
    }

    func testEveryOptionRefusesBadValuesCleanly() throws {
        let run = root.appendingPathComponent("run").path
        let small = ["--dataset", "shapes", "--image-size", "16", "--batch-size", "8", "--steps", "2", "--minutes", "0.02", "--sample-every", "1000"]
        let trained = try Invocation.run(["train", "vae"] + small + ["--hidden", "16", "--latent-dim", "2", "--out", run], in: root)
        XCTAssertEqual(trained.status, 0, trained.err)

        // Each command with arguments that make it valid and quick; the option under test replaces
        // its own entry.
        let commands: [(command: [String], base: [String])] = [
            (["sample", run], ["--count", "4"]), (["eval", run], ["--metric", "elbo", "--limit", "8", "--count", "8"]),
            (["interpolate", run], ["--steps", "3", "--pairs", "1"]), (["latent", run], ["--limit", "20"]),
            (["project", run, "image.png"], ["--steps", "2", "--out", "p"]), (["stylize", run], ["--steps", "2", "--content", "a.png", "--style", "b.png", "--out", "s.png"]),
            (["bench", "vae_mlp"], ["--steps", "1", "--warmup", "0"]), (["data", "export", "mnist"], ["--count", "2", "--out", "exported"]),
        ]
        let paths: Set<String> = ["data-dir", "out", "dataset", "classifier", "content", "style", "angles-to", "config"]
        var cases: [(arguments: [String], label: String)] = []
        func add(_ head: [String], _ base: [String], _ name: String) {
            for value in Self.badValues {
                cases.append((head + without(name, base) + ["--\(name)", value], "\(head.joined(separator: " ")) --\(name) '\(value)'"))
            }
        }
        for (command, base) in commands {
            for option in try Invocation.arguments(of: command.count > 2 && command[0] == "data" ? Array(command.prefix(2)) : Array(command.prefix(1)), in: root)
            where option.kind == "option" {
                guard let name = option.preferredName?.name, !paths.contains(name) else { continue }   // paths: missing files, tested elsewhere
                add(command, base, name)
            }
        }
        // train: the common options with vae, and every model's own with that model's small run.
        let domains = try GoldenRunTests.domains(in: root).path
        for option in try Invocation.arguments(of: ["train"], in: root) where option.kind == "option" {
            guard let name = option.preferredName?.name, !paths.contains(name) else { continue }
            add(["train", "vae"], small + ["--hidden", "16"], name)
        }
        for entry in ModelRegistry.entries {
            // The golden run's small options; a model added since, its own small ones.
            let golden = GoldenRunTests.runs.first { $0.arguments[0] == entry.name }?.arguments
                ?? [entry.name, "--dataset", "shapes", "--image-size", "8", "--hidden", "16"]
            let small = golden.dropFirst().map { $0 == "DOMAINS" ? domains : $0 }
            for option in Invocation.modelOptions(entry) where option.takesValue {
                add(["train", entry.name], small + ["--steps", "2", "--batch-size", "8", "--minutes", "0.02", "--sample-every", "1000"], option.name)
            }
        }
        XCTAssertGreaterThan(cases.count, 500, "the matrix lost its options")
        print("bad-value matrix: \(cases.count) invocations over \(Set(cases.map { $0.arguments.prefix(2).joined(separator: " ") }).count) commands and models")
        let results = try runBoth(cases.map(\.arguments))
        for ((_, label), result) in zip(cases, results) {
            XCTAssertNil(result.signal, "\(label): killed by signal \(result.signal ?? 0)\n\(result.err.suffix(600))")
            XCTAssertFalse(result.timedOut, "\(label): did not end")
            XCTAssert([0, 1, 64].contains(result.status), "\(label): exit \(result.status)\n\(result.err.suffix(600))")
            if result.status != 0 {
                XCTAssertEqual(result.errorLines.count, 1, "\(label): \(result.err.suffix(600))")
            }
        }
    }

    /// Both cores: two invocations at a time, each in a folder of its own.
    func runBoth(_ cases: [[String]]) throws -> [Invocation] {
        nonisolated(unsafe) var results = [Invocation?](repeating: nil, count: cases.count)
        let lock = NSLock()
        // Threads of their own with room on the stack: Foundation's Process.run copies the
        // arguments and environment onto it, more than a dispatch worker's 512 KB allow.
        let done = DispatchGroup(), root: URL = self.root
        for worker in 0..<2 {
            done.enter()
            let thread = Thread {
                defer { done.leave() }
                for index in stride(from: worker, to: cases.count, by: 2) {
                    let folder = root.appendingPathComponent("case-\(index)")
                    try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                    // Relative paths (run, image.png) resolve from the test's root.
                    let arguments = cases[index].map { $0 == "image.png" || $0 == "a.png" || $0 == "b.png" ? root.appendingPathComponent($0).path : $0 }
                    let result = (try? Invocation.run(arguments, in: folder, timeout: 120))
                        ?? Invocation(status: -1, signal: nil, out: "", err: "could not start", timedOut: false)
                    lock.lock(); results[index] = result; lock.unlock()
                    try? FileManager.default.removeItem(at: folder)
                }
            }
            thread.stackSize = 16 << 20
            thread.start()
        }
        done.wait()
        return results.map { $0! }
    }
}
