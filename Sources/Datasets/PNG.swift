import Foundation

/// An 8-bit image: grey (1 channel), grey with alpha (2), RGB (3) or RGBA (4), rows top to bottom,
/// channels interleaved.
public struct Image: Equatable, Sendable {
    public let width: Int, height: Int, channels: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        precondition(
            pixels.count == width * height * channels, "Image: \(pixels.count) bytes for \(width)x\(height)x\(channels)"
        )
        self.width = width; self.height = height; self.channels = channels; self.pixels = pixels
    }
}

/// PNG (ISO/IEC 15948): every colour type at every bit depth is decoded (16-bit samples keep
/// their high byte, palettes are expanded); writing uses 8-bit grey, grey+alpha, RGB or RGBA with
/// a filter chosen per row.
public enum PNG {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    public static func read(_ url: URL) throws -> Image {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw Failure("cannot read \(url.path): \(error.localizedDescription)")
        }
        do { return try decode(data) } catch let failure as Failure {
            throw Failure("\(url.path): \(failure.description)")
        }
    }

    public static func write(_ image: Image, to url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try encode(image).write(to: url, options: .atomic)
    }

    // MARK: Decoding

    public static func decode(_ data: Data) throws -> Image {
        var header: (width: Int, height: Int, depth: Int, colour: Int, interlace: Int)?
        var palette: [UInt8] = [], transparency: [UInt8] = []
        var compressed = Data()
        let ended = try forEachChunk(data) { type, chunk in
            let body = [UInt8](chunk)
            switch type {
            case "IHDR":
                guard body.count == 13 else { throw Failure("IHDR of \(body.count) bytes") }
                header = (Int(readUInt32(body, 0)), Int(readUInt32(body, 4)), Int(body[8]), Int(body[9]), Int(body[12]))
            case "PLTE": palette = body
            case "tRNS": transparency = body
            case "IDAT": compressed.append(chunk)
            default: break
            }
        }
        guard let header else { throw Failure("no IHDR chunk") }
        guard ended else { throw Failure("no IEND chunk (truncated)") }
        guard header.interlace == 0 else {
            throw Failure("interlaced (Adam7) PNG is not supported; save it without interlacing")
        }
        guard header.width > 0, header.height > 0, header.width <= 1 << 16, header.height <= 1 << 16 else {
            throw Failure("unreasonable size \(header.width)x\(header.height)")
        }
        let samplesPerPixel: Int
        switch header.colour {
        case 0: samplesPerPixel = 1
        case 2: samplesPerPixel = 3
        case 3: samplesPerPixel = 1
        case 4: samplesPerPixel = 2
        case 6: samplesPerPixel = 4
        default: throw Failure("unknown colour type \(header.colour)")
        }
        guard [1, 2, 4, 8, 16].contains(header.depth) else { throw Failure("unsupported bit depth \(header.depth)") }
        let bitsPerPixel = samplesPerPixel * header.depth
        let stride = (header.width * bitsPerPixel + 7) / 8
        let raw: [UInt8]
        do { raw = [UInt8](try Zlib.inflate(compressed, expectedSize: (stride + 1) * header.height)) } catch {
            throw Failure("image data: \(error)")
        }
        guard raw.count >= (stride + 1) * header.height else {
            throw Failure("image data holds \(raw.count) bytes, \((stride + 1) * header.height) needed (truncated)")
        }
        let rows = try unfilter(raw, stride: stride, height: header.height, bytesPerPixel: max(1, bitsPerPixel / 8))
        return try expand(
            rows, header.width, header.height, header.depth, header.colour, samplesPerPixel, stride, palette,
            transparency)
    }

    /// Calls `body(type, body)` for every chunk of a PNG file up to IEND, checking lengths and
    /// CRCs; returns whether IEND came (a file cut short has none).
    @discardableResult
    static func forEachChunk(_ data: Data, _ body: (String, Data) throws -> Void) throws -> Bool {
        let bytes = [UInt8](data)
        guard bytes.count >= 8, Array(bytes[0..<8]) == signature else { throw Failure("not a PNG file (bad signature)") }
        var position = 8
        while position + 12 <= bytes.count {
            let length = Int(readUInt32(bytes, position))
            let type = String(decoding: bytes[(position + 4)..<(position + 8)], as: UTF8.self)
            guard length <= bytes.count - position - 12 else {
                throw Failure("chunk \(type) runs past the end of the file (truncated)")
            }
            guard Zlib.crc32(Data(bytes[(position + 4)..<(position + 8 + length)]))
                == readUInt32(bytes, position + 8 + length)
            else { throw Failure("chunk \(type) fails its CRC check (corrupt)") }
            try body(type, Data(bytes[(position + 8)..<(position + 8 + length)]))
            position += 12 + length
            if type == "IEND" { return true }
        }
        return false
    }

    static func readUInt32(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
    }

    private static func unfilter(_ raw: [UInt8], stride: Int, height: Int, bytesPerPixel bpp: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: stride * height)
        for y in 0..<height {
            let filter = raw[y * (stride + 1)]
            let src = y * (stride + 1) + 1, dst = y * stride
            for x in 0..<stride {
                let a = x >= bpp ? Int(out[dst + x - bpp]) : 0
                let b = y > 0 ? Int(out[dst - stride + x]) : 0
                let c = (x >= bpp && y > 0) ? Int(out[dst - stride + x - bpp]) : 0
                let predictor: Int
                switch filter {
                case 0: predictor = 0
                case 1: predictor = a
                case 2: predictor = b
                case 3: predictor = (a + b) / 2
                case 4: predictor = paeth(a, b, c)
                default: throw Failure("row \(y) has unknown filter type \(filter) (corrupt)")
                }
                out[dst + x] = UInt8(truncatingIfNeeded: Int(raw[src + x]) + predictor)
            }
        }
        return out
    }

    @inline(__always) static func paeth(_ a: Int, _ b: Int, _ c: Int) -> Int {
        let p = a + b - c
        let pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
        return pa <= pb && pa <= pc ? a : (pb <= pc ? b : c)
    }

    /// Samples to 8-bit pixels: grey, grey+alpha, RGB or RGBA (palettes become RGB or RGBA).
    private static func expand(
        _ rows: [UInt8], _ width: Int, _ height: Int, _ depth: Int, _ colour: Int,
        _ samples: Int, _ stride: Int, _ palette: [UInt8], _ transparency: [UInt8]
    ) throws -> Image {
        func sample(_ y: Int, _ index: Int) -> Int { // index-th sample of row y, at the file's depth
            switch depth {
            case 16: return Int(rows[y * stride + 2 * index])
            case 8: return Int(rows[y * stride + index])
            default:
                let bit = index * depth
                let byte = rows[y * stride + bit / 8]
                return Int(byte >> UInt8(8 - depth - bit % 8)) & ((1 << depth) - 1)
            }
        }
        if colour == 3 {
            guard !palette.isEmpty else { throw Failure("palette image without PLTE") }
            let hasAlpha = !transparency.isEmpty
            let channels = hasAlpha ? 4 : 3
            var pixels = [UInt8](repeating: 0, count: width * height * channels)
            for y in 0..<height {
                for x in 0..<width {
                    let entry = sample(y, x)
                    guard entry * 3 + 2 < palette.count else {
                        throw Failure("palette index \(entry) out of range (corrupt)")
                    }
                    let o = (y * width + x) * channels
                    pixels[o] = palette[entry * 3]; pixels[o + 1] = palette[entry * 3 + 1];
                    pixels[o + 2] = palette[entry * 3 + 2]
                    if hasAlpha { pixels[o + 3] = entry < transparency.count ? transparency[entry] : 255 }
                }
            }
            return Image(width: width, height: height, channels: channels, pixels: pixels)
        }
        // Low bit depths are scaled to the full 0...255 range (a 1-bit 1 is white).
        let scale = depth < 8 ? 255 / ((1 << depth) - 1) : 1
        var pixels = [UInt8](repeating: 0, count: width * height * samples)
        for y in 0..<height {
            for i in 0..<(width * samples) { pixels[y * width * samples + i] = UInt8(sample(y, i) * scale) }
        }
        return Image(width: width, height: height, channels: samples, pixels: pixels)
    }

    // MARK: Encoding

    public static func encode(_ image: Image) -> Data {
        var png = Data(signature)
        appendChunk("IHDR", header(image), to: &png)
        appendChunk("IDAT", compressedPixels(image), to: &png)
        appendChunk("IEND", Data(), to: &png)
        return png
    }

    /// IHDR's body: size, 8 bits, the colour type of the image's channels, no interlacing.
    static func header(_ image: Image) -> Data {
        let colourType: UInt8 = [1: 0, 2: 4, 3: 2, 4: 6][image.channels]!
        var header = Data()
        for v in [UInt32(image.width), UInt32(image.height)] { header.append(contentsOf: bigEndian(v)) }
        header.append(contentsOf: [8, colourType, 0, 0, 0])
        return header
    }

    /// The image's rows, each with its best filter, as one zlib stream (IDAT's, or fdAT's).
    static func compressedPixels(_ image: Image) -> Data {
        let stride = image.width * image.channels
        var filtered = [UInt8]()
        filtered.reserveCapacity((stride + 1) * image.height)
        var candidate = [UInt8](repeating: 0, count: stride)
        for y in 0..<image.height {
            // Of the five filters, keep the one whose output has the smallest sum of |signed bytes|
            // (the heuristic the PNG specification recommends).
            var best: (score: Int, filter: UInt8, bytes: [UInt8]) = (Int.max, 0, [])
            for filter in UInt8(0)...4 {
                var score = 0
                for x in 0..<stride {
                    let value = Int(image.pixels[y * stride + x])
                    let a = x >= image.channels ? Int(image.pixels[y * stride + x - image.channels]) : 0
                    let b = y > 0 ? Int(image.pixels[(y - 1) * stride + x]) : 0
                    let c =
                        (x >= image.channels && y > 0) ? Int(image.pixels[(y - 1) * stride + x - image.channels]) : 0
                    let predictor = [0, a, b, (a + b) / 2, paeth(a, b, c)][Int(filter)]
                    let out = UInt8(truncatingIfNeeded: value - predictor)
                    candidate[x] = out
                    score += abs(Int(Int8(bitPattern: out)))
                }
                if score < best.score { best = (score, filter, candidate) }
            }
            filtered.append(best.filter)
            filtered.append(contentsOf: best.bytes)
        }
        return (try? Zlib.deflate(Data(filtered))) ?? Data()
    }

    static func bigEndian(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)]
    }

    static func appendChunk(_ type: String, _ body: Data, to png: inout Data) {
        png.append(contentsOf: bigEndian(UInt32(body.count)))
        let typed = Data(type.utf8) + body
        png.append(typed)
        png.append(contentsOf: bigEndian(Zlib.crc32(typed)))
    }
}
