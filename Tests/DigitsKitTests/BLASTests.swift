// The BLAS binding: sgemm against a plain triple loop, with every transpose combination, on one
// thread and split between two (by rows when C is tall, by columns when it is wide).
import Testing
@_spi(Tools) @testable import DigitsKit

@Suite struct BLASTests {
    /// Reference product of row-major op(A) (m×k) and op(B) (k×n).
    static func naive(_ a: [Float], _ b: [Float], m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool) -> [Float] {
        var c = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var sum: Float = 0
                for p in 0..<k {
                    let aValue = transposeA ? a[p * m + i] : a[i * k + p]
                    let bValue = transposeB ? b[j * k + p] : b[p * n + j]
                    sum += aValue * bValue
                }
                c[i * n + j] = sum
            }
        }
        return c
    }

    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func sgemmMatchesNaive(transposeA: Bool, transposeB: Bool) {
        let m = 5, n = 7, k = 3
        let a = (0..<m * k).map { Float($0 % 5) - 2 }  // small integers: exact in Float
        let b = (0..<k * n).map { Float($0 % 7) - 3 }
        var c = [Float](repeating: 100, count: m * n)
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    ComputeContext.serial.sgemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                               a: a.baseAddress!, lda: transposeA ? m : k,
                               b: b.baseAddress!, ldb: transposeB ? k : n,
                               beta: 0, c: c.baseAddress!, ldc: n)
                }
            }
        }
        #expect(c == Self.naive(a, b, m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB))
    }

    @Test func sgemmAccumulatesWithBeta() {
        let a: [Float] = [1, 2, 3, 4]  // 2×2
        let b: [Float] = [1, 0, 0, 1]
        var c: [Float] = [10, 10, 10, 10]
        ComputeContext.serial.sgemm(m: 2, n: 2, k: 2, alpha: 2, a: a, lda: 2, b: b, ldb: 2, beta: 1, c: &c, ldc: 2)
        #expect(c == [12, 14, 16, 18])
    }

    /// Products above the split threshold at two threads, tall (split by rows) and wide (by
    /// columns), in every transpose: each block of C must be exactly the naive product's (small
    /// integers, so every sum is exact), beta included.
    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)], [(130, 96), (72, 150)])
    func splitProductsMatchNaive(transposes: (Bool, Bool), shape: (Int, Int)) {
        let (transposeA, transposeB) = transposes
        let (m, n) = shape, k = 110
        let compute = ComputeContext(threads: 2)
        #expect(compute.splits(m: m, n: n, k: k), "\(m)×\(n)×\(k) must take the split path")
        let a = (0..<m * k).map { Float(($0 * 7) % 5) - 2 }
        let b = (0..<k * n).map { Float(($0 * 3) % 7) - 3 }
        var c = (0..<m * n).map { Float($0 % 3) }
        let before = c
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    compute.sgemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                                  a: a.baseAddress!, lda: transposeA ? m : k,
                                  b: b.baseAddress!, ldb: transposeB ? k : n,
                                  beta: 1, c: c.baseAddress!, ldc: n)
                }
            }
        }
        let product = Self.naive(a, b, m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB)
        #expect(c == zip(product, before).map { $0 + $1 })
    }

    @Test func reportsItsCore() {
        #expect(!BLAS.coreName.isEmpty && BLAS.coreName != "unknown")
        #expect(BLAS.configuration.contains("OpenBLAS"))
    }
}
