import NeuralNetwork
import TensorEngine

/// PixelCNN++ (Salimans et al. 2017): two streams instead of masks. The `down` stream u sees
/// every pixel in the rows above (convolutions padded only above and at the sides, then shifted
/// down a row), the `down-right` stream ul sees those and the pixels to the left. Gated ResNet
/// blocks with concat_elu; three resolutions (stride-2 shifted convolutions down, shifted
/// transposed convolutions back up) with short-cuts from every block of the way down to the
/// matching block of the way up; dropout inside the blocks; a discretised logistic mixture at
/// the output. Every convolution is weight-normalised and initialised from the data (see
/// `initialize(from:)`), as in the paper.
public final class PixelCNNPlusPlusNetwork: Module, PixelNetwork {
    let firstDown: ShiftedConv
    let firstDownForLeft: ShiftedConv
    let firstDownRight: ShiftedConv
    let upDown: [GatedResidual]
    let upDownRight: [GatedResidual]
    let downsampleDown: [ShiftedConv]
    let downsampleDownRight: [ShiftedConv]
    let downDown: [GatedResidual]
    let downDownRight: [GatedResidual]
    let upsampleDown: [ShiftedConv]
    let upsampleDownRight: [ShiftedConv]
    let output: ShiftedConv
    let blocksPerLevel: Int
    /// 1 once the data-dependent initialisation has run (a resumed run must not run it again).
    let initialized: Buffer
    static let levels = 3

    public init(_ o: PixelCNNOptions, channels c: Int, generator rng: inout RandomGenerator) {
        let f = o.features, r = o.layers, levels = PixelCNNPlusPlusNetwork.levels
        firstDown = ShiftedConv(c + 1, f, kernel: (2, 3), .down, generator: &rng)
        firstDownForLeft = ShiftedConv(c + 1, f, kernel: (1, 3), .down, generator: &rng)
        firstDownRight = ShiftedConv(c + 1, f, kernel: (2, 1), .downRight, generator: &rng)
        func blocks(_ count: Int, _ direction: ShiftedConv.Direction, auxiliary: Int) -> [GatedResidual] {
            (0..<count).map { _ in
                GatedResidual(f, direction, auxiliary: auxiliary, dropout: o.dropout, generator: &rng)
            }
        }
        upDown = blocks(levels * r, .down, auxiliary: 0)
        upDownRight = blocks(levels * r, .downRight, auxiliary: f)
        downsampleDown = (1..<levels).map { _ in ShiftedConv(f, f, kernel: (2, 3), .down, stride: 2, generator: &rng) }
        downsampleDownRight = (1..<levels).map { _ in
            ShiftedConv(f, f, kernel: (2, 2), .downRight, stride: 2, generator: &rng)
        }
        downDown = blocks(levels * r + levels - 1, .down, auxiliary: f)
        downDownRight = blocks(levels * r + levels - 1, .downRight, auxiliary: 2 * f)
        upsampleDown = (1..<levels).map { _ in
            ShiftedConv(f, f, kernel: (2, 3), .down, stride: 2, transposed: true, generator: &rng)
        }
        upsampleDownRight = (1..<levels).map { _ in
            ShiftedConv(f, f, kernel: (2, 2), .downRight, stride: 2, transposed: true, generator: &rng)
        }
        output = ShiftedConv(
            f, DiscretizedLogisticMixture.parameterCount(components: o.components, channels: c), kernel: (1, 1), .down,
            generator: &rng)
        blocksPerLevel = r
        initialized = Buffer(Tensor.zeros([1]))
    }

    public var isInitialized: Bool { initialized.value.scalars[0] != 0 }

    /// Salimans & Kingma's data-dependent initialisation: one pass over `images` in which each
    /// convolution, in the order the pass reaches it, sets its gain and bias so that its outputs
    /// have mean 0 and standard deviation `initScale` per channel. Every layer then starts at a
    /// sensible scale whatever the depth.
    public func initialize(from images: Tensor) {
        let convolutions = namedModules().compactMap { $0.module as? ShiftedConv }
        for convolution in convolutions { convolution.initializesFromNextInput = true }
        withoutGradients { _ = self(images, labels: nil) }
        precondition(
            convolutions.allSatisfy { !$0.initializesFromNextInput },
            "PixelCNN++: a convolution was not reached by the pass")
        initialized.value = Tensor.ones([1])
    }

    public var rowMultiple: Int { 1 << (Self.levels - 1) }

    /// `body` run with the given keep masks (by block name, every gated ResNet block one) in

    func withDropoutMasks<T>(_ masks: [String: Tensor], _ body: () -> T) -> T {
        let blocks = namedModules().compactMap { name, module in (module as? GatedResidual).map { (name, $0) } }
        precondition(
            Set(masks.keys) == Set(blocks.map(\.0)),
            "PixelCNN++: dropout masks for \(masks.keys.sorted()), blocks \(blocks.map(\.0).sorted())")
        for (name, block) in blocks { block.keep = masks[name] }
        defer { for (_, block) in blocks { block.keep = nil } }
        return body()
    }

    public func callAsFunction(_ images: Tensor, labels: [Int]?) -> Tensor {
        let (n, h, w) = (images.shape[0], images.shape[2], images.shape[3])
        precondition(h % 4 == 0 && w % 4 == 0, "PixelCNN++ halves the image twice; \(h)x\(w) is not divisible by 4")
        // A channel of ones tells the network where the zero padding begins.
        let x = Tensor.concatenate([images * 2 - 1, Tensor.ones([n, 1, h, w])], axis: 1)
        var us = [shiftDown(firstDown(x))]
        var uls = [shiftDown(firstDownForLeft(x)) + shiftRight(firstDownRight(x))]
        var block = 0
        for level in 0..<Self.levels {
            for _ in 0..<blocksPerLevel {
                us.append(upDown[block](us.last!, auxiliary: nil))
                uls.append(upDownRight[block](uls.last!, auxiliary: us.last!))
                block += 1
            }
            if level < Self.levels - 1 {
                us.append(downsampleDown[level](us.last!))
                uls.append(downsampleDownRight[level](uls.last!))
            }
        }
        var u = us.removeLast(), ul = uls.removeLast()
        block = 0
        for level in 0..<Self.levels {
            for _ in 0..<(level == 0 ? blocksPerLevel : blocksPerLevel + 1) {
                u = downDown[block](u, auxiliary: us.removeLast())
                ul = downDownRight[block](ul, auxiliary: Tensor.concatenate([u, uls.removeLast()], axis: 1))
                block += 1
            }
            if level < Self.levels - 1 {
                u = upsampleDown[level](u)
                ul = upsampleDownRight[level](ul)
            }
        }
        return output(elu(ul))
    }
}

/// x + a * sigmoid(b), with (a, b) from two shifted convolutions of concat_elu(x) (and a 1x1 of an
/// auxiliary input, a short-cut or the other stream, added after the first).
final class GatedResidual: Module {
    let first: ShiftedConv
    let auxiliary: ShiftedConv?
    let dropout: Dropout
    let second: ShiftedConv
    /// A keep mask standing in for the dropout's draw (`withDropoutMasks`).
    var keep: Tensor?

    init(
        _ f: Int, _ direction: ShiftedConv.Direction, auxiliary channels: Int, dropout p: Float,
        generator rng: inout RandomGenerator
    ) {
        let kernel = direction == .down ? (2, 3) : (2, 2)
        first = ShiftedConv(2 * f, f, kernel: kernel, direction, generator: &rng)
        auxiliary = channels > 0 ? ShiftedConv(2 * channels, f, kernel: (1, 1), .down, generator: &rng) : nil
        dropout = Dropout(p, generator: &rng)
        // Started small, as in the paper: each block begins near the identity.
        second = ShiftedConv(2 * f, 2 * f, kernel: kernel, direction, initScale: 0.1, generator: &rng)
    }

    func callAsFunction(_ x: Tensor, auxiliary a: Tensor?) -> Tensor {
        var c = first(concatELU(x))
        if let a, let auxiliary { c = c + auxiliary(concatELU(a)) }
        let h = concatELU(c)
        return x + glu(second(keep.map { h * ($0 * (1 / (1 - dropout.probability))) } ?? dropout(h)))
    }
}

/// A convolution whose output at (i, j) sees only rows <= i: padded above (and at both sides for
/// `down`, only on the left for `downRight`, which then sees only columns <= j). The transposed
/// version (stride 2 up-sampling) crops its output the same way. Weight-normalised: the kernel
/// of each output channel is gain * v / |v|, so its scale is one learned number per channel.
final class ShiftedConv: Module {
    enum Direction { case down, downRight }
    /// The kernels' direction v: [out, in, kh, kw], or [in, out, kh, kw] when transposed.
    let weight: Parameter
    let gain: Parameter
    let bias: Parameter
    let kernel: (height: Int, width: Int)
    let direction: Direction
    let stride: Int
    let transposed: Bool
    /// The standard deviation of each output channel after the data-dependent initialisation.
    let initScale: Float
    var initializesFromNextInput = false

    init(
        _ inputs: Int, _ outputs: Int, kernel: (Int, Int), _ direction: Direction, stride: Int = 1,
        transposed: Bool = false,
        initScale: Float = 1, generator rng: inout RandomGenerator
    ) {
        let shape = transposed ? [inputs, outputs, kernel.0, kernel.1] : [outputs, inputs, kernel.0, kernel.1]
        // Only v's direction matters to the function; its scale sets the effective step size.
        weight = Parameter(Tensor.normal(shape, generator: &rng) * 0.05)
        gain = Parameter(Tensor.ones([outputs]))
        bias = Parameter(Tensor.zeros([outputs]))
        self.kernel = kernel; self.direction = direction; self.stride = stride; self.transposed = transposed
        self.initScale = initScale
    }

    /// gain * v / |v|, the norm taken over everything but the output channel.
    var normalizedWeight: Tensor {
        let v = weight.value, outputAxis = transposed ? 1 : 0
        let otherAxes = (0..<4).filter { $0 != outputAxis }
        let scale = gain.value / v.squared().sum(alongAxes: otherAxes).sqrt()
        return v * scale.reshaped(transposed ? [1, -1, 1, 1] : [-1, 1, 1, 1])
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        if initializesFromNextInput {
            initializesFromNextInput = false
            withoutGradients {
                gain.assign(Tensor.ones(gain.value.shape))
                bias.assign(Tensor.zeros(bias.value.shape))
                let y = convolve(x)
                let scale = initScale / (y.variance(alongAxes: [0, 2, 3]) + 1e-10).sqrt()
                gain.assign(scale)
                bias.assign(-y.mean(alongAxes: [0, 2, 3]) * scale)
            }
        }
        return convolve(x)
    }

    func convolve(_ x: Tensor) -> Tensor {
        let (kh, kw) = kernel, kernels = normalizedWeight
        let left = direction == .down ? (kw - 1) / 2 : kw - 1, right = direction == .down ? left : 0
        if !transposed {
            return conv2d(
                x, kernels, bias: bias.value, stride: (stride, stride), padding: (kh - 1, left),
                paddingAfter: (0, right))
        }
        // The transposed convolution cropped to exactly H * s by W * s: nothing above, and on the
        // left the columns a `down` kernel reaches to the right. What is cropped is never computed.
        let crop = direction == .down ? (kw - 1) / 2 : 0
        precondition(
            kh >= stride && kw >= stride + crop, "PixelCNN++: a \(kh)x\(kw) kernel cannot up-sample by \(stride)")
        return convTranspose2d(
            x, kernels, bias: bias.value, stride: (stride, stride), padding: (0, crop),
            paddingAfter: (kh - stride, kw - stride - crop))
    }
}
