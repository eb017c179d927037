import Foundation
import TensorEngine

/// The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON header
/// mapping each name to its dtype, shape and byte range, then the raw little-endian data. Read
/// by PyTorch, JAX, Candle and MLX alike.
///
/// We write F32; we read F32, F64, F16 and BF16 (converted to Float).
public enum SafeTensors {
    public struct FormatError: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// The file's bytes for `tensors` in the given order, with optional string metadata.
    public static func encode(_ tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:]) -> Data {
        var entries: [String] = []
        if !metadata.isEmpty {
            let fields = metadata.sorted { $0.key < $1.key }.map { "\(jsonQuoted($0.key)):\(jsonQuoted($0.value))" }
            entries.append("\"__metadata__\":{\(fields.joined(separator: ","))}")
        }
        var offset = 0
        for (name, tensor) in tensors {
            let bytes = tensor.count * 4
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            entries.append("\(jsonQuoted(name)):{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + bytes)]}")
            offset += bytes
        }
        var header = Array("{\(entries.joined(separator: ","))}".utf8)
        // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
        while header.count % 8 != 0 { header.append(0x20) }
        var data = Data(capacity: 8 + header.count + offset)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: header)
        for (_, tensor) in tensors {
            tensor.withUnsafeBufferPointer { buffer in
                // Float is little-endian on every platform Swift runs on that we support.
                data.append(
                    UnsafeBufferPointer(
                        start: UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: UInt8.self),
                        count: buffer.count * 4))
            }
        }
        return data
    }

    /// Tensors (in file order) and metadata from a file's bytes; every range and size is checked.
    public static func decode(
        _ data: Data
    ) throws -> (tensors: [(name: String, tensor: Tensor)], metadata: [String: String]) {
        guard data.count >= 8 else {
            throw FormatError("file of \(data.count) bytes is too short for a safetensors header")
        }
        let headerLength = data.prefix(8).enumerated().reduce(UInt64(0)) {
            $0 | UInt64($1.element) << (8 * UInt64($1.offset))
        }
        guard headerLength <= UInt64(data.count - 8), headerLength <= 100_000_000 else {
            throw FormatError(
                "header length \(headerLength) exceeds the file (\(data.count) bytes): truncated or not safetensors")
        }
        let headerData = data.subdata(in: 8..<(8 + Int(headerLength)))
        guard let json = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any] else {
            throw FormatError("header is not a JSON object")
        }
        let body = data.subdata(in: (8 + Int(headerLength))..<data.count)
        var metadata: [String: String] = [:]
        var entries: [(name: String, dtype: String, shape: [Int], begin: Int, end: Int)] = []
        for (name, value) in json {
            if name == "__metadata__" {
                guard let m = value as? [String: String] else {
                    throw FormatError("__metadata__ must map strings to strings")
                }
                metadata = m
                continue
            }
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2
            else {
                throw FormatError("entry \(name) lacks dtype, shape or data_offsets")
            }
            entries.append((name, dtype, shape, offsets[0], offsets[1]))
        }
        entries.sort { ($0.begin, $0.name) < ($1.begin, $1.name) }
        var expectedBegin = 0
        var tensors: [(String, Tensor)] = []
        for e in entries {
            guard let size = elementSize[e.dtype] else {
                throw FormatError("\(e.name): dtype \(e.dtype) is not supported (F32, F64, F16, BF16)")
            }
            guard e.shape.allSatisfy({ $0 >= 0 }) else {
                throw FormatError("\(e.name): negative size in shape \(e.shape)")
            }
            let (count, overflow) = e.shape.reduce((1, false)) { r, n in
                let (p, o) = r.0.multipliedReportingOverflow(by: n); return (p, r.1 || o)
            }
            guard !overflow, count <= Int.max / 8 else {
                throw FormatError("\(e.name): shape \(e.shape) holds more values than any file can")
            }
            guard e.begin == expectedBegin, e.end - e.begin == count * size else {
                throw FormatError(
                    "\(e.name): data_offsets [\(e.begin), \(e.end)] do not fit shape \(e.shape) of \(e.dtype) after "
                        + "byte \(expectedBegin)"
                )
            }
            guard e.end <= body.count else {
                throw FormatError("\(e.name): data ends at byte \(e.end) but the file holds \(body.count): truncated")
            }
            tensors.append((e.name, convert(body, from: e.begin, count: count, dtype: e.dtype, shape: e.shape)))
            expectedBegin = e.end
        }
        guard expectedBegin == body.count else {
            throw FormatError("\(body.count - expectedBegin) bytes after the last tensor")
        }
        return (tensors, metadata)
    }

    public static func read(
        from url: URL
    ) throws -> (tensors: [(name: String, tensor: Tensor)], metadata: [String: String]) {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw FormatError("cannot read \(url.path): \(error.localizedDescription)")
        }
        do { return try decode(data) } catch let error as FormatError {
            throw FormatError("\(url.path): \(error.description)")
        }
    }

    /// Writes atomically: a temporary file beside the target, then a rename, so a crash never
    /// leaves a half-written checkpoint.
    public static func write(
        _ tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:], to url: URL
    ) throws {
        try writeAtomically(encode(tensors, metadata: metadata), to: url)
    }

    private static let elementSize = ["F32": 4, "F64": 8, "F16": 2, "BF16": 2]

    private static func convert(_ body: Data, from begin: Int, count: Int, dtype: String, shape: [Int]) -> Tensor {
        body.withUnsafeBytes { raw in
            let base = raw.baseAddress! + begin
            return Tensor(shape: shape) { out in
                for i in 0..<count {
                    switch dtype {
                    case "F32":
                        out[i] = Float(
                            bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))
                        )
                    case "F64":
                        out[i] = Float(
                            Double(
                                bitPattern: UInt64(
                                    littleEndian: base.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
                    case "BF16":
                        out[i] = Float(
                            bitPattern: UInt32(
                                UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16)
                    default:
                        out[i] = halfToFloat(
                            UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                    }
                }
            }
        }
    }

    /// IEEE half precision to single, written out so it works where `Float16` is unavailable.
    static func halfToFloat(_ h: UInt16) -> Float {
        let sign: Float = h & 0x8000 != 0 ? -1 : 1
        let exponent = Int((h >> 10) & 0x1f), mantissa = Float(h & 0x3ff)
        if exponent == 0 { return sign * mantissa * 0x1p-24 }
        if exponent == 31 { return mantissa == 0 ? sign * .infinity : .nan }
        return sign * (1 + mantissa / 1024) * Float(sign: .plus, exponent: exponent - 15, significand: 1)
    }

}

/// Writes `data` to a temporary file in the target's directory, flushes it, then renames it over
/// the target: a reader sees the old file or the new one. A full disk or a read-only folder
/// throws a `FileWriteError` naming the file and the reason, and leaves the old file in place.
public func writeAtomically(_ data: Data, to url: URL) throws {
    let directory = url.deletingLastPathComponent()
    try CheckpointUnit.createDirectory(directory)
    let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
    try writeDurably(data, to: temporary)
    try CheckpointUnit.renameOrThrow(temporary, url)
}

/// `s` as a JSON string: quotes, backslashes and control characters escaped.
public func jsonQuoted(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}
