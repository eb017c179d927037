import TensorEngine

/// `colored-mnist`: MNIST's digits in colour, 3 x 28 x 28, for the autoregressive models'
/// p(R) p(G | R) p(B | R, G). Each digit gets a dark background from a palette of four and a
/// bright stroke from the two that go with that background, so the colours of an image are
/// correlated (eight pairs in all), and within a pixel the three values move together: each
/// pixel blends the two colours by the digit's intensity t, (1 - t) * background + t * stroke.
/// An image's colours are keyed by its index and split alone: the same for every use.
public final class ColoredDigits: ByteImageDataset {
    /// Dark backgrounds, as (R, G, B).
    public static let backgrounds: [[Float]] = [[20, 20, 60], [60, 15, 15], [15, 50, 25], [40, 40, 40]]
    /// The two strokes of each background.
    public static let strokes: [[[Float]]] = [
        [[250, 220, 60], [120, 230, 250]], [[250, 250, 250], [120, 240, 120]],
        [[250, 130, 200], [250, 250, 140]], [[250, 110, 40], [90, 160, 250]]
    ]

    public init(_ digits: ByteImageDataset, seed: UInt64) {
        precondition(
            digits.imageShape == [1, 28, 28], "colored-mnist is made from 28 x 28 grey digits, not \(digits.imageShape)"
        )
        let plane = 28 * 28
        var pixels = [UInt8](repeating: 0, count: digits.count * 3 * plane)
        digits.pixels.withUnsafeBufferPointer { source in
            for image in 0..<digits.count {
                var rng = RandomGenerator(seed: seed).derived(UInt64(image))
                let b = rng.nextInt(below: Self.backgrounds.count)
                let (background, stroke) = (Self.backgrounds[b], Self.strokes[b][rng.nextInt(below: 2)])
                for p in 0..<plane {
                    let t = Float(source[image * plane + p]) / 255
                    for c in 0..<3 {
                        let value = (1 - t) * background[c] + t * stroke[c]
                        pixels[(image * 3 + c) * plane + p] = UInt8(value.rounded())
                    }
                }
            }
        }
        super.init(name: "colored-mnist", pixels: pixels, imageShape: [3, 28, 28], labels: digits.labels)
    }
}
