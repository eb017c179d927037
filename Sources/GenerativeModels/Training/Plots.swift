import Datasets
import Foundation
import TensorEngine

/// Plots of training curves as PNG: one panel per series, each with its own axis (linear, or
/// logarithmic when the values span more than two decades), round tick values and a title.
public enum LinePlot {
    static let colours: [(UInt8, UInt8, UInt8)] = [
        (31, 119, 180), (214, 39, 40), (44, 160, 44), (255, 127, 14), (148, 103, 189), (140, 86, 75)
    ]
    static let panelHeight = 170, titleHeight = 30

    public static func render(
        series: [(name: String, points: [(x: Double, y: Double)])], title: String = "", width: Int = 640,
        xLabel: String = "step"
    ) -> Image {
        let shown = series.filter { !$0.points.filter { $0.y.isFinite }.isEmpty }
        var canvas = Canvas(width: width, height: titleHeight + max(1, shown.count) * panelHeight + 24)
        canvas.text(title, x: (width - Canvas.textWidth(title, scale: 2)) / 2, y: 8, scale: 2)
        for (k, s) in shown.enumerated() {
            panel(
                &canvas, s.name, s.points.filter { $0.y.isFinite }, top: titleHeight + k * panelHeight,
                colour: colours[k % colours.count])
        }
        canvas.text(xLabel, x: (width - Canvas.textWidth(xLabel, scale: 2)) / 2, y: canvas.height - 18, scale: 2)
        return canvas.image
    }

    /// One series in the band `top ..< top + panelHeight`: its name, axes, ticks and line.
    static func panel(
        _ canvas: inout Canvas, _ name: String, _ points: [(x: Double, y: Double)], top: Int,
        colour: (UInt8, UInt8, UInt8)
    ) {
        let ys = points.map(\.y)
        let logarithmic = ys.min()! > 0 && ys.max()! / ys.min()! > 100
        func value(_ y: Double) -> Double { logarithmic ? log10(y) : y }
        let frame = Frame(
            left: 80, right: canvas.width - 20, upper: top + 18, bottom: top + panelHeight - 30,
            x: Axis(points.map(\.x).min()!, points.map(\.x).max()!, logarithmic: false),
            y: Axis(value(ys.min()!), value(ys.max()!), logarithmic: logarithmic))
        canvas.text(name + (logarithmic ? " (log scale)" : ""), x: frame.left + 6, y: top + 2, scale: 2, colour: colour)
        frame.drawAxes(on: &canvas)
        let drawn = points.map { (frame.px($0.x), frame.py(value($0.y))) }
        for (a, b) in zip(drawn, drawn.dropFirst()) { canvas.line(a.0, a.1, b.0, b.1, colour) }
        if drawn.count == 1 {
            for d in -2...2 { canvas.line(drawn[0].0 + d, drawn[0].1 - 2, drawn[0].0 + d, drawn[0].1 + 2, colour) }
        }
    }

    /// A panel's box and axes: where values fall in pixels, and the axes with their ticks.
    struct Frame {
        let left: Int, right: Int, upper: Int, bottom: Int
        let x: Axis, y: Axis

        func px(_ v: Double) -> Int { left + Int((v - x.low) / (x.high - x.low) * Double(right - left)) }
        func py(_ v: Double) -> Int { bottom - Int((v - y.low) / (y.high - y.low) * Double(bottom - upper)) }

        func drawAxes(on canvas: inout Canvas) {
            canvas.line(left, upper, left, bottom, (0, 0, 0)); canvas.line(left, bottom, right, bottom, (0, 0, 0))
            for tick in y.ticks {
                canvas.line(left - 4, py(tick), left, py(tick), (0, 0, 0))
                let text = y.label(tick)
                canvas.text(text, x: left - 8 - Canvas.textWidth(text, scale: 2), y: py(tick) - 5, scale: 2)
            }
            for tick in x.ticks {
                canvas.line(px(tick), bottom, px(tick), bottom + 4, (0, 0, 0))
                let text = x.label(tick)
                canvas.text(text, x: px(tick) - Canvas.textWidth(text, scale: 2) / 2, y: bottom + 8, scale: 2)
            }
        }
    }

    /// An axis over [low, high] widened to round bounds, with ticks at 1, 2 or 5 times a power of
    /// ten (whole decades on a log axis, whose values are exponents).
    struct Axis {
        let low: Double, high: Double, step: Double, logarithmic: Bool

        init(_ minimum: Double, _ maximum: Double, logarithmic: Bool) {
            var (a, b) = (minimum, maximum)
            if b - a < 1e-12 * max(1, abs(a)) { a -= max(1, abs(a) * 0.1); b += max(1, abs(b) * 0.1) }
            let raw = (b - a) / 4
            let magnitude = pow(10, floor(log10(raw)))
            let residual = raw / magnitude
            var step = (residual < 1.5 ? 1 : residual < 3 ? 2 : residual < 7 ? 5 : 10) * magnitude
            if logarithmic { step = max(1, step.rounded()) }
            self.step = step; self.logarithmic = logarithmic
            low = floor(a / step) * step; high = max(ceil(b / step) * step, low + step)
        }

        var ticks: [Double] { stride(from: low, through: high + step * 1e-9, by: step).map { $0 } }

        func label(_ v: Double) -> String {
            if logarithmic { return Self.plain(pow(10, v.rounded()), step: pow(10, v.rounded())) }
            return Self.plain(abs(v) < step * 1e-9 ? 0 : v, step: step)
        }

        /// As few digits as the step needs; powers of ten beyond 1e5 or below 1e-3 in e-notation.
        static func plain(_ v: Double, step: Double) -> String {
            if v == 0 { return "0" }
            if abs(v) >= 1e5 || abs(v) < 1e-3 {
                return String(format: "%.0e", v).replacingOccurrences(of: "e+0", with: "e").replacingOccurrences(
                    of: "e-0", with: "e-")
            }
            let decimals = max(0, Int(-floor(log10(step) + 1e-9)))
            return String(format: "%.\(decimals)f", v)
        }
    }
}

/// Several curves on shared axes, one panel per group, each curve named in its colour: a model's
/// function beside the one it should be (a discriminator and the optimal one).
public enum OverlayPlot {
    public typealias Curve = (name: String, points: [(x: Double, y: Double)])

    public static func render(panels: [[Curve]], title: String, xLabel: String, width: Int = 640) -> Image {
        let height = LinePlot.panelHeight + 40
        var canvas = Canvas(width: width, height: LinePlot.titleHeight + panels.count * height + 24)
        canvas.text(title, x: max(4, (width - Canvas.textWidth(title, scale: 2)) / 2), y: 8, scale: 2)
        for (k, curves) in panels.enumerated() {
            let all = curves.flatMap(\.points).filter { $0.y.isFinite }
            guard !all.isEmpty else { continue }
            let top = LinePlot.titleHeight + k * height
            let frame = LinePlot.Frame(
                left: 80, right: width - 20, upper: top + 18, bottom: top + height - 30,
                x: LinePlot.Axis(all.map(\.x).min()!, all.map(\.x).max()!, logarithmic: false),
                y: LinePlot.Axis(all.map(\.y).min()!, all.map(\.y).max()!, logarithmic: false))
            frame.drawAxes(on: &canvas)
            var legend = frame.left + 6
            for (index, curve) in curves.enumerated() {
                let colour = LinePlot.colours[index % LinePlot.colours.count]
                canvas.text(curve.name, x: legend, y: top + 2, scale: 2, colour: colour)
                legend += Canvas.textWidth(curve.name, scale: 2) + 16
                let drawn = curve.points.filter { $0.y.isFinite }.map { (frame.px($0.x), frame.py($0.y)) }
                for (a, b) in zip(drawn, drawn.dropFirst()) { canvas.line(a.0, a.1, b.0, b.1, colour) }
            }
        }
        canvas.text(xLabel, x: (width - Canvas.textWidth(xLabel, scale: 2)) / 2, y: canvas.height - 18, scale: 2)
        return canvas.image
    }
}

/// Headings for a grid of images: a title over each column (input / output / target) and a
/// label beside each row (the class), drawn in bands around the grid.
public struct GridHeadings: Sendable {
    public var columns: [String]
    public var rows: [String]?
    public init(columns: [String] = [], rows: [String]? = nil) { self.columns = columns; self.rows = rows }

    /// A grid of `images` [N, C, H, W] in rows of `columns`, with `headings` around it if any.
    public static func grid(_ images: Tensor, columns: Int, _ headings: GridHeadings?) -> Image {
        let grid = Image.grid(images, columns: columns)
        return headings?.apply(to: grid, cell: (images.shape[3], images.shape[2])) ?? grid
    }

    /// `grid` (from `Image.grid` with `border`, cells of `cell` pixels) with the headings around it;
    /// small cells are magnified (to 28 pixels at least) so the labels fit and read.
    public func apply(to grid: Image, cell: (width: Int, height: Int), border: Int = 2) -> Image {
        let widest = (columns + (rows ?? [])).map { Canvas.textWidth($0, scale: 1) }.max() ?? 0
        let fitsText = Int((Double(2 * widest) / Double(cell.width + border)).rounded(.up)),
            atLeast28 = (28 + cell.width - 1) / cell.width
        let magnify = max(1, min(4, max(fitsText, atLeast28)))
        let labelWidth = rows.map { $0.map { Canvas.textWidth($0, scale: 2) }.max() ?? 0 }.map { $0 + 8 } ?? 0
        let bandHeight = columns.isEmpty ? 0 : 16
        var canvas = Canvas(width: labelWidth + grid.width * magnify, height: bandHeight + grid.height * magnify)
        canvas.draw(grid, x: labelWidth, y: bandHeight, scale: magnify)
        let pitchX = (cell.width + border) * magnify, pitchY = (cell.height + border) * magnify
        for (i, title) in columns.enumerated() {
            let centre = labelWidth + border * magnify + i * pitchX + cell.width * magnify / 2
            canvas.text(title, x: centre - Canvas.textWidth(title, scale: 2) / 2, y: 2, scale: 2)
        }
        for (j, label) in (rows ?? []).enumerated() {
            canvas.text(
                label, x: 4, y: bandHeight + border * magnify + j * pitchY + cell.height * magnify / 2 - 5, scale: 2)
        }
        return canvas.image
    }
}

/// Points coloured by class on a square canvas: the 2-D latent space of a model.
public enum ScatterPlot {
    public static func render(x: [Float], y: [Float], labels: [Int], size: Int = 480) -> Image {
        precondition(
            x.count == y.count && y.count == labels.count, "ScatterPlot: \(x.count), \(y.count), \(labels.count) values"
        )
        var canvas = Canvas(width: size, height: size)
        guard let minX = x.min(), let maxX = x.max(), let minY = y.min(), let maxY = y.max() else {
            return canvas.image
        }
        let margin = 12
        let spanX = Swift.max(maxX - minX, 1e-6), spanY = Swift.max(maxY - minY, 1e-6)
        let palette: [(UInt8, UInt8, UInt8)] =
            LinePlot.colours + [(227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]
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
