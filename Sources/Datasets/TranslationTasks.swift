import Foundation
import TensorEngine

/// The paired MNIST task of Pix2Pix, `edges2mnist`: the input is a digit's edge map drawn as an
/// edge detector such as HED draws a pen stroke, one line one pixel wide along it (the ink at
/// intensity >= 128, thinned by Zhang and Suen's algorithm); the target is the digit itself. Both
/// are padded to 32 x 32 so a U-Net can halve them five times. Labels are the digit's, so a
/// classifier can check that a translation keeps them.
///
/// Why a line and not the ink's outline: MNIST strokes are two or three pixels wide, so the
/// outline of the ink is nearly all of the ink, which told the network the answer (an L1-only
/// U-Net matched the targets to an FID of 0.59 and Pix2Pix could only add noise). A line leaves
/// the stroke's width and soft edges to be invented, the ambiguity Pix2Pix's GAN term is for.
public final class EdgesToDigits: PairedImages {
    public static let size = 32

    /// From 28 x 28 grey digits (MNIST).
    public init(_ digits: ByteImageDataset) {
        precondition(
            digits.imageShape == [1, 28, 28], "edges2mnist is made from 28 x 28 grey digits, not \(digits.imageShape)")
        let (inner, side, border) = (28, Self.size, (Self.size - 28) / 2)
        var sketches = [UInt8](repeating: 0, count: digits.count * side * side)
        var targets = [UInt8](repeating: 0, count: digits.count * side * side)
        digits.pixels.withUnsafeBufferPointer { source in
            for image in 0..<digits.count {
                let from = image * inner * inner, to = image * side * side
                let line = Self.thinned((0..<inner * inner).map { source[from + $0] >= 128 }, side: inner)
                for r in 0..<inner {
                    for c in 0..<inner {
                        let at = to + (r + border) * side + c + border
                        targets[at] = source[from + r * inner + c]
                        if line[r * inner + c] { sketches[at] = 255 }
                    }
                }
            }
        }
        super.init(
            name: "edges2mnist",
            inputs: ByteImageDataset(
                name: "edges", pixels: sketches, imageShape: [1, side, side], labels: digits.labels),
            outputs: ByteImageDataset(
                name: "digits", pixels: targets, imageShape: [1, side, side], labels: digits.labels))
    }

    /// Zhang and Suen's thinning (1984) of a binary image: peels boundary pixels in two
    /// alternating sub-passes (south-east, then north-west) until none can go, keeping every
    /// pixel whose removal would break a stroke or shorten a line's end.
    static func thinned(_ image: [Bool], side: Int) -> [Bool] {
        var ink = image
        func at(_ r: Int, _ c: Int) -> Bool { r >= 0 && r < side && c >= 0 && c < side && ink[r * side + c] }
        var changed = true
        while changed {
            changed = false
            for pass in 0..<2 {
                var remove: [Int] = []
                for r in 0..<side {
                    for c in 0..<side where ink[r * side + c] {
                        // Neighbours clockwise from north: P2 ... P9.
                        let p = [
                            at(r - 1, c), at(r - 1, c + 1), at(r, c + 1), at(r + 1, c + 1),
                            at(r + 1, c), at(r + 1, c - 1), at(r, c - 1), at(r - 1, c - 1)
                        ]
                        let neighbours = p.filter { $0 }.count
                        let transitions = (0..<8).filter { !p[$0] && p[($0 + 1) % 8] }.count
                        guard (2...6).contains(neighbours), transitions == 1 else { continue }
                        let (n, e, s, w) = (p[0], p[2], p[4], p[6])
                        let keep = pass == 0 ? (n && e && s) || (e && s && w) : (n && e && w) || (n && s && w)
                        if !keep { remove.append(r * side + c) }
                    }
                }
                for i in remove { ink[i] = false }
                if !remove.isEmpty { changed = true }
            }
        }
        return ink
    }
}

/// Pairs (input, target) held as two image sets of the same shape, example by example; the
/// labels are the inputs' (none for a folder).
public class PairedImages: Dataset {
    public let inputs: ByteImageDataset, outputs: ByteImageDataset
    public let name: String
    public var count: Int { inputs.count }
    public var imageShape: [Int] { inputs.imageShape }
    public var notes: [String] { inputs.notes + outputs.notes }

    public init(name: String, inputs: ByteImageDataset, outputs: ByteImageDataset) {
        precondition(
            inputs.count == outputs.count && inputs.imageShape == outputs.imageShape,
            "pairs of \(inputs.count) \(inputs.imageShape) inputs and \(outputs.count) \(outputs.imageShape) targets")
        self.name = name; self.inputs = inputs; self.outputs = outputs
    }

    public func batch(_ indices: [Int], generator: inout RandomGenerator) -> Batch {
        Batch(
            images: inputs.images(indices), labels: inputs.labels.map { l in indices.map { l[$0] } },
            targets: outputs.images(indices),
            indices: indices)
    }
}

/// Two unpaired domains, A and B, as one data set for the training loop: example i is A's i-th
/// image, with B's image (i mod |B|) as its `targets`, a partner drawn by the epoch's shuffle,
/// not a pair. Labels are A's.
public final class UnpairedDataset: Dataset {
    public let a: ByteImageDataset, b: ByteImageDataset
    public let name: String
    public var count: Int { a.count }
    public var imageShape: [Int] { a.imageShape }
    public var notes: [String] { a.notes + b.notes }

    public init(name: String, a: ByteImageDataset, b: ByteImageDataset) {
        precondition(a.imageShape == b.imageShape, "unpaired domains of \(a.imageShape) and \(b.imageShape) images")
        self.name = name; self.a = a; self.b = b
    }

    public func batch(_ indices: [Int], generator: inout RandomGenerator) -> Batch {
        Batch(
            images: a.images(indices), labels: a.labels.map { l in indices.map { l[$0] } },
            targets: b.images(indices.map { $0 % b.count }),
            indices: indices)
    }

    /// The CycleGAN task made from MNIST, `thin2thick`: domain A holds the digits of even index
    /// as they are, domain B those of odd index with their strokes thickened (a 3 x 3 grey
    /// dilation), so that no digit is in both domains.
    public static func thinToThick(_ digits: ByteImageDataset) -> UnpairedDataset {
        precondition(
            digits.imageShape == [1, 28, 28], "thin2thick is made from 28 x 28 grey digits, not \(digits.imageShape)")
        let size = 784
        var thin: [UInt8] = [], thick: [UInt8] = [], thinLabels: [Int] = [], thickLabels: [Int] = []
        for image in 0..<digits.count {
            let source = digits.pixels[image * size..<(image + 1) * size].map { $0 }
            if image % 2 == 0 {
                thin += source
                thinLabels.append(digits.labels?[image] ?? 0)
            } else {
                for r in 0..<28 {
                    for c in 0..<28 {
                        var value: UInt8 = 0
                        for dr in -1...1 {
                            for dc in -1...1 where (0..<28).contains(r + dr) && (0..<28).contains(c + dc) {
                                value = max(value, source[(r + dr) * 28 + c + dc])
                            }
                        }
                        thick.append(value)
                    }
                }
                thickLabels.append(digits.labels?[image] ?? 0)
            }
        }
        let labelled = digits.labels != nil
        return UnpairedDataset(
            name: "thin2thick",
            a: ByteImageDataset(
                name: "thin", pixels: thin, imageShape: [1, 28, 28], labels: labelled ? thinLabels : nil),
            b: ByteImageDataset(
                name: "thick", pixels: thick, imageShape: [1, 28, 28], labels: labelled ? thickLabels : nil))
    }
}

/// A paired RGB task drawn in code, `shapes2fill`: the input is a shape's coloured outline on
/// white (disc, square or diamond, at a random place, size and colour), the target the same
/// shape filled and shaded from light at the top to dark at the bottom. Labels are the kinds.
public final class FilledShapes: PairedImages {
    public init(count: Int, size: Int = 64, seed: UInt64 = 0) {
        var rng = RandomGenerator(seed: seed)
        let plane = size * size
        var outlines = [UInt8](repeating: 255, count: count * 3 * plane), fills = outlines
        var kinds: [Int] = []
        for n in 0..<count {
            let kind = rng.nextInt(below: 3)
            kinds.append(kind)
            let colour = (0..<3).map { _ in 0.15 + 0.7 * rng.nextUniform() }
            let radius = Float(size) * (0.18 + 0.12 * rng.nextUniform())
            let cx = Float(size) / 2 + (rng.nextUniform() - 0.5) * Float(size) * 0.3
            let cy = Float(size) / 2 + (rng.nextUniform() - 0.5) * Float(size) * 0.3
            let line = max(1, Float(size) / 32)
            for y in 0..<size {
                for x in 0..<size {
                    let dx = Float(x) + 0.5 - cx, dy = Float(y) + 0.5 - cy
                    // A signed distance to the edge, negative inside.
                    let distance =
                        switch kind {
                        case 0: (dx * dx + dy * dy).squareRoot() - radius
                        case 1: max(abs(dx), abs(dy)) - radius
                        default: (abs(dx) + abs(dy)) / 1.4142 - radius * 0.85
                        }
                    let shade = 1.2 - 0.5 * (dy / radius + 1) / 2 // light at the top, dark at the bottom
                    for c in 0..<3 {
                        let at = (n * 3 + c) * plane + y * size + x
                        if abs(distance) < line { outlines[at] = UInt8(colour[c] * 255) }
                        if distance < 0 { fills[at] = UInt8(max(0, min(255, colour[c] * shade * 255))) }
                    }
                }
            }
        }
        super.init(
            name: "shapes2fill",
            inputs: ByteImageDataset(name: "outlines", pixels: outlines, imageShape: [3, size, size], labels: kinds),
            outputs: ByteImageDataset(name: "fills", pixels: fills, imageShape: [3, size, size], labels: kinds))
    }
}
