import CJPEG
import Foundation

/// JPEG files through libjpeg-turbo (Debian's `libjpeg62-turbo-dev`): grey stays grey, every
/// colour space becomes RGB. A damaged file is an error with libjpeg's own message.
public enum JPEG {
    public static var isAvailable: Bool { dg_jpeg_available() != 0 }

    public static func read(_ url: URL) throws -> Image {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw PNG.Failure("cannot read \(url.path): \(error.localizedDescription)")
        }
        do { return try decode(data) } catch let failure as PNG.Failure {
            throw PNG.Failure("\(url.path): \(failure.description)")
        }
    }

    public static func decode(_ data: Data) throws -> Image {
        guard data.starts(with: signature) else { throw PNG.Failure("not a JPEG file") }
        var pixels: UnsafeMutablePointer<UInt8>?
        var width: Int32 = 0, height: Int32 = 0, channels: Int32 = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = data.withUnsafeBytes { raw in
            dg_jpeg_decode(
                raw.bindMemory(to: UInt8.self).baseAddress, raw.count, &pixels, &width, &height, &channels, &message,
                message.count)
        }
        guard status == 0, let pixels else { throw PNG.Failure("damaged JPEG: \(String(cString: message))") }
        defer { dg_jpeg_free(pixels) }
        let count = Int(width) * Int(height) * Int(channels)
        return Image(
            width: Int(width), height: Int(height), channels: Int(channels),
            pixels: Array(UnsafeBufferPointer(start: pixels, count: count)))
    }

    /// A baseline JPEG of a grey or RGB image (alpha, if any, is dropped).
    public static func encode(_ image: Image, quality: Int = 95) throws -> Data {
        let channels = image.channels >= 3 ? 3 : 1
        let pixels =
            image.channels == channels
            ? image.pixels
            : (0..<(image.width * image.height)).flatMap { p in
                (0..<channels).map { image.pixels[p * image.channels + $0] }
            }
        var data: UnsafeMutablePointer<UInt8>?
        var size = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = dg_jpeg_encode(
            pixels, Int32(image.width), Int32(image.height), Int32(channels), Int32(quality), &data, &size, &message,
            message.count)
        guard status == 0, let data else { throw PNG.Failure("cannot encode JPEG: \(String(cString: message))") }
        defer { dg_jpeg_free(data) }
        return Data(bytes: data, count: size)
    }

    static let signature: [UInt8] = [0xFF, 0xD8, 0xFF]
}

/// An image file of any format the package reads, told by its first bytes.
public enum ImageFile {
    /// The file name extensions of the formats read (lower case).
    public static let extensions: Set<String> = ["png", "jpg", "jpeg"]

    public static func read(_ url: URL) throws -> Image {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw PNG.Failure("cannot read \(url.path): \(error.localizedDescription)")
        }
        do {
            if data.starts(with: JPEG.signature) { return try JPEG.decode(data) }
            if data.starts(with: PNG.signature) { return try PNG.decode(data) }
            throw PNG.Failure("not a PNG or JPEG file")
        } catch let failure as PNG.Failure { throw PNG.Failure("\(url.path): \(failure.description)") }
    }
}
