import Foundation
import NeuralNetwork
#if canImport(Glibc)
import Glibc
#endif

/// The lock that makes one training the owner of a run directory: `.lock` holds the owner's PID
/// and host, and an advisory `flock` on it that the kernel releases when the process ends, so a
/// killed training never leaves a stale lock behind.
final class RunLock {
    private var descriptor: Int32

    init(_ run: RunDirectory) throws {
        descriptor = open(run.lock.path, O_RDWR | O_CREAT, 0o644)
        guard descriptor >= 0 else {
            throw TrainingError("cannot create \(run.lock.path): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let owner = (try? String(contentsOf: run.lock, encoding: .utf8))?.trimmingCharacters(
                in: .whitespacesAndNewlines)
            close(descriptor)
            throw TrainingError(
                "\(run.url.path) is in use by another training "
                    + "(\(owner.map { "pid \($0)" } ?? "its owner is unknown")); wait for it to end, or train into "
                        + "another --out"
            )
        }
        let owner = "\(getpid()) on \(ProcessInfo.processInfo.hostName)\n"
        ftruncate(descriptor, 0)
        _ = owner.withCString { write(descriptor, $0, strlen($0)) }
    }

    func release() {
        guard descriptor >= 0 else { return }
        flock(descriptor, LOCK_UN)
        close(descriptor)
        descriptor = -1
    }

    deinit { release() }
}

/// A file written by appending lines (the run's `log.jsonl`); a failed write (a full disk)
/// throws with the file's name and the reason instead of stopping the process.
final class AppendOnlyFile {
    private let descriptor: Int32
    let url: URL

    init(_ url: URL) throws {
        self.url = url
        descriptor = open(url.path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard descriptor >= 0 else {
            throw FileWriteError(description: "cannot open \(url.path): \(String(cString: strerror(errno)))")
        }
    }

    func append(_ text: String) throws {
        try Array(text.utf8).withUnsafeBytes { try writeAll($0, to: descriptor, url: url) }
    }

    deinit { close(descriptor) }
}

extension RunDirectory {
    /// Removes what an earlier training left (checkpoint, log, pictures, snapshots) before a new
    /// run starts here; the checkpoint goes first, so a kill midway leaves no model at all
    /// rather than one that does not match the new config.
    func removeTrainedFiles() throws {
        let names = [
            CheckpointUnit.link, CheckpointUnit.folder, weights.lastPathComponent, optimizerState.lastPathComponent,
            trainerState.lastPathComponent, log.lastPathComponent, samples.lastPathComponent,
            lossPlot.lastPathComponent, "snapshots", metrics.lastPathComponent, progressFrames.lastPathComponent,
            progress.lastPathComponent
        ]
        for name in names {
            let file = url.appendingPathComponent(name)
            guard
                FileManager.default.fileExists(atPath: file.path)
                    || (try? FileManager.default.destinationOfSymbolicLink(atPath: file.path)) != nil
            else { continue }
            do { try FileManager.default.removeItem(at: file) } catch {
                throw FileWriteError(
                    description: "cannot remove \(file.path) of the earlier run: \(readableDescription(of: error))")
            }
        }
    }

    /// Clears what killed writers left behind, here and in the snapshots (see
    /// `CheckpointUnit.clearOrphans`); only under the run's lock.
    func clearOrphans() {
        CheckpointUnit.clearOrphans(in: url)
        let snapshots = url.appendingPathComponent("snapshots")
        for name in (try? FileManager.default.contentsOfDirectory(atPath: snapshots.path)) ?? [] {
            CheckpointUnit.clearOrphans(in: snapshots.appendingPathComponent(name))
        }
    }
}
