import NeuralNetwork
import TensorEngine

/// PixelRNN (van den Oord et al. 2016, "Pixel Recurrent Neural Networks" §3): a 7 x 7 mask-A
/// convolution to 2h maps, `layers` LSTM layers of h units, each added back to its input
/// through a 1x1 convolution h -> 2h (the residual connections of §3.4), then ReLU, 1x1,
/// ReLU, 1x1 to the logits. The LSTM layer is either
/// - `row`: rows computed one after the other; the gates at row i are a 1 x k input-to-state
///   convolution along the row that sees only columns up to the current one (mask B), plus a
///   1 x k state-to-state convolution of row i - 1's hidden state: a triangular context above;
/// - `diagonalBidirectional`: the maps are skewed (row i moved right by i), so that each column
///   of the skewed map is a diagonal of the image, and columns are computed one after the other;
///   the gates are a 1x1 input-to-state convolution plus a 2 x 1 state-to-state convolution of the
///   previous column's state at rows i - 1 and i (the pixel above and the pixel to the left).
///   A second LSTM runs right to left on the mirrored image; its output is shifted down a row
///   before it is added, so together they see every earlier pixel and nothing later. The maps
///   get one phantom column of zeros on the right, cropped at the end: mask A hides each pixel
///   from its own position, so the last pixel of a row shows only in the features one column to
///   its right, which the right-to-left LSTM of the next row reads.
///
/// Colour (§3.4): every layer's maps and units split into R, G, B groups, and the mask-A input
/// convolution, the input-to-state convolutions (mask B at the current pixel), the residual
/// 1x1s and the head are masked by group, so that a group sees the colours before its own at
/// the current pixel. The state-to-state convolutions read only earlier pixels and are not
/// masked; an LSTM's cell update is per unit, so a unit stays in its group.
public final class PixelRNNNetwork: Module, PixelNetwork {
    public enum Kind: String, Codable, Sendable { case row, diagonalBidirectional = "diagonal-bidirectional" }

    let kind: Kind
    let input: MaskedConv2d
    let layers: [RecurrentLayer]
    let mirroredLayers: [RecurrentLayer]
    let residuals: [MaskedConv2d]
    let head: Sequential

    public init(_ kind: Kind, _ o: PixelCNNOptions, channels c: Int = 1, generator rng: inout RandomGenerator) {
        let maps = o.features, units = o.features / 2
        precondition(units % c == 0, "PixelRNN: \(units) units do not split into \(c) colour groups")
        self.kind = kind
        input = MaskedConv2d(.a, c, maps, kernel: o.firstKernel, colourGroups: c, generator: &rng)
        layers = (0..<o.layers).map { _ in
            RecurrentLayer(kind, inputs: maps, units: units, rowKernel: o.rowKernel, colourGroups: c, generator: &rng)
        }
        mirroredLayers =
            kind == .row
            ? []
            : (0..<o.layers).map { _ in
                RecurrentLayer(
                    kind, inputs: maps, units: units, rowKernel: o.rowKernel, colourGroups: c, generator: &rng)
            }
        residuals = (0..<o.layers).map { _ in
            MaskedConv2d(.b, units, maps, kernel: 1, colourGroups: c, generator: &rng)
        }
        head = Sequential(
            Function.relu(), MaskedConv2d(.b, maps, maps, kernel: 1, colourGroups: c, generator: &rng),
            Function.relu(),
            MaskedConv2d(.b, maps, c * o.likelihood.levels, kernel: 1, colourGroups: c, generator: &rng))
    }

    public func callAsFunction(_ images: Tensor, labels: [Int]?) -> Tensor {
        let width = images.shape[3]
        var x = input(kind == .row ? images * 2 - 1 : (images * 2 - 1).padded([(0, 0), (0, 0), (0, 0), (0, 1)]))
        for (i, layer) in layers.enumerated() {
            var out = layer(x)
            if kind == .diagonalBidirectional {
                out = out + shiftDown(mirroredLayers[i](x.reversed(alongAxis: 3)).reversed(alongAxis: 3))
            }
            x = x + residuals[i](out)
        }
        return head(x.sliced(axis: 3, 0..<width))
    }
}

/// One LSTM layer of PixelRNN over maps [N, C, H, W], giving hidden states [N, units, H, W].
final class RecurrentLayer: Module {
    let kind: PixelRNNNetwork.Kind
    /// Input-to-state: 1 x (k/2 + 1) over columns up to the current one (row), or 1x1 (diagonal),
    /// mask B by colour group at the current pixel (its 4 gates each split into the groups).
    let inputToState: MaskedConv2d
    /// State-to-state over the previous row (1-D, k taps) or the previous column (1-D, 2 taps).
    /// Only its weight is used: `convLSTMScan` applies it at every step.
    let stateToState: Conv1d
    /// k/2: the columns to the left (and, above, to the right) a row LSTM's kernels reach.
    let reach: Int

    init(
        _ kind: PixelRNNNetwork.Kind, inputs: Int, units: Int, rowKernel: Int, colourGroups: Int,
        generator rng: inout RandomGenerator
    ) {
        precondition(rowKernel >= 3 && rowKernel % 2 == 1, "Row LSTM: its kernel width k must be odd and at least 3")
        self.kind = kind
        reach = kind == .row ? rowKernel / 2 : 1
        inputToState = MaskedConv2d(
            .b, inputs, 4 * units, kernelSize: (1, kind == .row ? reach + 1 : 1), colourGroups: colourGroups,
            outputBlocks: 4, generator: &rng)
        stateToState =
            kind == .row
            ? Conv1d(units, 4 * units, kernel: rowKernel, padding: reach, bias: false, generator: &rng)
            : Conv1d(units, 4 * units, kernel: 2, bias: false, generator: &rng)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        kind == .row ? rows(x) : unskewed(diagonals(x), width: x.shape[3])
    }

    /// Row by row: h_i, c_i from the row's input gates and row i - 1's hidden state.
    func rows(_ x: Tensor) -> Tensor {
        let gatesIn = inputToState(x, padding: (0, reach), paddingAfter: (0, 0)) // [N, 4u, H, W]
        return convLSTMScan(gates: gatesIn, weight: stateToState.weight.value, axis: 2, paddingBefore: reach)
    }

    /// Column by column of the skewed map: the state-to-state kernel covers rows i - 1 and i.
    /// The 1x1 input-to-state convolution commutes with the skew, so it runs on the image, about
    /// half the positions of the skewed map; the bias added after the skew stands where the
    /// convolution of the skew's zero padding would have put it.
    func diagonals(_ x: Tensor) -> Tensor {
        let gates =
            skewed(conv2d(x, inputToState.weight.value * inputToState.mask))
            + inputToState.bias!.value.reshaped([1, -1, 1, 1])
        return convLSTMScan(gates: gates, weight: stateToState.weight.value, axis: 3, paddingBefore: 1)
    }
}
