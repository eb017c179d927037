import Foundation
import NeuralNetwork
import TensorEngine

/// A fully connected layer with the equalized learning rate of Karras et al. (2018, §4.1): the
/// weight is stored as N(0, 1) / lrMultiplier and scaled by lrMultiplier / sqrt(fan_in) on every
/// call, not at initialisation, so Adam's per-parameter steps move every layer at the same
/// relative speed. `lrMultiplier` < 1 slows a layer down (StyleGAN's mapping network: 0.01).
public final class EqualizedLinear: Module, Layer {
    public let weight: Parameter
    public let bias: Parameter
    let scale: Float
    let lrMultiplier: Float

    public init(
        _ inputs: Int, _ outputs: Int, biasInit: Float = 0, lrMultiplier: Float = 1,
        generator rng: inout RandomGenerator
    ) {
        weight = Parameter(Tensor.normal([outputs, inputs], generator: &rng) / lrMultiplier)
        bias = Parameter(Tensor.full([outputs], biasInit / lrMultiplier))
        scale = lrMultiplier / Float(inputs).squareRoot()
        self.lrMultiplier = lrMultiplier
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        linear(x, weight: weight.value * scale, bias: bias.value * lrMultiplier)
    }
}

/// A convolution with the equalized learning rate (stride 1, "same" padding).
public final class EqualizedConv2d: Module, Layer {
    public let weight: Parameter
    public let bias: Parameter
    let scale: Float

    public init(_ inputs: Int, _ outputs: Int, kernel: Int, generator rng: inout RandomGenerator) {
        weight = Parameter(Tensor.normal([outputs, inputs, kernel, kernel], generator: &rng))
        bias = Parameter(Tensor.zeros([outputs]))
        scale = 1 / Float(inputs * kernel * kernel).squareRoot()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        conv2d(x, weight.value * scale, bias: bias.value, padding: weight.value.shape[2] / 2)
    }
}

/// StyleGAN2's modulated convolution (Karras et al. 2020, §2.2): the style s = A(w), an affine
/// map of w initialised to give ones, scales the weight's input channels per image; with
/// `demodulate` each output channel's weights are then divided by their L2 norm, which replaces
/// AdaIN's normalisation of the activations. Computed as the paper's non-fused equivalent: the
/// input scaled by s, one convolution with the shared weight for the whole batch, the output
/// scaled by the demodulation coefficients (per-image weights would need a grouped convolution
/// of one small product per image).
public final class ModulatedConv2d: Module {
    public let weight: Parameter
    public let affine: EqualizedLinear
    let demodulate: Bool
    let scale: Float

    public init(
        _ inputs: Int, _ outputs: Int, kernel: Int, styleDimension: Int, demodulate: Bool = true,
        generator rng: inout RandomGenerator
    ) {
        weight = Parameter(Tensor.normal([outputs, inputs, kernel, kernel], generator: &rng))
        affine = EqualizedLinear(styleDimension, inputs, biasInit: 1, generator: &rng)
        self.demodulate = demodulate
        scale = 1 / Float(inputs * kernel * kernel).squareRoot()
    }

    /// The weights each image's style gives: [N, out, in, k, k].
    public func styledWeights(_ styles: Tensor) -> Tensor {
        let s = styles.reshaped([styles.shape[0], 1, -1, 1, 1])
        let w = weight.value.unsqueezed(0) * scale * s
        guard demodulate else { return w }
        return w * (w.squared().sum(alongAxes: [2, 3, 4], keepDims: true) + 1e-8).rsqrt()
    }

    /// x [N, in, H, W] under the styles of w [N, styleDimension].
    public func callAsFunction(_ x: Tensor, _ w: Tensor) -> Tensor {
        let s = affine(w) // [N, in]
        let kernel = weight.value * scale
        let y = conv2d(x * s.reshaped([s.shape[0], -1, 1, 1]), kernel, padding: kernel.shape[2] / 2)
        guard demodulate else { return y }
        // 1 / |w_o * s| per image and output channel: sum_i s_i^2 sum_k w_oik^2.
        let coefficients = (linear(s.squared(), weight: kernel.squared().sum(alongAxes: [2, 3])) + 1e-8).rsqrt()
        return y * coefficients.reshaped([s.shape[0], -1, 1, 1])
    }
}

/// Nearest-neighbour doubling of H and W.
func upsampled(_ x: Tensor) -> Tensor { upsampleNearest(x, scale: 2) }

/// 2x2 average pooling.
func downsampled(_ x: Tensor) -> Tensor { blockSum(x, scale: 2) * 0.25 }

/// LeakyReLU(0.2) times sqrt(2), which keeps the activations' second moment (StyleGAN's gain).
func scaledLeakyReLU(_ x: Tensor) -> Tensor { leakyReLU(x, slope: 0.2) * Float(2).squareRoot() }
