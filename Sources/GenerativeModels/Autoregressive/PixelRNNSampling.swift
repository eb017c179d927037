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
extension PixelRNNNetwork: CachedSampling {
    func samplingGraph(
        images: Int, labels: [Int]?, channels c: Int, height: Int, width: Int, poisoned: Bool
    ) -> SamplingGraph {
        precondition(c == 1, "PixelRNN models grey images; got \(c) channels")
        let graph = SamplingGraph(images: images, channels: 1, height: height, width: width, poisoned: poisoned)
        let wide = kind == .row ? width : width + 1 // the phantom column of the diagonal kind
        let maps = input.weight.value.shape[0]
        var x = graph.node(
            channels: maps, width: wide,
            sources: [
                graph.maskedSource(
                    graph.image, weight: input.weight.value * input.mask, mask: input.mask, padding: input.padding)
            ],
            bias: input.bias?.value)
        for (l, layer) in layers.enumerated() {
            let units = layer.stateToState.weight.value.shape[1]
            let hidden: SamplingNode
            if kind == .row {
                hidden = rowLSTM(layer, x, graph)
            } else {
                let offset = height - 1
                let forward = diagonalLSTM(layer, x, graph)
                let mirrored = graph.node(
                    channels: maps, width: wide, inputs: [SamplingInput(x, columnShift: wide - 1, mirrored: true)])
                let backward = diagonalLSTM(mirroredLayers[l], mirrored, graph)
                hidden = graph.node(
                    channels: units, width: wide,
                    inputs: [
                        SamplingInput(forward, channels: 0..<units, columnShift: offset),
                        SamplingInput(
                            backward, channels: 0..<units, rowShift: -1, columnShift: wide - 1 + offset, mirrored: true)
                    ])
            }
            x = graph.node(
                channels: maps, width: wide,
                sources: [
                    graph.source(hidden, kernel: residuals[l].weight.value, top: 0, left: 0, channels: 0..<units)
                ],
                inputs: [SamplingInput(x)], bias: residuals[l].bias?.value)
        }
        graph.chain(head.layers, from: x) // the head's maps are the image's width: the phantom column cropped
        return graph
    }

    /// Row LSTM: gates from x at (i, j - r) ... (i, j) and the hidden state at (i - 1, j - r ... j + r),
    /// r = k/2.
    private func rowLSTM(_ layer: RecurrentLayer, _ x: SamplingNode, _ graph: SamplingGraph) -> SamplingNode {
        let recurrent = layer.stateToState.weight.value, units = recurrent.shape[1]
        return graph.node(
            channels: 2 * units, width: x.width,
            sources: [graph.source(x, kernel: layer.inputToState.weight.value, top: 0, left: layer.reach)],
            bias: layer.inputToState.bias?.value,
            recurrent: { node in
                let taps = (0..<recurrent.shape[2]).map { (row: 0, column: $0) }
                return (
                    [
                        SamplingSource(
                            node, channels: 0..<units, top: 1, left: layer.reach, taps: taps,
                            weights: taps.map { tapWeight(recurrent, $0.column) })
                    ],
                    [SamplingInput(node, channels: units..<2 * units, rowShift: -1)]
                )
            }, post: lstmCell)
    }

    /// Diagonal LSTM over a map x (wide columns): gates from x at (i, j) and the hidden states at
    /// (i - 1, j) (tap 0) and (i, j - 1) (tap 1); node column j + H - 1 holds image column j.
    private func diagonalLSTM(_ layer: RecurrentLayer, _ x: SamplingNode, _ graph: SamplingGraph) -> SamplingNode {
        let recurrent = layer.stateToState.weight.value, units = recurrent.shape[1], offset = x.height - 1
        return graph.node(
            channels: 2 * units, width: x.width + offset,
            sources: [graph.source(x, kernel: layer.inputToState.weight.value, top: 0, left: offset)],
            bias: layer.inputToState.bias?.value, skewStart: offset,
            recurrent: { node in
                (
                    [
                        SamplingSource(
                            node, channels: 0..<units, top: 1, left: 1,
                            taps: [(row: 0, column: 1), (row: 1, column: 0)],
                            weights: [tapWeight(recurrent, 0), tapWeight(recurrent, 1)])
                    ],
                    [SamplingInput(node, channels: units..<2 * units, columnShift: -1)]
                )
            }, post: lstmCell)
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
