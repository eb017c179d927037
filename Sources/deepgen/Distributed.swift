import ArgumentParser
import Foundation
import GenerativeModels
import NeuralNetwork

/// How `deepgen train` finds its ranks: `mpirun` tells each process the job's size and its rank
/// in the environment (Open MPI: OMPI_COMM_WORLD_SIZE/RANK; MPICH and others: PMI_SIZE/RANK).
enum Launcher {
    /// `--distributed`: data-parallel when mpirun started several ranks (auto), always (mpi), or never (off).
    enum Mode: String, ExpressibleByArgument, CaseIterable { case auto, mpi, off }

    static var environment: [String: String] { ProcessInfo.processInfo.environment }

    /// The job's size as the launcher gives it, if a launcher started this process.
    static var size: Int? { (environment["OMPI_COMM_WORLD_SIZE"] ?? environment["PMI_SIZE"]).flatMap { Int($0) } }
    static var rank: Int? { (environment["OMPI_COMM_WORLD_RANK"] ?? environment["PMI_RANK"]).flatMap { Int($0) } }

    #if DEEPGEN_MPI
    static let builtWithMPI = true
    #else
    static let builtWithMPI = false
    #endif

    /// The communicator for `--distributed auto|mpi|off`, or a clear error. Before any tensor
    /// work: MPI starts here, and each rank takes its share of this host's cores.
    static func communicator(_ mode: Mode) throws -> Communicator {
        let launched = size ?? 1
        if mode == .off || (mode == .auto && launched <= 1) {
            guard launched <= 1 || FaultInjection.mpi == "launcher" else {
                throw ValidationError(
                    "started by mpirun as one of \(launched) ranks with --distributed off: the ranks would train "
                        + "\(launched) separate copies into one run directory; drop --distributed off"
                )
            }
            return SingleProcess()
        }
        #if DEEPGEN_MPI
        let world = MPICommunicator()
        let environment = Self.environment
        if environment["DEEPGEN_THREADS"] == nil {
            let threads =
                environment["OPENBLAS_NUM_THREADS"].flatMap { Int($0) }
                ?? max(1, ProcessInfo.processInfo.activeProcessorCount / max(world.localSize, 1))
            setenv("DEEPGEN_THREADS", String(threads), 0)
        }
        atexit { MPICommunicator.finalizeIfNeeded() }
        return world
        #else
        if FaultInjection.mpi == "launcher" { return SingleProcess() }
        throw ValidationError(
            "this deepgen was built without MPI, so \(launched) ranks cannot train together; rebuild with `apt-get "
                + "install libopenmpi-dev openmpi-bin` and `swift build -c release --traits MPI`"
        )
        #endif
    }
}

extension DataParallel.Reduction: ExpressibleByArgument {}
