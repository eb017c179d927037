import TestSupport
import XCTest
@testable import GenerativeModels
import NeuralNetwork
import TensorEngine

final class ConvLSTMScanTests: XCTestCase {
    /// The fused convolutional LSTM scan equals the same recurrence written step by step with
    /// engine ops (a slice of the gates, a zero-padded 1-D convolution of the previous hidden
    /// state, `lstmUpdate`), down rows and along columns, for taps before and after the position
    /// and with 2 images, whose padding must keep them apart. Its gradients with respect to the
    /// gates and the weight match finite differences.
    func testConvLSTMScan() {
        for (axis, taps, before) in [(2, 3, 1), (3, 2, 1), (3, 3, 0), (2, 2, 1)] {
            let gates = randomTensor([2, 8, 3, 5], seed: 45), weight = randomTensor([8, 2, taps], seed: 46)
            let (steps, u) = (gates.shape[axis], 2)
            var hidden = Tensor.zeros([2, u, gates.shape[5 - axis]]), cell = hidden, outputs: [Tensor] = []
            for step in 0..<steps {
                let recurrent = conv1d(hidden.padded([(0, 0), (0, 0), (before, taps - 1 - before)]), weight)
                let state = lstmUpdate(gates: gates.sliced(axis: axis, step..<step + 1).squeezed(axis) + recurrent, cell: cell)
                (hidden, cell) = (state.sliced(axis: 1, 0..<u), state.sliced(axis: 1, u..<2 * u))
                outputs.append(hidden)
            }
            let scan = convLSTMScan(gates: gates, weight: weight, axis: axis, paddingBefore: before)
            XCTAssertEqual(scan.shape, [2, u, 3, 5])
            assertClose(scan, Tensor.stack(outputs, axis: axis).scalars, tolerance: 1e-5, "axis \(axis), \(taps) taps, \(before) before")
            assertGradientsMatchFiniteDifferences([gates, weight]) { convLSTMScan(gates: $0[0], weight: $0[1], axis: axis, paddingBefore: before) }
        }
    }
}
