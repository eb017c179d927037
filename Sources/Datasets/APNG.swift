import Foundation

/// Animated PNG (APNG 1.0, the Mozilla specification that every current browser plays): a PNG
/// whose `acTL` chunk counts the frames, each frame announced by an `fcTL` (its size, place and
/// delay) and its pixels in `IDAT` (the first frame, also the still image viewers without APNG
/// show) or `fdAT` chunks (the others: a sequence number, then the same zlib stream an IDAT
/// holds). `fcTL` and `fdAT` chunks share one sequence of numbers from 0.
extension PNG {
    /// One animation of same-sized frames, each shown `delay` seconds, looping forever.
    public static func encodeAnimation(_ frames: [Image], delay: Double = 0.25) throws -> Data {
        try encodeAnimation(frames.map { (header($0), compressedPixels($0)) }, delay: delay)
    }

    /// The same from PNG files already written (their IHDR and IDAT reused, nothing decoded), so
    /// that a training run's frames on disk become its animation at the cost of a copy.
    public static func encodeAnimation(files: [Data], delay: Double = 0.25) throws -> Data {
        try encodeAnimation(files.map(stillParts), delay: delay)
    }

    static func encodeAnimation(_ frames: [(header: Data, pixels: Data)], delay: Double) throws -> Data {
        guard let first = frames.first else { throw Failure("an animation needs at least one frame") }
        guard frames.allSatisfy({ $0.header == first.header }) else {
            throw Failure("the frames of an animation must share one size and colour type")
        }
        let size = [UInt8](first.header.prefix(8))
        var png = Data(signature)
        appendChunk("IHDR", first.header, to: &png)
        appendChunk("acTL", Data(bigEndian(UInt32(frames.count)) + bigEndian(0)), to: &png)
        // Delay as a fraction of a second, in hundredths.
        let hundredths = UInt16(max(1, min(65_535, (delay * 100).rounded())))
        var sequence: UInt32 = 0
        for (index, frame) in frames.enumerated() {
            var control = Data(bigEndian(sequence)) + Data(size) + Data(count: 8) // x and y offsets 0
            control.append(contentsOf: [UInt8(hundredths >> 8), UInt8(hundredths & 0xff), 0, 100, 0, 0])
            appendChunk("fcTL", control, to: &png)
            sequence += 1
            if index == 0 {
                appendChunk("IDAT", frame.pixels, to: &png)
            } else {
                appendChunk("fdAT", Data(bigEndian(sequence)) + frame.pixels, to: &png)
                sequence += 1
            }
        }
        appendChunk("IEND", Data(), to: &png)
        return png
    }

    /// IHDR's body and the concatenated IDAT data of a (still) PNG file.
    static func stillParts(_ data: Data) throws -> (header: Data, pixels: Data) {
        var header: Data?, pixels = Data()
        let ended = try forEachChunk(data) { type, body in
            if type == "IHDR" { header = body }
            if type == "IDAT" { pixels.append(body) }
        }
        guard let header else { throw Failure("no IHDR chunk") }
        guard ended else { throw Failure("no IEND chunk (truncated)") }
        return (header, pixels)
    }

    /// An animation's frames and what its chunks said: the frame count of `acTL`, and each
    /// frame's sequence numbers (its fcTL's, then its fdATs') and delay in seconds.
    public struct Animation {
        public let declaredFrames: Int
        public let frames: [Image]
        public let sequenceNumbers: [[UInt32]]
        public let delays: [Double]
    }

    public static func decodeAnimation(_ data: Data) throws -> Animation {
        var header: Data?, declared = 0
        var frames: [(sequence: [UInt32], delay: Double, size: Data, pixels: Data)] = []
        let ended = try forEachChunk(data) { type, body in
            let bytes = [UInt8](body)
            switch type {
            case "IHDR": header = body
            case "acTL": declared = Int(readUInt32(bytes, 0))
            case "fcTL":
                guard bytes.count == 26 else { throw Failure("fcTL of \(bytes.count) bytes") }
                let numerator = Double(UInt16(bytes[20]) << 8 | UInt16(bytes[21]))
                let denominator = Double(UInt16(bytes[22]) << 8 | UInt16(bytes[23]))
                frames.append(
                    ([readUInt32(bytes, 0)], numerator / (denominator == 0 ? 100 : denominator), Data(bytes[4..<12]), Data()))
            case "IDAT" where !frames.isEmpty && frames.count == 1: frames[0].pixels.append(body)
            case "fdAT":
                guard !frames.isEmpty, bytes.count >= 4 else { throw Failure("fdAT before any fcTL") }
                frames[frames.count - 1].sequence.append(readUInt32(bytes, 0))
                frames[frames.count - 1].pixels.append(Data(bytes[4...]))
            default: break
            }
        }
        guard let header else { throw Failure("no IHDR chunk") }
        guard ended else { throw Failure("no IEND chunk (truncated)") }
        // Each frame as a still PNG of its own size, decoded as any other.
        let images = try frames.map { frame -> Image in
            var still = Data(signature)
            appendChunk("IHDR", frame.size + header.suffix(from: header.startIndex + 8), to: &still)
            appendChunk("IDAT", frame.pixels, to: &still)
            appendChunk("IEND", Data(), to: &still)
            return try decode(still)
        }
        return Animation(
            declaredFrames: declared, frames: images, sequenceNumbers: frames.map(\.sequence),
            delays: frames.map(\.delay))
    }
}
