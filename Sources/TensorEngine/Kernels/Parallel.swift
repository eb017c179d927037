import CKernels
import Foundation
import Synchronization

/// Splits work over the machine's cores. The only thread pool in the engine: BLAS runs single
/// threaded inside it, so no second pool spins against this one.
public enum Parallel {
    /// The machine's cores, or `DEEPGEN_THREADS` when set (e.g. to run two jobs side by side).
    public static let threadCount: Int = {
        if let text = ProcessInfo.processInfo.environment["DEEPGEN_THREADS"], let n = Int(text), n >= 1 { return n }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()

    /// Flushes subnormal floats to zero (FTZ and DAZ) on the calling thread and on every worker,
    /// as TensorFlow does on CPUs. Late in training, gradients through dead or saturated units
    /// fall into the subnormal range, where each operation (inside BLAS too) costs a microcode
    /// assist on x86; their contribution, below 1e-38, is nothing a model can use. `false`
    /// restores IEEE gradual underflow.
    public static func flushSubnormals(_ on: Bool = true) {
        _ = dg_flush_subnormals(on ? 1 : 0)
        WorkerPool.shared.run(threadCount) { _ in _ = dg_flush_subnormals(on ? 1 : 0) }
    }

    /// Calls `body` on disjoint ranges covering `0..<count`, in parallel when each thread would
    /// get at least `grain` items. The ranges depend only on `count`, `grain` and the thread count.
    @inline(__always)
    public static func forRanges(_ count: Int, grain: Int, _ body: (Range<Int>) -> Void) {
        let parts = min(threadCount, count / max(grain, 1))
        if parts <= 1 {
            if count > 0 { body(0..<count) }
            return
        }
        WorkerPool.shared.run(parts) { part in
            body(count * part / parts..<count * (part + 1) / parts)
        }
    }

    /// One call per index, in contiguous shares, one share per core: for coarse items.
    @inline(__always)
    static func forEach(_ count: Int, _ body: (Int) -> Void) {
        let parts = min(threadCount, count)
        if parts <= 1 {
            for i in 0..<count { body(i) }
            return
        }
        WorkerPool.shared.run(parts) { part in
            for i in count * part / parts..<count * (part + 1) / parts { body(i) }
        }
    }
}

/// Elements per thread below which splitting costs more than it saves.
public let elementwiseGrain = 1 << 15

/// Persistent worker threads, one per extra core. A job is published by bumping a generation
/// counter; workers spin briefly on it (jobs arrive in quick succession during a training step)
/// and then sleep on a condition variable. Measured here, libdispatch's `concurrentPerform` cost
/// 15% of a 1024^3 product against plain threads, and more on small elementwise jobs.
final class WorkerPool: @unchecked Sendable {
    static let shared = WorkerPool(threads: Parallel.threadCount)

    private let generation = Atomic<Int>(0)
    private let remaining = Atomic<Int>(0)
    private let sleeping = Atomic<Int>(0)
    private let busy = Atomic<Bool>(false)
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    /// The current job; written before `generation` is bumped and read after it is seen.
    private var job: UnsafeRawPointer?
    private var parts = 0
    private let threads: Int

    private init(threads: Int) {
        self.threads = threads
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&condition, nil)
        for index in 1..<max(threads, 1) {
            let thread = Thread { [unowned self] in self.workerLoop(index) }
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    /// Runs `body(0..<parts)` with part 0 on the calling thread. Nested calls (a job that itself
    /// asks for parallel work) run their parts in order on the calling thread.
    func run(_ parts: Int, _ body: (Int) -> Void) {
        guard parts > 1, threads > 1,
            busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
        else {
            for p in 0..<parts { body(p) }
            return
        }
        defer { busy.store(false, ordering: .releasing) }
        let count = min(parts, threads)
        withoutActuallyEscaping(body) { body in
            withUnsafePointer(to: body) { pointer in
                job = UnsafeRawPointer(pointer)
                self.parts = count
                remaining.store(count - 1, ordering: .sequentiallyConsistent)
                generation.add(1, ordering: .sequentiallyConsistent)
                if sleeping.load(ordering: .sequentiallyConsistent) > 0 {
                    pthread_mutex_lock(&mutex)
                    pthread_cond_broadcast(&condition)
                    pthread_mutex_unlock(&mutex)
                }
                body(0)
                while remaining.load(ordering: .acquiring) > 0 {}
                job = nil
            }
        }
        // More parts than threads (not used by Parallel, kept correct): the rest run here.
        for p in count..<parts { body(p) }
    }

    private func workerLoop(_ index: Int) {
        var seen = 0
        while true {
            var spins = 0
            var current = generation.load(ordering: .acquiring)
            while current == seen && spins < 200_000 {
                spins += 1
                current = generation.load(ordering: .acquiring)
            }
            if current == seen {
                pthread_mutex_lock(&mutex)
                sleeping.add(1, ordering: .sequentiallyConsistent)
                while generation.load(ordering: .sequentiallyConsistent) == seen {
                    pthread_cond_wait(&condition, &mutex)
                }
                sleeping.subtract(1, ordering: .sequentiallyConsistent)
                pthread_mutex_unlock(&mutex)
                current = generation.load(ordering: .acquiring)
            }
            seen = current
            if index < parts, let job {
                job.assumingMemoryBound(to: ((Int) -> Void).self).pointee(index)
            }
            remaining.subtract(1, ordering: .releasing)
        }
    }
}
