import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The C library's write(2), under a name the fault hook below does not shadow.
private let systemWrite: (Int32, UnsafeRawPointer?, Int) -> Int = write

/// Test hook: `DEEPGEN_KILL_AT=LABEL:N` kills the process with SIGKILL the N-th time (from 1) a
/// writer reaches the point LABEL, so tests can stop a checkpoint at every stage of its
/// publication as a power cut or `kill -9` would.
public enum FaultInjection {
    nonisolated(unsafe) static var reached: [String: Int] = [:]
    static let target: (label: String, count: Int)? = {
        guard let value = ProcessInfo.processInfo.environment["DEEPGEN_KILL_AT"] else { return nil }
        let parts = value.split(separator: ":")
        guard parts.count == 2, let count = Int(parts[1]) else { return nil }
        return (String(parts[0]), count)
    }()

    /// `DEEPGEN_DISK_FULL_AFTER=BYTES`: the process's file writes fail with ENOSPC once they
    /// have written BYTES in all, as on a disk that fills up.
    nonisolated(unsafe) public static var diskLeft: Int? = ProcessInfo.processInfo.environment[
        "DEEPGEN_DISK_FULL_AFTER"
    ].flatMap { Int($0) }

    /// `write(2)`, or a full disk's answer once the simulated disk is full.
    public static func write(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
        guard let left = diskLeft else { return systemWrite(descriptor, bytes, count) }
        guard left > 0 else { errno = ENOSPC; return -1 }
        let written = systemWrite(descriptor, bytes, min(count, left))
        if written > 0 { diskLeft = left - written }
        return written
    }

    /// `DEEPGEN_MPI_FAULT`, for the test of `scripts/test-mpi` itself: `reduce` makes rank 0 keep
    /// its own values in every reduction (a rank that skips the all-reduce), `scale` drops the 1/N
    /// of gradient averaging on every rank (the ranks still agree with each other),
    /// `agreement` skips the ranks' start-up comparison, `launcher` lets a build without MPI run
    /// as one of several ranks. Each must make one of the script's checks fail.
    public static let mpi: String? = ProcessInfo.processInfo.environment["DEEPGEN_MPI_FAULT"]

    public static func reach(_ label: String) {
        guard let target, target.label == label else { return }
        reached[label, default: 0] += 1
        if reached[label] == target.count { kill(getpid(), SIGKILL) }
    }
}
