import NeuralNetwork
import TensorEngine

/// The options of the autoregressive networks (pixelcnn, gated-pixelcnn, row-lstm, diagonal-bilstm).
public struct PixelCNNOptions: Codable, Equatable, Sendable {
    /// Feature maps: 2h in PixelCNN's residual stream, p in each Gated PixelCNN stack.
    public var features = 64
    /// Residual blocks (PixelCNN), gated layers (Gated PixelCNN), LSTM layers (PixelRNN) after
    /// the first layer, or gated ResNet blocks per resolution (PixelCNN++).
    public var layers = 7
    /// The first layer's kernel (7 in both papers); the later ones are 3 x 3.
    public var firstKernel = 7
    /// Row LSTM's k: its input-to-state convolution covers the k/2 + 1 columns up to the current
    /// one, its state-to-state convolution k columns of the row above (3 in the paper).
    public var rowKernel = 3
    public var likelihood = PixelLikelihood.bernoulli
    /// Label classes of a class-conditional Gated PixelCNN (0: unconditional).
    public var classes = 0
    /// Channels of a conditional Gated PixelCNN's label map (0: none): a learned [maps, H, W]
    /// map per class that every gate reads through a 1x1 convolution, the paper's
    /// location-dependent conditioning. Without it a label only shifts each gate by a constant.
    public var labelMaps = 0
    /// Logistics in PixelCNN++'s output mixture.
    public var components = 10
    /// PixelCNN++'s dropout inside every gated ResNet block.
    public var dropout: Float = 0.5
    public var learningRate: Float = 1e-3
    public init() {}

    private enum CodingKeys: String, CodingKey {
        case features, layers, firstKernel, rowKernel, likelihood, classes, labelMaps, components, dropout, learningRate
    }

    /// Configurations saved before an option existed take its default.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self), d = PixelCNNOptions()
        features = try c.decodeIfPresent(Int.self, forKey: .features) ?? d.features
        layers = try c.decodeIfPresent(Int.self, forKey: .layers) ?? d.layers
        firstKernel = try c.decodeIfPresent(Int.self, forKey: .firstKernel) ?? d.firstKernel
        rowKernel = try c.decodeIfPresent(Int.self, forKey: .rowKernel) ?? d.rowKernel
        likelihood = try c.decodeIfPresent(PixelLikelihood.self, forKey: .likelihood) ?? d.likelihood
        classes = try c.decodeIfPresent(Int.self, forKey: .classes) ?? d.classes
        labelMaps = try c.decodeIfPresent(Int.self, forKey: .labelMaps) ?? d.labelMaps
        components = try c.decodeIfPresent(Int.self, forKey: .components) ?? d.components
        dropout = try c.decodeIfPresent(Float.self, forKey: .dropout) ?? d.dropout
        learningRate = try c.decodeIfPresent(Float.self, forKey: .learningRate) ?? d.learningRate
    }
}

/// PixelCNN (van den Oord et al. 2016, "Pixel Recurrent Neural Networks" §3.5): a 7 x 7 mask-A
/// convolution, residual blocks (ReLU, 1x1 2h -> h, ReLU, 3x3 mask B, ReLU, 1x1 h -> 2h, added
/// to the input), then ReLU, 1x1 mask B, ReLU, 1x1 mask B to the logits. Every convolution is
/// masked by colour group, so for C = 3 the red value of a pixel is predicted before its green,
/// and its green before its blue. Its receptive field has the paper's blind spot: the stacked
/// masks never reach the pixels up and to the right of the last layer's field.
public final class PixelCNNNetwork: Module, PixelNetwork {
    let input: MaskedConv2d
    let blocks: [Sequential]
    let head: Sequential

    public init(_ o: PixelCNNOptions, channels c: Int, generator rng: inout RandomGenerator) {
        let f = o.features, half = o.features / 2
        precondition(f % (2 * c) == 0, "PixelCNN: \(f) features do not split into \(c) colour groups of whole halves")
        input = MaskedConv2d(.a, c, f, kernel: o.firstKernel, colourGroups: c, generator: &rng)
        blocks = (0..<o.layers).map { _ in
            Sequential(
                Function.relu(), MaskedConv2d(.b, f, half, kernel: 1, colourGroups: c, generator: &rng),
                Function.relu(), MaskedConv2d(.b, half, half, kernel: 3, colourGroups: c, generator: &rng),
                Function.relu(), MaskedConv2d(.b, half, f, kernel: 1, colourGroups: c, generator: &rng))
        }
        head = Sequential(
            Function.relu(), MaskedConv2d(.b, f, f, kernel: 1, colourGroups: c, generator: &rng),
            Function.relu(), MaskedConv2d(.b, f, c * o.likelihood.levels, kernel: 1, colourGroups: c, generator: &rng))
    }

    public func callAsFunction(_ images: Tensor, labels: [Int]?) -> Tensor {
        var h = input(images * 2 - 1)
        for block in blocks { h = h + block(h) }
        return head(h)
    }
}

/// Gated PixelCNN (van den Oord et al. 2016, "Conditional Image Generation with PixelCNN
/// Decoders"). Two stacks remove the blind spot: the vertical stack sees every pixel in the rows
/// above (a (k/2 + 1) x k kernel over rows up to the current one, shifted down one row before
/// it reaches the horizontal stack), and the horizontal stack sees the pixels to the left in the
/// current row (a 1 x (k/2 + 1) kernel over columns up to the current one; the image itself is
/// shifted right one column at the input, so the first layer never sees the pixel it predicts).
/// Each layer gates tanh(a) * sigmoid(b); the horizontal stack has residual and skip
/// connections, and a conditional model adds a label embedding inside every gate. With
/// `labelMaps`, each gate also reads a learned map of the label, [maps, H, W] per class, through a
/// 1x1 convolution (the paper's location-dependent conditioning, s = m(h) with m one linear
/// layer): the label then says where ink belongs, not only how much.
///
/// Colour, as in PixelCNN: the horizontal stack's features split into R, G, B groups, and at
/// the current pixel a group sees the groups up to its own (mask B), the first layer the
/// colours before its own (mask A, a 1x1 convolution of the unshifted image); the residual,
/// skip and output convolutions are 1x1 mask B. The vertical stack needs no mask: it reaches
/// the horizontal one a row down. Every gate pairs a and b within a group: its 2p maps are
/// laid out group by group, [a, b] in each.
public final class GatedPixelCNNNetwork: Module, PixelNetwork {
    let layers: [GatedLayer]
    let head: Sequential
    /// Per class, the flattened [maps, H, W] label map (conditional models with `labelMaps`).
    let labelMap: Embedding?
    let labelMapShape: [Int]

    public init(_ o: PixelCNNOptions, imageShape: [Int], generator rng: inout RandomGenerator) {
        let c = imageShape[0], maps = o.classes > 0 ? o.labelMaps : 0
        precondition(o.features % c == 0, "Gated PixelCNN: \(o.features) features do not split into \(c) colour groups")
        layers = (0...o.layers).map { i in
            GatedLayer(
                inputs: i == 0 ? c : o.features, features: o.features, kernel: i == 0 ? o.firstKernel : 3,
                first: i == 0, classes: o.classes, labelMaps: maps, colourGroups: c, generator: &rng)
        }
        labelMapShape = [maps, imageShape[1], imageShape[2]]
        labelMap = maps > 0 ? Embedding(o.classes, labelMapShape.reduce(1, *), generator: &rng) : nil
        head = Sequential(
            Function.relu(), MaskedConv2d(.b, o.features, o.features, kernel: 1, colourGroups: c, generator: &rng),
            Function.relu(),
            MaskedConv2d(.b, o.features, c * o.likelihood.levels, kernel: 1, colourGroups: c, generator: &rng))
    }

    public func callAsFunction(_ images: Tensor, labels: [Int]?) -> Tensor {
        let x = images * 2 - 1
        var vertical = x, horizontal = shiftRight(x)
        var skip: Tensor?
        // The map's top rows when the images are (a sampler's rows so far).
        let map = labels.flatMap { labels in
            labelMap.map {
                $0(labels).reshaped([labels.count] + labelMapShape).sliced(
                    starts: [0, 0, 0, 0], sizes: [labels.count, labelMapShape[0], x.shape[2], x.shape[3]])
            }
        }
        for layer in layers {
            let out = layer(vertical: vertical, horizontal: horizontal, image: x, labels: labels, labelMap: map)
            (vertical, horizontal) = (out.vertical, out.horizontal)
            skip = skip.map { $0 + out.skip } ?? out.skip
        }
        return head(skip!)
    }
}

/// One layer of both stacks of Gated PixelCNN.
final class GatedLayer: Module {
    let vertical: Conv2d
    let horizontal: MaskedConv2d
    let verticalToHorizontal: Conv2d
    /// The first layer's view of the current pixel's earlier colours (colour images only).
    let currentPixel: MaskedConv2d?
    let residual: MaskedConv2d?
    let skip: MaskedConv2d
    let verticalLabel: Embedding?
    let horizontalLabel: Embedding?
    /// 1x1 convolutions of the label map into each stack's gates.
    let verticalLabelMap: Conv2d?
    let horizontalLabelMap: Conv2d?
    let kernel: Int
    let colourGroups: Int

    init(
        inputs: Int, features p: Int, kernel k: Int, first: Bool, classes: Int, labelMaps: Int, colourGroups c: Int,
        generator rng: inout RandomGenerator
    ) {
        (kernel, colourGroups) = (k, c)
        vertical = Conv2d(inputs, 2 * p, kernelSize: (k / 2 + 1, k), generator: &rng)
        // The first layer reads the shifted image: every tap is an earlier pixel.
        horizontal = MaskedConv2d(
            .b, inputs, 2 * p, kernelSize: (1, k / 2 + 1), colourGroups: first ? 1 : c, generator: &rng)
        verticalToHorizontal = Conv2d(2 * p, 2 * p, kernel: 1, generator: &rng)
        residual = first ? nil : MaskedConv2d(.b, p, p, kernel: 1, colourGroups: c, generator: &rng)
        skip = MaskedConv2d(.b, p, p, kernel: 1, colourGroups: c, generator: &rng)
        verticalLabel = classes > 0 ? Embedding(classes, 2 * p, generator: &rng) : nil
        horizontalLabel = classes > 0 ? Embedding(classes, 2 * p, generator: &rng) : nil
        currentPixel =
            first && c > 1
            ? MaskedConv2d(.a, inputs, 2 * p, kernel: 1, colourGroups: c, bias: false, generator: &rng) : nil
        verticalLabelMap = labelMaps > 0 ? Conv2d(labelMaps, 2 * p, kernel: 1, bias: false, generator: &rng) : nil
        horizontalLabelMap = labelMaps > 0 ? Conv2d(labelMaps, 2 * p, kernel: 1, bias: false, generator: &rng) : nil
    }

    func callAsFunction(
        vertical v: Tensor, horizontal h: Tensor, image: Tensor, labels: [Int]?, labelMap: Tensor?
    ) -> (vertical: Tensor, horizontal: Tensor, skip: Tensor) {
        let half = kernel / 2
        // Rows i - k/2 ... i, columns j - k/2 ... j + k/2.
        var vPre = vertical(v, padding: (half, half), paddingAfter: (0, half))
        // Columns j - k/2 ... j of the current row.
        var hPre = horizontal(h, padding: (0, half), paddingAfter: (0, 0)) + verticalToHorizontal(shiftDown(vPre))
        if let currentPixel { hPre = hPre + currentPixel(image) }
        if let labels, let verticalLabel, let horizontalLabel {
            vPre = vPre + verticalLabel(labels).unsqueezed(2).unsqueezed(3)
            hPre = hPre + horizontalLabel(labels).unsqueezed(2).unsqueezed(3)
        }
        if let labelMap, let verticalLabelMap, let horizontalLabelMap {
            vPre = vPre + verticalLabelMap(labelMap)
            hPre = hPre + horizontalLabelMap(labelMap)
        }
        let gatedH = gatedTanh(hPre, groups: colourGroups)
        let hOut = residual.map { h + $0(gatedH) } ?? gatedH
        return (gatedTanh(vPre, groups: colourGroups), hOut, skip(gatedH))
    }
}

/// tanh(a) * sigmoid(b) for maps laid out as `groups` groups of [a, b]: [N, 2p, H, W] -> [N, p, H, W].
func gatedTanh(_ x: Tensor, groups: Int) -> Tensor {
    guard groups > 1 else { return gatedTanh(x) }
    let s = x.shape
    return gatedTanh(x.reshaped([s[0] * groups, s[1] / groups, s[2], s[3]])).reshaped([s[0], s[1] / 2, s[2], s[3]])
}

/// Every row moved down one (the top row zeros): position (i, j) holds what was at (i - 1, j).
func shiftDown(_ x: Tensor) -> Tensor { x.shifted(alongAxis: 2, by: 1) }

/// Every column moved right one (the left column zeros).
func shiftRight(_ x: Tensor) -> Tensor { x.shifted(alongAxis: 3, by: 1) }
