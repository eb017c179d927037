#if DEEPGEN_MPI
import CMPI
import Foundation
import NeuralNetwork

/// The ranks of `mpirun` (Open MPI or MPICH), through the accessors of the CMPI module. Built
/// under the package's `MPI` trait: `swift build -c release --traits MPI`.
public final class MPICommunicator: Communicator {
    public let rank: Int
    public let size: Int
    public let localSize: Int
    private let world: MPI_Comm

    /// Initialises MPI (once per process); `finalizeIfNeeded` ends it.
    public init() {
        var provided: Int32 = 0
        MPI_Init_thread(nil, nil, 0, &provided) // MPI_THREAD_SINGLE: only the main thread calls MPI
        world = deepgen_mpi_comm_world()
        var r: Int32 = 0, n: Int32 = 0
        MPI_Comm_rank(world, &r)
        MPI_Comm_size(world, &n)
        rank = Int(r); size = Int(n)
        var node = deepgen_mpi_comm_null()
        MPI_Comm_split_type(world, deepgen_mpi_comm_type_shared(), r, deepgen_mpi_info_null(), &node)
        var local: Int32 = 1
        MPI_Comm_size(node, &local)
        MPI_Comm_free(&node)
        localSize = Int(local)
    }

    /// Ends MPI at exit if it was started and not aborted.
    public static func finalizeIfNeeded() {
        var started: Int32 = 0, ended: Int32 = 0
        MPI_Initialized(&started)
        MPI_Finalized(&ended)
        if started != 0 && ended == 0 { MPI_Finalize() }
    }

    public func broadcast(_ values: inout [Float], root: Int) {
        let count = Int32(values.count)
        values.withUnsafeMutableBufferPointer { p in
            _ = MPI_Bcast(p.baseAddress, count, deepgen_mpi_float(), Int32(root), world)
        }
    }

    public func allReduceSum(_ values: UnsafeMutableBufferPointer<Float>) {
        let own = skipsReductions ? Array(values) : []
        _ = MPI_Allreduce(
            deepgen_mpi_in_place(), values.baseAddress, Int32(values.count), deepgen_mpi_float(), deepgen_mpi_sum(),
            world)
        if skipsReductions { for i in own.indices { values[i] = own[i] } }
    }

    /// The broken rank of `DEEPGEN_MPI_FAULT=reduce` (a test of the MPI checks).
    private var skipsReductions: Bool { FaultInjection.mpi == "reduce" && rank == 0 }

    public func allGather(_ values: [Float]) -> [Float] {
        var all = [Float](repeating: 0, count: values.count * size)
        let count = Int32(values.count)
        values.withUnsafeBufferPointer { mine in
            all.withUnsafeMutableBufferPointer { out in
                _ = MPI_Allgather(
                    mine.baseAddress, count, deepgen_mpi_float(), out.baseAddress, count, deepgen_mpi_float(), world)
            }
        }
        return skipsReductions ? Array([[Float]](repeating: values, count: size).joined()) : all
    }

    public func barrier() { MPI_Barrier(world) }

    public func abort(_ message: String) -> Never {
        FileHandle.standardError.write(Data(("rank \(rank): " + message + "\n").utf8))
        MPI_Abort(world, 1)
        exit(1)
    }
}
#endif
