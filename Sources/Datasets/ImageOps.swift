import TensorEngine

extension Image {
    /// [channels, height, width] in [0, 1]. Alpha is dropped unless `keepAlpha`; grey is widened
    /// to RGB when `channels` is 3, colour averaged to grey when it is 1.
    public func tensor(channels wanted: Int? = nil) -> Tensor {
        let colour = channels >= 3 ? 3 : 1
        let target = wanted ?? colour
        precondition(target == 1 || target == 3, "Image.tensor: 1 or 3 channels, not \(target)")
        let plane = width * height
        return Tensor(shape: [target, height, width]) { out in
            for p in 0..<plane {
                let base = p * channels
                if target == colour {
                    for c in 0..<target { out[c * plane + p] = Float(pixels[base + c]) / 255 }
                } else if target == 3 {
                    for c in 0..<3 { out[c * plane + p] = Float(pixels[base]) / 255 }
                } else {
                    out[p] = (Float(pixels[base]) + Float(pixels[base + 1]) + Float(pixels[base + 2])) / (3 * 255)
                }
            }
        }
    }

    /// An image from [channels, height, width] (or [height, width]) values in [0, 1], clamped.
    public init(tensor: Tensor) {
        let t = tensor.rank == 2 ? tensor.unsqueezed(0) : tensor
        precondition(
            t.rank == 3 && [1, 3, 4].contains(t.shape[0]),
            "Image(tensor:): shape \(tensor.shape) is not [C, H, W] with C in 1, 3, 4")
        let (c, h, w) = (t.shape[0], t.shape[1], t.shape[2])
        let values = t.scalars
        var pixels = [UInt8](repeating: 0, count: c * h * w)
        for p in 0..<(h * w) {
            for k in 0..<c {
                let v = values[k * h * w + p]
                pixels[p * c + k] = UInt8((Swift.min(Swift.max(v.isNaN ? 0 : v, 0), 1) * 255).rounded())
            }
        }
        self.init(width: w, height: h, channels: c, pixels: pixels)
    }

    /// Resized with bilinear interpolation (half-pixel centres), area-averaged when shrinking by
    /// whole factors so thin strokes do not vanish.
    public func resized(width newWidth: Int, height newHeight: Int) -> Image {
        if newWidth == width && newHeight == height { return self }
        let t = tensor(channels: channels >= 3 ? 3 : 1).unsqueezed(0)
        let out: Tensor
        if width % newWidth == 0 && height % newHeight == 0 && width / newWidth == height / newHeight {
            out = avgPool2d(t, kernel: width / newWidth)
        } else {
            out = upsampleBilinear(t, size: (newHeight, newWidth))
        }
        return Image(tensor: out.squeezed(0))
    }

    /// Columns `x ..< x + width`, all rows.
    public func cropped(x: Int, width newWidth: Int) -> Image {
        precondition(x >= 0 && x + newWidth <= width, "crop columns \(x)..<\(x + newWidth) from width \(width)")
        var pixels = [UInt8]()
        pixels.reserveCapacity(newWidth * height * channels)
        for y in 0..<height {
            pixels.append(
                contentsOf: self.pixels[((y * width + x) * channels)..<((y * width + x + newWidth) * channels)])
        }
        return Image(width: newWidth, height: height, channels: channels, pixels: pixels)
    }

    /// The central `width` x `height` region.
    public func centreCropped(width newWidth: Int, height newHeight: Int) -> Image {
        precondition(newWidth <= width && newHeight <= height, "crop \(newWidth)x\(newHeight) from \(width)x\(height)")
        let x0 = (width - newWidth) / 2, y0 = (height - newHeight) / 2
        var pixels = [UInt8]()
        pixels.reserveCapacity(newWidth * newHeight * channels)
        for y in y0..<(y0 + newHeight) {
            pixels.append(
                contentsOf: self.pixels[((y * width + x0) * channels)..<((y * width + x0 + newWidth) * channels)])
        }
        return Image(width: newWidth, height: newHeight, channels: channels, pixels: pixels)
    }

    /// Scaled so the shorter side is `size`, then centre-cropped to `size` x `size`.
    public func fitted(to size: Int) -> Image {
        if width == size && height == size { return self }
        let scale = Double(size) / Double(Swift.min(width, height))
        let w = Swift.max(size, Int((Double(width) * scale).rounded())),
            h = Swift.max(size, Int((Double(height) * scale).rounded()))
        return resized(width: w, height: h).centreCropped(width: size, height: size)
    }

    /// Images [N, C, H, W] in [0, 1] tiled in rows of `columns`, separated by a `border` of grey.
    public static func grid(_ images: Tensor, columns: Int? = nil, border: Int = 2, borderValue: Float = 0.5) -> Image {
        precondition(images.rank == 4, "grid: images \(images.shape) must be [N, C, H, W]")
        let (n, c, h, w) = (images.shape[0], images.shape[1], images.shape[2], images.shape[3])
        let cols = Swift.max(1, columns ?? Int(Double(n).squareRoot().rounded(.up)))
        let rows = (n + cols - 1) / cols
        let gridH = rows * h + (rows + 1) * border, gridW = cols * w + (cols + 1) * border
        let values = images.scalars
        var canvas = [Float](repeating: borderValue, count: c * gridH * gridW)
        for i in 0..<n {
            let top = border + (i / cols) * (h + border), left = border + (i % cols) * (w + border)
            for k in 0..<c {
                for y in 0..<h {
                    for x in 0..<w {
                        canvas[(k * gridH + top + y) * gridW + left + x] = values[((i * c + k) * h + y) * w + x]
                    }
                }
            }
        }
        return Image(tensor: Tensor(shape: [c, gridH, gridW], scalars: canvas))
    }
}
