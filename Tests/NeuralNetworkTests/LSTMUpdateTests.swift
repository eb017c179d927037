import TestSupport
import XCTest
@testable import NeuralNetwork
import TensorEngine

final class LSTMUpdateTests: XCTestCase {
    /// The fused LSTM update equals its equations (with full 16-lane vectors and a partial one:
    /// 18 values per image), and its gradients for both the gates and the cell match finite
    /// differences through both outputs, h' and c'.
    func testLSTMUpdate() {
        let gates = randomTensor([2, 8, 3, 3], seed: 43), cell = randomTensor([2, 2, 3, 3], seed: 44)
        let parts = gates.split(into: 4, axis: 1)
        let newCell = parts[1].sigmoid() * cell + parts[0].sigmoid() * parts[2].tanh()
        let expected = Tensor.concatenate([parts[3].sigmoid() * newCell.tanh(), newCell], axis: 1)
        assertClose(lstmUpdate(gates: gates, cell: cell), expected.scalars, tolerance: 1e-5)
        assertGradientsMatchFiniteDifferences([gates, cell]) { lstmUpdate(gates: $0[0], cell: $0[1]) }
        assertGradientsMatchFiniteDifferences([gates]) { lstmUpdate(gates: $0[0], cell: cell).sliced(axis: 1, 0..<2) }
    }

    /// Its recorded backward pass is composed of differentiable ops: second derivatives hold.
    func testLSTMUpdateSecondDerivatives() {
        assertSecondDerivativesMatchFiniteDifferences([randomTensor([1, 8, 3], seed: 14), randomTensor([1, 2, 3], seed: 15)]) {
            lstmUpdate(gates: $0[0], cell: $0[1])
        }
    }
}
