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

    /// Calls `body` on disjoint parts of 0..<count, in parallel when there is enough work
    /// (at least `minimumPerWorker` items per worker). Part boundaries are multiples of `alignment`.
    @inline(__always)
    static func split(_ count: Int, minimumPerWorker: Int = 1, alignment: Int = 1, _ body: (Range<Int>) -> Void) {
        splitParts(count, minimumPerWorker: minimumPerWorker, alignment: alignment) { _, range in body(range) }
    }

    /// As split, also passing each part's number (0..<workers), for per-part partial results
    /// that are then combined in part order.
    static func splitParts(_ count: Int, minimumPerWorker: Int = 1, alignment: Int = 1, _ body: (Int, Range<Int>) -> Void) {
        let parts = min(workers, count / max(minimumPerWorker, 1))
        guard parts > 1 else {
            body(0, 0..<count)
            return
        }
        let units = (count + alignment - 1) / alignment
        func run(_ part: Int) {
            let begin = min(count, units * part / parts * alignment)
            let end = part == parts - 1 ? count : min(count, units * (part + 1) / parts * alignment)
            if begin < end { body(part, begin..<end) }
        }
        pool.run(parts: parts, run)
    }
}

/// Helper threads that take parts 1... of a job while the caller does part 0. One job at a
/// time: a caller that finds the pool busy (another thread's job, or a job inside a job) runs
/// every part itself, which gives the same results.
final class WorkerPool: @unchecked Sendable {
    private final class Helper: @unchecked Sendable {
        let wake = DispatchSemaphore(value: 0)
        let sleeping = Atomic<Bool>(false)
    }

    private var helpers: [Helper] = []
    private let busy = Atomic<Bool>(false)
    private let generation = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)
    private var job: Job?  // written before `generation` moves
    private var jobParts = 0
    private var jobGeneration = 0  // the generation `job` belongs to
    private let creation = Mutex<Void>(())

    /// Spin iterations (each a load, with a yield every 64) before a helper sleeps: ~0.1 ms.
    private static let spins = 4096

    func ensureHelpers(_ count: Int) {
        creation.withLock { _ in
            while helpers.count < count {
                let helper = Helper(), index = helpers.count + 1
                // The generation the helper starts from is read now, not when its thread gets
                // going: a job posted in between must still count as new to it, or the poster
                // would wait forever for a part that no one runs.
                let start = generation.load(ordering: .acquiring)
                helpers.append(helper)
                let thread = Thread { [unowned self] in self.loop(helper, part: index, seen: start) }
                thread.name = "digits-worker-\(index)"
                thread.start()
            }
        }
    }

    func run(parts: Int, _ body: (Int) -> Void) {
        guard parts - 1 <= helpers.count, busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            for part in 0..<parts { body(part) }
            return
        }
        withoutActuallyEscaping(body) { body in
            job = Job(body: body)
            jobParts = parts
            jobGeneration = generation.load(ordering: .relaxed) + 1
            finished.store(0, ordering: .relaxed)
            generation.add(1, ordering: .sequentiallyConsistent)
            for helper in helpers.prefix(parts - 1) where helper.sleeping.exchange(false, ordering: .sequentiallyConsistent) {
                helper.wake.signal()
            }
            body(0)
            var spins = 0
            while finished.load(ordering: .acquiring) < parts - 1 {
                spins += 1
                if spins & 63 == 0 { sched_yield() }
            }
            job = nil
        }
        busy.store(false, ordering: .releasing)
    }

    private func loop(_ helper: Helper, part: Int, seen start: Int) {
        var seen = start
        while true {
            var spins = 0
            while generation.load(ordering: .acquiring) == seen {
                spins += 1
                if spins & 63 == 0 { sched_yield() }
                if spins >= Self.spins {
                    helper.sleeping.store(true, ordering: .sequentiallyConsistent)
                    if generation.load(ordering: .sequentiallyConsistent) != seen {
                        // A job arrived meanwhile; if its poster already cleared the flag, it
                        // also signalled, and that signal must be consumed.
                        if !helper.sleeping.exchange(false, ordering: .sequentiallyConsistent) { helper.wake.wait() }
                    } else {
                        helper.wake.wait()
                    }
                    spins = 0
                }
            }
            seen = generation.load(ordering: .acquiring)
            // A helper that missed a job (it had no part in it) must not start the next one early.
            if part < jobParts && jobGeneration == seen {
                do {
                    let body = job!.body
                    body(part)
                }
                finished.add(1, ordering: .releasing)
            }
        }
    }
}

/// A job's body in a concrete (non-generic) box: stored as a generic value, the closure would
/// be re-abstracted through a thunk allocated on every job.
struct Job: @unchecked Sendable {
    let body: (Int) -> Void
}

struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
