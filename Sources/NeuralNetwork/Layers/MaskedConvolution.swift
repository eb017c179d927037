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
    /// The zero border above and to the left (a centred kernel's is also below and to the right).
    public let padding: Int

    public init(
        _ type: MaskType, _ inputs: Int, _ outputs: Int, kernel: Int, colourGroups: Int = 1, bias: Bool = true,
        initializer: Initializer = .pytorchDefault, generator: inout RandomGenerator
    ) {
        precondition(kernel % 2 == 1, "MaskedConv2d: kernel \(kernel) must be odd so it has a centre")
        (weight, self.bias) = MaskedConv2d.parameters(
            inputs, outputs, kernel, kernel, bias: bias, initializer: initializer, generator: &generator)
        mask = MaskedConv2d.mask(type, inputs: inputs, outputs: outputs, kernel: kernel, colourGroups: colourGroups)
        padding = kernel / 2
    }

    /// A kh x kw kernel whose last tap, (kh - 1, kw - 1), is the current pixel: every other tap
    /// is earlier and shown whole, the current one by colour group as mask `type` says. Its
    /// callers pad it themselves, above and to the left (a Gated PixelCNN's horizontal stack,
    /// PixelRNN's input-to-state convolutions). `outputBlocks` > 1 groups the outputs as an
    /// LSTM's gates are laid out: blocks of equal size, each split into the colour groups.
    public init(
        _ type: MaskType, _ inputs: Int, _ outputs: Int, kernelSize: (height: Int, width: Int), colourGroups: Int = 1,
        outputBlocks: Int = 1, bias: Bool = true, initializer: Initializer = .pytorchDefault,
        generator: inout RandomGenerator
    ) {
        (weight, self.bias) = MaskedConv2d.parameters(
            inputs, outputs, kernelSize.height, kernelSize.width, bias: bias, initializer: initializer,
            generator: &generator)
        mask = MaskedConv2d.mask(
            type, inputs: inputs, outputs: outputs, kernelSize: kernelSize,
            centre: (kernelSize.height - 1, kernelSize.width - 1), colourGroups: colourGroups,
            outputBlocks: outputBlocks)
        padding = 0
    }

    /// As `Conv2d`'s: the same draws in the same order, so a masked layer that shows everything
    /// starts where a plain one would.
    private static func parameters(
        _ inputs: Int, _ outputs: Int, _ kh: Int, _ kw: Int, bias: Bool, initializer: Initializer,
        generator: inout RandomGenerator
    ) -> (Parameter, Parameter?) {
        let fanIn = inputs * kh * kw
        let weight = Parameter(
            initializer.make([outputs, inputs, kh, kw], fanIn: fanIn, fanOut: outputs * kh * kw, generator: &generator))
        return (weight, bias ? Parameter(initializer.bias(outputs, fanIn: fanIn, generator: &generator)) : nil)
    }

    /// 1 where the weight of a centred kernel may be non-zero.
    public static func mask(_ type: MaskType, inputs: Int, outputs: Int, kernel: Int, colourGroups: Int = 1) -> Tensor {
        mask(
            type, inputs: inputs, outputs: outputs, kernelSize: (kernel, kernel), centre: (kernel / 2, kernel / 2),
            colourGroups: colourGroups)
    }

    /// 1 where the weight [outputs, inputs, kh, kw] may be non-zero: the taps before `centre` in
    /// raster order, and at the centre the input groups before the output's (mask A) or up to it
    /// (mask B). Input channels split into contiguous groups; outputs too, within each of
    /// `outputBlocks` equal blocks.
    public static func mask(
        _ type: MaskType, inputs: Int, outputs: Int, kernelSize: (height: Int, width: Int),
        centre: (row: Int, column: Int),
        colourGroups: Int = 1, outputBlocks: Int = 1
    ) -> Tensor {
        let block = outputs / outputBlocks
        precondition(
            inputs % colourGroups == 0 && outputs % outputBlocks == 0 && block % colourGroups == 0,
            "MaskedConv2d: \(inputs) -> \(outputs) channels do not split into \(colourGroups) colour groups")
        let (kh, kw) = kernelSize
        return Tensor(shape: [outputs, inputs, kh, kw]) { m in
            for o in 0..<outputs {
                let outGroup = o % block / (block / colourGroups)
                for i in 0..<inputs {
                    let inGroup = i / (inputs / colourGroups)
                    for r in 0..<kh {
                        for c in 0..<kw {
                            let visible: Bool
                            if r < centre.row || (r == centre.row && c < centre.column) {
                                visible = true
                            } else if r == centre.row && c == centre.column {
                                visible = type == .a ? inGroup < outGroup : inGroup <= outGroup
                            } else {
                                visible = false
                            }
                            m[((o * inputs + i) * kh + r) * kw + c] = visible ? 1 : 0
                        }
                    }
                }
            }
        }
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        conv2d(x, weight.value * mask, bias: bias?.value, padding: padding)
    }

    /// With a zero border of its own: (above, left) and (below, right).
    public func callAsFunction(_ x: Tensor, padding before: (Int, Int), paddingAfter after: (Int, Int)) -> Tensor {
        conv2d(x, weight.value * mask, bias: bias?.value, stride: (1, 1), padding: before, paddingAfter: after)
    }
}
