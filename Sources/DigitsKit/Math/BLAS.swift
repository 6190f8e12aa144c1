// OpenBLAS: what it is, loading it, and one single-threaded product. Threads and the splitting
// of large products are a ComputeContext's business (ComputeContext.swift). The library is
// loaded on first use (COpenBLAS), not when the process starts: reading pictures never needs
// it, and its threads would otherwise start and spin in every `digits classify`.
import COpenBLAS
import Synchronization

package enum BLAS {
    /// Loads OpenBLAS if it is not loaded yet. Commands that train call it first, so that a
    /// missing library is one readable error instead of a failure deep in a product.
    package static func load() throws {
        var message = [CChar](repeating: 0, count: 300)
        guard digits_openblas_load(&message, message.count) == 0 else {
            throw LibraryMissing(message: "OpenBLAS could not be loaded (\(String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)))",
                                 hint: "install it with scripts/install-deps (Debian's libopenblas0)")
        }
    }

    /// Whether this process has loaded OpenBLAS (reading pictures does not).
    package static var isLoaded: Bool { digits_openblas_is_loaded() != 0 }

    /// The CPU kernel set OpenBLAS chose when it loaded ("Haswell", "SkylakeX", "Prescott"...);
    /// loads it if needed.
    package static var coreName: String {
        digits_openblas_core_name().map { String(cString: $0) } ?? "unknown"
    }

    /// OpenBLAS's build configuration ("OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY ..."); loads it
    /// if needed.
    package static var configuration: String {
        digits_openblas_config().map { String(cString: $0) } ?? "unknown"
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
            digits_openblas_set_threads(Int32(count))
            openBLASThreads.store(count, ordering: .releasing)
        }
    }

    @inline(__always)
    static func single(_ transposeA: Bool, _ transposeB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
                       _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
                       _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        digits_sgemm(transposeA ? 1 : 0, transposeB ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha,
                     a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}

/// A shared library digits loads while running (OpenBLAS) that is not there.
package struct LibraryMissing: DigitsError {
    package let message: String
    package let hint: String?
}
