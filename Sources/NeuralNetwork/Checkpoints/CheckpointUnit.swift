import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A checkpoint's files published as one unit.
///
/// The files are written into a fresh folder `checkpoints/<name>/` with a `manifest.json` giving
/// each file's size and SHA-256, then published by one atomic rename: the symbolic link
/// `checkpoint` is pointed at the new folder. A kill or a full disk at any moment leaves either
/// the previous unit or the new one, never a mixture. The run directory's top-level
/// `model.safetensors` (and the unit's other files) are links through `checkpoint`, so other
/// tools read the published weights by their usual name.
///
/// A run written before units existed (plain files at the top level) still reads.
public enum CheckpointUnit {
    public static let link = "checkpoint"
    public static let folder = "checkpoints"
    public static let manifestName = "manifest.json"

    struct Manifest: Codable {
        struct Entry: Codable { var name: String; var bytes: Int; var sha256: String }
        var files: [Entry]
    }

    public struct DamagedError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Writes `files` as the unit `name` under `directory` and publishes it; the unit it replaces
    /// is kept until the next one, older ones are removed.
    public static func publish(_ files: [(name: String, data: Data)], as name: String, in directory: URL) throws {
        let fileManager = FileManager.default
        let units = directory.appendingPathComponent(folder)
        try createDirectory(units)
        let staging = units.appendingPathComponent(".staging-\(getpid())-\(name)")
        try? fileManager.removeItem(at: staging)
        try createDirectory(staging)
        do {
            var manifest = Manifest(files: [])
            for (fileName, data) in files {
                try writeDurably(data, to: staging.appendingPathComponent(fileName))
                manifest.files.append(.init(name: fileName, bytes: data.count, sha256: SHA256.hex(data)))
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try writeDurably(encoder.encode(manifest), to: staging.appendingPathComponent(manifestName))
            FaultInjection.reach("unit-written")
            let previous = publishedName(in: directory).map { URL(fileURLWithPath: $0).lastPathComponent }
            var unitName = name, copy = 1
            while unitName == previous || fileManager.fileExists(atPath: units.appendingPathComponent(unitName).path) {
                copy += 1; unitName = "\(name).\(copy)"
            }
            try renameOrThrow(staging, units.appendingPathComponent(unitName))
            syncDirectory(units)
            FaultInjection.reach("unit-renamed")
            try replaceLink(directory.appendingPathComponent(link), pointingTo: "\(folder)/\(unitName)")
            syncDirectory(directory)
            FaultInjection.reach("unit-published")
            for (fileName, _) in files {
                let top = directory.appendingPathComponent(fileName)
                if (try? fileManager.destinationOfSymbolicLink(atPath: top.path)) != "\(link)/\(fileName)" {
                    try replaceLink(top, pointingTo: "\(link)/\(fileName)")
                }
            }
            // The unit just replaced stays until the next publication: a reader that resolved the
            // link a moment ago (`sample` or `eval` on a run being trained) still finds its files.
            for old in (try? fileManager.contentsOfDirectory(atPath: units.path)) ?? []
            where old != unitName && old != previous && !old.hasPrefix(".staging-") {
                try? fileManager.removeItem(at: units.appendingPathComponent(old))
            }
        } catch {
            try? fileManager.removeItem(at: staging)
            throw error
        }
    }

    /// The folder of the published unit, every file checked against its manifest; nil when the
    /// directory has no unit (nothing saved yet, or a run written before units existed).
    public static func verified(in directory: URL) throws -> URL? {
        guard let name = publishedName(in: directory) else { return nil }
        let unit = directory.appendingPathComponent(name)
        let manifestURL = unit.appendingPathComponent(manifestName)
        guard let manifestData = try? Data(contentsOf: manifestURL) else {
            throw DamagedError(
                description: "the checkpoint in \(directory.path) is damaged: \(manifestURL.path) is missing")
        }
        guard let manifest = try? JSONDecoder().decode(Manifest.self, from: manifestData) else {
            throw DamagedError(
                description: "the checkpoint in \(directory.path) is damaged: \(manifestURL.path) is not a manifest")
        }
        for entry in manifest.files {
            let url = unit.appendingPathComponent(entry.name)
            guard let data = try? Data(contentsOf: url) else {
                throw DamagedError(
                    description: "the checkpoint in \(directory.path) is incomplete: \(url.path) is missing")
            }
            guard data.count == entry.bytes else {
                throw DamagedError(
                    description: "\(url.path) is damaged: \(data.count) bytes where its manifest says \(entry.bytes)")
            }
            guard SHA256.hex(data) == entry.sha256 else {
                throw DamagedError(
                    description: "\(url.path) is damaged: its SHA-256 differs from the one in its manifest")
            }
        }
        return unit
    }

    /// Where a file of the checkpoint is read from: the published unit's copy, checked against
    /// the manifest, or the plain file of a run written before units existed.
    public static func file(_ name: String, in directory: URL) throws -> URL {
        try (verified(in: directory) ?? directory).appendingPathComponent(name)
    }

    /// Removes what killed writers left: staging folders, units that were never published and
    /// the temporary files of `writeAtomically`. Call it only while holding the run's lock.
    public static func clearOrphans(in directory: URL) {
        let fileManager = FileManager.default
        let units = directory.appendingPathComponent(folder)
        let published = publishedName(in: directory).map { URL(fileURLWithPath: $0).lastPathComponent }
        for name in (try? fileManager.contentsOfDirectory(atPath: units.path)) ?? [] where name != published {
            try? fileManager.removeItem(at: units.appendingPathComponent(name))
        }
        for name in (try? fileManager.contentsOfDirectory(atPath: directory.path)) ?? [] where isTemporaryName(name) {
            try? fileManager.removeItem(at: directory.appendingPathComponent(name))
        }
    }

    /// `.NAME.tmp-PID`, the temporary names of `writeAtomically` and of the link being replaced.
    static func isTemporaryName(_ name: String) -> Bool { name.hasPrefix(".") && name.contains(".tmp-") }

    /// `checkpoints/<unit>`, the target of the `checkpoint` link, if there is one.
    static func publishedName(in directory: URL) -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: directory.appendingPathComponent(link).path)
    }

    /// A new symbolic link, renamed over `url`: readers see the old target or the new, never none.
    static func replaceLink(_ url: URL, pointingTo target: String) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(
            ".\(url.lastPathComponent).tmp-\(getpid())")
        unlink(temporary.path)
        guard symlink(target, temporary.path) == 0 else {
            throw fileError("cannot create a link in \(url.deletingLastPathComponent().path)")
        }
        try renameOrThrow(temporary, url)
    }

    static func renameOrThrow(_ from: URL, _ to: URL) throws {
        guard rename(from.path, to.path) == 0 else {
            let error = fileError("cannot rename \(from.path) to \(to.path)")
            unlink(from.path)
            throw error
        }
    }

    public static func createDirectory(_ url: URL) throws {
        do { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) } catch {
            throw FileWriteError(description: "cannot create \(url.path): \(readableDescription(of: error))")
        }
    }

    static func syncDirectory(_ url: URL) {
        let descriptor = open(url.path, O_RDONLY)
        guard descriptor >= 0 else { return }
        fsync(descriptor)
        close(descriptor)
    }
}

/// A file that could not be written: a full disk, a read-only folder, a missing permission.
public struct FileWriteError: Error, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}

func fileError(_ what: String) -> FileWriteError {
    FileWriteError(description: "\(what): \(String(cString: strerror(errno)))")
}

/// A Foundation error in one line: the file it concerns and the reason, not the dump.
public func readableDescription(of error: Error) -> String {
    if let error = error as? FileWriteError { return error.description }
    let ns = error as NSError
    var reason = ns.localizedDescription
    if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
        reason = String(cString: strerror(Int32(underlying.code)))
    }
    let path = ns.userInfo[NSFilePathErrorKey] as? String ?? (ns.userInfo[NSURLErrorKey] as? URL)?.path
    return path.map { "\($0): \(reason)" } ?? reason
}

/// Writes all of `bytes` to an open file (`write(2)` may write less than asked, or be
/// interrupted), or throws naming `url` and the reason.
public func writeAll(_ bytes: UnsafeRawBufferPointer, to descriptor: Int32, url: URL) throws {
    var offset = 0
    while offset < bytes.count {
        let written = FaultInjection.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
        if written < 0 {
            if errno == EINTR { continue }
            throw fileError("cannot write \(url.path)")
        }
        offset += written
    }
}

/// Writes all of `data` and flushes it to the disk, or throws with the reason (a full disk
/// included); nothing is left at `url` on failure.
func writeDurably(_ data: Data, to url: URL) throws {
    let descriptor = open(url.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard descriptor >= 0 else { throw fileError("cannot write \(url.path)") }
    var failure: FileWriteError?
    do { try data.withUnsafeBytes { try writeAll($0, to: descriptor, url: url) } } catch {
        failure = error as? FileWriteError
    }
    if failure == nil, fsync(descriptor) != 0 { failure = fileError("cannot write \(url.path)") }
    close(descriptor)
    if let failure {
        unlink(url.path)
        throw failure
    }
}
