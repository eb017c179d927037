import NeuralNetwork
import TensorEngine

/// A convolutional LSTM run along one axis of a map, as one op: PixelRNN's Row LSTM (down the
/// rows) and Diagonal BiLSTM (along the columns of the skewed map).
///
/// `gates` [N, 4u, H, W] are the input-to-state pre-activations (input, forget, cell, output, as
/// `lstmUpdate`). The scan runs along `axis` (2: row after row; 3: column after column); at every
/// step the previous step's hidden state [N, u, L], L the other axis, adds a 1-D convolution
/// along L with `weight` [4u, u, k], zero-padded: tap j at position l reads l + j - `before`.
/// Returns the hidden states [N, u, H, W]. First derivatives only.
///
/// Composed from separate ops, every step paid for a slice, a pad, an im2col, copies, and a
/// dozen tape nodes: several times the cost of its products. Here each of the S steps is k
/// products written straight into the step's gates and one pass of the state update. The
/// layout makes that possible: per channel, the images lie side by side along L, each with its
/// zero padding, so tap j is the same matrix shifted by j columns.
public func convLSTMScan(gates: Tensor, weight: Tensor, axis: Int, paddingBefore before: Int) -> Tensor {
    precondition(
        gates.rank == 4 && gates.shape[1] % 4 == 0, "conv_lstm_scan: gates \(gates.shape) must be [N, 4u, H, W]")
    precondition(axis == 2 || axis == 3, "conv_lstm_scan: the scan runs along axis 2 or 3, not \(axis)")
    let u = gates.shape[1] / 4
    precondition(
        weight.rank == 3 && weight.shape[0] == 4 * u && weight.shape[1] == u,
        "conv_lstm_scan: weight \(weight.shape) must be [\(4 * u), \(u), k] for gates \(gates.shape)")
    let taps = weight.shape[2]
    precondition(before >= 0 && before < taps, "conv_lstm_scan: padding \(before) before a \(taps)-tap kernel")
    let scan = ScanLayout(shape: gates.shape, axis: axis, taps: taps)
    let (s, cols, used) = (scan.steps, scan.columns, scan.usedColumns)
    let kernels = tapMajor(weight)
    // Per step: the gates [4u, cols] (activated in place), the cell [u, cols], and the hidden
    // state [u, cols] at offset `before`, its padding zero. Index t holds what step t reads.
    let activations = Storage(zeroedCount: s * 4 * u * cols)
    let cells = Storage(zeroedCount: (s + 1) * u * cols)
    let states = Storage(zeroedCount: (s + 1) * u * cols)
    scan.toSteps(gates.storage.pointer, channels: 4 * u, activations.pointer, offset: 0)
    for t in 0..<s {
        let a = activations.pointer + t * 4 * u * cols
        if t > 0 {
            for j in 0..<taps {
                BLAS.parallelGemm(
                    transposeA: false, transposeB: false, m: 4 * u, n: used, k: u, a: kernels.pointer + j * 4 * u * u,
                    lda: u,
                    b: states.pointer + t * u * cols + j, ldb: cols, beta: 1, c: a, ldc: cols)
            }
        }
        let (cell, newCell, newState) = (
            cells.pointer + t * u * cols, cells.pointer + (t + 1) * u * cols, states.pointer + (t + 1) * u * cols
        )
        // Over whole rows, the junk columns included (full vectors); their hidden states land
        // in the padding, which is then cleared.
        scan.forEachUnitRow(units: u) { at in
            let block = u * cols
            forEachVector(used) { x, lanes in
                let (i, f) = (vsigmoid(loadAt(a + at, x, lanes)), vsigmoid(loadAt(a + block + at, x, lanes)))
                let (g, o) = (
                    vtanh(loadAt(a + 2 * block + at, x, lanes)), vsigmoid(loadAt(a + 3 * block + at, x, lanes))
                )
                let c = f * loadAt(cell + at, x, lanes) + i * g
                storeAt(i, a + at, x, lanes); storeAt(f, a + block + at, x, lanes)
                storeAt(g, a + 2 * block + at, x, lanes); storeAt(o, a + 3 * block + at, x, lanes)
                storeAt(c, newCell + at, x, lanes)
                storeAt(o * vtanh(c), newState + at + before, x, lanes)
            }
            scan.clearJunk(newState + at + before, end: cols - before)
        }
    }
    let hidden = Storage(uninitializedCount: gates.count / 4)
    scan.fromSteps(states.pointer + u * cols, channels: u, hidden.pointer, offset: before)
    return Tensor.custom(
        "convLSTMScan", shape: [scan.n, u, scan.height, scan.width], storage: hidden, inputs: [gates, weight]
    ) { grad, needs in
        precondition(
            !Tensor.isRecordingGradients, "conv_lstm_scan has no second derivatives: its backward pass is not recorded")
        let block = u * cols
        let dHidden = Storage(zeroedCount: s * block)
        scan.toSteps(grad.storage.pointer, channels: u, dHidden.pointer, offset: 0)
        // Junk columns (between images) must stay zero here: a tap would carry them into the
        // next image's state gradient.
        let dGates = Storage(zeroedCount: s * 4 * block)
        let dState = Storage(zeroedCount: block) // of the state step t wrote, from step t + 1
        let dCell = Storage(zeroedCount: block) // carried from step t + 1 back to step t
        let dKernels = Storage(zeroedCount: taps * 4 * u * u)
        for t in (0..<s).reversed() {
            let a = activations.pointer + t * 4 * block, d = dGates.pointer + t * 4 * block
            let (cell, newCell, dh) = (
                cells.pointer + t * block, cells.pointer + (t + 1) * block, dHidden.pointer + t * block
            )
            let (ds, dc) = (dState.pointer, dCell.pointer)
            scan.forEachUnitRow(units: u) { at in
                forEachVector(used) { x, lanes in
                    let (i, f, g, o) = (
                        loadAt(a + at, x, lanes), loadAt(a + block + at, x, lanes),
                        loadAt(a + 2 * block + at, x, lanes), loadAt(a + 3 * block + at, x, lanes)
                    )
                    let squashed = vtanh(loadAt(newCell + at, x, lanes))
                    let dOut = loadAt(dh + at, x, lanes) + loadAt(ds + at + before, x, lanes)
                    let dNewCell = loadAt(dc + at, x, lanes) + dOut * o * (1 - squashed * squashed)
                    storeAt(dNewCell * g * i * (1 - i), d + at, x, lanes)
                    storeAt(dNewCell * loadAt(cell + at, x, lanes) * f * (1 - f), d + block + at, x, lanes)
                    storeAt(dNewCell * i * (1 - g * g), d + 2 * block + at, x, lanes)
                    storeAt(dOut * squashed * o * (1 - o), d + 3 * block + at, x, lanes)
                    storeAt(dNewCell * f, dc + at, x, lanes)
                }
                for gate in 0..<4 { scan.clearJunk(d + gate * block + at, end: cols) }
            }
            guard t > 0 else { break }
            ds.update(repeating: 0, count: block)
            for j in 0..<taps {
                let kernel = kernels.pointer + j * 4 * u * u
                BLAS.parallelGemm(
                    transposeA: true, transposeB: false, m: u, n: used, k: 4 * u, a: kernel, lda: u,
                    b: d, ldb: cols, beta: 1, c: ds + j, ldc: cols)
                if needs[1] {
                    BLAS.parallelGemm(
                        transposeA: false, transposeB: true, m: 4 * u, n: u, k: used, a: d, lda: cols,
                        b: states.pointer + t * block + j, ldb: cols, beta: 1, c: dKernels.pointer + j * 4 * u * u,
                        ldc: u)
                }
            }
        }
        var gatesGradient: Tensor?
        if needs[0] {
            let storage = Storage(uninitializedCount: gates.count)
            scan.fromSteps(dGates.pointer, channels: 4 * u, storage.pointer, offset: 0)
            gatesGradient = Tensor(shape: gates.shape, storage: storage)
        }
        return [
            gatesGradient,
            needs[1] ? Tensor(shape: weight.shape, storage: untapMajor(dKernels, shape: weight.shape)) : nil
        ]
    }
}

/// Where the scan keeps a map [N, C, H, W]: step by step, [S, C, columns], image i's position l
/// at column i * stride + l (+ an offset: the hidden states sit after their `before` zeros).
/// The columns between images are junk for the gates and zero padding for the states.
struct ScanLayout {
    let n, height, width, axis, steps, length, stride: Int

    init(shape: [Int], axis: Int, taps: Int) {
        (self.n, self.height, self.width, self.axis) = (shape[0], shape[2], shape[3], axis)
        (self.steps, self.length) = axis == 2 ? (shape[2], shape[3]) : (shape[3], shape[2])
        self.stride = self.length + taps - 1
    }

    var columns: Int { n * stride }
    /// The columns a product must cover: up to the last image's last position.
    var usedColumns: Int { (n - 1) * stride + length }

    /// Calls `body` with the offset of each unit's row in a step's [u, columns] block, the
    /// rows split over the cores.
    func forEachUnitRow(units: Int, _ body: (Int) -> Void) {
        let columns = self.columns
        Parallel.forRanges(units, grain: max(1, elementwiseGrain / (8 * columns))) { rows in
            for row in rows { body(row * columns) }
        }
    }

    /// Zeroes the `stride - length` columns after each image's positions in a row, up to `end`.
    func clearJunk(_ row: UnsafeMutablePointer<Float>, end: Int) {
        for image in 0..<n {
            let start = image * stride + length, count = min(stride - length, end - start)
            if count > 0 { (row + start).update(repeating: 0, count: count) }
        }
    }

    func toSteps(_ map: UnsafePointer<Float>, channels: Int, _ layout: UnsafeMutablePointer<Float>, offset: Int) {
        let length = self.length
        transfer(channels: channels, offset: offset) { from, to, stride in
            if stride == 1 {
                (layout + to).update(from: map + from, count: length)
            } else {
                for l in 0..<length { layout[to + l] = map[from + l * stride] }
            }
        }
    }

    func fromSteps(_ layout: UnsafePointer<Float>, channels: Int, _ map: UnsafeMutablePointer<Float>, offset: Int) {
        let length = self.length
        transfer(channels: channels, offset: offset) { from, to, stride in
            if stride == 1 {
                (map + from).update(from: layout + to, count: length)
            } else {
                for l in 0..<length { map[from + l * stride] = layout[to + l] }
            }
        }
    }

    /// Calls `move(mapStart, layoutStart, mapStride)` for every run of `length` positions: one
    /// step of one channel of one image, contiguous in the steps layout, `mapStride` apart in the
    /// map (1 down rows, the width along columns, where a plane of a few KB stays in cache).
    @inline(__always)
    private func transfer(channels: Int, offset: Int, _ move: (Int, Int, Int) -> Void) {
        let (n, height, width, steps, stride) = (self.n, self.height, self.width, self.steps, self.stride)
        let (stepStride, positionStride) = axis == 2 ? (width, 1) : (1, width) // in the map
        let rowOfSteps = n * stride * channels // in the steps layout
        Parallel.forRanges(n * channels, grain: max(1, elementwiseGrain / (height * width))) { planes in
            for plane in planes {
                let (image, channel) = (plane / channels, plane % channels)
                let layoutBase = channel * n * stride + image * stride + offset
                for step in 0..<steps {
                    move(plane * height * width + step * stepStride, layoutBase + step * rowOfSteps, positionStride)
                }
            }
        }
    }
}

/// weight [4u, u, k] as k matrices [4u, u], one per tap.
private func tapMajor(_ weight: Tensor) -> Storage {
    let (rows, taps) = (weight.shape[0] * weight.shape[1], weight.shape[2])
    let out = Storage(uninitializedCount: weight.count), w = weight.storage.pointer
    for r in 0..<rows { for j in 0..<taps { out.pointer[j * rows + r] = w[r * taps + j] } }
    return out
}

private func untapMajor(_ kernels: Storage, shape: [Int]) -> Storage {
    let (rows, taps) = (shape[0] * shape[1], shape[2])
    let out = Storage(uninitializedCount: rows * taps)
    for r in 0..<rows { for j in 0..<taps { out.pointer[r * taps + j] = kernels.pointer[j * rows + r] } }
    return out
}
