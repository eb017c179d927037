import Foundation

/// Per-image agreement between an output and its target, both [C, H, W] with values in [0, 1]
/// (flattened, channel-major): the figures Pix2Pix and CycleGAN are compared by.
public enum ImageQuality {
    /// Mean absolute difference.
    public static func l1(_ a: [Float], _ b: [Float]) -> Double {
        precondition(a.count == b.count && !a.isEmpty)
        return zip(a, b).reduce(0.0) { $0 + Double(abs($1.0 - $1.1)) } / Double(a.count)
    }

    /// Peak signal-to-noise ratio in dB for a peak of 1: 10 log10(1 / MSE), capped at 100 for
    /// identical images.
    public static func psnr(_ a: [Float], _ b: [Float]) -> Double {
        precondition(a.count == b.count && !a.isEmpty)
        let mse = zip(a, b).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) } / Double(a.count)
        return mse == 0 ? 100 : min(100, 10 * Foundation.log10(1 / mse))
    }

    /// Structural similarity (Wang et al. 2004) with their constants: an 11 x 11 Gaussian window
    /// of standard deviation 1.5, K1 = 0.01, K2 = 0.03, a dynamic range of 1; the map averaged
    /// over the positions where the window fits ("valid") and over channels.
    public static func ssim(_ a: [Float], _ b: [Float], channels: Int, height: Int, width: Int) -> Double {
        precondition(a.count == b.count && a.count == channels * height * width)
        let size = min(11, height, width), half = Double(size - 1) / 2
        let raw = (0..<size).map { Foundation.exp(-(Double($0) - half) * (Double($0) - half) / (2 * 1.5 * 1.5)) }
        let total = raw.reduce(0, +)
        let window = raw.map { $0 / total }
        let (c1, c2) = (0.01 * 0.01, 0.03 * 0.03)
        var sum = 0.0, positions = 0
        for channel in 0..<channels {
            let base = channel * height * width
            for top in 0...(height - size) {
                for left in 0...(width - size) {
                    var (mx, my, xx, yy, xy) = (0.0, 0.0, 0.0, 0.0, 0.0)
                    for r in 0..<size {
                        for c in 0..<size {
                            let w = window[r] * window[c]
                            let x = Double(a[base + (top + r) * width + left + c]),
                                y = Double(b[base + (top + r) * width + left + c])
                            mx += w * x; my += w * y; xx += w * x * x; yy += w * y * y; xy += w * x * y
                        }
                    }
                    let (vx, vy, cov) = (xx - mx * mx, yy - my * my, xy - mx * my)
                    sum += ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
                    positions += 1
                }
            }
        }
        return sum / Double(positions)
    }
}
