import NeuralNetwork
import TensorEngine

/// PixelRNN's cached sampler: each LSTM is a recurrent node whose map holds [hidden, cell] and
/// which reads its own earlier positions, so the state is carried instead of re-run.
/// - Row LSTM: the cell at (i, j) from the gates of row i's inputs at j - 1, j and of row i - 1's
///   hidden state at j - 1 ... j + 1, and row i - 1's cell at j: computed pixel by pixel.
/// - Diagonal BiLSTM: in the skewed map a step is a column, so the forward LSTM at (i, j) reads
///   the states at (i - 1, j) and (i, j - 1): pixel by pixel again. The skew puts positions left
///   of the image (j in -i ..< 0) in the scan, with the bias as their only input: the node is
///   H - 1 columns wider on the left (zero before the skewed map begins). The right-to-left LSTM
///   runs on a mirrored copy of the maps; mirrored, a row is final only when the row is complete
///   (with its phantom column), and shifted down a row it is needed only then.
/// With colours, every map is final colour group by colour group, as in PixelCNN's sampler.
extension PixelRNNNetwork: CachedSampling {
    func samplingGraph(
        images: Int, labels: [Int]?, channels c: Int, height: Int, width: Int, poisoned: Bool
    ) -> SamplingGraph {
        let graph = SamplingGraph(
            images: images, channels: c, height: height, width: width, groups: c, poisoned: poisoned)
        let wide = kind == .row ? width : width + 1 // the phantom column of the diagonal kind
        let maps = input.weight.value.shape[0]
        var x = graph.node(
            channels: maps, width: wide, sources: [graph.maskedSource(graph.image, input)], bias: input.bias?.value)
        for (l, layer) in layers.enumerated() {
            let layout = LSTMLayout(units: layer.stateToState.weight.value.shape[1], groups: c)
            let hidden: SamplingNode
            if kind == .row {
                let lstm = rowLSTM(layer, x, graph, layout)
                hidden = graph.node(channels: layout.units, width: wide, inputs: [layout.hidden(lstm)])
            } else {
                let offset = height - 1
                let forward = diagonalLSTM(layer, x, graph, layout)
                let mirrored = graph.node(
                    channels: maps, width: wide, inputs: [SamplingInput(x, columnShift: wide - 1, mirrored: true)])
                let backward = diagonalLSTM(mirroredLayers[l], mirrored, graph, layout)
                hidden = graph.node(
                    channels: layout.units, width: wide,
                    inputs: [
                        layout.hidden(forward, columnShift: offset),
                        layout.hidden(backward, rowShift: -1, columnShift: wide - 1 + offset, mirrored: true)
                    ])
            }
            x = graph.node(
                channels: maps, width: wide, sources: [graph.maskedSource(hidden, residuals[l])],
                inputs: [SamplingInput(x)], bias: residuals[l].bias?.value)
        }
        graph.chain(head.layers, from: x) // the head's maps are the image's width: the phantom column cropped
        return graph
    }

    /// Row LSTM: gates from x at (i, j - r) ... (i, j) and the hidden state at (i - 1, j - r ... j + r),
    /// r = k/2.
    private func rowLSTM(
        _ layer: RecurrentLayer, _ x: SamplingNode, _ graph: SamplingGraph, _ layout: LSTMLayout
    ) -> SamplingNode {
        let recurrent = layer.stateToState.weight.value
        return graph.node(
            channels: 2 * layout.units, width: x.width,
            sources: [layout.inputSource(layer.inputToState, x, graph, left: layer.reach)],
            bias: layout.gates(layer.inputToState.bias!.value),
            recurrent: { node in
                (
                    [
                        layout.stateSource(
                            node, top: 1, left: layer.reach,
                            taps: (0..<recurrent.shape[2]).map {
                                (row: 0, column: $0, weight: tapWeight(recurrent, $0))
                            })
                    ],
                    [layout.cell(node, rowShift: -1)]
                )
            }, post: lstmCell)
    }

    /// Diagonal LSTM over a map x (wide columns): gates from x at (i, j) and the hidden states at
    /// (i - 1, j) (tap 0) and (i, j - 1) (tap 1); node column j + H - 1 holds image column j.
    private func diagonalLSTM(
        _ layer: RecurrentLayer, _ x: SamplingNode, _ graph: SamplingGraph, _ layout: LSTMLayout
    ) -> SamplingNode {
        let recurrent = layer.stateToState.weight.value, offset = x.height - 1
        return graph.node(
            channels: 2 * layout.units, width: x.width + offset,
            sources: [layout.inputSource(layer.inputToState, x, graph, left: offset)],
            bias: layout.gates(layer.inputToState.bias!.value), skewStart: offset,
            recurrent: { node in
                (
                    [
                        layout.stateSource(
                            node, top: 1, left: 1,
                            taps: [
                                (row: 0, column: 1, weight: tapWeight(recurrent, 0)),
                                (row: 1, column: 0, weight: tapWeight(recurrent, 1))
                            ])
                    ],
                    [layout.cell(node, columnShift: -1)]
                )
            }, post: lstmCell)
    }
}

/// An LSTM node's channels, colour group by colour group: [hidden, cell] of the group's
/// u / G units each, so that a group's gates, states and cells are one slice of the node, as
/// the sampling graph computes a node group by group. Its gates are reordered to match: by
/// group, then (input, forget, cell, output). With one group, the network's own layout.
struct LSTMLayout {
    let units, groups: Int
    var perGroup: Int { units / groups }

    /// The rows of a [4u, ...] gate tensor, gate by gate, in the node's order.
    func gates(_ t: Tensor) -> Tensor {
        guard groups > 1 else { return t }
        let row = t.count / t.shape[0]
        let order = (0..<groups).flatMap { g in
            (0..<4).flatMap { gate in (0..<perGroup).map { gate * units + g * perGroup + $0 } }
        }
        let source = t.scalars
        return Tensor(shape: t.shape) { out in
            for (to, from) in order.enumerated() {
                for k in 0..<row { out[to * row + k] = source[from * row + k] }
            }
        }
    }

    /// The input-to-state convolution's source, its outputs in the node's order.
    func inputSource(_ conv: MaskedConv2d, _ x: SamplingNode, _ graph: SamplingGraph, left: Int) -> SamplingSource {
        graph.maskedSource(x, weight: gates(conv.weight.value * conv.mask), mask: gates(conv.mask), top: 0, left: left)
    }

    /// The state-to-state source: taps [outputs 4u, hidden u] reading the node's own hidden
    /// states. With groups they are spread over the node's channels, so it reads all of them,
    /// the cells with weight zero.
    func stateSource(
        _ node: SamplingNode, top: Int, left: Int, taps: [(row: Int, column: Int, weight: Tensor)]
    ) -> SamplingSource {
        let weights = taps.map { tap -> Tensor in
            let w = gates(tap.weight)
            guard groups > 1 else { return w }
            let source = w.scalars
            return Tensor(shape: [4 * units, 2 * units]) { out in
                out.update(repeating: 0)
                for o in 0..<4 * units {
                    for unit in 0..<units {
                        out[o * 2 * units + unit / perGroup * 2 * perGroup + unit % perGroup] = source[o * units + unit]
                    }
                }
            }
        }
        return SamplingSource(
            node, channels: 0..<(groups > 1 ? 2 : 1) * units, top: top, left: left,
            taps: taps.map { (row: $0.row, column: $0.column) }, weights: weights, outputGroups: groups)
    }

    /// The hidden states, read at a moved position, in the network's order.
    func hidden(
        _ node: SamplingNode, rowShift: Int = 0, columnShift: Int = 0, mirrored: Bool = false
    ) -> SamplingInput {
        SamplingInput(
            node, channels: 0..<units, rowShift: rowShift, columnShift: columnShift, mirrored: mirrored,
            groupStride: 2 * perGroup)
    }

    /// The cells, read at a moved position.
    func cell(_ node: SamplingNode, rowShift: Int = 0, columnShift: Int = 0) -> SamplingInput {
        SamplingInput(
            node, channels: perGroup..<perGroup + units, rowShift: rowShift, columnShift: columnShift,
            groupStride: 2 * perGroup)
    }
}

/// A 1-D kernel [outputs, inputs, k]'s tap t as [outputs, inputs].
private func tapWeight(_ kernel: Tensor, _ t: Int) -> Tensor {
    kernel.sliced(starts: [0, 0, t], sizes: [kernel.shape[0], kernel.shape[1], 1]).reshaped([
        kernel.shape[0], kernel.shape[1]
    ])
}

/// [gates (input, forget, cell, output) [M, 4u], previous cell [M, u]] -> [hidden, cell] [M, 2u].
private func lstmCell(_ arguments: [Tensor]) -> Tensor {
    let (gates, previous) = (arguments[0], arguments[1]), u = previous.shape[1]
    let gate = { (k: Int) in gates.sliced(axis: 1, k * u..<(k + 1) * u) }
    let cell = gate(1).sigmoid() * previous + gate(0).sigmoid() * gate(2).tanh()
    return Tensor.concatenate([gate(3).sigmoid() * cell.tanh(), cell], axis: 1)
}
