import TensorEngine

/// The LSTM state update in one pass: from pre-activation gates [N, 4u, ...] (input, forget,
/// cell, output, stacked along axis 1, PyTorch's order) and the cell [N, u, ...], the tensor
/// [N, 2u, ...] whose first u channels are the new hidden state h' = o tanh(c') and whose last u
/// are the new cell c' = f c + i g (i, f, o sigmoids, g a tanh). Composed from separate ops the
/// update makes about a dozen passes over memory; a recurrence runs it at every step.
public func lstmUpdate(gates: Tensor, cell: Tensor) -> Tensor {
    precondition(
        gates.rank >= 2 && gates.shape[1] % 4 == 0, "lstm_update: gates \(gates.shape) need 4u channels on axis 1")
    let (n, u) = (gates.shape[0], gates.shape[1] / 4), positions = Array(gates.shape.dropFirst(2))
    precondition(
        cell.shape == [n, u] + positions, "lstm_update: cell \(cell.shape) does not match gates \(gates.shape)")
    let block = u * Shape.count(positions)
    let storage = Storage(uninitializedCount: n * 2 * block)
    let pg = gates.storage.pointer, pc = cell.storage.pointer, out = storage.pointer
    Parallel.forRanges(n, grain: max(1, elementwiseGrain / max(1, 6 * block))) { images in
        for image in images {
            let g = pg + image * 4 * block, c = pc + image * block, y = out + image * 2 * block
            forEachVector(block) { at, count in
                let (i, f) = (vsigmoid(loadAt(g, at, count)), vsigmoid(loadAt(g + block, at, count)))
                let (candidate, o) = (
                    vtanh(loadAt(g + 2 * block, at, count)), vsigmoid(loadAt(g + 3 * block, at, count))
                )
                let newCell = f * loadAt(c, at, count) + i * candidate
                storeAt(o * vtanh(newCell), y, at, count)
                storeAt(newCell, y + block, at, count)
            }
        }
    }
    return Tensor.custom("lstmUpdate", shape: [n, 2 * u] + positions, storage: storage, inputs: [gates, cell]) {
        grad, needs in
        // Recorded (gradients of gradients): the same formulas as differentiable ops.
        if Tensor.isRecordingGradients { return lstmUpdateGradientsComposed(grad, gates: gates, cell: cell) }
        return lstmUpdateGradients(grad, gates: gates, cell: cell, needsCell: needs[1])
    }
}

/// With dc~ = dc' + dh' o (1 - tanh²c'): d(input) = dc~ g i(1 - i), d(forget) = dc~ c f(1 - f),
/// d(cell candidate) = dc~ i (1 - g²), d(output) = dh' tanh(c') o(1 - o), dc = dc~ f. The
/// activations are recomputed from the gates rather than kept from the forward pass.
func lstmUpdateGradients(_ grad: Tensor, gates: Tensor, cell: Tensor, needsCell: Bool) -> [Tensor?] {
    let n = gates.shape[0], block = cell.count / n
    let gatesGradient = Storage(uninitializedCount: gates.count)
    let cellGradient = needsCell ? Storage(uninitializedCount: cell.count) : nil
    let pg = gates.storage.pointer, pc = cell.storage.pointer, pd = grad.storage.pointer
    let dg = gatesGradient.pointer, dc = cellGradient?.pointer
    Parallel.forRanges(n, grain: max(1, elementwiseGrain / max(1, 12 * block))) { images in
        for image in images {
            let g = pg + image * 4 * block, c = pc + image * block, d = pd + image * 2 * block,
                out = dg + image * 4 * block
            forEachVector(block) { at, count in
                let (i, f) = (vsigmoid(loadAt(g, at, count)), vsigmoid(loadAt(g + block, at, count)))
                let (candidate, o) = (
                    vtanh(loadAt(g + 2 * block, at, count)), vsigmoid(loadAt(g + 3 * block, at, count))
                )
                let previous = loadAt(c, at, count)
                let squashed = vtanh(f * previous + i * candidate)
                let dh = loadAt(d, at, count)
                let dCell = loadAt(d + block, at, count) + dh * o * (1 - squashed * squashed)
                storeAt(dCell * candidate * i * (1 - i), out, at, count)
                storeAt(dCell * previous * f * (1 - f), out + block, at, count)
                storeAt(dCell * i * (1 - candidate * candidate), out + 2 * block, at, count)
                storeAt(dh * squashed * o * (1 - o), out + 3 * block, at, count)
                if let dc { storeAt(dCell * f, dc + image * block, at, count) }
            }
        }
    }
    return [
        Tensor(shape: gates.shape, storage: gatesGradient), cellGradient.map { Tensor(shape: cell.shape, storage: $0) }
    ]
}

func lstmUpdateGradientsComposed(_ grad: Tensor, gates: Tensor, cell: Tensor) -> [Tensor?] {
    let parts = gates.split(into: 4, axis: 1), u = cell.shape[1]
    let (i, f, candidate, o) = (parts[0].sigmoid(), parts[1].sigmoid(), parts[2].tanh(), parts[3].sigmoid())
    let squashed = (f * cell + i * candidate).tanh()
    let dh = grad.sliced(axis: 1, 0..<u)
    let dCell = grad.sliced(axis: 1, u..<2 * u) + dh * o * (1 - squashed * squashed)
    let gatesGradient = Tensor.concatenate(
        [
            dCell * candidate * i * (1 - i), dCell * cell * f * (1 - f),
            dCell * i * (1 - candidate * candidate), dh * squashed * o * (1 - o)
        ], axis: 1)
    return [gatesGradient, dCell * f]
}
