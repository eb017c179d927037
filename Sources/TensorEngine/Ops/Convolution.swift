/// Convolutions as three primitives that are each other's derivatives: the forward convolution,
/// its adjoint in the input (which is also the transposed convolution), and its adjoint in the
/// weight. Every backward rule is one of the three, so convolutions differentiate to any order.
extension Shape {
    /// Checks a convolution's operands; `weight` is [out, in / groups, kh, kw].
    static func conv2d(input: [Int], weight: [Int], geometry g: ConvGeometry) throws -> [Int] {
        guard input.count == 4, weight.count == 4 else {
            throw ShapeError(
                "conv2d: input \(input) and weight \(weight) must be 4-D ([N, C, H, W] and [out, in/groups, kh, kw])")
        }
        guard g.groups >= 1, input[1] % g.groups == 0, weight[0] % g.groups == 0 else {
            throw ShapeError(
                "conv2d: \(input[1]) input and \(weight[0]) output channels do not divide into \(g.groups) groups")
        }
        guard weight[1] * g.groups == input[1] else {
            throw ShapeError(
                "conv2d: input \(input) has \(input[1]) channels but weight \(weight) expects "
                    + "\(weight[1] * g.groups) (\(g.groups) groups)"
            )
        }
        guard g.stride.0 >= 1, g.stride.1 >= 1, g.dilation.0 >= 1, g.dilation.1 >= 1, g.padding.0 >= 0,
            g.padding.1 >= 0,
            g.paddingAfter.0 >= 0, g.paddingAfter.1 >= 0
        else {
            throw ShapeError("conv2d: stride and dilation must be positive, padding non-negative")
        }
        // The padded input must hold one whole (dilated) kernel; integer division alone would
        // round a shortfall of less than a stride up to one output.
        let fits =
            input[2] + g.padding.0 + g.paddingAfter.0 >= g.dilation.0 * (weight[2] - 1) + 1
            && input[3] + g.padding.1 + g.paddingAfter.1 >= g.dilation.1 * (weight[3] - 1) + 1
        let oh = g.outputSize(input[2], kernel: weight[2], axis: 0),
            ow = g.outputSize(input[3], kernel: weight[3], axis: 1)
        guard fits, oh >= 1, ow >= 1 else {
            throw ShapeError(
                "conv2d: kernel \(weight[2])x\(weight[3]) (dilation \(g.dilation)) does not fit input \(input) with "
                    + "padding \(g.padding)"
            )
        }
        return [input[0], weight[0], oh, ow]
    }
}

extension Tensor {
    static func convSizes(input: [Int], weight: [Int], output: [Int], _ g: ConvGeometry) -> ConvSizes {
        ConvSizes(
            batch: input[0], inChannels: input[1], height: input[2], width: input[3],
            outChannels: weight[0], kernelH: weight[2], kernelW: weight[3], outH: output[2], outW: output[3], g: g)
    }

    /// The convolution, with the bias (one per output channel) added inside the kernel.
    static func convolve(_ x: Tensor, _ w: Tensor, bias: Tensor? = nil, _ g: ConvGeometry) -> Tensor {
        let outShape = checked { try Shape.conv2d(input: x.shape, weight: w.shape, geometry: g) }
        if let bias {
            precondition(bias.shape == [w.shape[0]], "conv2d: bias \(bias.shape) for \(w.shape[0]) output channels")
        }
        let storage = Storage(uninitializedCount: Shape.count(outShape))
        ConvKernels.forward(
            x.storage.pointer, w.storage.pointer, bias: bias?.storage.pointer, storage.pointer,
            convSizes(input: x.shape, weight: w.shape, output: outShape, g))
        return result("conv2d", shape: outShape, storage: storage, inputs: [x, w] + (bias.map { [$0] } ?? [])) {
            grad, c in
            [
                c.needs[0] ? convolveInputAdjoint(grad, w, inputShape: x.shape, g) : nil,
                c.needs[1] ? convolveWeightAdjoint(x, grad, weightShape: w.shape, g) : nil,
                c.needs.count > 2 && c.needs[2] ? grad.sum(alongAxes: [0, 2, 3]) : nil
            ]
        }
    }

    /// The input gradient of `convolve` for output gradient `dy`; as a forward op, the transposed convolution.
    static func convolveInputAdjoint(_ dy: Tensor, _ w: Tensor, inputShape: [Int], _ g: ConvGeometry) -> Tensor {
        let expected = checked { try Shape.conv2d(input: inputShape, weight: w.shape, geometry: g) }
        precondition(
            expected == dy.shape,
            "conv_transpose2d: input \(dy.shape) does not match the \(expected) that a convolution of \(inputShape) "
                + "by \(w.shape) gives"
        )
        let storage = Storage(uninitializedCount: Shape.count(inputShape))
        ConvKernels.inputGradient(
            dy.storage.pointer, w.storage.pointer, storage.pointer,
            convSizes(input: inputShape, weight: w.shape, output: dy.shape, g))
        return result("conv2dInputAdjoint", shape: inputShape, storage: storage, inputs: [dy, w]) { grad, c in
            [
                c.needs[0] ? convolve(grad, w, g) : nil,
                c.needs[1] ? convolveWeightAdjoint(grad, dy, weightShape: w.shape, g) : nil
            ]
        }
    }

    /// The weight gradient of `convolve` for input `x` and output gradient `dy`.
    static func convolveWeightAdjoint(_ x: Tensor, _ dy: Tensor, weightShape: [Int], _ g: ConvGeometry) -> Tensor {
        let storage = Storage(uninitializedCount: Shape.count(weightShape))
        ConvKernels.weightGradient(
            x.storage.pointer, dy.storage.pointer, storage.pointer,
            convSizes(input: x.shape, weight: weightShape, output: dy.shape, g))
        return result("conv2dWeightAdjoint", shape: weightShape, storage: storage, inputs: [x, dy]) { grad, c in
            [
                c.needs[0] ? convolveInputAdjoint(dy, grad, inputShape: x.shape, g) : nil,
                c.needs[1] ? convolve(x, grad, g) : nil
            ]
        }
    }
}

/// 2-D cross-correlation, as PyTorch's `conv2d`: `x` [N, C, H, W], `weight` [out, C / groups, kh, kw],
/// `bias` [out]. `padding` is the zero border above and to the left, `paddingAfter` (when it
/// differs) below and to the right.
public func conv2d(
    _ x: Tensor, _ weight: Tensor, bias: Tensor? = nil, stride: (Int, Int),
    padding: (Int, Int) = (0, 0), paddingAfter: (Int, Int)? = nil, dilation: (Int, Int) = (1, 1),
    groups: Int = 1
) -> Tensor {
    Tensor.convolve(
        x, weight, bias: bias,
        ConvGeometry(
            stride: stride, padding: padding, paddingAfter: paddingAfter,
            dilation: dilation, groups: groups))
}

public func conv2d(
    _ x: Tensor, _ weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0,
    dilation: Int = 1, groups: Int = 1
) -> Tensor {
    conv2d(
        x, weight, bias: bias, stride: (stride, stride), padding: (padding, padding), dilation: (dilation, dilation),
        groups: groups)
}

/// 1-D cross-correlation: `x` [N, C, L], `weight` [out, C / groups, k]; a 2-D convolution of height 1.
public func conv1d(
    _ x: Tensor, _ weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0,
    dilation: Int = 1, groups: Int = 1
) -> Tensor {
    precondition(x.rank == 3 && weight.rank == 3, "conv1d: input \(x.shape) and weight \(weight.shape) must be 3-D")
    let y = conv2d(
        x.unsqueezed(2), weight.unsqueezed(2), bias: bias, stride: (1, stride), padding: (0, padding),
        dilation: (1, dilation), groups: groups)
    return y.squeezed(2)
}

/// The transposed convolution (PyTorch's `conv_transpose2d`): `x` [N, in, H, W], `weight`
/// [in, out / groups, kh, kw]. Output size (H - 1) * stride - padding - paddingAfter + dilation *
/// (kh - 1) + outputPadding + 1: the input gradient of the convolution that would map it back.
/// `padding` crops above and to the left, `paddingAfter` (when it differs) below and to the
/// right; what is cropped is never computed.
public func convTranspose2d(
    _ x: Tensor, _ weight: Tensor, bias: Tensor? = nil, stride: (Int, Int),
    padding: (Int, Int) = (0, 0), paddingAfter: (Int, Int)? = nil, outputPadding: (Int, Int) = (0, 0),
    dilation: (Int, Int) = (1, 1), groups: Int = 1
) -> Tensor {
    precondition(
        x.rank == 4 && weight.rank == 4, "conv_transpose2d: input \(x.shape) and weight \(weight.shape) must be 4-D")
    precondition(
        x.shape[1] == weight.shape[0],
        "conv_transpose2d: input \(x.shape) has \(x.shape[1]) channels, weight \(weight.shape) expects "
            + "\(weight.shape[0])"
    )
    precondition(
        outputPadding.0 >= 0 && outputPadding.0 < max(stride.0, dilation.0) && outputPadding.1 >= 0
            && outputPadding.1 < max(stride.1, dilation.1),
        "conv_transpose2d: output padding \(outputPadding) must be smaller than stride \(stride) or dilation "
            + "\(dilation)"
    )
    let g = ConvGeometry(
        stride: stride, padding: padding, paddingAfter: paddingAfter, dilation: dilation, groups: groups)
    let h =
        (x.shape[2] - 1) * stride.0 - padding.0 - g.paddingAfter.0 + dilation.0 * (weight.shape[2] - 1)
        + outputPadding.0 + 1
    let w =
        (x.shape[3] - 1) * stride.1 - padding.1 - g.paddingAfter.1 + dilation.1 * (weight.shape[3] - 1)
        + outputPadding.1 + 1
    let y = Tensor.convolveInputAdjoint(x, weight, inputShape: [x.shape[0], weight.shape[1] * groups, h, w], g)
    guard let bias else { return y }
    precondition(
        bias.shape == [weight.shape[1] * groups],
        "conv_transpose2d: bias \(bias.shape) for \(weight.shape[1] * groups) output channels")
    return y + bias.reshaped([1, -1, 1, 1])
}

public func convTranspose2d(
    _ x: Tensor, _ weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0,
    outputPadding: Int = 0, dilation: Int = 1, groups: Int = 1
) -> Tensor {
    convTranspose2d(
        x, weight, bias: bias, stride: (stride, stride), padding: (padding, padding),
        outputPadding: (outputPadding, outputPadding), dilation: (dilation, dilation), groups: groups)
}
