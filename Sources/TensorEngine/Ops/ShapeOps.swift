/// Reshaping, reordering, cutting and joining. Slicing and padding are each other's adjoint, as
/// are concatenation and splitting; all share one strided copy.
extension Tensor {
    /// The same values under another shape (no copy); one size may be -1.
    public func reshaped(_ target: [Int]) -> Tensor {
        let newShape = target == shape ? shape : checked { try Shape.reshaped(shape, to: target) }
        if newShape == shape { return self }
        let original = shape
        return Tensor.result("reshape", shape: newShape, storage: storage, inputs: [self]) { g, _ in
            [g.reshaped(original)]
        }
    }

    public func flattened(startAxis: Int = 1) -> Tensor { reshaped(Array(shape[..<startAxis]) + [-1]) }

    /// Inserts an axis of size 1 at `axis`.
    public func unsqueezed(_ axis: Int) -> Tensor {
        let a = checked { try Shape.axis(axis, rank: rank + 1, op: "unsqueeze") }
        var s = shape; s.insert(1, at: a)
        return reshaped(s)
    }

    /// Removes the axes of size 1 (or only `axis`).
    public func squeezed(_ axis: Int? = nil) -> Tensor {
        if let axis {
            let a = checked { try Shape.axis(axis, rank: rank, op: "squeeze") }
            precondition(shape[a] == 1, "squeeze: axis \(axis) of \(shape) has size \(shape[a]), not 1")
            var s = shape; s.remove(at: a)
            return reshaped(s)
        }
        return reshaped(shape.filter { $0 != 1 })
    }

    /// Axes reordered: output axis i is input axis `order[i]`.
    public func permuted(_ order: [Int]) -> Tensor {
        precondition(
            order.sorted() == Array(0..<rank), "permute: \(order) is not a permutation of the axes of \(shape)")
        if order == Array(0..<rank) { return self }
        let outShape = order.map { shape[$0] }
        let inStrides = Shape.strides(shape)
        let storage = Storage(uninitializedCount: count)
        stridedCopy(
            shape: outShape, from: self.storage.pointer, offset: 0, strides: order.map { inStrides[$0] },
            to: storage.pointer, offset: 0, strides: Shape.strides(outShape))
        var inverse = [Int](repeating: 0, count: rank)
        for (i, o) in order.enumerated() { inverse[o] = i }
        return Tensor.result("permute", shape: outShape, storage: storage, inputs: [self]) { g, _ in
            [g.permuted(inverse)]
        }
    }

    /// The last two axes swapped.
    public func transposed() -> Tensor {
        precondition(rank >= 2, "transpose: needs at least 2 axes, got \(shape)")
        var order = Array(0..<rank)
        order.swapAt(rank - 1, rank - 2)
        return permuted(order)
    }

    /// The box of `sizes` starting at `starts`.
    public func sliced(starts: [Int], sizes: [Int]) -> Tensor {
        precondition(
            starts.count == rank && sizes.count == rank, "slice: starts \(starts) and sizes \(sizes) for shape \(shape)"
        )
        for a in 0..<rank {
            precondition(
                starts[a] >= 0 && sizes[a] >= 0 && starts[a] + sizes[a] <= shape[a],
                "slice: \(starts[a])..<\(starts[a] + sizes[a]) is outside axis \(a) of \(shape)")
        }
        if sizes == shape { return self }
        let strides = Shape.strides(shape)
        let storage = Storage(uninitializedCount: Shape.count(sizes))
        stridedCopy(
            shape: sizes, from: self.storage.pointer, offset: zip(starts, strides).map(*).reduce(0, +),
            strides: strides,
            to: storage.pointer, offset: 0, strides: Shape.strides(sizes))
        let padding = (0..<rank).map { (starts[$0], shape[$0] - starts[$0] - sizes[$0]) }
        let slice = Tensor.result("slice", shape: sizes, storage: storage, inputs: [self]) { g, _ in [g.padded(padding)]
        }
        slice.node?.sliceStarts = starts
        return slice
    }

    /// Adds `region` into this tensor's values from `starts` on, in place: only for a gradient
    /// sum that `gradients(of:)` created and nothing else holds.
    func addRegion(_ region: Tensor, at starts: [Int]) {
        let strides = Shape.strides(shape)
        stridedCopy(
            shape: region.shape, from: region.storage.pointer, offset: 0, strides: Shape.strides(region.shape),
            to: storage.pointer, offset: zip(starts, strides).map(*).reduce(0, +), strides: strides, adding: true)
    }

    /// `range` along one axis.
    public func sliced(axis: Int, _ range: Range<Int>) -> Tensor {
        let a = checked { try Shape.axis(axis, rank: rank, op: "slice") }
        var starts = [Int](repeating: 0, count: rank), sizes = shape
        starts[a] = range.lowerBound; sizes[a] = range.count
        return sliced(starts: starts, sizes: sizes)
    }

    /// Pads every axis with `(before, after)` values of `value`.
    public func padded(_ padding: [(before: Int, after: Int)], value: Float = 0) -> Tensor {
        precondition(
            padding.count == rank && padding.allSatisfy { $0.before >= 0 && $0.after >= 0 },
            "pad: \(padding.count) non-negative (before, after) pairs needed for shape \(shape)")
        let outShape = (0..<rank).map { shape[$0] + padding[$0].before + padding[$0].after }
        if outShape == shape { return self }
        let storage = Storage(repeating: value, count: Shape.count(outShape))
        let outStrides = Shape.strides(outShape)
        stridedCopy(
            shape: shape, from: self.storage.pointer, offset: 0, strides: Shape.strides(shape),
            to: storage.pointer, offset: zip(padding.map(\.before), outStrides).map(*).reduce(0, +), strides: outStrides
        )
        let (starts, sizes) = (padding.map(\.before), shape)
        return Tensor.result("pad", shape: outShape, storage: storage, inputs: [self]) { g, _ in
            [g.sliced(starts: starts, sizes: sizes)]
        }
    }

    /// Joins tensors along an existing axis; all other sizes must agree.
    public static func concatenate(_ tensors: [Tensor], axis: Int) -> Tensor {
        precondition(!tensors.isEmpty, "concatenate: no tensors")
        let first = tensors[0]
        let a = checked { try Shape.axis(axis, rank: first.rank, op: "concatenate") }
        for t in tensors {
            var s = t.shape, f = first.shape
            precondition(s.count == f.count, "concatenate: shapes \(first.shape) and \(t.shape) differ in rank")
            s[a] = 0; f[a] = 0
            precondition(s == f, "concatenate: shapes \(first.shape) and \(t.shape) differ off axis \(axis)")
        }
        if tensors.count == 1 { return first }
        var outShape = first.shape
        outShape[a] = tensors.reduce(0) { $0 + $1.shape[a] }
        let storage = Storage(uninitializedCount: Shape.count(outShape))
        let outStrides = Shape.strides(outShape)
        var offset = 0
        var offsets: [Int] = []
        for t in tensors {
            offsets.append(offset)
            stridedCopy(
                shape: t.shape, from: t.storage.pointer, offset: 0, strides: Shape.strides(t.shape),
                to: storage.pointer, offset: offset * outStrides[a], strides: outStrides)
            offset += t.shape[a]
        }
        let sizes = tensors.map { $0.shape[a] }
        return result("concatenate", shape: outShape, storage: storage, inputs: tensors) { g, c in
            (0..<sizes.count).map { i in c.needs[i] ? g.sliced(axis: a, offsets[i]..<offsets[i] + sizes[i]) : nil }
        }
    }

    /// Joins tensors of one shape along a new axis.
    public static func stack(_ tensors: [Tensor], axis: Int = 0) -> Tensor {
        precondition(!tensors.isEmpty, "stack: no tensors")
        for t in tensors {
            precondition(t.shape == tensors[0].shape, "stack: shapes \(tensors[0].shape) and \(t.shape) differ")
        }
        return concatenate(tensors.map { $0.unsqueezed(axis) }, axis: axis)
    }

    /// Pieces of the given sizes along `axis`.
    public func split(sizes: [Int], axis: Int) -> [Tensor] {
        let a = checked { try Shape.axis(axis, rank: rank, op: "split") }
        precondition(
            sizes.reduce(0, +) == shape[a],
            "split: sizes \(sizes) do not add up to \(shape[a]) (axis \(axis) of \(shape))")
        var start = 0
        return sizes.map { size in
            defer { start += size }
            return sliced(axis: a, start..<start + size)
        }
    }

    /// `parts` equal pieces along `axis`.
    public func split(into parts: Int, axis: Int) -> [Tensor] {
        let a = checked { try Shape.axis(axis, rank: rank, op: "split") }
        precondition(
            parts > 0 && shape[a] % parts == 0, "split: axis \(axis) of \(shape) does not divide into \(parts)")
        return split(sizes: [Int](repeating: shape[a] / parts, count: parts), axis: a)
    }

    /// The whole tensor tiled `multiples[i]` times along axis i (PyTorch's `repeat`).
    public func repeated(_ multiples: [Int]) -> Tensor {
        precondition(
            multiples.count == rank && multiples.allSatisfy { $0 >= 1 }, "repeat: \(multiples) for shape \(shape)")
        let pairs = shape.indices.flatMap { [1, shape[$0]] }
        let expandedShape = shape.indices.flatMap { [multiples[$0], shape[$0]] }
        return reshaped(pairs).expanded(to: expandedShape).reshaped(shape.indices.map { multiples[$0] * shape[$0] })
    }
}
