/// Gathers by flat index and its adjoint, the scatter-add. Every indexing op (selecting rows,
/// picking one entry per row, max pooling, max along an axis) is a gather with indices it
/// computes, so one pair of rules differentiates them all, to any order.
extension Tensor {
    /// `out[i] = self.flat[indices[i]]`, shaped `shape`.
    func gatherFlat(_ indices: [Int32], shape outShape: [Int]) -> Tensor {
        precondition(indices.count == Shape.count(outShape))
        let storage = Storage(uninitializedCount: indices.count)
        let src = self.storage.pointer, dst = storage.pointer
        indices.withUnsafeBufferPointer { idx in
            Parallel.forRanges(idx.count, grain: elementwiseGrain) { r in
                for i in r { dst[i] = src[Int(idx[i])] }
            }
        }
        let original = shape
        return Tensor.result("gather", shape: outShape, storage: storage, inputs: [self]) { g, _ in
            [g.scatterAddFlat(indices, shape: original)]
        }
    }

    /// A zero tensor of `shape` with `self.flat[i]` added at `indices[i]`.
    func scatterAddFlat(_ indices: [Int32], shape outShape: [Int]) -> Tensor {
        precondition(indices.count == count)
        let storage = Storage(zeroedCount: Shape.count(outShape))
        let src = self.storage.pointer, dst = storage.pointer
        // Sequential: indices may repeat, and the order of additions must not depend on threads.
        indices.withUnsafeBufferPointer { idx in
            for i in idx.indices { dst[Int(idx[i])] += src[i] }
        }
        let original = shape
        return Tensor.result("scatterAdd", shape: outShape, storage: storage, inputs: [self]) { g, _ in
            [g.gatherFlat(indices, shape: original)]
        }
    }

    /// The slices at `indices` along `axis` (PyTorch's `index_select`; an embedding lookup along axis 0).
    public func gather(_ indices: [Int], alongAxis axis: Int) -> Tensor {
        let a = checked { try Shape.axis(axis, rank: rank, op: "gather") }
        let (outer, length, inner) = view(around: a...a)
        for i in indices {
            precondition(
                i >= 0 && i < length, "gather: index \(i) is out of range 0..<\(length) (axis \(axis) of \(shape))")
        }
        var flat = [Int32](); flat.reserveCapacity(outer * indices.count * inner)
        for o in 0..<outer {
            for i in indices {
                let base = (o * length + i) * inner
                for k in 0..<inner { flat.append(Int32(base + k)) }
            }
        }
        var outShape = shape; outShape[a] = indices.count
        return gatherFlat(flat, shape: outShape)
    }

    /// The tensor read backwards along `axis` (NumPy's `flip`); its own adjoint. A gather would
    /// do the same through an index per element and a sequential scatter-add on the way back.
    public func reversed(alongAxis axis: Int) -> Tensor {
        let a = checked { try Shape.axis(axis, rank: rank, op: "reversed") }
        let (outer, length, inner) = view(around: a...a)
        let storage = Storage(uninitializedCount: count)
        let (source, target) = (self.storage.pointer, storage.pointer)
        Parallel.forRanges(outer, grain: Swift.max(1, elementwiseGrain / Swift.max(1, length * inner))) { rows in
            for row in rows {
                let (from, to) = (source + row * length * inner, target + row * length * inner)
                if inner == 1 {
                    for i in 0..<length { to[length - 1 - i] = from[i] }
                } else {
                    for i in 0..<length { (to + (length - 1 - i) * inner).update(from: from + i * inner, count: inner) }
                }
            }
        }
        return Tensor.result("reversed", shape: shape, storage: storage, inputs: [self]) { g, _ in
            [g.reversed(alongAxis: a)]
        }
    }

    /// Every entry moved `offset` places along `axis` (towards higher indices when positive),
    /// zeros in the places vacated, what passes the end dropped: a causal model's "what was one
    /// row above". One copy; padding and then slicing would be two, and two more on the way back.
    /// The adjoint is the shift back.
    public func shifted(alongAxis axis: Int, by offset: Int) -> Tensor {
        let a = checked { try Shape.axis(axis, rank: rank, op: "shifted") }
        let (outer, length, inner) = view(around: a...a)
        let kept = Swift.max(0, length - Swift.abs(offset)) * inner, vacated = length * inner - kept
        let storage = Storage(uninitializedCount: count)
        let (source, target) = (self.storage.pointer, storage.pointer)
        Parallel.forRanges(outer, grain: Swift.max(1, elementwiseGrain / Swift.max(1, length * inner))) { rows in
            for row in rows {
                let (from, to) = (source + row * length * inner, target + row * length * inner)
                if offset >= 0 {
                    to.update(repeating: 0, count: vacated)
                    (to + vacated).update(from: from, count: kept)
                } else {
                    to.update(from: from + vacated, count: kept)
                    (to + kept).update(repeating: 0, count: vacated)
                }
            }
        }
        return Tensor.result("shifted", shape: shape, storage: storage, inputs: [self]) { g, _ in
            [g.shifted(alongAxis: a, by: -offset)]
        }
    }

    /// One entry per position along the other axes: `out[..., j, ...] = self[..., indices[j], ...]`
    /// with `indices` running over the flattened other axes (cross-entropy's pick of the true class).
    public func take(_ indices: [Int], alongAxis axis: Int) -> Tensor {
        let a = checked { try Shape.axis(axis, rank: rank, op: "take") }
        let (outer, length, inner) = view(around: a...a)
        precondition(
            indices.count == outer * inner,
            "take: \(indices.count) indices for \(outer * inner) positions of \(shape) off axis \(axis)")
        var flat = [Int32](repeating: 0, count: indices.count)
        for p in 0..<indices.count {
            let i = indices[p]
            precondition(
                i >= 0 && i < length, "take: index \(i) is out of range 0..<\(length) (axis \(axis) of \(shape))")
            flat[p] = Int32((p / inner * length + i) * inner + p % inner)
        }
        var outShape = shape; outShape[a] = 1
        return gatherFlat(flat, shape: outShape).squeezed(a)
    }

    /// Rows of zeros with a 1 at each label: shape `[labels.count, classes]`.
    public static func oneHot(_ labels: [Int], classes: Int) -> Tensor {
        Tensor(shape: [labels.count, classes]) { out in
            out.update(repeating: 0)
            for (row, label) in labels.enumerated() {
                precondition(label >= 0 && label < classes, "oneHot: label \(label) is out of range 0..<\(classes)")
                out[row * classes + label] = 1
            }
        }
    }
}
