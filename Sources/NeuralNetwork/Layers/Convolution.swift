import TensorEngine

/// 2-D convolution with weight [out, in / groups, kh, kw].
public final class Conv2d: Module, Layer {
    public let weight: Parameter
    public let bias: Parameter?
    public let stride: Int, padding: Int, dilation: Int, groups: Int

    public init(
        _ inputs: Int, _ outputs: Int, kernel: Int, stride: Int = 1, padding: Int = 0, dilation: Int = 1,
        groups: Int = 1, bias: Bool = true, initializer: Initializer = .pytorchDefault,
        generator: inout RandomGenerator
    ) {
        precondition(
            inputs % groups == 0 && outputs % groups == 0,
            "Conv2d: \(inputs) -> \(outputs) channels do not split into \(groups) groups")
        let fanIn = inputs / groups * kernel * kernel
        weight = Parameter(
            initializer.make(
                [outputs, inputs / groups, kernel, kernel], fanIn: fanIn,
                fanOut: outputs / groups * kernel * kernel, generator: &generator))
        self.bias = bias ? Parameter(initializer.bias(outputs, fanIn: fanIn, generator: &generator)) : nil
        self.stride = stride; self.padding = padding; self.dilation = dilation; self.groups = groups
    }

    /// A kh x kw kernel, stride 1, no padding (the caller pads, e.g. only above and to the left).
    public init(
        _ inputs: Int, _ outputs: Int, kernelSize: (height: Int, width: Int), bias: Bool = true,
        initializer: Initializer = .pytorchDefault, generator: inout RandomGenerator
    ) {
        let fanIn = inputs * kernelSize.height * kernelSize.width
        weight = Parameter(
            initializer.make(
                [outputs, inputs, kernelSize.height, kernelSize.width], fanIn: fanIn,
                fanOut: outputs * kernelSize.height * kernelSize.width, generator: &generator))
        self.bias = bias ? Parameter(initializer.bias(outputs, fanIn: fanIn, generator: &generator)) : nil
        stride = 1; padding = 0; dilation = 1; groups = 1
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        conv2d(x, weight.value, bias: bias?.value, stride: stride, padding: padding, dilation: dilation, groups: groups)
    }

    /// With a zero border of its own on each side, (above, left) and (below, right): a causal
    /// convolution padded only above and to the left, without a padded copy of `x`.
    public func callAsFunction(_ x: Tensor, padding before: (Int, Int), paddingAfter after: (Int, Int)) -> Tensor {
        conv2d(
            x, weight.value, bias: bias?.value, stride: (stride, stride), padding: before, paddingAfter: after,
            dilation: (dilation, dilation), groups: groups)
    }
}

/// 1-D convolution with weight [out, in / groups, k].
public final class Conv1d: Module, Layer {
    public let weight: Parameter
    public let bias: Parameter?
    public let stride: Int, padding: Int, dilation: Int, groups: Int

    public init(
        _ inputs: Int, _ outputs: Int, kernel: Int, stride: Int = 1, padding: Int = 0, dilation: Int = 1,
        groups: Int = 1, bias: Bool = true, initializer: Initializer = .pytorchDefault,
        generator: inout RandomGenerator
    ) {
        precondition(
            inputs % groups == 0 && outputs % groups == 0,
            "Conv1d: \(inputs) -> \(outputs) channels do not split into \(groups) groups")
        let fanIn = inputs / groups * kernel
        weight = Parameter(
            initializer.make(
                [outputs, inputs / groups, kernel], fanIn: fanIn, fanOut: outputs / groups * kernel,
                generator: &generator))
        self.bias = bias ? Parameter(initializer.bias(outputs, fanIn: fanIn, generator: &generator)) : nil
        self.stride = stride; self.padding = padding; self.dilation = dilation; self.groups = groups
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        conv1d(x, weight.value, bias: bias?.value, stride: stride, padding: padding, dilation: dilation, groups: groups)
    }
}

/// Transposed convolution with weight [in, out / groups, kh, kw], as PyTorch's ConvTranspose2d.
public final class ConvTranspose2d: Module, Layer {
    public let weight: Parameter
    public let bias: Parameter?
    public let stride: Int, padding: Int, outputPadding: Int, dilation: Int, groups: Int

    public init(
        _ inputs: Int, _ outputs: Int, kernel: Int, stride: Int = 1, padding: Int = 0, outputPadding: Int = 0,
        dilation: Int = 1, groups: Int = 1, bias: Bool = true, initializer: Initializer = .pytorchDefault,
        generator: inout RandomGenerator
    ) {
        precondition(
            inputs % groups == 0 && outputs % groups == 0,
            "ConvTranspose2d: \(inputs) -> \(outputs) channels do not split into \(groups) groups")
        // PyTorch computes the fan-in of a transposed convolution from weight.size(1) * k * k.
        let fanIn = outputs / groups * kernel * kernel
        weight = Parameter(
            initializer.make(
                [inputs, outputs / groups, kernel, kernel], fanIn: fanIn,
                fanOut: inputs / groups * kernel * kernel, generator: &generator))
        self.bias = bias ? Parameter(initializer.bias(outputs, fanIn: fanIn, generator: &generator)) : nil
        self.stride = stride; self.padding = padding; self.outputPadding = outputPadding; self.dilation = dilation;
        self.groups = groups
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        convTranspose2d(
            x, weight.value, bias: bias?.value, stride: stride, padding: padding, outputPadding: outputPadding,
            dilation: dilation, groups: groups)
    }
}
