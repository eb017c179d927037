import CZlib
import Foundation

/// zlib's deflate and inflate, for PNG (zlib streams), gzip files and zip entries (raw deflate).
public enum Zlib {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public enum Container {
        case zlib, gzip, raw
        var windowBits: Int32 {
            switch self {
            case .zlib: 15
            case .gzip: 15 + 16
            case .raw: -15
            }
        }
    }

    /// Decompresses a whole stream; fails on corrupt or truncated input.
    public static func inflate(_ input: Data, container: Container = .zlib, expectedSize: Int? = nil) throws -> Data {
        var stream = z_stream()
        guard dg_inflate_init(&stream, container.windowBits) == Z_OK else {
            throw Failure(description: "zlib: cannot start inflating")
        }
        defer { inflateEnd(&stream) }
        var output = Data(count: max(expectedSize ?? input.count * 4, 1024))
        var produced = 0
        var status: Int32 = Z_OK
        try input.withUnsafeBytes { (source: UnsafeRawBufferPointer) in
            stream.next_in = UnsafeMutablePointer(mutating: source.bindMemory(to: Bytef.self).baseAddress)
            stream.avail_in = uInt(source.count)
            repeat {
                if produced == output.count { output.count *= 2 }
                let capacity = output.count - produced
                status = output.withUnsafeMutableBytes { target in
                    stream.next_out = target.bindMemory(to: Bytef.self).baseAddress! + produced
                    stream.avail_out = uInt(capacity)
                    let s = CZlib.inflate(&stream, Z_NO_FLUSH)
                    produced += capacity - Int(stream.avail_out)
                    return s
                }
                if status == Z_BUF_ERROR && stream.avail_in == 0 { break }
                guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
                    let message = stream.msg.map { String(cString: $0) } ?? "status \(status)"
                    throw Failure(description: "corrupt compressed data (\(message))")
                }
            } while status != Z_STREAM_END
        }
        guard status == Z_STREAM_END else { throw Failure(description: "compressed data ends early (truncated)") }
        output.count = produced
        return output
    }

    /// Compresses to a zlib stream.
    public static func deflate(_ input: Data, level: Int32 = 6) throws -> Data {
        var stream = z_stream()
        guard dg_deflate_init(&stream, level) == Z_OK else {
            throw Failure(description: "zlib: cannot start deflating")
        }
        defer { deflateEnd(&stream) }
        var output = Data(count: Int(deflateBound(&stream, uLong(input.count))))
        let produced: Int = input.withUnsafeBytes { source in
            output.withUnsafeMutableBytes { target in
                stream.next_in = UnsafeMutablePointer(mutating: source.bindMemory(to: Bytef.self).baseAddress)
                stream.avail_in = uInt(source.count)
                stream.next_out = target.bindMemory(to: Bytef.self).baseAddress
                stream.avail_out = uInt(target.count)
                _ = CZlib.deflate(&stream, Z_FINISH)
                return target.count - Int(stream.avail_out)
            }
        }
        output.count = produced
        return output
    }

    public static func crc32(_ data: Data, start: UInt = 0) -> UInt32 {
        data.withUnsafeBytes {
            UInt32(CZlib.crc32(uLong(start), $0.bindMemory(to: Bytef.self).baseAddress, uInt($0.count)))
        }
    }
}
