#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif
import Foundation

/// Matrix products on the system BLAS (OpenBLAS on Linux, Accelerate on macOS).
///
/// BLAS runs single-threaded and the engine splits large products over the cores itself: one
/// thread pool instead of two, so OpenBLAS's spinning workers never compete with the engine's
/// elementwise threads, and results do not depend on how BLAS chose to split.
public enum BLAS {
    /// The OpenBLAS kernel set in use ("SkylakeX", "Zen", "Haswell", ...), or "Accelerate".
    public static var coreName: String {
        _ = configured
        #if canImport(Accelerate)
        return "Accelerate"
        #else
        return String(cString: openblas_get_corename())
        #endif
    }

    /// Done once, before the first product.
    static let configured: Void = {
        #if !canImport(Accelerate)
        selectKernels()
        openblas_set_num_threads(1)
        #endif
    }()

    /// OpenBLAS's kernel sets for AVX-512: SkylakeX, or a newer one it picks on a CPU it knows.
    static let avx512KernelSets: Set<String> = ["skylakex", "cooperlake", "sapphirerapids"]

    /// What the user's own `OPENBLAS_CORETYPE` costs, when it holds OpenBLAS to kernels narrower
    /// than the CPU's: we never override their choice, but a run at half speed should say why.
    public static var kernelNote: String? {
        kernelNote(
            requested: getenv("OPENBLAS_CORETYPE").map { String(cString: $0) }, hasAVX512: CPU.hasAVX512,
            inUse: coreName)
    }

    static func kernelNote(requested: String?, hasAVX512: Bool, inUse: String) -> String? {
        guard let requested, hasAVX512, !avx512KernelSets.contains(inUse.lowercased()) else { return nil }
        return "note: OPENBLAS_CORETYPE=\(requested) holds OpenBLAS to its \(inUse) kernels on a CPU with AVX-512; "
            + "unset it (or set SkylakeX) and matrix products run about twice as fast"
    }

    #if !canImport(Accelerate)
    /// Debian's OpenBLAS 0.3.21 takes AVX-512 CPUs it does not know (Zen 4, Zen 5) for Haswell
    /// and runs its AVX2 kernels at half speed. Its own remedy, `OPENBLAS_CORETYPE`, is read only
    /// when the library loads, which is before any of our code runs; so on a CPU with AVX-512 and
    /// with no choice made by the user, set the variable and re-run OpenBLAS's own dynamic-arch
    /// selection, which reads it. Builds without dynamic arch lack the entry points: left as is.
    static func selectKernels() {
        guard getenv("OPENBLAS_CORETYPE") == nil, CPU.hasAVX512 else { return }
        let current = String(cString: openblas_get_corename()).lowercased()
        guard !avx512KernelSets.contains(current) else { return }
        typealias Hook = @convention(c) () -> Void
        guard let handle = dlopen(nil, RTLD_NOW),
            let quit = dlsym(handle, "gotoblas_dynamic_quit"),
            let initialise = dlsym(handle, "gotoblas_dynamic_init")
        else { return }
        setenv("OPENBLAS_CORETYPE", "SkylakeX", 0)
        unsafeBitCast(quit, to: Hook.self)()
        unsafeBitCast(initialise, to: Hook.self)()
    }
    #endif

    /// C = alpha * op(A) @ op(B) + beta * C for row-major matrices, on the calling thread.
    @inline(__always)
    static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        _ = configured
        cblas_sgemm(
            CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// The same product split over the cores by blocks of rows or columns of C. Each block is an
    /// independent single-threaded product, so the result is identical to the unsplit one.
    public static func parallelGemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        let parts = Parallel.threadCount
        // Below a few MFLOP a second thread costs more than it brings.
        guard parts > 1, m * n * k >= 1 << 20 else {
            gemm(
                transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        if n >= m {
            // Split columns of C (and of op(B)) in multiples of 16 for the kernels' sake.
            let blocks = (n + 15) / 16
            Parallel.forEach(parts) { p in
                let lo = min(n, blocks * p / parts * 16), hi = min(n, blocks * (p + 1) / parts * 16)
                guard hi > lo else { return }
                let bOffset = transposeB ? lo * ldb : lo
                gemm(
                    transposeA: transposeA, transposeB: transposeB, m: m, n: hi - lo, k: k, alpha: alpha,
                    a: a, lda: lda, b: b + bOffset, ldb: ldb, beta: beta, c: c + lo, ldc: ldc)
            }
        } else {
            let blocks = (m + 15) / 16
            Parallel.forEach(parts) { p in
                let lo = min(m, blocks * p / parts * 16), hi = min(m, blocks * (p + 1) / parts * 16)
                guard hi > lo else { return }
                let aOffset = transposeA ? lo : lo * lda
                gemm(
                    transposeA: transposeA, transposeB: transposeB, m: hi - lo, n: n, k: k, alpha: alpha,
                    a: a + aOffset, lda: lda, b: b, ldb: ldb, beta: beta, c: c + lo * ldc, ldc: ldc)
            }
        }
    }
}

/// What the CPU can do, read from the operating system.
public enum CPU {
    /// True when the CPU and the kernel support AVX-512 Foundation (Linux lists it in /proc/cpuinfo
    /// only when the OS saves the wide registers).
    public static let hasAVX512: Bool = {
        #if os(Linux)
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let flags = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return false }
        return flags.split(separator: " ").contains("avx512f")
        #else
        return false
        #endif
    }()

    public static var modelName: String {
        #if os(Linux)
        if let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let line = info.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
            let name = line.split(separator: ":", maxSplits: 1).last
        {
            return name.trimmingCharacters(in: .whitespaces)
        }
        #endif
        return "unknown"
    }
}
