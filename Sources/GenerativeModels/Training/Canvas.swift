import Datasets

/// An RGB raster to draw plots and labels into: two-pixel lines and a 3x5 pixel font scaled up.
struct Canvas {
    let width: Int, height: Int
    var pixels: [UInt8]
    init(width: Int, height: Int) {
        self.width = width; self.height = height
        pixels = [UInt8](repeating: 255, count: width * height * 3)
    }
    var image: Image { Image(width: width, height: height, channels: 3, pixels: pixels) }

    /// Copies `image` (grey or RGB; alpha dropped) with its top-left corner at (x, y), each pixel
    /// as a `scale` x `scale` block.
    mutating func draw(_ image: Image, x: Int, y: Int, scale: Int = 1) {
        for row in 0..<image.height {
            for column in 0..<image.width {
                let base = (row * image.width + column) * image.channels
                let grey = image.channels < 3
                let c = (image.pixels[base], image.pixels[base + (grey ? 0 : 1)], image.pixels[base + (grey ? 0 : 2)])
                for a in 0..<scale { for b in 0..<scale { set(x + column * scale + a, y + row * scale + b, c) } }
            }
        }
    }

    /// The width in pixels of `s` written at `scale`.
    static func textWidth(_ s: String, scale: Int) -> Int { s.count * 4 * scale - scale }

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

    mutating func text(_ s: String, x: Int, y: Int, scale: Int, colour: (UInt8, UInt8, UInt8) = (0, 0, 0)) {
        for (i, ch) in s.lowercased().enumerated() {
            guard let glyph = font[ch] else { continue }
            for row in 0..<5 {
                for col in 0..<3 where glyph >> UInt16(14 - (row * 3 + col)) & 1 == 1 {
                    for a in 0..<scale {
                        for b in 0..<scale { set(x + (i * 4 + col) * scale + a, y + row * scale + b, colour) }
                    }
                }
            }
        }
    }
}

/// 3x5 glyphs, rows top to bottom, 3 bits per row (bit 14 is the top-left pixel).
let font: [Character: UInt16] = [
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
    ":": 0b000_010_000_010_000, "(": 0b001_010_010_010_001, ")": 0b100_010_010_010_100, "/": 0b001_001_010_100_100,
    "*": 0b101_010_101_000_000, ",": 0b000_000_000_010_100, "=": 0b000_111_000_111_000, "%": 0b101_001_010_100_101, "|": 0b010_010_010_010_010
]
