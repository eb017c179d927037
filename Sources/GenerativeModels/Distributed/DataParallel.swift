import Foundation
import NeuralNetwork
import TensorEngine

/// Data-parallel training after PyTorch's DDP and Horovod: every rank holds the whole model,
/// takes its contiguous slice of each global batch and averages its gradients with the others'
/// before every optimizer step (one all-reduce of all the optimizer's gradients, flattened in
/// the parameters' canonical order), so all ranks take the same steps.
public struct DataParallel: ProcessGroup {
    public let communicator: Communicator
    /// Sum in rank order from gathered parts instead of the library's reduction.
    public let exact: Bool

    /// How the ranks add their gradients (`--reduce`).
    public enum Reduction: String, CaseIterable, Sendable { case sum, exact }

    public init(_ communicator: Communicator, exact: Bool = false) {
        self.communicator = communicator
        self.exact = exact
    }

    public var rank: Int { communicator.rank }
    public var size: Int { communicator.size }

    /// This rank's examples of a global batch of `batchSize`.
    public func rows(batchSize: Int) -> ExampleRows {
        let local = batchSize / size
        return ExampleRows(offset: rank * local, local: local, global: batchSize)
    }

    /// The elementwise sum over the ranks, in place (in rank order when `exact`).
    public func sum(_ values: inout [Float]) {
        values.withUnsafeMutableBufferPointer { sum($0) }
    }

    public func sum(_ values: UnsafeMutableBufferPointer<Float>) {
        if exact { communicator.allReduceSumExact(values) } else { communicator.allReduceSum(values) }
    }

    /// The mean over ranks of each rank's gradients (each the gradient of its slice's mean loss,
    /// so the result is the gradient of the global batch's mean loss). Each rank's part is
    /// divided by N as it is packed (exact for N a power of two), and the summed block is read
    /// back without a copy: at a small model's step time, every pass over the gradients counts.
    public func averageGradients(_ gradients: [Tensor]) -> [Tensor] {
        // DEEPGEN_MPI_FAULT=scale, under mpirun only: the 1/N lost (a test of the MPI checks).
        let lost = FaultInjection.mpi == "scale" && ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"] != nil
        let packed = PackedTensors(gradients, scaledBy: lost ? 1 : 1 / Float(size))
        packed.withUnsafeMutableBufferPointer { sum($0) }
        return packed.unpacked()
    }

    /// The layers of `module` that a step on `rows` of each global batch must know of: dropout
    /// draws the masks of those rows, and BatchNorm (when `synchronizingBatchNorm` over several
    /// ranks) takes the statistics of the global batch.
    public func stepLayers(of module: Module, rows: ExampleRows, synchronizingBatchNorm: Bool) -> StepLayers {
        let layers = module.namedModules().map(\.module)
        return StepLayers(
            rows: rows, dropouts: layers.compactMap { $0 as? Dropout },
            norms: size > 1 && synchronizingBatchNorm ? layers.compactMap { $0 as? BatchNorm } : [], group: self)
    }

    /// The mean over ranks of the logged figures (in name order, the same on every rank).
    public func average(_ figures: [String: Float]) -> [String: Float] {
        let names = figures.keys.sorted()
        var values = names.map { figures[$0]! }
        sum(&values)
        return Dictionary(uniqueKeysWithValues: zip(names, values.map { $0 / Float(size) }))
    }

    /// Rank 0's parameters and buffers on every rank.
    public func broadcastState(of module: Module) {
        for parameter in module.parameters() {
            var values = parameter.value.scalars
            communicator.broadcast(&values, root: 0)
            parameter.assign(Tensor(shape: parameter.shape, scalars: values))
        }
        for buffer in module.namedBuffers().map(\.buffer) {
            var values = buffer.value.scalars
            communicator.broadcast(&values, root: 0)
            buffer.value = Tensor(shape: buffer.value.shape, scalars: values)
        }
    }

    /// BatchNorm's running statistics averaged over the ranks (each rank normalises with its own
    /// slice's statistics), before they are saved or used for evaluation.
    public func averageRunningStatistics(of module: Module) {
        guard size > 1 else { return }
        for (_, layer) in module.namedModules() {
            guard let norm = layer as? BatchNorm else { continue }
            for buffer in [norm.runningMean, norm.runningVar] {
                var values = buffer.value.scalars
                sum(&values)
                buffer.value = Tensor(shape: buffer.value.shape, scalars: values.map { $0 / Float(size) })
            }
        }
    }

    /// Stops the job unless every rank holds bitwise the same parameters and buffers: checked
    /// when training ends, since a rank that drifted means a collective went wrong.
    public func requireIdenticalState(of module: Module) throws {
        var hash = DataParallel.fnvBasis
        for tensor in module.parameters().map(\.value) + module.namedBuffers().map(\.buffer.value) {
            tensor.withUnsafeBufferPointer { values in
                for v in values { DataParallel.fnvMix(&hash, UInt64(v.bitPattern)) }
            }
        }
        try requireAgreement([("the trained parameters", String(hash))])
    }

    /// FNV-1a, the hash both agreement checks send across the ranks.
    static let fnvBasis: UInt64 = 0xCBF2_9CE4_8422_2325
    @inline(__always) static func fnvMix(_ hash: inout UInt64, _ word: UInt64) {
        hash = (hash ^ word) &* 0x100_0000_01B3
    }

    /// Stops the job, naming what differs, unless every rank holds the same of each item.
    public func requireAgreement(_ items: [(name: String, value: String)]) throws {
        if FaultInjection.mpi == "agreement" { return }
        var differing: [String] = []
        for item in items {
            // A 64-bit hash in four 16-bit parts: each exact in a Float.
            var hash = DataParallel.fnvBasis
            for byte in item.value.utf8 { DataParallel.fnvMix(&hash, UInt64(byte)) }
            let mine = (0..<4).map { Float((hash >> (16 * UInt64($0))) & 0xFFFF) }
            let all = communicator.allGather(mine)
            if (0..<size).contains(where: { Array(all[4 * $0..<4 * $0 + 4]) != mine }) { differing.append(item.name) }
        }
        if !differing.isEmpty {
            throw TrainingError(
                "the ranks disagree on \(differing.joined(separator: ", ")): every rank must be started with the "
                    + "same command, data and build"
            )
        }
    }
}

/// A module's dropout and BatchNorm layers set for the steps of a run while one runs (`during`),
/// and back to their own behaviour for everything else: a data-dependent initialisation,
/// samples, evaluation.
public struct StepLayers {
    let rows: ExampleRows
    let dropouts: [Dropout]
    let norms: [BatchNorm]
    let group: any ProcessGroup

    public func during<T>(_ step: () throws -> T) rethrows -> T {
        for dropout in dropouts { dropout.exampleRows = rows }
        for norm in norms { norm.statisticsGroup = group }
        defer {
            for dropout in dropouts { dropout.exampleRows = nil }
            for norm in norms { norm.statisticsGroup = nil }
        }
        return try step()
    }
}
