import TensorEngine

/// One step of a long short-term memory (Hochreiter & Schmidhuber 1997), with PyTorch's layout:
/// the four gates (input, forget, cell, output) stacked in the rows of `weightIH` [4h, in] and
/// `weightHH` [4h, h].
public final class LSTMCell: Module {
    public let weightIH: Parameter
    public let weightHH: Parameter
    public let biasIH: Parameter
    public let biasHH: Parameter
    public let hiddenSize: Int

    public init(_ inputs: Int, _ hidden: Int, generator: inout RandomGenerator) {
        let bound = 1 / Float(hidden).squareRoot()
        func uniform(_ shape: [Int]) -> Parameter {
            Parameter(Tensor.uniform(shape, low: -bound, high: bound, generator: &generator))
        }
        weightIH = uniform([4 * hidden, inputs])
        weightHH = uniform([4 * hidden, hidden])
        biasIH = uniform([4 * hidden])
        biasHH = uniform([4 * hidden])
        hiddenSize = hidden
    }

    /// Zero hidden and cell states for a batch.
    public func zeroState(batch: Int) -> (hidden: Tensor, cell: Tensor) {
        (Tensor.zeros([batch, hiddenSize]), Tensor.zeros([batch, hiddenSize]))
    }

    /// (h', c') from input [N, in] and state (h, c) [N, hidden].
    public func callAsFunction(_ x: Tensor, state: (hidden: Tensor, cell: Tensor)) -> (hidden: Tensor, cell: Tensor) {
        let gates =
            linear(x, weight: weightIH.value, bias: biasIH.value)
            + linear(state.hidden, weight: weightHH.value, bias: biasHH.value)
        return LSTMCell.update(gates: gates, cell: state.cell)
    }

    /// The LSTM's state update from pre-activation gates [N, 4h, ...] (shared with convolutional
    /// LSTMs, whose gates come from convolutions instead of products), in one fused pass.
    public static func update(gates: Tensor, cell: Tensor) -> (hidden: Tensor, cell: Tensor) {
        let state = lstmUpdate(gates: gates, cell: cell), units = cell.shape[1]
        return (state.sliced(axis: 1, 0..<units), state.sliced(axis: 1, units..<2 * units))
    }
}
