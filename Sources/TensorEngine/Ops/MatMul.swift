/// Matrix products on BLAS, 2-D or batched 3-D. Transposes are flags passed to BLAS, never copies;
/// the backward rules use the same flags, so gradients cost two products and no transposition.
extension Tensor {
    public func matmul(_ other: Tensor, transposeSelf: Bool = false, transposeOther: Bool = false) -> Tensor {
        Tensor.matmul(self, other, transposeA: transposeSelf, transposeB: transposeOther)
    }

    static func matmul(_ a: Tensor, _ b: Tensor, transposeA tA: Bool, transposeB tB: Bool) -> Tensor {
        let outShape = checked { try Shape.matmul(a.shape, b.shape, transposeA: tA, transposeB: tB) }
        let batch = a.rank == 3 ? a.shape[0] : 1
        let m = outShape[outShape.count - 2], n = outShape[outShape.count - 1]
        let k = tA ? a.shape[a.rank - 2] : a.shape[a.rank - 1]
        let lda = a.shape[a.rank - 1], ldb = b.shape[b.rank - 1]
        let storage = Storage(uninitializedCount: batch * m * n)
        let pa = a.storage.pointer, pb = b.storage.pointer, pc = storage.pointer
        let (sa, sb) = (a.count / batch, b.count / batch)
        if k == 0 {
            pc.update(repeating: 0, count: storage.count)
        } else if batch >= Parallel.threadCount && m * n * k < 1 << 22 {
            // Many small products: one per thread, each single-threaded.
            Parallel.forEach(batch) { i in
                BLAS.gemm(
                    transposeA: tA, transposeB: tB, m: m, n: n, k: k, a: pa + i * sa, lda: lda,
                    b: pb + i * sb, ldb: ldb, c: pc + i * m * n, ldc: n)
            }
        } else {
            for i in 0..<batch {
                BLAS.parallelGemm(
                    transposeA: tA, transposeB: tB, m: m, n: n, k: k, a: pa + i * sa, lda: lda,
                    b: pb + i * sb, ldb: ldb, c: pc + i * m * n, ldc: n)
            }
        }
        return result("matmul", shape: outShape, storage: storage, inputs: [a, b]) { g, c in
            // C = op(A) op(B): dop(A) = G op(B)ᵀ and dop(B) = op(A)ᵀ G, transposed back where op transposed.
            let ga: Tensor? =
                c.needs[0]
                ? (tA
                    ? matmul(b, g, transposeA: tB, transposeB: true)
                    : matmul(g, b, transposeA: false, transposeB: !tB)) : nil
            let gb: Tensor? =
                c.needs[1]
                ? (tB
                    ? matmul(g, a, transposeA: true, transposeB: tA)
                    : matmul(a, g, transposeA: !tA, transposeB: false)) : nil
            return [ga, gb]
        }
    }
}

/// `a @ b` for 2-D or batched 3-D tensors.
public func matmul(_ a: Tensor, _ b: Tensor) -> Tensor { a.matmul(b) }

/// `x @ weightᵀ + bias`, with `weight` of shape [out, in] as in PyTorch; `x` may have leading axes.
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor? = nil) -> Tensor {
    precondition(weight.rank == 2, "linear: weight must be 2-D, got \(weight.shape)")
    precondition(
        x.rank >= 1 && x.shape[x.rank - 1] == weight.shape[1],
        "linear: input \(x.shape) does not end in the weight's input size \(weight.shape[1]) (weight \(weight.shape))")
    let flat = x.rank == 2 ? x : x.reshaped([-1, weight.shape[1]])
    var y = flat.matmul(weight, transposeOther: true)
    if let bias { y = y + bias }
    return x.rank == 2 ? y : y.reshaped(Array(x.shape.dropLast()) + [weight.shape[0]])
}
