import Datasets
import Foundation
import TensorEngine

/// How many modes of a toy mixture a generator's samples cover, after Srivastava et al. 2017
/// (VEEGAN) and Lin et al. 2018 (PacGAN): a sample is of high quality when it lies within three
/// standard deviations of its nearest mode, and a mode is covered when it holds at least a fifth
/// of its fair share of the samples as high-quality ones (PacGAN's 20 of 2,500 over 25 modes).
public struct ModeCoverage: Sendable {
    /// High-quality samples per mode.
    public let counts: [Int]
    public let sampleCount: Int
    /// The fewest high-quality samples that cover a mode.
    public let threshold: Int

    public init(points: [[Float]], mixture: PointMixture) {
        var counts = [Int](repeating: 0, count: mixture.modes.count)
        for point in points {
            let nearest = mixture.nearestMode(point)
            if nearest.distance <= 3 * mixture.deviation { counts[nearest.mode] += 1 }
        }
        self.counts = counts
        sampleCount = points.count
        threshold = max(1, points.count / (5 * mixture.modes.count))
    }

    public var covered: Int { counts.filter { $0 >= threshold }.count }
    /// The share of samples of high quality, in percent.
    public var highQualityPercent: Double {
        100 * Double(counts.reduce(0, +)) / Double(max(1, sampleCount))
    }
    /// KL(high-quality samples' distribution over the modes || uniform), in nats: 0 when every
    /// mode is hit equally, log K when one mode takes all (VEEGAN's measure).
    public var divergenceFromUniform: Double {
        let total = Double(counts.reduce(0, +)), k = Double(counts.count)
        guard total > 0 else { return .nan }
        return counts.filter { $0 > 0 }.map { c in
            let p = Double(c) / total
            return p * Foundation.log(p * k)
        }.reduce(0, +)
    }

    /// "8/8 modes, 97.3% high quality".
    public var summary: String {
        "\(covered)/\(counts.count) modes, \(String(format: "%.1f", highQualityPercent))% high quality"
    }
}

/// Samples of a generator drawn over the toy mixture it learns: in the plane, the points over
/// circles of three deviations around the modes (covered modes in green, missed ones in red); on
/// a line, the samples' histogram over the data's density.
public enum PointsPlot {
    /// A generator's samples (values in [0, 1]) over `mixture`, titled by `heading` and, in the
    /// plane, by the modes they cover.
    public static func render(samples: Tensor, of mixture: PointMixture, heading: String) -> Image {
        let points = mixture.points(of: samples)
        let what = mixture.dimension == 2 ? ModeCoverage(points: points, mixture: mixture).summary : mixture.name
        return render(points, mixture: mixture, title: heading.isEmpty ? what : heading + ": " + what)
    }

    public static func render(_ points: [[Float]], mixture: PointMixture, title: String, size: Int = 480) -> Image {
        var canvas = Canvas(width: size, height: size + 30)
        canvas.text(title, x: max(4, (size - Canvas.textWidth(title, scale: 2)) / 2), y: 8, scale: 2)
        let top = 30, margin = 10, span = Float(size - 2 * margin)
        func px(_ v: Float) -> Int { margin + Int((v / mixture.extent + 1) / 2 * span) }
        func py(_ v: Float) -> Int { top + size - margin - Int((v / mixture.extent + 1) / 2 * span) }
        guard mixture.dimension == 2 else {
            return histogram(points.map { $0[0] }, mixture: mixture, canvas: &canvas, top: top, px: px)
        }
        let coverage = ModeCoverage(points: points, mixture: mixture)
        let radius = max(3, Int(3 * mixture.deviation / mixture.extent / 2 * span))
        for (k, centre) in mixture.modes.enumerated() {
            let colour: (UInt8, UInt8, UInt8) = coverage.counts[k] >= coverage.threshold ? (44, 160, 44) : (214, 39, 40)
            let (cx, cy) = (px(centre[0]), py(centre[1]))
            for step in 0..<64 {
                let a = 2 * Double.pi * Double(step) / 64, b = 2 * Double.pi * Double(step + 1) / 64
                canvas.line(
                    cx + Int(Double(radius) * cos(a)), cy + Int(Double(radius) * sin(a)),
                    cx + Int(Double(radius) * cos(b)), cy + Int(Double(radius) * sin(b)), colour)
            }
        }
        for point in points {
            let (x, y) = (px(point[0]), py(point[1]))
            canvas.set(x, y, (31, 119, 180)); canvas.set(x + 1, y, (31, 119, 180))
            canvas.set(x, y + 1, (31, 119, 180)); canvas.set(x + 1, y + 1, (31, 119, 180))
        }
        return canvas.image
    }

    /// Bars of the samples' density (blue) under the data's density (black).
    static func histogram(
        _ values: [Float], mixture: PointMixture, canvas: inout Canvas, top: Int, px: (Float) -> Int
    ) -> Image {
        let bins = 80, width = 2 * mixture.extent / Float(bins), bottom = canvas.height - 12
        var counts = [Int](repeating: 0, count: bins)
        for v in values {
            let bin = Int(((v + mixture.extent) / width).rounded(.down))
            if (0..<bins).contains(bin) { counts[bin] += 1 }
        }
        let densities = counts.map { Double($0) / Double(max(1, values.count)) / Double(width) }
        let curve = (0...200).map { i -> (Float, Double) in
            let x = -mixture.extent + 2 * mixture.extent * Float(i) / 200
            return (x, mixture.density([x]))
        }
        let highest = max(densities.max() ?? 0, curve.map(\.1).max() ?? 0, 1e-9)
        func py(_ d: Double) -> Int { bottom - Int(d / highest * Double(bottom - top - 10)) }
        for (bin, d) in densities.enumerated() where d > 0 {
            let x0 = px(-mixture.extent + Float(bin) * width), x1 = px(-mixture.extent + Float(bin + 1) * width)
            for x in x0..<max(x0 + 1, x1) { canvas.line(x, py(d), x, bottom, (158, 202, 225)) }
        }
        for (a, b) in zip(curve, curve.dropFirst()) { canvas.line(px(a.0), py(a.1), px(b.0), py(b.1), (0, 0, 0)) }
        canvas.line(px(-mixture.extent), bottom, px(mixture.extent), bottom, (0, 0, 0))
        return canvas.image
    }
}
