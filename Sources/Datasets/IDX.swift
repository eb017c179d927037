import Foundation

/// The IDX format of the MNIST files: a magic number (0, 0, type, rank), big-endian sizes, then
/// the data. Unsigned bytes are the only type MNIST uses and the only one read here.
public enum IDX {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// Shape and bytes of an IDX file (gunzipped first when it starts with gzip's magic).
    public static func decode(_ data: Data, name: String = "IDX data") throws -> (shape: [Int], bytes: [UInt8]) {
        var raw = data
        if data.count >= 2 && data[data.startIndex] == 0x1f && data[data.startIndex + 1] == 0x8b {
            do { raw = try Zlib.inflate(data, container: .gzip) } catch {
                throw Failure("\(name): corrupt gzip (\(error))")
            }
        }
        let b = [UInt8](raw)
        guard b.count >= 4, b[0] == 0, b[1] == 0 else { throw Failure("\(name): not an IDX file (bad magic number)") }
        guard b[2] == 0x08 else {
            throw Failure("\(name): IDX element type 0x\(String(b[2], radix: 16)) is not unsigned bytes")
        }
        let rank = Int(b[3])
        guard rank >= 1, b.count >= 4 + 4 * rank else { throw Failure("\(name): IDX header truncated") }
        let shape = (0..<rank).map { d in (0..<4).reduce(0) { $0 << 8 | Int(b[4 + 4 * d + $1]) } }
        let count = shape.reduce(1, *)
        let start = 4 + 4 * rank
        guard b.count - start == count else {
            throw Failure(
                "\(name): \(b.count - start) data bytes for shape \(shape) (\(count) expected): "
                    + "\(b.count - start < count ? "truncated" : "trailing bytes")"
            )
        }
        return (shape, Array(b[start...]))
    }

    public static func encode(shape: [Int], bytes: [UInt8]) -> Data {
        precondition(shape.reduce(1, *) == bytes.count)
        var out: [UInt8] = [0, 0, 0x08, UInt8(shape.count)]
        for s in shape { out += [UInt8(s >> 24 & 0xff), UInt8(s >> 16 & 0xff), UInt8(s >> 8 & 0xff), UInt8(s & 0xff)] }
        return Data(out + bytes)
    }
}
