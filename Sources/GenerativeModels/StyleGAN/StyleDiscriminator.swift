import NeuralNetwork
import TensorEngine

/// StyleGAN2's residual discriminator at small scale: a 1x1 fromRGB, then per resolution two 3x3
/// convolutions and a 2x2 average pool, added to a pooled 1x1 short-cut and divided by sqrt(2);
/// at 4 x 4 the minibatch standard deviation joins as one more channel, then a 3x3 convolution
/// and two fully connected layers give one logit. Equalized learning rate throughout.
public final class StyleDiscriminator: Module {
    let fromRGB: EqualizedConv2d
    let blocks: [ResidualBlock]
    let final: EqualizedConv2d
    let dense: EqualizedLinear
    let output: EqualizedLinear
    static let groupSize = 4

    public init(imageShape: [Int], features: Int, minimumFeatures: Int, generator rng: inout RandomGenerator) {
        let size = imageShape[1]
        let width = { (r: Int) in max(minimumFeatures, features >> (r.trailingZeroBitCount - 2)) }
        fromRGB = EqualizedConv2d(imageShape[0], width(size), kernel: 1, generator: &rng)
        blocks = Array(sequence(first: size) { $0 / 2 > 4 ? $0 / 2 : nil }).map { r in
            ResidualBlock(width(r), width(r / 2), generator: &rng)
        }
        final = EqualizedConv2d(width(4) + 1, width(4), kernel: 3, generator: &rng)
        dense = EqualizedLinear(width(4) * 16, width(4), generator: &rng)
        output = EqualizedLinear(width(4), 1, generator: &rng)
    }

    /// Logits [N] for images [N, C, H, W] in [-1, 1].
    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = scaledLeakyReLU(fromRGB(x))
        for block in blocks { h = block(h) }
        h = scaledLeakyReLU(final(Tensor.concatenate([h, minibatchDeviation(h)], axis: 1)))
        return output(scaledLeakyReLU(dense(h.flattened()))).reshaped([-1])
    }

    /// Karras et al. (2018, §3): the standard deviation of each feature over groups of up to four
    /// images, averaged into one number per group and given to each of its images as a constant
    /// map, so the discriminator can see a lack of variety.
    func minibatchDeviation(_ x: Tensor) -> Tensor {
        let (n, h, w) = (x.shape[0], x.shape[2], x.shape[3])
        var group = min(Self.groupSize, n)
        while n % group != 0 { group -= 1 }
        let columns = n / group // image i sits in column i % columns
        let grouped = x.reshaped([group, columns] + Array(x.shape.dropFirst()))
        // Centred before squaring: E[x^2] - E[x]^2 cancels to rounding noise (and relu's zero
        // gradient) just when the images are nearly alike, the collapse this layer is there to see.
        let centred = grouped - grouped.mean(alongAxis: 0, keepDims: true)
        let deviation = centred.squared().mean(alongAxis: 0) + 1e-8
        let perColumn = deviation.sqrt().flattened().mean(alongAxis: 1) // [columns]
        return perColumn.gather((0..<n).map { $0 % columns }, alongAxis: 0).reshaped([n, 1, 1, 1]).expanded(to: [
            n, 1, h, w
        ])
    }
}

/// Two 3x3 convolutions then a halving, beside a halved 1x1 short-cut; the sum over sqrt(2).
final class ResidualBlock: Module {
    let first: EqualizedConv2d
    let second: EqualizedConv2d
    let shortcut: EqualizedConv2d

    init(_ inputs: Int, _ outputs: Int, generator rng: inout RandomGenerator) {
        first = EqualizedConv2d(inputs, inputs, kernel: 3, generator: &rng)
        second = EqualizedConv2d(inputs, outputs, kernel: 3, generator: &rng)
        shortcut = EqualizedConv2d(inputs, outputs, kernel: 1, generator: &rng)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let main = downsampled(scaledLeakyReLU(second(scaledLeakyReLU(first(x)))))
        return (main + shortcut(downsampled(x))) * Float(0.5).squareRoot()
    }
}
