// OpenBLAS through its CBLAS interface: what it is, and one single-threaded product. Threads
// and the splitting of large products are a ComputeContext's business (ComputeContext.swift).
import CBLAS
import Synchronization

package enum BLAS {
    /// The CPU kernel set OpenBLAS chose when it loaded ("Haswell", "SkylakeX", "Prescott"...).
    package static var coreName: String {
        openblas_get_corename().map { String(cString: $0) } ?? "unknown"
    }

    /// OpenBLAS's build configuration ("OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY ...").
    package static var configuration: String {
        openblas_get_config().map { String(cString: $0) } ?? "unknown"
    }

    /// OpenBLAS's own thread count, which is one setting for the whole process (0: not set by
    /// us yet, so OpenBLAS's default of one per core).
    private static let openBLASThreads = Atomic<Int>(0)
    private static let settingThreads = Mutex<Void>(())

    /// Sets OpenBLAS's thread count when it differs. Called before a product, on the thread
    /// that posts it, never inside a split part; the lock keeps two contexts from setting it at
    /// once.
    @inline(__always)
    static func useThreads(_ count: Int) {
        guard openBLASThreads.load(ordering: .acquiring) != count else { return }
        settingThreads.withLock { _ in
            openblas_set_num_threads(Int32(count))
            openBLASThreads.store(count, ordering: .releasing)
        }
    }

    @inline(__always)
    static func single(_ transposeA: Bool, _ transposeB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
                       _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
                       _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        cblas_sgemm(CblasRowMajor,
                    transposeA ? CblasTrans : CblasNoTrans,
                    transposeB ? CblasTrans : CblasNoTrans,
                    blasint(m), blasint(n), blasint(k), alpha,
                    a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }
}
