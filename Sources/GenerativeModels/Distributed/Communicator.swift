import Foundation

/// The collective operations data-parallel training needs, after MPI's: every rank calls the
/// same operations in the same order. The training loop sees only this protocol; `SingleProcess`
/// and `ThreadGroup` are always built, `MPICommunicator` under the package's `MPI` trait.
public protocol Communicator: AnyObject {
    var rank: Int { get }
    var size: Int { get }
    /// Ranks on this host: the cores are shared among them.
    var localSize: Int { get }
    /// `values` becomes root's on every rank.
    func broadcast(_ values: inout [Float], root: Int)
    /// `values` becomes the elementwise sum over the ranks, on every rank (MPI_Allreduce in place).
    func allReduceSum(_ values: UnsafeMutableBufferPointer<Float>)
    /// Every rank's `values` (one length on all ranks), concatenated in rank order.
    func allGather(_ values: [Float]) -> [Float]
    func barrier()
    /// Ends the whole job, every rank, after printing `message` (MPI_Abort).
    func abort(_ message: String) -> Never
}

extension Communicator {
    public func allReduceSum(_ values: inout [Float]) {
        values.withUnsafeMutableBufferPointer { allReduceSum($0) }
    }

    /// The sum over ranks added in rank order from the gathered parts: bitwise the same whatever
    /// algorithm the library would have reduced with (`--reduce exact`).
    public func allReduceSumExact(_ values: UnsafeMutableBufferPointer<Float>) {
        let n = values.count
        let all = allGather(Array(values))
        all.withUnsafeBufferPointer { parts in
            for i in 0..<n {
                var sum = parts[i]
                for r in 1..<max(size, 1) { sum += parts[r * n + i] }
                values[i] = sum
            }
        }
    }

    public func allReduceSumExact(_ values: inout [Float]) {
        values.withUnsafeMutableBufferPointer { allReduceSumExact($0) }
    }

    /// Sums over the ranks in Double, added in rank order: each value travels as two Floats (its
    /// nearest Float and the remainder), so about 48 bits of every rank's figure arrive.
    public func sumOverRanks(_ values: [Double]) -> [Double] {
        let parts = values.flatMap { value -> [Float] in
            let high = Float(value)
            return [high, Float(value - Double(high))]
        }
        let all = allGather(parts)
        return values.indices.map { i in
            (0..<size).reduce(0.0) { sum, r in
                sum + Double(all[r * parts.count + 2 * i]) + Double(all[r * parts.count + 2 * i + 1])
            }
        }
    }

    /// Every rank's integers (up to `capacity` of them, each exact in a Float: |v| < 2^24),
    /// concatenated in rank order.
    public func gatherIntegers(_ values: [Int], capacity: Int) -> [Int] {
        precondition(values.count <= capacity && values.allSatisfy { abs($0) < 1 << 24 })
        let all = allGather(
            [Float(values.count)] + values.map(Float.init) + [Float](repeating: 0, count: capacity - values.count))
        return (0..<size).flatMap { r -> [Int] in
            let part = all[r * (capacity + 1)..<(r + 1) * (capacity + 1)]
            return part.dropFirst().prefix(Int(part.first!)).map { Int($0) }
        }
    }
}

/// One process alone: every collective is the identity.
public final class SingleProcess: Communicator {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public var localSize: Int { 1 }
    public func broadcast(_ values: inout [Float], root: Int) {}
    public func allReduceSum(_ values: UnsafeMutableBufferPointer<Float>) {}
    public func allGather(_ values: [Float]) -> [Float] { values }
    public func barrier() {}
    public func abort(_ message: String) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        exit(1)
    }
}

/// K ranks as K threads of one process that take turns: rank r runs until its next collective,
/// then rank r + 1 runs; the last to arrive completes the operation and hands back to rank 0.
/// Only one rank runs at a time, so the engine's worker threads serve whichever does, and the
/// arithmetic is exactly that of K processes summing in rank order (`--micro-batches K`).
public final class ThreadGroup {
    public let size: Int
    private let turns: [DispatchSemaphore]
    private var parts: [[Float]]
    private var result: [Float] = []
    private var failure: Error?
    private let finished = DispatchSemaphore(value: 0)

    public init(size: Int) {
        precondition(size >= 1)
        self.size = size
        turns = (0..<size).map { _ in DispatchSemaphore(value: 0) }
        parts = Array(repeating: [], count: size)
    }

    /// Runs `body` once per rank, each on its own thread, rank 0 first; returns when every rank
    /// has finished, or throws the first rank's error.
    public func run(_ body: @escaping (Communicator) throws -> Void) throws {
        for r in 0..<size {
            let thread = Thread { [self] in
                if r > 0 { turns[r].wait() }
                if failure == nil {
                    do { try body(Rank(group: self, rank: r)) } catch { if failure == nil { failure = error } }
                }
                handOn(from: r)
            }
            thread.stackSize = 64 << 20
            thread.start()
        }
        for _ in 0..<size { finished.wait() }
        if let failure { throw failure }
    }

    /// Rank r is done (or gives up after another's failure): the next rank runs on.
    private func handOn(from rank: Int) {
        turns[(rank + 1) % size].signal()
        finished.signal()
    }

    /// Deposits rank r's part; the last rank computes the result from all parts.
    fileprivate func collective(_ rank: Int, _ part: [Float], _ complete: ([[Float]]) -> [Float]) -> [Float] {
        parts[rank] = part
        if rank == size - 1 { result = complete(parts) }
        if size > 1 {
            turns[(rank + 1) % size].signal()
            turns[rank].wait()
        }
        if failure != nil { // an earlier rank failed: its error ends the run, this rank stops here
            handOn(from: rank)
            Thread.exit()
        }
        return result
    }

    final class Rank: Communicator {
        let group: ThreadGroup
        let rank: Int
        init(group: ThreadGroup, rank: Int) { self.group = group; self.rank = rank }
        var size: Int { group.size }
        var localSize: Int { 1 } // the ranks take turns on the same cores

        func broadcast(_ values: inout [Float], root: Int) {
            values = group.collective(rank, values) { $0[root] }
        }
        func allReduceSum(_ values: UnsafeMutableBufferPointer<Float>) {
            let sum = group.collective(rank, Array(values)) { parts in
                var sum = parts[0]
                for part in parts.dropFirst() { for i in sum.indices { sum[i] += part[i] } }
                return sum
            }
            _ = values.update(fromContentsOf: sum)
        }
        func allGather(_ values: [Float]) -> [Float] {
            group.collective(rank, values) { $0.flatMap { $0 } }
        }
        func barrier() { _ = group.collective(rank, []) { _ in [] } }
        func abort(_ message: String) -> Never {
            FileHandle.standardError.write(Data((message + "\n").utf8))
            exit(1)
        }
    }
}
