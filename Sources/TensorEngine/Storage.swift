#if canImport(Glibc)
import CBLAS
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A block of Float32 owned by one or more tensors. Tensors never write into a storage that
/// another tensor can see: every op writes a fresh one, which is what gives `Tensor` its value
/// semantics without copies on reads.
public final class Storage: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int
    /// The storage whose memory a view lies in (kept alive by the view), nil when this one owns it.
    private let owner: Storage?

    /// Uninitialised memory, 64-byte aligned so SIMD loads never straddle a cache line.
    public init(uninitializedCount count: Int) {
        _ = Storage.allocatorTuned
        self.count = count
        var raw: UnsafeMutableRawPointer?
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        guard posix_memalign(&raw, 64, bytes) == 0, let raw else {
            fatalError("out of memory allocating \(bytes) bytes")
        }
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        owner = nil
    }

    /// `count` values of `owner` from `offset` on, without a copy.
    init(viewing owner: Storage, offset: Int, count: Int) {
        precondition(
            offset >= 0 && offset + count <= owner.count,
            "view \(offset)..<\(offset + count) of a storage of \(owner.count)")
        self.owner = owner
        self.count = count
        pointer = owner.pointer + offset
    }

    public convenience init(zeroedCount count: Int) {
        self.init(uninitializedCount: count)
        pointer.initialize(repeating: 0, count: count)
    }

    convenience init(repeating value: Float, count: Int) {
        self.init(uninitializedCount: count)
        pointer.initialize(repeating: value, count: count)
    }

    convenience init<C: Collection>(_ values: C) where C.Element == Float {
        self.init(uninitializedCount: values.count)
        _ = UnsafeMutableBufferPointer(start: pointer, count: count).initialize(from: values)
    }

    deinit { if owner == nil { free(pointer) } }

    /// False for a view, whose memory other views may share even when nothing else holds this one.
    var ownsMemory: Bool { owner == nil }

    /// glibc serves blocks above its mmap threshold (at most 32 MB) with fresh mappings, so every
    /// large intermediate tensor costs page faults on first touch and an munmap when freed:
    /// measured here, an importance-sampled NLL spent 16 of its 21 seconds in the kernel. Keeping
    /// large blocks on the heap, and the heap's top in place, lets freed tensors be reused. Left
    /// alone when the user set glibc's own variables.
    static let allocatorTuned: Void = {
        #if canImport(Glibc)
        let environment = ProcessInfo.processInfo.environment
        if environment["MALLOC_MMAP_THRESHOLD_"] == nil { dg_set_malloc_option(dg_malloc_mmap_threshold, 1 << 30) }
        if environment["MALLOC_TRIM_THRESHOLD_"] == nil { dg_set_malloc_option(dg_malloc_trim_threshold, Int32.max) }
        if environment["MALLOC_TOP_PAD_"] == nil { dg_set_malloc_option(dg_malloc_top_pad, 64 << 20) }
        #endif
    }()

    var buffer: UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: pointer, count: count) }
}
