// The worker pool: every part of a job runs exactly once, including a job posted while a new
// helper thread is still starting (a helper once took such a job for an old one and never ran
// its part, leaving the poster waiting forever), and jobs with fewer parts than helpers (the
// helpers left out must not run a part of the next job early).
import Dispatch
import Foundation
import Testing
@testable import DigitsKit

@Suite struct ParallelTests {
    /// Counts per index, written by the parts through the context pointer.
    struct Counts {
        let counts: UnsafeMutablePointer<Int>
    }

    static let countIndices: Parallel.Part = { context, _, begin, end in
        let counts = context.load(as: Counts.self).counts
        for index in begin..<end { counts[index] += 1 }
    }

    @Test func jobPostedWhileHelpersStartIsNotLost() {
        for round in 0..<100 {
            let pool = WorkerPool()
            let counts = UnsafeMutablePointer<Int>.allocate(capacity: 3)
            counts.initialize(repeating: 0, count: 3)
            let done = DispatchSemaphore(value: 0)
            let box = UncheckedSendable(counts)
            Thread {
                pool.ensureHelpers(2)
                withUnsafePointer(to: Counts(counts: box.value)) { context in
                    pool.run(SplitJob(context: UnsafeRawPointer(context), body: Self.countIndices, count: 3, parts: 3, alignment: 1))
                }
                done.signal()
            }.start()
            // A lost part shows as a job that never finishes; the stuck thread is left behind.
            guard done.wait(timeout: .now() + 10) == .success else {
                Issue.record("round \(round): the job never finished")
                return
            }
            #expect(Array(UnsafeBufferPointer(start: counts, count: 3)) == [1, 1, 1])
            counts.deallocate()
        }
    }

    @Test func splitCoversEveryIndexOnce() {
        let saved = Parallel.workers
        defer { Parallel.workers = saved }
        Parallel.workers = 2
        let counts = UnsafeMutablePointer<Int>.allocate(capacity: 1000)
        defer { counts.deallocate() }
        counts.initialize(repeating: 0, count: 1000)
        Parallel.split(1000, alignment: 16, Counts(counts: counts), Self.countIndices)
        #expect(UnsafeBufferPointer(start: counts, count: 1000).allSatisfy { $0 == 1 })
    }

    /// Jobs of 2, 3 and 1 parts on a pool of 3 helpers, many times over: a helper without a part
    /// in one job must neither run a part of it nor miss its part in the next.
    @Test func jobsWithFewerPartsThanHelpers() {
        let pool = WorkerPool()
        pool.ensureHelpers(3)
        let counts = UnsafeMutablePointer<Int>.allocate(capacity: 64)
        defer { counts.deallocate() }
        for round in 0..<2000 {
            let parts = [2, 3, 1, 4][round % 4]
            counts.initialize(repeating: 0, count: 64)
            withUnsafePointer(to: Counts(counts: counts)) { context in
                pool.run(SplitJob(context: UnsafeRawPointer(context), body: Self.countIndices, count: 64, parts: parts, alignment: 1))
            }
            guard UnsafeBufferPointer(start: counts, count: 64).allSatisfy({ $0 == 1 }) else {
                Issue.record("round \(round) (\(parts) parts): an index was not counted exactly once")
                return
            }
        }
    }
}
