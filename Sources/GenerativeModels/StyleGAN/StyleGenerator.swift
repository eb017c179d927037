import Foundation
import NeuralNetwork
import TensorEngine

/// StyleGAN2's generator at small scale (Karras et al. 2020): a mapping network z -> w (an MLP
/// with equalized learning rate and a rate multiplier of 0.01, its input normalised), a learned
/// constant 4 x 4 input, then at each resolution a doubling (nearest neighbour) and two
/// modulated 3x3 convolutions, each followed by per-pixel noise with learned per-channel
/// strengths, a bias and a scaled LeakyReLU; toRGB outputs (1x1, modulated, not demodulated) of
/// every resolution are upsampled and summed (the skip architecture). Layer i reads the i-th
/// of `styleCount` w's, so styles can differ per layer (mixing, W+ projection). `averageStyle`
/// is the moving average of w that truncation pulls towards.
public final class StyleGenerator: Module {
    public struct Options: Codable, Equatable, Sendable {
        public var latentDimension = 128
        public var styleDimension = 128
        public var mappingLayers = 8
        /// Feature maps at 4 x 4; halved (down to `minimumFeatures`) at every doubling.
        public var features = 128
        public var minimumFeatures = 16
        public init() {}
    }

    public let options: Options
    public let imageShape: [Int]
    let mapping: [EqualizedLinear]
    let constant: Parameter
    let convolutions: [StyleConvolution]
    let toRGB: [ModulatedConv2d]
    let rgbBiases: [Parameter]
    public let averageStyle: Buffer

    /// w's the synthesis reads: one per convolution, plus one for the last toRGB.
    public var styleCount: Int { convolutions.count + 1 }

    public init(_ options: Options, imageShape: [Int], generator rng: inout RandomGenerator) {
        let (c, size) = (imageShape[0], imageShape[1])
        precondition(
            size >= 4 && size & (size - 1) == 0 && imageShape[2] == size,
            "StyleGAN draws square images of a power-of-two size, not \(imageShape)")
        self.options = options
        self.imageShape = imageShape
        let d = options.styleDimension
        mapping = (0..<options.mappingLayers).map { i in
            EqualizedLinear(i == 0 ? options.latentDimension : d, d, lrMultiplier: 0.01, generator: &rng)
        }
        let resolutions = Array(sequence(first: 4) { $0 * 2 < size * 2 ? $0 * 2 : nil }) // 4, 8, ..., size
        let width = { (r: Int) in max(options.minimumFeatures, options.features >> (r.trailingZeroBitCount - 2)) }
        constant = Parameter(Tensor.normal([1, width(4), 4, 4], generator: &rng))
        var convolutions = [
            StyleConvolution(width(4), width(4), styleDimension: d, upsample: false, size: 4, generator: &rng)
        ]
        for r in resolutions.dropFirst() {
            convolutions.append(
                StyleConvolution(width(r / 2), width(r), styleDimension: d, upsample: true, size: r, generator: &rng))
            convolutions.append(
                StyleConvolution(width(r), width(r), styleDimension: d, upsample: false, size: r, generator: &rng))
        }
        self.convolutions = convolutions
        toRGB = resolutions.map {
            ModulatedConv2d(width($0), c, kernel: 1, styleDimension: d, demodulate: false, generator: &rng)
        }
        rgbBiases = resolutions.map { _ in Parameter(Tensor.zeros([1, c, 1, 1])) }
        averageStyle = Buffer(Tensor.zeros([d]))
    }

    /// w [N, D] for codes z [N, latent].
    public func map(_ z: Tensor) -> Tensor {
        var h = z * (z.squared().mean(alongAxis: 1, keepDims: true) + 1e-8).rsqrt()
        for layer in mapping { h = scaledLeakyReLU(layer(h)) }
        return h
    }

    /// w' = w_avg + psi (w - w_avg): psi < 1 trades variety for typical images.
    public func truncated(_ w: Tensor, psi: Float) -> Tensor {
        psi == 1 ? w : averageStyle.value.unsqueezed(0) + psi * (w - averageStyle.value.unsqueezed(0))
    }

    /// The same w for every layer: [N, styleCount, D].
    public func broadcast(_ w: Tensor) -> Tensor {
        w.unsqueezed(1).expanded(to: [w.shape[0], styleCount, w.shape[1]])
    }

    /// Layers before `crossover` take their style from `first`, the others from `second` ([N, D] each).
    public func mixed(_ first: Tensor, _ second: Tensor, crossover: Int) -> Tensor {
        precondition((0...styleCount).contains(crossover), "crossover \(crossover) outside 0...\(styleCount)")
        let a = broadcast(first), b = broadcast(second)
        if crossover == 0 { return b }
        if crossover == styleCount { return a }
        return Tensor.concatenate(
            [a.sliced(axis: 1, 0..<crossover), b.sliced(axis: 1, crossover..<styleCount)], axis: 1)
    }

    /// Images [N, C, H, W] (unbounded; the data's range is [-1, 1]) for styles [N, styleCount, D].
    /// `noise` picks each layer's noise maps: drawn from the generator, or the layer's fixed map;
    /// `maps` (one per convolution, as a projection optimises them) override both.
    public func synthesize(_ styles: Tensor, noise: inout RandomGenerator?, maps: [Tensor]? = nil) -> Tensor {
        let n = styles.shape[0]
        precondition(
            styles.rank == 3 && styles.shape[1] == styleCount,
            "StyleGAN: styles \(styles.shape) for \(styleCount) layers")
        let w = { (i: Int) in styles.sliced(axis: 1, i..<i + 1).squeezed(1) }
        var x = convolutions[0](
            constant.value.expanded(to: [n] + Array(constant.value.shape.dropFirst())), w(0), noise: &noise,
            map: maps?[0])
        var image = toRGB[0](x, w(1)) + rgbBiases[0].value
        for level in 1..<toRGB.count {
            x = convolutions[2 * level - 1](x, w(2 * level - 1), noise: &noise, map: maps?[2 * level - 1])
            x = convolutions[2 * level](x, w(2 * level), noise: &noise, map: maps?[2 * level])
            image = upsampled(image) + toRGB[level](x, w(2 * level + 1)) + rgbBiases[level].value
        }
        return image
    }
}

/// A modulated convolution (after a doubling, for the first of a resolution), per-pixel noise
/// scaled by a learned strength per channel, a bias, and the scaled LeakyReLU.
final class StyleConvolution: Module {
    let convolution: ModulatedConv2d
    let noiseStrength: Parameter
    let bias: Parameter
    /// The map used when noise is fixed (StyleGAN2's noise_const), [1, 1, size, size].
    let fixedNoise: Buffer
    let upsample: Bool

    init(
        _ inputs: Int, _ outputs: Int, styleDimension: Int, upsample: Bool, size: Int,
        generator rng: inout RandomGenerator
    ) {
        convolution = ModulatedConv2d(inputs, outputs, kernel: 3, styleDimension: styleDimension, generator: &rng)
        noiseStrength = Parameter(Tensor.zeros([1, outputs, 1, 1]))
        bias = Parameter(Tensor.zeros([1, outputs, 1, 1]))
        fixedNoise = Buffer(Tensor.normal([1, 1, size, size], generator: &rng))
        self.upsample = upsample
    }

    func callAsFunction(_ x: Tensor, _ w: Tensor, noise: inout RandomGenerator?, map: Tensor? = nil) -> Tensor {
        let y = convolution(upsample ? upsampled(x) : x, w)
        let (n, h, width) = (y.shape[0], y.shape[2], y.shape[3])
        let maps = map ?? (noise != nil ? Tensor.normal([n, 1, h, width], exampleAxis: 0, generator: &noise!) : fixedNoise.value)
        return scaledLeakyReLU(y + noiseStrength.value * maps + bias.value)
    }
}
