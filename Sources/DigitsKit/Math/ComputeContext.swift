// Where the numerical work runs. A ComputeContext owns a pool of helper threads and says how
// many threads a model, an inference plan, a trainer and an optimizer may use; it is passed to
// each of them explicitly, so two models in one process (or two tests running side by side)
// never change each other's thread count. The same seed and the same context thread count give
// the same bits.
//
// The loops between the GEMMs (im2col, col2im, pooling, activations) would otherwise run on one
// core while the others wait. `split` cuts such a loop into one contiguous part per thread; each
// part writes only its own outputs, so the result does not depend on the threads' timing.
//
// A training step hands out dozens of small jobs, each a fraction of a millisecond, so waking
// a sleeping thread for each (as DispatchQueue.concurrentPerform does) costs a good part of the
// job. The pool's threads (helpers, and the caller waiting for them) therefore spin briefly
// before they sleep: long enough to catch the next job of a step, short enough that an idle
// pool costs nothing.
import Dispatch
import Foundation
import Synchronization

/// Where the numerical work runs: a pool of helper threads and the number of threads that a
/// model, an inference plan, a trainer or an optimizer given this context may use.
///
/// A context is passed to each of them explicitly, so two models in one process never change
/// each other's thread count. Loops are split into one contiguous part per thread, each writing
/// only its own outputs, so the same seed and the same thread count give the same bits whatever
/// the timing. The pool's threads spin briefly between jobs before they sleep.
public final class ComputeContext: @unchecked Sendable {
    /// Threads that work on one call: the caller and `threads − 1` helpers.
    public let threads: Int
    /// Who runs large products on several threads. true (the default): `sgemm` splits each
    /// large product into one single-threaded OpenBLAS call per thread, on the same threads as
    /// the loops between the products. That allocates nothing, where OpenBLAS allocates a
    /// buffer on every threaded call, and is faster for the convolutional models (OpenBLAS's
    /// threads spin between calls and slow the loops down). false: OpenBLAS's own threads, kept
    /// for comparison in `digits bench`. OpenBLAS's thread count is one setting for the whole
    /// process: it is set before each product to what its context needs.
    public let splitsProducts: Bool
    let pool: WorkerPool?

    /// Creates a context of `threads` threads (clamped to 1–512): the caller and `threads − 1`
    /// helper threads, started now and stopped when the context is released. `splitsProducts`
    /// chooses who runs large matrix products on several threads: this context's threads (true)
    /// or OpenBLAS's own (false).
    public init(threads: Int = 1, splitsProducts: Bool = true) {
        self.threads = max(1, min(threads, 512))
        self.splitsProducts = splitsProducts
        pool = self.threads > 1 ? WorkerPool(helpers: self.threads - 1) : nil
    }

    deinit { pool?.stop() }

    /// One thread, no helpers: what a layer or model uses until it is given a context.
    public static let serial = ComputeContext(threads: 1)

    /// One thread per core the process may use.
    public static var processorCount: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    /// A part of a split loop: (context, part number, begin, end). A C function pointer, not a
    /// closure: a closure handed to other threads would need its context boxed on the heap on
    /// every call, and training steps are meant to allocate nothing. The state a part needs
    /// travels in `context`, a pointer to the caller's struct.
    package typealias Part = @convention(c) (UnsafeRawPointer, Int, Int, Int) -> Void

    /// Calls `body` on disjoint parts of 0..<count, in parallel when there is enough work
    /// (at least `minimumPerWorker` items per thread), with a pointer to `context`. Part
    /// boundaries are multiples of `alignment`; part numbers (0..<threads) let each part keep
    /// partial results that are then combined in part order.
    /// At most `maximumParts` parts, for callers with per-part buffers.
    @inline(__always)
    func split<Context>(_ count: Int, minimumPerWorker: Int = 1, alignment: Int = 1, maximumParts: Int = .max,
                        _ context: Context, _ body: Part) {
        withUnsafePointer(to: context) { pointer in
            splitRaw(count, minimumPerWorker: minimumPerWorker, alignment: alignment, maximumParts: maximumParts,
                     UnsafeRawPointer(pointer), body)
        }
    }

    func splitRaw(_ count: Int, minimumPerWorker: Int, alignment: Int, maximumParts: Int,
                  _ context: UnsafeRawPointer, _ body: Part) {
        let parts = min(threads, maximumParts, count / max(minimumPerWorker, 1))
        guard parts > 1, let pool else {
            if count > 0 { body(context, 0, 0, count) }
            return
        }
        pool.run(SplitJob(context: context, body: body, count: count, parts: parts, alignment: max(alignment, 1)))
    }

    // MARK: Products

    /// Products smaller than this many multiply-adds run on one thread when splitting.
    static let splitThreshold = 1 << 20

    /// C (m×n) = alpha · op(A) · op(B) + beta · C, where op(A) is m×k and op(B) is k×n.
    /// `lda`, `ldb` and `ldc` are the row strides of A, B and C as stored. Matrices are
    /// row-major Float; transposes are passed to OpenBLAS as flags, never materialized.
    public func sgemm(transposeA: Bool = false, transposeB: Bool = false,
                      m: Int, n: Int, k: Int, alpha: Float = 1,
                      a: UnsafePointer<Float>, lda: Int,
                      b: UnsafePointer<Float>, ldb: Int,
                      beta: Float = 0,
                      c: UnsafeMutablePointer<Float>, ldc: Int) {
        BLAS.useThreads(splitsProducts ? 1 : threads)
        if splits(m: m, n: n, k: k) {
            // Disjoint blocks of C: rows when C is tall, columns otherwise. Each element is
            // computed by one call, the same way whatever the timing.
            let product = Product(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                                  a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            if m >= n {
                split(m, product) { context, _, begin, end in
                    let p = context.load(as: Product.self)
                    let aBlock = p.transposeA ? p.a + begin : p.a + begin * p.lda
                    BLAS.single(p.transposeA, p.transposeB, end - begin, p.n, p.k, p.alpha, aBlock, p.lda, p.b, p.ldb, p.beta,
                                p.c + begin * p.ldc, p.ldc)
                }
            } else {
                split(n, product) { context, _, begin, end in
                    let p = context.load(as: Product.self)
                    let bBlock = p.transposeB ? p.b + begin * p.ldb : p.b + begin
                    BLAS.single(p.transposeA, p.transposeB, p.m, end - begin, p.k, p.alpha, p.a, p.lda, bBlock, p.ldb, p.beta,
                                p.c + begin, p.ldc)
                }
            }
            return
        }
        BLAS.single(transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }

    /// Whether `sgemm` splits a product of this shape between the threads.
    func splits(m: Int, n: Int, k: Int) -> Bool {
        splitsProducts && threads > 1 && m * n * k >= Self.splitThreshold && max(m, n) >= 2 * threads
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
}

/// One split loop as the pool runs it: every part computes its own range.
struct SplitJob: @unchecked Sendable {
    let context: UnsafeRawPointer
    let body: ComputeContext.Part
    let count: Int
    let parts: Int
    let alignment: Int

    static let empty = SplitJob(context: UnsafeRawPointer(bitPattern: 1)!, body: { _, _, _, _ in }, count: 0, parts: 0, alignment: 1)

    @inline(__always)
    func run(part: Int) {
        let units = (count + alignment - 1) / alignment
        let begin = min(count, units * part / parts * alignment)
        let end = part == parts - 1 ? count : min(count, units * (part + 1) / parts * alignment)
        if begin < end { body(context, part, begin, end) }
    }
}

/// Helper threads that take parts 1... of a job while the caller does part 0. One job at a
/// time: a caller that finds the pool busy (another thread's job, or a job inside a job) runs
/// every part itself, which gives the same results.
///
/// Each helper waits on a counter of its own, which the poster moves only when the helper has
/// a part: a helper never reads a job that is not its, so the poster may overwrite `job` as
/// soon as the parts it handed out are finished. The helpers are made once, with the pool, and
/// never change; their threads hold the pool until `stop` ends them.
final class WorkerPool: @unchecked Sendable {
    private final class Helper: @unchecked Sendable {
        let wake = DispatchSemaphore(value: 0)
        let sleeping = Atomic<Bool>(false)
        /// Jobs handed to this helper so far.
        let assigned = Atomic<Int>(0)
    }

    private let helpers: [Helper]
    private let busy = Atomic<Bool>(false)
    private let finished = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    /// The poster sleeps on this when its helpers take long; the last helper to finish wakes it.
    private let posterWake = DispatchSemaphore(value: 0)
    private let posterSleeping = Atomic<Bool>(false)
    private var job = SplitJob.empty  // written before any helper's `assigned` moves

    /// How long a waiting helper spins (a load, with a yield and a look at the clock every 64)
    /// before it sleeps: longer than the gaps between the jobs of a training step, so a step
    /// never waits for a thread to wake. Waking one costs a futex call and the helper's
    /// wake-up latency, 10–50 µs under a hypervisor. Counting spins instead (4,096, about
    /// 50–100 µs) left the MLP's helper asleep at most of its jobs on an Intel Xeon VM, where
    /// a yield costs more: the wake-ups took 7% of an epoch. An idle pool still sleeps.
    static let spinNanoseconds: UInt64 = 1_000_000
    /// The caller waiting for its helpers is in the middle of a step, with more work to post:
    /// it spins longer (a convolution's parts can finish a few hundred µs apart) before it sleeps.
    static let posterSpinNanoseconds: UInt64 = 4_000_000

    init(helpers count: Int) {
        helpers = (0..<max(count, 0)).map { _ in Helper() }
        for (index, helper) in helpers.enumerated() {
            let thread = Thread { self.loop(helper, part: index + 1) }
            thread.name = "digits-worker-\(index + 1)"
            thread.start()
        }
    }

    var helperCount: Int { helpers.count }

    /// Ends the helper threads once they are idle; the pool is freed when the last one ends.
    func stop() {
        stopping.store(true, ordering: .sequentiallyConsistent)
        for helper in helpers {
            helper.assigned.add(1, ordering: .sequentiallyConsistent)
            if helper.sleeping.exchange(false, ordering: .sequentiallyConsistent) { helper.wake.signal() }
        }
    }

    func run(_ newJob: SplitJob) {
        let parts = newJob.parts
        guard parts - 1 <= helpers.count, busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            for part in 0..<parts { newJob.run(part: part) }
            return
        }
        job = newJob
        finished.store(0, ordering: .relaxed)
        for helper in helpers.prefix(parts - 1) {
            helper.assigned.add(1, ordering: .sequentiallyConsistent)
            if helper.sleeping.exchange(false, ordering: .sequentiallyConsistent) { helper.wake.signal() }
        }
        newJob.run(part: 0)
        var spin = Spin(for: Self.posterSpinNanoseconds)
        while finished.load(ordering: .acquiring) < parts - 1 {
            if spin.isOver() {
                // Sleep until the last helper finishes. It clears the flag and signals only if
                // it finds the flag set, so the signal is consumed exactly when it was sent.
                posterSleeping.store(true, ordering: .sequentiallyConsistent)
                if finished.load(ordering: .sequentiallyConsistent) < parts - 1 {
                    posterWake.wait()
                } else if !posterSleeping.exchange(false, ordering: .sequentiallyConsistent) {
                    posterWake.wait()
                }
                break
            }
        }
        busy.store(false, ordering: .releasing)
    }

    private func loop(_ helper: Helper, part: Int) {
        var seen = 0
        while true {
            var spin = Spin(for: Self.spinNanoseconds)
            while helper.assigned.load(ordering: .acquiring) == seen {
                if spin.isOver() {
                    helper.sleeping.store(true, ordering: .sequentiallyConsistent)
                    if helper.assigned.load(ordering: .sequentiallyConsistent) != seen {
                        // A job arrived meanwhile; if its poster already cleared the flag, it
                        // also signalled, and that signal must be consumed.
                        if !helper.sleeping.exchange(false, ordering: .sequentiallyConsistent) { helper.wake.wait() }
                    } else {
                        helper.wake.wait()
                    }
                    spin = Spin(for: Self.spinNanoseconds)
                }
            }
            seen += 1
            if stopping.load(ordering: .sequentiallyConsistent) { return }
            let current = job
            current.run(part: part)
            let done = finished.add(1, ordering: .sequentiallyConsistent).newValue
            if done == current.parts - 1, posterSleeping.exchange(false, ordering: .sequentiallyConsistent) {
                posterWake.signal()
            }
        }
    }
}

/// A waiting thread's spin: each call is one turn of its loop; every 64th yields and reads the
/// clock, which starts at the first of them. True once `nanoseconds` have passed.
private struct Spin {
    let nanoseconds: UInt64
    private var turns = 0, deadline: UInt64 = 0

    init(for nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    mutating func isOver() -> Bool {
        turns += 1
        guard turns & 63 == 0 else { return false }
        sched_yield()
        let now = DispatchTime.now().uptimeNanoseconds
        if deadline == 0 { deadline = now + nanoseconds }
        return now >= deadline
    }
}

/// A value handed across threads by a caller that guarantees only one thread uses it at a time
/// (or that it is only read).
package struct UncheckedSendable<Value>: @unchecked Sendable {
    package let value: Value
    package init(_ value: Value) { self.value = value }
}
