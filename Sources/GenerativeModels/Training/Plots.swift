import Datasets
import Foundation

/// Line plots of training curves as PNG: axes with labelled ticks, one coloured line per
/// series, a legend. Drawn into an RGB raster with a 3x5 pixel font scaled up.
public enum LinePlot {
    static let colours: [(UInt8, UInt8, UInt8)] = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (255, 127, 14), (148, 103, 189), (140, 86, 75)]

    public static func render(series: [(name: String, points: [(x: Double, y: Double)])], width: Int = 640, height: Int = 400,
                              xLabel: String = "step") -> Image {
        var canvas = Canvas(width: width, height: height)
        let all = series.flatMap(\.points).filter { $0.y.isFinite }
        let left = 70, right = width - 20, top = 20, bottom = height - 45
        canvas.line(left, top, left, bottom, (0, 0, 0)); canvas.line(left, bottom, right, bottom, (0, 0, 0))
        guard let minX = all.map(\.x).min(), let maxX = all.map(\.x).max(), var minY = all.map(\.y).min(), var maxY = all.map(\.y).max() else {
            return canvas.image
        }
        if maxY - minY < 1e-12 { minY -= 1; maxY += 1 }
        let spanX = max(maxX - minX, 1e-12)
        func px(_ x: Double) -> Int { left + Int((x - minX) / spanX * Double(right - left)) }
        func py(_ y: Double) -> Int { bottom - Int((y - minY) / (maxY - minY) * Double(bottom - top)) }
        for i in 0...4 {
            let y = minY + (maxY - minY) * Double(i) / 4, x = minX + spanX * Double(i) / 4
            canvas.line(left - 4, py(y), left, py(y), (0, 0, 0))
            canvas.text(label(y), x: 4, y: py(y) - 5, scale: 2)
            canvas.line(px(x), bottom, px(x), bottom + 4, (0, 0, 0))
            let text = label(x)
            canvas.text(text, x: px(x) - text.count * 4, y: bottom + 8, scale: 2)
        }
        canvas.text(xLabel, x: (left + right) / 2 - xLabel.count * 4, y: height - 16, scale: 2)
        for (k, s) in series.enumerated() {
            let colour = colours[k % colours.count]
            let points = s.points.filter { $0.y.isFinite }
            for (a, b) in zip(points, points.dropFirst()) { canvas.line(px(a.x), py(a.y), px(b.x), py(b.y), colour) }
            if points.count == 1 { canvas.line(px(points[0].x), py(points[0].y), px(points[0].x), py(points[0].y), colour) }
            let legendY = top + 4 + k * 14
            canvas.line(right - 150, legendY + 5, right - 130, legendY + 5, colour)
            canvas.text(s.name, x: right - 124, y: legendY, scale: 2)
        }
        return canvas.image
    }

    static func label(_ v: Double) -> String {
        if v == 0 { return "0" }
        if v == v.rounded() && abs(v) < 1e7 { return String(Int(v)) }
        if abs(v) >= 1e5 || abs(v) < 1e-2 { return String(format: "%.1e", v) }
        return abs(v) >= 100 ? String(Int(v.rounded())) : String(format: "%.2f", v)
    }

    struct Canvas {
        let width: Int, height: Int
        var pixels: [UInt8]
        init(width: Int, height: Int) {
            self.width = width; self.height = height
            pixels = [UInt8](repeating: 255, count: width * height * 3)
        }
        var image: Image { Image(width: width, height: height, channels: 3, pixels: pixels) }

        mutating func set(_ x: Int, _ y: Int, _ c: (UInt8, UInt8, UInt8)) {
            guard x >= 0, x < width, y >= 0, y < height else { return }
            let o = (y * width + x) * 3
            pixels[o] = c.0; pixels[o + 1] = c.1; pixels[o + 2] = c.2
        }

        /// Bresenham's line, two pixels thick.
        mutating func line(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ c: (UInt8, UInt8, UInt8)) {
            var x = x0, y = y0
            let dx = abs(x1 - x0), dy = -abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1
            var err = dx + dy
            while true {
                set(x, y, c); set(x, y + 1, c)
                if x == x1 && y == y1 { break }
                let e2 = 2 * err
                if e2 >= dy { err += dy; x += sx }
                if e2 <= dx { err += dx; y += sy }
            }
        }

        mutating func text(_ s: String, x: Int, y: Int, scale: Int) {
            for (i, ch) in s.lowercased().enumerated() {
                guard let glyph = font[ch] else { continue }
                for row in 0..<5 {
                    for col in 0..<3 where glyph >> UInt16(14 - (row * 3 + col)) & 1 == 1 {
                        for a in 0..<scale { for b in 0..<scale { set(x + (i * 4 + col) * scale + a, y + row * scale + b, (0, 0, 0)) } }
                    }
                }
            }
        }
    }

    /// 3x5 glyphs, rows top to bottom, 3 bits per row (bit 14 is the top-left pixel).
    static let font: [Character: UInt16] = [
        "0": 0b111_101_101_101_111, "1": 0b010_110_010_010_111, "2": 0b111_001_111_100_111, "3": 0b111_001_111_001_111,
        "4": 0b101_101_111_001_001, "5": 0b111_100_111_001_111, "6": 0b111_100_111_101_111, "7": 0b111_001_010_010_010,
        "8": 0b111_101_111_101_111, "9": 0b111_101_111_001_111, ".": 0b000_000_000_000_010, "-": 0b000_000_111_000_000,
        "+": 0b000_010_111_010_000, "_": 0b000_000_000_000_111, " ": 0,
        "a": 0b010_101_111_101_101, "b": 0b110_101_110_101_110, "c": 0b011_100_100_100_011, "d": 0b110_101_101_101_110,
        "e": 0b111_100_110_100_111, "f": 0b111_100_110_100_100, "g": 0b011_100_101_101_011, "h": 0b101_101_111_101_101,
        "i": 0b111_010_010_010_111, "j": 0b001_001_001_101_010, "k": 0b101_101_110_101_101, "l": 0b100_100_100_100_111,
        "m": 0b101_111_111_101_101, "n": 0b110_101_101_101_101, "o": 0b010_101_101_101_010, "p": 0b110_101_110_100_100,
        "q": 0b010_101_101_110_011, "r": 0b110_101_110_101_101, "s": 0b011_100_010_001_110, "t": 0b111_010_010_010_010,
        "u": 0b101_101_101_101_111, "v": 0b101_101_101_101_010, "w": 0b101_101_111_111_101, "x": 0b101_101_010_101_101,
        "y": 0b101_101_010_010_010, "z": 0b111_001_010_100_111,
    ]
}

/// Points coloured by class on a square canvas: the 2-D latent space of a model.
public enum ScatterPlot {
    public static func render(x: [Float], y: [Float], labels: [Int], size: Int = 480) -> Image {
        precondition(x.count == y.count && y.count == labels.count, "ScatterPlot: \(x.count), \(y.count), \(labels.count) values")
        var canvas = LinePlot.Canvas(width: size, height: size)
        guard let minX = x.min(), let maxX = x.max(), let minY = y.min(), let maxY = y.max() else { return canvas.image }
        let margin = 12
        let spanX = Swift.max(maxX - minX, 1e-6), spanY = Swift.max(maxY - minY, 1e-6)
        let palette: [(UInt8, UInt8, UInt8)] = LinePlot.colours + [(227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]
        for i in x.indices {
            let px = margin + Int((x[i] - minX) / spanX * Float(size - 2 * margin))
            let py = size - margin - Int((y[i] - minY) / spanY * Float(size - 2 * margin))
            let colour = palette[labels[i] % palette.count]
            for dx in -1...1 { for dy in -1...1 { canvas.set(px + dx, py + dy, colour) } }
        }
        for (k, colour) in palette.prefix((labels.max() ?? 0) + 1).enumerated() {
            canvas.line(size - 40, 8 + 12 * k + 4, size - 30, 8 + 12 * k + 4, colour)
            canvas.text(String(k), x: size - 24, y: 8 + 12 * k, scale: 2)
        }
        return canvas.image
    }
}
