import TensorEngine

/// Fast generation for the autoregressive networks (after Ramachandran et al., "Fast Generation
/// for Convolutional Autoregressive Models", 2017): every map of the network is kept for the
/// whole image, and after each draw only the outputs whose inputs have just become final are
/// computed. Drawing the whole image then costs about one forward pass instead of one per pixel.
///
/// A network is rebuilt as a graph of nodes, one per cached map. A node's values at a position
/// are a convolution of other maps (any strides, shifts, transposition, masks) plus a bias,
/// followed by a pointwise function of that and of other maps at (shifted) positions. Because
/// every map of these networks depends on the image only through pixels before it in raster
/// order, a node's final positions are always a raster prefix: `done` counts them. When the
/// image's prefix grows, each node extends its own prefix as far as its inputs allow and computes
/// just that range, batched over the images (one product per node and range).
///
/// Maps are [images][row][column][channel] (channel-last, so a tap is one contiguous copy).
/// Positions outside a map read as zero (the convolutions' zero padding). With `groups` G > 1
/// (PixelCNN's colours), a position is final group by group: sub-position `position * G + g`.
final class SamplingNode {
    let images, height, width, channels, groups: Int
    let map: UnsafeMutablePointer<Float>
    /// Sub-positions computed so far, a raster prefix (the image's: drawn so far, set by the graph).
    var done = 0
    private(set) var sources: [SamplingSource] = []
    private(set) var inputs: [SamplingInput] = []
    /// Per output group: the stacked tap weights [K, outputs / groups] and the bias.
    private var weights: [Tensor] = []
    private var biases: [Tensor?] = []
    /// A value per image and channel added before `post` (a class embedding), per group.
    private var perImage: [Tensor]?
    /// [convolution result (if any sources), then each input gathered] -> values [M, channels / groups].
    private var post: ([Tensor]) -> Tensor = { $0[0] }
    /// Diagonal LSTMs: at row i the columns before `skewStart - i` lie before the skewed map's
    /// first column, where the state is zero.
    private(set) var skewStart: Int?
    /// Per source, tap and output group: the group of the last channel read (for readiness).
    private var lastGroups: [[[Int]]] = []
    private var patchWidth = 0

    init(images: Int, height: Int, width: Int, channels: Int, groups: Int, poisoned: Bool) {
        precondition(channels % groups == 0, "sampling graph: \(channels) channels do not split into \(groups) groups")
        (self.images, self.height, self.width, self.channels, self.groups) = (images, height, width, channels, groups)
        let count = images * height * width * channels
        map = .allocate(capacity: count)
        // Poisoned, nothing not yet computed may be read without turning the draw into NaN.
        map.initialize(repeating: poisoned ? .nan : 0, count: count)
    }

    /// What the node computes: after `init`, so that a recurrent node can read its own map.
    func connect(
        sources: [SamplingSource], inputs: [SamplingInput], bias: Tensor?, perImage: Tensor?, skewStart: Int?,
        post: @escaping ([Tensor]) -> Tensor
    ) {
        (self.sources, self.inputs, self.skewStart, self.post) = (sources, inputs, skewStart, post)
        // The product's columns: the convolution's outputs, which `post` may reduce (a gate halves them).
        let outputs = sources.first?.tapWeights.first?.shape[0] ?? 0, perGroup = outputs / groups
        patchWidth = sources.reduce(0) { $0 + $1.taps.count * $1.channels.count }
        var stacked = [Float](repeating: 0, count: patchWidth * outputs) // [K, outputs]
        var row = 0
        for source in sources {
            precondition(
                source.node.groups == groups || source.node.groups == 1, "sampling graph: a source's groups differ")
            for weight in source.tapWeights {
                precondition(
                    weight.shape == [outputs, source.channels.count],
                    "sampling graph: tap weight \(weight.shape), not \([outputs, source.channels.count])")
                let w = weight.scalars
                for c in 0..<source.channels.count {
                    for o in 0..<outputs { stacked[(row + c) * outputs + o] = w[o * source.channels.count + c] }
                }
                row += source.channels.count
            }
        }
        let matrix = Tensor(shape: [patchWidth, outputs], scalars: stacked)
        weights =
            sources.isEmpty ? [] : (0..<groups).map { matrix.sliced(axis: 1, $0 * perGroup..<($0 + 1) * perGroup) }
        biases = (0..<groups).map { g in bias.map { $0.sliced(axis: 0, g * perGroup..<(g + 1) * perGroup) } }
        self.perImage = perImage.map { p in
            (0..<groups).map { p.sliced(axis: 1, $0 * p.shape[1] / groups..<($0 + 1) * p.shape[1] / groups) }
        }
        lastGroups = sources.map { s in
            s.limits.map { perTap in
                perTap.map { limit in
                    s.node.groups == 1 ? 0 : (s.channels.lowerBound + limit - 1) / (s.node.channels / s.node.groups)
                }
            }
        }
    }

    deinit { map.deallocate() }

    var plane: Int { height * width }

    /// Whether sub-position `o` can be computed from what its inputs have computed.
    private func isReady(_ o: Int) -> Bool {
        let position = o / groups, g = o % groups, (i, j) = (position / width, position % width)
        if let skewStart, j < skewStart - i { return true }
        for (s, source) in sources.enumerated() {
            for t in source.taps.indices where source.limits[t][g] > 0 {
                let p = source.position(t, i, j)
                if p >= 0 && p * source.node.groups + lastGroups[s][t][g] >= source.node.done { return false }
            }
        }
        for input in inputs {
            let p = input.position(i, j)
            if p >= 0 && p * input.node.groups + (input.node.groups == 1 ? 0 : g) >= input.node.done { return false }
        }
        return true
    }

    /// Extends the prefix as far as the inputs allow; whether anything was computed. Positions
    /// of one extension never read each other (a node reading itself sees only `done`).
    func advance() -> Bool {
        var end = done
        while end < plane * groups && isReady(end) { end += 1 }
        guard end > done else { return false }
        for g in 0..<groups {
            // positions p with p * G + g in done..<end
            let first = max(0, done - g + groups - 1) / groups, last = (end - 1 - g) / groups
            if end - 1 >= g && last >= first { compute(group: g, positions: first..<last + 1) }
        }
        done = end
        return true
    }

    private func compute(group g: Int, positions: Range<Int>) {
        let rows = positions.count * images, perGroup = channels / groups
        var arguments: [Tensor] = []
        if !sources.isEmpty {
            let patch = Tensor(shape: [rows, patchWidth]) {
                gatherPatch($0.baseAddress!, group: g, positions: positions)
            }
            let product = patch.matmul(weights[g])
            arguments.append(biases[g].map { product + $0 } ?? product)
        }
        for input in inputs {
            let count = input.channels.count / groups
            let lower = input.channels.lowerBound + g * (input.groupStride ?? count)
            arguments.append(
                Tensor(shape: [rows, count]) { out in
                    var to = out.baseAddress!
                    for position in positions {
                        let p = input.position(position / width, position % width)
                        for n in 0..<images {
                            if p < 0 {
                                to.update(repeating: 0, count: count)
                            } else {
                                to.update(
                                    from: input.node.map + (n * input.node.plane + p) * input.node.channels + lower,
                                    count: count)
                            }
                            to += count
                        }
                    }
                })
        }
        if let perImage {
            arguments[0] = (arguments[0].reshaped([positions.count, images, -1]) + perImage[g].unsqueezed(0)).reshaped([
                rows, -1
            ])
        }
        let values = post(arguments)
        precondition(
            values.shape == [rows, perGroup],
            "sampling graph: a node's function gave \(values.shape), not \([rows, perGroup])")
        values.withUnsafeBufferPointer { v in
            var from = v.baseAddress!
            for position in positions {
                let inactive = skewStart.map { position % width < $0 - position / width } ?? false
                for n in 0..<images {
                    let to = map + (n * plane + position) * channels + g * perGroup
                    if inactive {
                        to.update(repeating: 0, count: perGroup)
                    } else {
                        to.update(from: from, count: perGroup)
                    }
                    from += perGroup
                }
            }
        }
    }

    /// The rows [positions x images, K] of the convolution's product: each tap's channels, the
    /// ones a mask hides (and positions outside the input) zero, never read.
    private func gatherPatch(_ out: UnsafeMutablePointer<Float>, group g: Int, positions: Range<Int>) {
        var row = out
        for position in positions {
            let (i, j) = (position / width, position % width)
            for n in 0..<images {
                var to = row
                for source in sources {
                    let node = source.node, width = source.channels.count
                    for t in source.taps.indices {
                        let p = source.position(t, i, j), limit = p < 0 ? 0 : source.limits[t][g]
                        if limit > 0 {
                            to.update(
                                from: node.map + (n * node.plane + p) * node.channels + source.channels.lowerBound,
                                count: limit)
                        }
                        if limit < width { (to + limit).update(repeating: 0, count: width - limit) }
                        to += width
                    }
                }
                row += patchWidth
            }
        }
    }
}

/// A convolution's input: output (i, j) reads, for each tap (a, b), the input at
/// (stride * i - top + a, stride * j - left + b); transposed (up-sampling), the input (r, c) with
/// stride * r = i + top - a and stride * c = j + left - b (`top`, `left` then being the crop).
struct SamplingSource {
    /// Unowned: the graph holds its nodes, and a recurrent node reads itself.
    unowned let node: SamplingNode
    let channels: Range<Int>
    let stride, top, left: Int
    let transposed: Bool
    let taps: [(row: Int, column: Int)]
    /// Per tap: the weight [outputs, channels.count].
    let tapWeights: [Tensor]
    /// Per tap and output group: how many of `channels`, from the first, the tap reads (fewer at a
    /// masked centre, none for a hidden group).
    let limits: [[Int]]

    init(
        _ node: SamplingNode, channels: Range<Int>? = nil, stride: Int = 1, top: Int, left: Int,
        transposed: Bool = false,
        taps: [(row: Int, column: Int)], weights: [Tensor], limits: [[Int]]? = nil, outputGroups: Int = 1
    ) {
        self.node = node
        self.channels = channels ?? 0..<node.channels
        (self.stride, self.top, self.left, self.transposed, self.taps, self.tapWeights) = (
            stride, top, left, transposed, taps, weights
        )
        self.limits =
            limits ?? taps.map { _ in [Int](repeating: channels?.count ?? node.channels, count: outputGroups) }
    }

    /// Every tap of a 4-D kernel [outputs, inputs, kh, kw] ([inputs, outputs, ...] transposed).
    init(
        _ node: SamplingNode, channels: Range<Int>? = nil, kernel: Tensor, stride: Int = 1, top: Int, left: Int,
        transposed: Bool = false,
        outputGroups: Int = 1
    ) {
        let (kh, kw) = (kernel.shape[2], kernel.shape[3])
        let taps = (0..<kh).flatMap { a in (0..<kw).map { b in (row: a, column: b) } }
        self.init(
            node, channels: channels, stride: stride, top: top, left: left, transposed: transposed, taps: taps,
            weights: taps.map { SamplingSource.tap(kernel, $0.row, $0.column, transposed: transposed) },
            outputGroups: outputGroups)
    }

    /// kernel[:, :, a, b] as [outputs, inputs].
    static func tap(_ kernel: Tensor, _ a: Int, _ b: Int, transposed: Bool = false) -> Tensor {
        let w = kernel.sliced(starts: [0, 0, a, b], sizes: [kernel.shape[0], kernel.shape[1], 1, 1]).reshaped([
            kernel.shape[0], kernel.shape[1]
        ])
        return transposed ? w.transposed() : w
    }

    /// The raster index in `node` that tap t reads for output (i, j), or -1 (zero padding).
    @inline(__always)
    func position(_ t: Int, _ i: Int, _ j: Int) -> Int {
        var (r, c) = (0, 0)
        if transposed {
            let (rs, cs) = (i + top - taps[t].row, j + left - taps[t].column)
            guard rs >= 0, cs >= 0, rs % stride == 0, cs % stride == 0 else { return -1 }
            (r, c) = (rs / stride, cs / stride)
        } else {
            (r, c) = (stride * i - top + taps[t].row, stride * j - left + taps[t].column)
        }
        return r >= 0 && r < node.height && c >= 0 && c < node.width ? r * node.width + c : -1
    }
}

/// Another map read at the position itself, moved: (i + rowShift, j + columnShift), or mirrored,
/// (i + rowShift, columnShift - j); zero outside the map. With G groups, group g reads the g-th
/// part of `channels`, or, with a `groupStride`, as many channels `groupStride` * g further on.
struct SamplingInput {
    unowned let node: SamplingNode
    let channels: Range<Int>
    let rowShift, columnShift: Int
    let mirrored: Bool
    let groupStride: Int?

    init(
        _ node: SamplingNode, channels: Range<Int>? = nil, rowShift: Int = 0, columnShift: Int = 0,
        mirrored: Bool = false, groupStride: Int? = nil
    ) {
        (self.node, self.channels) = (node, channels ?? 0..<node.channels)
        (self.rowShift, self.columnShift, self.mirrored, self.groupStride) = (
            rowShift, columnShift, mirrored, groupStride
        )
    }

    @inline(__always)
    func position(_ i: Int, _ j: Int) -> Int {
        let (r, c) = (i + rowShift, mirrored ? columnShift - j : j + columnShift)
        return r >= 0 && r < node.height && c >= 0 && c < node.width ? r * node.width + c : -1
    }
}
