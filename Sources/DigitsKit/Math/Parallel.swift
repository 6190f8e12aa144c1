// The loops between the GEMMs (im2col, col2im, pooling, activations) would otherwise run on one
// core while the others wait. Parallel.split cuts such a loop into one contiguous part per
// worker; each part writes only its own outputs, so the result does not depend on the threads'
// timing. The worker count follows BLAS.threads.
//
// A training step hands out dozens of small jobs, each a fraction of a millisecond, so waking
// a sleeping thread for each (as DispatchQueue.concurrentPerform does) costs a good part of the
// job. The pool's helper threads spin for a while after a job, yielding the core to anyone who
// wants it, and only then go to sleep.
import Foundation
import Synchronization

public enum Parallel {
    /// Workers for the loops; set with BLAS.threads.
    nonisolated(unsafe) static var workers = 1 {
        didSet { if workers > 1 { pool.ensureHelpers(workers - 1) } }
    }

    private static let pool = WorkerPool()

    /// A part of a split loop: (context, part number, begin, end). A C function pointer, not a
    /// closure: a closure handed to other threads would need its context boxed on the heap on
    /// every call, and training steps are meant to allocate nothing. The state a part needs
    /// travels in `context`, a pointer to the caller's struct.
    public typealias Part = @convention(c) (UnsafeRawPointer, Int, Int, Int) -> Void

    /// Calls `body` on disjoint parts of 0..<count, in parallel when there is enough work
    /// (at least `minimumPerWorker` items per worker), with a pointer to `context`. Part
    /// boundaries are multiples of `alignment`; part numbers (0..<workers) let each part keep
    /// partial results that are then combined in part order.
    /// At most `maximumParts` parts, for callers with per-part buffers.
    @inline(__always)
    static func split<Context>(_ count: Int, minimumPerWorker: Int = 1, alignment: Int = 1, maximumParts: Int = .max,
                               _ context: Context, _ body: Part) {
        withUnsafePointer(to: context) { pointer in
            splitRaw(count, minimumPerWorker: minimumPerWorker, alignment: alignment, maximumParts: maximumParts,
                     UnsafeRawPointer(pointer), body)
        }
    }

    static func splitRaw(_ count: Int, minimumPerWorker: Int, alignment: Int, maximumParts: Int,
                         _ context: UnsafeRawPointer, _ body: Part) {
        let parts = min(workers, maximumParts, count / max(minimumPerWorker, 1))
        guard parts > 1 else {
            if count > 0 { body(context, 0, 0, count) }
            return
        }
        pool.run(SplitJob(context: context, body: body, count: count, parts: parts, alignment: max(alignment, 1)))
    }
}

/// One split loop as the pool runs it: every part computes its own range.
struct SplitJob: @unchecked Sendable {
    let context: UnsafeRawPointer
    let body: Parallel.Part
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
/// soon as the parts it handed out are finished.
final class WorkerPool: @unchecked Sendable {
    private final class Helper: @unchecked Sendable {
        let wake = DispatchSemaphore(value: 0)
        let sleeping = Atomic<Bool>(false)
        /// Jobs handed to this helper so far.
        let assigned = Atomic<Int>(0)
    }

    private var helpers: [Helper] = []
    private let busy = Atomic<Bool>(false)
    private let finished = Atomic<Int>(0)
    private var job = SplitJob.empty  // written before any helper's `assigned` moves
    private let creation = Mutex<Void>(())

    /// Spin iterations (each a load, with a yield every 64) before a helper sleeps: ~0.1 ms.
    private static let spins = 4096

    func ensureHelpers(_ count: Int) {
        creation.withLock { _ in
            while helpers.count < count {
                let helper = Helper(), index = helpers.count + 1
                helpers.append(helper)
                let thread = Thread { [unowned self] in self.loop(helper, part: index) }
                thread.name = "digits-worker-\(index)"
                thread.start()
            }
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
        var spins = 0
        while finished.load(ordering: .acquiring) < parts - 1 {
            spins += 1
            if spins & 63 == 0 { sched_yield() }
        }
        busy.store(false, ordering: .releasing)
    }

    private func loop(_ helper: Helper, part: Int) {
        var seen = 0
        while true {
            var spins = 0
            while helper.assigned.load(ordering: .acquiring) == seen {
                spins += 1
                if spins & 63 == 0 { sched_yield() }
                if spins >= Self.spins {
                    helper.sleeping.store(true, ordering: .sequentiallyConsistent)
                    if helper.assigned.load(ordering: .sequentiallyConsistent) != seen {
                        // A job arrived meanwhile; if its poster already cleared the flag, it
                        // also signalled, and that signal must be consumed.
                        if !helper.sleeping.exchange(false, ordering: .sequentiallyConsistent) { helper.wake.wait() }
                    } else {
                        helper.wake.wait()
                    }
                    spins = 0
                }
            }
            seen += 1
            job.run(part: part)
            finished.add(1, ordering: .releasing)
        }
    }
}

/// A value handed across threads by a caller that guarantees only one thread uses it at a time
/// (or that it is only read).
public struct UncheckedSendable<Value>: @unchecked Sendable {
    public let value: Value
    public init(_ value: Value) { self.value = value }
}
