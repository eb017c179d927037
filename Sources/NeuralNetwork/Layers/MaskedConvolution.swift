import TensorEngine

/// A convolution that sees only pixels before the centre in raster order (PixelCNN, van den Oord
/// et al. 2016). Mask A (first layer) hides the centre itself; mask B (later layers) shows it,
/// since after the first layer the centre holds features of earlier pixels only.
///
/// With `colourGroups` = 3, channels split into R, G, B thirds and at the centre an output group
/// sees input groups strictly before it (mask A) or up to and including it (mask B), so that G
/// is predicted from R and B from R and G.
public final class MaskedConv2d: Module, Layer {
    public enum MaskType: String, Codable, Sendable { case a = "A", b = "B" }

    public let weight: Parameter
    public let bias: Parameter?
    public let mask: Tensor
    public let padding: Int

    public init(
        _ type: MaskType, _ inputs: Int, _ outputs: Int, kernel: Int, colourGroups: Int = 1, bias: Bool = true,
        initializer: Initializer = .pytorchDefault, generator: inout RandomGenerator
    ) {
        precondition(kernel % 2 == 1, "MaskedConv2d: kernel \(kernel) must be odd so it has a centre")
        let fanIn = inputs * kernel * kernel
        weight = Parameter(
            initializer.make(
                [outputs, inputs, kernel, kernel], fanIn: fanIn, fanOut: outputs * kernel * kernel,
                generator: &generator))
        self.bias = bias ? Parameter(initializer.bias(outputs, fanIn: fanIn, generator: &generator)) : nil
        mask = MaskedConv2d.mask(type, inputs: inputs, outputs: outputs, kernel: kernel, colourGroups: colourGroups)
        padding = kernel / 2
    }

    /// 1 where the weight may be non-zero.
    public static func mask(_ type: MaskType, inputs: Int, outputs: Int, kernel: Int, colourGroups: Int = 1) -> Tensor {
        precondition(
            inputs % colourGroups == 0 && outputs % colourGroups == 0,
            "MaskedConv2d: \(inputs) -> \(outputs) channels do not split into \(colourGroups) colour groups")
        let centre = kernel / 2
        return Tensor(shape: [outputs, inputs, kernel, kernel]) { m in
            for o in 0..<outputs {
                let outGroup = o / (outputs / colourGroups)
                for i in 0..<inputs {
                    let inGroup = i / (inputs / colourGroups)
                    for r in 0..<kernel {
                        for c in 0..<kernel {
                            let visible: Bool
                            if r < centre || (r == centre && c < centre) {
                                visible = true
                            } else if r == centre && c == centre {
                                visible = type == .a ? inGroup < outGroup : inGroup <= outGroup
                            } else {
                                visible = false
                            }
                            m[((o * inputs + i) * kernel + r) * kernel + c] = visible ? 1 : 0
                        }
                    }
                }
            }
        }
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        conv2d(x, weight.value * mask, bias: bias?.value, padding: padding)
    }
}
