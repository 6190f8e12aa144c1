// BLAS through OpenBLAS's CBLAS interface. Matrices are row-major Float; transposes are
// passed to sgemm as flags, never materialized.
import CBLAS

public enum BLAS {
    /// The CPU kernel set OpenBLAS chose when it loaded ("Haswell", "SkylakeX", "Prescott"...).
    public static var coreName: String {
        openblas_get_corename().map { String(cString: $0) } ?? "unknown"
    }

    /// OpenBLAS's build configuration ("OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY ...").
    public static var configuration: String {
        openblas_get_config().map { String(cString: $0) } ?? "unknown"
    }

    public static var threads: Int {
        get { Parallel.workers }
        set {
            Parallel.workers = max(1, newValue)
            openblas_set_num_threads(splitsProducts ? 1 : Int32(Parallel.workers))
        }
    }

    /// Who runs large products on several threads. true (the default): sgemm below splits each
    /// large product into one single-threaded part per worker, on the same workers as the loops
    /// between the products (im2col, pooling). That is as fast as OpenBLAS's own threads for the
    /// MLP, about 10% faster for the convolutional models (OpenBLAS's threads spin between calls
    /// and slow the loops down), and allocates nothing, where OpenBLAS allocates a buffer on
    /// every threaded call. false: OpenBLAS's threads, kept for comparison (`digits bench`).
    nonisolated(unsafe) public static var splitsProducts = true {
        didSet { threads = Parallel.workers }
    }

    /// Products smaller than this many multiply-adds run on one thread when splitting.
    static let splitThreshold = 1 << 20

    /// C (m×n) = alpha · op(A) · op(B) + beta · C, where op(A) is m×k and op(B) is k×n.
    /// `lda`, `ldb` and `ldc` are the row strides of A, B and C as stored.
    public static func sgemm(transposeA: Bool = false, transposeB: Bool = false,
                             m: Int, n: Int, k: Int, alpha: Float = 1,
                             a: UnsafePointer<Float>, lda: Int,
                             b: UnsafePointer<Float>, ldb: Int,
                             beta: Float = 0,
                             c: UnsafeMutablePointer<Float>, ldc: Int) {
        if splitsProducts && Parallel.workers > 1 && m * n * k >= splitThreshold && max(m, n) >= 2 * Parallel.workers {
            // Disjoint blocks of C: rows when C is tall, columns otherwise. Each element is
            // computed by one call, the same way whatever the timing.
            let product = Product(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                                  a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            if m >= n {
                Parallel.split(m, product) { context, _, begin, end in
                    let p = context.load(as: Product.self)
                    let aBlock = p.transposeA ? p.a + begin : p.a + begin * p.lda
                    BLAS.single(p.transposeA, p.transposeB, end - begin, p.n, p.k, p.alpha, aBlock, p.lda, p.b, p.ldb, p.beta,
                           p.c + begin * p.ldc, p.ldc)
                }
            } else {
                Parallel.split(n, product) { context, _, begin, end in
                    let p = context.load(as: Product.self)
                    let bBlock = p.transposeB ? p.b + begin * p.ldb : p.b + begin
                    BLAS.single(p.transposeA, p.transposeB, p.m, end - begin, p.k, p.alpha, p.a, p.lda, bBlock, p.ldb, p.beta,
                           p.c + begin, p.ldc)
                }
            }
            return
        }
        single(transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }

    /// One product's arguments, for the parts of a split product.
    private struct Product {
        let transposeA: Bool, transposeB: Bool
        let m: Int, n: Int, k: Int, alpha: Float
        let a: UnsafePointer<Float>, lda: Int
        let b: UnsafePointer<Float>, ldb: Int
        let beta: Float
        let c: UnsafeMutablePointer<Float>, ldc: Int
    }

    @inline(__always)
    private static func single(_ transposeA: Bool, _ transposeB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
                               _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
                               _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        cblas_sgemm(CblasRowMajor,
                    transposeA ? CblasTrans : CblasNoTrans,
                    transposeB ? CblasTrans : CblasNoTrans,
                    blasint(m), blasint(n), blasint(k), alpha,
                    a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }
}
