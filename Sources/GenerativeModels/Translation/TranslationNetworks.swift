import NeuralNetwork
import TensorEngine

/// How the translation networks normalise: over the batch, or per image (InstanceNorm).
public enum Normalization: String, Codable, CaseIterable, Sendable {
    case batch, instance

    func layer(_ channels: Int) -> any Layer {
        self == .batch ? BatchNorm(channels) : InstanceNorm2d(channels, affine: true)
    }
}

/// Pix2Pix's U-Net (Isola et al. 2017, appendix 6.1.1): an encoder of 4x4 stride-2 convolutions
/// (LeakyReLU 0.2, normalised except the first and the innermost) and a decoder of 4x4 stride-2
/// transposed convolutions (normalised, ReLU, dropout 0.5 in the three innermost as the noise
/// source) whose every level is concatenated with the encoder's output of the same size.
/// `depth` halvings: the innermost maps are H / 2^depth. Widths f, 2f, 4f, 8f, 8f, ...
public final class UNet: Module, Layer {
    let down: [Sequential]
    let up: [Sequential]

    public init(
        channels c: Int, outputs: Int, features f: Int, depth: Int, normalization: Normalization,
        dropout: Float = 0.5, generator rng: inout RandomGenerator
    ) {
        precondition(depth >= 2, "U-Net: depth \(depth) < 2")
        let widths = (0..<depth).map { f * (1 << min($0, 3)) }
        down = (0..<depth).map { i in
            let conv = Conv2d(
                i == 0 ? c : widths[i - 1], widths[i], kernel: 4, stride: 2, padding: 1, initializer: .dcgan,
                generator: &rng)
            let normalised = i > 0 && i < depth - 1
            return Sequential(
                (normalised ? [conv, normalization.layer(widths[i])] : [conv]) + [Function.leakyReLU(0.2)])
        }
        // up[j] undoes down[depth - 1 - j]; its input is the previous level concatenated with the
        // encoder's maps of that size (except the innermost, which has no partner yet).
        up = (0..<depth).map { j in
            let level = depth - 1 - j
            let inputs = j == 0 ? widths[level] : 2 * widths[level]
            if level == 0 {
                return Sequential(
                    ConvTranspose2d(
                        inputs, outputs, kernel: 4, stride: 2, padding: 1, initializer: .dcgan, generator: &rng),
                    Function.tanh())
            }
            var layers: [any Layer] = [
                ConvTranspose2d(
                    inputs, widths[level - 1], kernel: 4, stride: 2, padding: 1, bias: false,
                    initializer: .dcgan, generator: &rng),
                normalization.layer(widths[level - 1])
            ]
            if j < 3 && dropout > 0 { layers.append(Dropout(dropout, generator: &rng)) }
            layers.append(Function.relu())
            return Sequential(layers)
        }
    }

    /// Images in [-1, 1] to images in [-1, 1].
    public func callAsFunction(_ x: Tensor) -> Tensor { callAsFunction(x, dropoutMasks: nil) }

    /// With `dropoutMasks` (0/1 keep masks, one per dropout layer, innermost first) the dropout
    /// layers keep those units, scaled by 1 / (1 - p) as `dropout` does, instead of drawing their
    /// own (in evaluation mode they still pass everything): a step that can be replayed elsewhere
    /// (the PyTorch parity test).
    public func callAsFunction(_ x: Tensor, dropoutMasks: [Tensor]?) -> Tensor {
        var skips: [Tensor] = []
        var h = x
        for block in down { h = block(h); skips.append(h) }
        skips.removeLast()
        var masks = dropoutMasks.map { ArraySlice($0) }
        for (j, block) in up.enumerated() {
            let input = j == 0 ? h : Tensor.concatenate([h, skips.removeLast()], axis: 1)
            guard masks != nil else { h = block(input); continue }
            h = block.layers.reduce(input) { h, layer in
                guard let dropout = layer as? Dropout else { return layer(h) }
                guard let keep = masks!.popFirst() else {
                    preconditionFailure("U-Net: fewer dropout masks than dropout layers")
                }
                return dropout.isTraining ? h * (keep * (1 / (1 - dropout.probability))) : h
            }
        }
        precondition(masks?.isEmpty ?? true, "U-Net: more dropout masks than dropout layers")
        return h
    }
}

/// The adversarial objective of a translation model's discriminators and generators, on the
/// discriminator's logits or scores (one per patch).
public enum AdversarialLoss: String, Codable, CaseIterable, Sendable {
    /// Goodfellow et al.'s: G minimises log(1 - D(G(x))), which saturates when D wins.
    case minimax
    /// G maximises log D(G(x)) instead (Pix2Pix's).
    case nonSaturating = "non-saturating"
    /// Mao et al.'s least squares: D pushes real scores to 1 and fake to 0, G fake to 1 (CycleGAN's).
    case leastSquares = "least-squares"

    /// D's loss: the mean of its losses on the real and on the fake patches.
    public func discriminator(real: Tensor, fake: Tensor) -> Tensor {
        switch self {
        case .leastSquares: 0.5 * ((real - 1).squared().mean() + fake.squared().mean())
        case .minimax, .nonSaturating: ((-real).softplus().mean() + fake.softplus().mean()) * 0.5
        }
    }

    /// G's loss on D's output for its images.
    public func generator(fake: Tensor) -> Tensor {
        switch self {
        case .minimax: -fake.softplus().mean() // log(1 - sigmoid(l)) = -softplus(l)
        case .nonSaturating: (-fake).softplus().mean()
        case .leastSquares: (fake - 1).squared().mean()
        }
    }
}

/// The PatchGAN discriminator (Isola et al. §3.2.2): 4x4 convolutions, two of stride 2 and two
/// of stride 1, that give one real/fake logit per overlapping patch rather than per image (at 32
/// px, 6 x 6 patches of 22 x 22 pixels: the 70 x 70 of the paper, scaled to the image).
public final class PatchGAN: Module, Layer {
    let body: Sequential

    public init(channels c: Int, features f: Int, normalization: Normalization, generator rng: inout RandomGenerator) {
        body = Sequential(
            Conv2d(c, f, kernel: 4, stride: 2, padding: 1, initializer: .dcgan, generator: &rng),
            Function.leakyReLU(0.2),
            Conv2d(f, 2 * f, kernel: 4, stride: 2, padding: 1, bias: false, initializer: .dcgan, generator: &rng),
            normalization.layer(2 * f), Function.leakyReLU(0.2),
            Conv2d(2 * f, 4 * f, kernel: 4, stride: 1, padding: 1, bias: false, initializer: .dcgan, generator: &rng),
            normalization.layer(4 * f), Function.leakyReLU(0.2),
            Conv2d(4 * f, 1, kernel: 4, stride: 1, padding: 1, initializer: .dcgan, generator: &rng))
    }

    /// The smallest side it takes: a quarter of it, less 2 for the two stride-1 convolutions,
    /// must leave a patch.
    public static let minimumSide = 12

    /// Logits [N, 1, P, P], one per patch.
    public func callAsFunction(_ x: Tensor) -> Tensor { body(x) }
}

/// x [N, C, H, W] padded by `p` on every side with its own mirror image, the edge not repeated
/// (PyTorch's ReflectionPad2d): less of a border artefact than zeros for image-to-image nets.
public func reflectionPadded(_ x: Tensor, _ p: Int) -> Tensor {
    func mirror(_ n: Int) -> [Int] {
        precondition(p < n, "reflection padding \(p) needs more than \(n) pixels")
        return (0..<(n + 2 * p)).map { i in
            let j = i - p
            return j < 0 ? -j : j >= n ? 2 * (n - 1) - j : j
        }
    }
    return x.gather(mirror(x.shape[2]), alongAxis: 2).gather(mirror(x.shape[3]), alongAxis: 3)
}

/// CycleGAN's generator (Zhu et al. 2017, after Johnson et al. 2016): a 7x7 convolution, two
/// stride-2 convolutions down, residual blocks (two reflection-padded 3x3 convolutions), two
/// stride-2 transposed convolutions up and a 7x7 convolution to tanh; InstanceNorm and ReLU
/// throughout. Widths f, 2f, 4f.
public final class ResNetGenerator: Module, Layer {
    let stem: Conv2d
    let body: Sequential
    let blocks: [Sequential]
    let head: Sequential
    let last: Conv2d

    public init(channels c: Int, features f: Int, blocks count: Int, generator rng: inout RandomGenerator) {
        func norm(_ n: Int) -> any Layer { InstanceNorm2d(n, affine: true) }
        stem = Conv2d(c, f, kernel: 7, initializer: .dcgan, generator: &rng)
        body = Sequential(
            norm(f), Function.relu(),
            Conv2d(f, 2 * f, kernel: 3, stride: 2, padding: 1, initializer: .dcgan, generator: &rng), norm(2 * f),
            Function.relu(),
            Conv2d(2 * f, 4 * f, kernel: 3, stride: 2, padding: 1, initializer: .dcgan, generator: &rng), norm(4 * f),
            Function.relu())
        blocks = (0..<count).map { _ in
            Sequential(
                Function { reflectionPadded($0, 1) },
                Conv2d(4 * f, 4 * f, kernel: 3, initializer: .dcgan, generator: &rng), norm(4 * f),
                Function.relu(),
                Function { reflectionPadded($0, 1) },
                Conv2d(4 * f, 4 * f, kernel: 3, initializer: .dcgan, generator: &rng), norm(4 * f))
        }
        head = Sequential(
            ConvTranspose2d(
                4 * f, 2 * f, kernel: 3, stride: 2, padding: 1, outputPadding: 1, initializer: .dcgan, generator: &rng),
            norm(2 * f), Function.relu(),
            ConvTranspose2d(
                2 * f, f, kernel: 3, stride: 2, padding: 1, outputPadding: 1, initializer: .dcgan, generator: &rng),
            norm(f), Function.relu())
        last = Conv2d(f, c, kernel: 7, initializer: .dcgan, generator: &rng)
    }

    /// Images in [-1, 1] (H and W divisible by 4) to images in [-1, 1].
    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = body(stem(reflectionPadded(x, 3)))
        for block in blocks { h = h + block(h) }
        return last(reflectionPadded(head(h), 3)).tanh()
    }
}
