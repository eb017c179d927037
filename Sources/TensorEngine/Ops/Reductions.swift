/// Reductions along axes. `sum` is the primitive (its adjoint is `expanded(to:)`); `max` and `min`
/// pick values with a gather, so their gradient flows to the chosen element only.
extension Tensor {
    func normalizedAxes(_ axes: [Int], _ op: String) -> [Int] {
        checked { try Array(Set(axes.map { try Shape.axis($0, rank: rank, op: op) })).sorted() }
    }

    func reducedShape(_ axes: [Int], keepDims: Bool) -> [Int] {
        keepDims
            ? shape.enumerated().map { axes.contains($0.offset) ? 1 : $0.element }
            : shape.enumerated().filter { !axes.contains($0.offset) }.map(\.element)
    }

    /// Runs of adjacent axes, so `[0, 2, 3]` reduces as two groups: `[2, 3]` then `[0]`.
    static func groups(_ axes: [Int]) -> [ClosedRange<Int>] {
        var groups: [ClosedRange<Int>] = []
        for a in axes {
            if let last = groups.last, last.upperBound == a - 1 {
                groups[groups.count - 1] = last.lowerBound...a
            } else {
                groups.append(a...a)
            }
        }
        return groups
    }

    public func sum(alongAxes axes: [Int], keepDims: Bool = false) -> Tensor {
        let axes = normalizedAxes(axes, "sum")
        let outShape = reducedShape(axes, keepDims: keepDims)
        if axes.isEmpty { return self }
        var current = storage
        var currentShape = shape
        for group in Self.groups(axes).reversed() {
            let outer = Shape.count(Array(currentShape[..<group.lowerBound]))
            let length = Shape.count(Array(currentShape[group]))
            let inner = Shape.count(Array(currentShape[(group.upperBound + 1)...]))
            let next = Storage(uninitializedCount: outer * inner)
            sumMiddle(current.pointer, outer: outer, length: length, inner: inner, into: next.pointer)
            for a in group { currentShape[a] = 1 }
            current = next
        }
        let original = shape, kept = reducedShape(axes, keepDims: true)
        return Tensor.result("sum", shape: outShape, storage: current, inputs: [self]) { g, _ in
            [g.reshaped(kept).expanded(to: original)]
        }
    }

    public func sum(alongAxis axis: Int, keepDims: Bool = false) -> Tensor {
        sum(alongAxes: [axis], keepDims: keepDims)
    }

    /// The sum of every element, as a scalar tensor.
    public func sum() -> Tensor { sum(alongAxes: Array(0..<rank)) }

    public func mean(alongAxes axes: [Int], keepDims: Bool = false) -> Tensor {
        let axes = normalizedAxes(axes, "mean")
        let n = axes.reduce(1) { $0 * shape[$1] }
        return sum(alongAxes: axes, keepDims: keepDims) * (1 / Float(n))
    }
    public func mean(alongAxis axis: Int, keepDims: Bool = false) -> Tensor {
        mean(alongAxes: [axis], keepDims: keepDims)
    }
    public func mean() -> Tensor { mean(alongAxes: Array(0..<rank)) }

    /// The variance along axes; `unbiased` divides by n - 1 instead of n (the population variance,
    /// which normalisation layers use).
    public func variance(alongAxes axes: [Int], keepDims: Bool = false, unbiased: Bool = false) -> Tensor {
        let axes = normalizedAxes(axes, "variance")
        let n = axes.reduce(1) { $0 * shape[$1] }
        let centred = self - mean(alongAxes: axes, keepDims: true)
        return (centred * centred).sum(alongAxes: axes, keepDims: keepDims) * (1 / Float(unbiased ? n - 1 : n))
    }
    public func variance(alongAxis axis: Int, keepDims: Bool = false, unbiased: Bool = false) -> Tensor {
        variance(alongAxes: [axis], keepDims: keepDims, unbiased: unbiased)
    }

    /// log(sum(exp(x))) without overflow: the maximum is taken out first (and held constant, which
    /// leaves the value and its gradient unchanged).
    public func logSumExp(alongAxes axes: [Int], keepDims: Bool = false) -> Tensor {
        let axes = normalizedAxes(axes, "logsumexp")
        var shift = self.max(alongAxes: axes, keepDims: true).detached()
        shift = Tensor(
            shape: shift.shape, storage: mapKernel(shift) { v in v.replacing(with: 0, where: vabs(v) .>= .infinity) })
        let value = (self - shift).exp().sum(alongAxes: axes, keepDims: true).log() + shift
        return keepDims ? value : value.reshaped(reducedShape(axes, keepDims: false))
    }
    public func logSumExp(alongAxis axis: Int, keepDims: Bool = false) -> Tensor {
        logSumExp(alongAxes: [axis], keepDims: keepDims)
    }

    public func max(alongAxes axes: [Int], keepDims: Bool = false) -> Tensor { extreme(axes, keepDims, largest: true) }
    public func min(alongAxes axes: [Int], keepDims: Bool = false) -> Tensor { extreme(axes, keepDims, largest: false) }
    public func max(alongAxis axis: Int, keepDims: Bool = false) -> Tensor { extreme([axis], keepDims, largest: true) }
    public func min(alongAxis axis: Int, keepDims: Bool = false) -> Tensor { extreme([axis], keepDims, largest: false) }
    public func max() -> Tensor { extreme(Array(0..<rank), false, largest: true) }
    public func min() -> Tensor { extreme(Array(0..<rank), false, largest: false) }

    /// Positions of the largest values along `axis` (first on ties), as whole numbers in a tensor.
    public func argmax(alongAxis axis: Int, keepDims: Bool = false) -> Tensor {
        let a = normalizedAxes([axis], "argmax")[0]
        let (outer, length, inner) = view(around: a...a)
        var indices = [Int32](repeating: 0, count: outer * inner)
        indices.withUnsafeMutableBufferPointer {
            argExtremeMiddle(
                storage.pointer, outer: outer, length: length, inner: inner, largest: true, into: $0.baseAddress!)
        }
        return Tensor(shape: reducedShape([a], keepDims: keepDims), scalars: indices.map(Float.init))
    }

    /// Sizes of the tensor seen as [outer, length, inner] around a run of axes.
    func view(around group: ClosedRange<Int>) -> (Int, Int, Int) {
        (
            Shape.count(Array(shape[..<group.lowerBound])), Shape.count(Array(shape[group])),
            Shape.count(Array(shape[(group.upperBound + 1)...]))
        )
    }

    private func extreme(_ axes: [Int], _ keepDims: Bool, largest: Bool) -> Tensor {
        let axes = normalizedAxes(axes, largest ? "max" : "min")
        if axes.isEmpty { return self }
        let outShape = reducedShape(axes, keepDims: keepDims)
        let groups = Self.groups(axes)
        // Non-adjacent axes are moved to the end first, so one pass finds each extreme.
        let source =
            groups.count == 1
            ? self
            : permuted((0..<rank).filter { !axes.contains($0) } + axes).reshaped([-1, axes.reduce(1) { $0 * shape[$1] }]
            )
        let group = groups.count == 1 ? groups[0] : 1...1
        let (outer, length, inner) = source.view(around: group)
        var indices = [Int32](repeating: 0, count: outer * inner)
        indices.withUnsafeMutableBufferPointer {
            argExtremeMiddle(
                source.storage.pointer, outer: outer, length: length, inner: inner, largest: largest,
                into: $0.baseAddress!)
        }
        for flat in indices.indices {
            let o = flat / inner, i = flat % inner
            indices[flat] = Int32(o * length * inner) + indices[flat] * Int32(inner) + Int32(i)
        }
        return source.gatherFlat(indices, shape: outShape)
    }
}
