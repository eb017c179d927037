#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CKernels

/// Fused optimizer updates: one pass over parameter, gradient and state instead of a dozen
/// tensor ops, each with its own pass and allocation. The maths is in the optimizers' docs.
extension Tensor {
    /// Adam's update with PyTorch's bias correction; `decoupledWeightDecay` makes it AdamW.
    /// Replaces the parameter and moments by their new values (`nil` moments count as zeros).
    /// Values no other tensor shares are overwritten in place: at a small model's step time,
    /// the update's memory traffic is what it costs, and fresh outputs would double it.
    public static func adamUpdate(
        parameter: inout Tensor, gradient: Tensor, firstMoment: inout Tensor?, secondMoment: inout Tensor?,
        learningRate: Float, beta1: Float, beta2: Float, epsilon: Float,
        weightDecay: Float, decoupledWeightDecay: Bool, step: Int
    ) {
        precondition(
            gradient.shape == parameter.shape, "adam: gradient \(gradient.shape) for parameter \(parameter.shape)")
        let n = parameter.count, shape = parameter.shape
        func output(_ tensor: inout Tensor?) -> (input: Storage, output: Storage) {
            guard var t = tensor else { return (Storage(zeroedCount: n), Storage(uninitializedCount: n)) }
            tensor = nil
            precondition(t.shape == shape, "adam: moment \(t.shape) for parameter \(shape)")
            let unique = isKnownUniquelyReferenced(&t.storage) && t.storage.ownsMemory
            return (t.storage, unique ? t.storage : Storage(uninitializedCount: n))
        }
        var p: Tensor? = parameter
        parameter = Tensor(shape: [0], storage: Storage(uninitializedCount: 0))
        let (pIn, pOut) = output(&p), (mIn, mOut) = output(&firstMoment), (vIn, vOut) = output(&secondMoment)
        let g = gradient.storage.pointer
        let correction1 = 1 - powf(beta1, Float(step)), correction2 = 1 - powf(beta2, Float(step))
        let stepSize = learningRate / correction1, inverseRootCorrection2 = 1 / correction2.squareRoot()
        let decay: Float = decoupledWeightDecay ? 1 - learningRate * weightDecay : 1
        let l2: Float = decoupledWeightDecay ? 0 : weightDecay
        Parallel.forRanges(n, grain: elementwiseGrain) { r in
            let i = r.lowerBound
            dg_adam_update(
                r.count, pIn.pointer + i, g + i, mIn.pointer + i, vIn.pointer + i,
                pOut.pointer + i, mOut.pointer + i, vOut.pointer + i,
                stepSize, beta1, beta2, inverseRootCorrection2, epsilon, decay, l2)
        }
        parameter = Tensor(shape: shape, storage: pOut)
        firstMoment = Tensor(shape: shape, storage: mOut)
        secondMoment = Tensor(shape: shape, storage: vOut)
    }
}

/// Tensors laid end to end in one block of memory, so that a collective can send them as one
/// buffer (data-parallel gradients), then read back as tensors without a copy. The block may be
/// changed in place until it is unpacked; after that its tensors own it, and it must not be.
public final class PackedTensors {
    private let storage: Storage
    private let shapes: [[Int]]

    /// `tensors`' values times `scale`, packed in order, in one vectorised pass each.
    public init(_ tensors: [Tensor], scaledBy scale: Float = 1) {
        shapes = tensors.map(\.shape)
        storage = Storage(uninitializedCount: tensors.reduce(0) { $0 + $1.count })
        var offset = 0
        for t in tensors {
            let source = t.storage.pointer, target = storage.pointer + offset
            Parallel.forRanges(t.count, grain: elementwiseGrain) { r in
                dg_scale(r.count, source + r.lowerBound, scale, target + r.lowerBound)
            }
            offset += t.count
        }
    }

    public var count: Int { storage.count }

    /// The packed values, to be changed in place (e.g. summed across processes).
    public func withUnsafeMutableBufferPointer<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R
    {
        try body(UnsafeMutableBufferPointer(start: storage.pointer, count: storage.count))
    }

    /// The tensors again, each a view of the block.
    public func unpacked() -> [Tensor] {
        var offset = 0
        return shapes.map { shape in
            defer { offset += Shape.count(shape) }
            return Tensor(shape: shape, storage: Storage(viewing: storage, offset: offset, count: Shape.count(shape)))
        }
    }
}
