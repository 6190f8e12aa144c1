// The worker pool: every part of a job runs exactly once, including a job posted while a new
// helper thread is still starting (a helper once took such a job for an old one and never ran
// its part, leaving the poster waiting forever), and jobs with fewer parts than helpers (the
// helpers left out must not run a part of the next job early); a poster that sleeps while a
// slow part finishes; and contexts that end their threads when they are freed.
import Dispatch
import Foundation
import Testing
@_spi(Tools) @testable import DigitsKit

@Suite struct ParallelTests {
    /// Counts per index, written by the parts through the context pointer.
    struct Counts {
        let counts: UnsafeMutablePointer<Int>
    }

    static let countIndices: ComputeContext.Part = { context, _, begin, end in
        let counts = context.load(as: Counts.self).counts
        for index in begin..<end { counts[index] += 1 }
    }

    @Test func jobPostedWhileHelpersStartIsNotLost() {
        for round in 0..<100 {
            let pool = WorkerPool(helpers: 2)
            defer { pool.stop() }
            let counts = UnsafeMutablePointer<Int>.allocate(capacity: 3)
            counts.initialize(repeating: 0, count: 3)
            let done = DispatchSemaphore(value: 0)
            let box = UncheckedSendable(counts)
            Thread {
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
        let compute = ComputeContext(threads: 2)
        let counts = UnsafeMutablePointer<Int>.allocate(capacity: 1000)
        defer { counts.deallocate() }
        counts.initialize(repeating: 0, count: 1000)
        compute.split(1000, alignment: 16, Counts(counts: counts), Self.countIndices)
        #expect(UnsafeBufferPointer(start: counts, count: 1000).allSatisfy { $0 == 1 })
    }

    /// Jobs of 2, 3 and 1 parts on a pool of 3 helpers, many times over: a helper without a part
    /// in one job must neither run a part of it nor miss its part in the next.
    @Test func jobsWithFewerPartsThanHelpers() {
        let pool = WorkerPool(helpers: 3)
        defer { pool.stop() }
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

    /// A part slower than the spin: the poster goes to sleep and must be woken by the last
    /// helper, every time, whichever of them finishes first.
    @Test func posterSleepsThroughASlowPart() {
        let compute = ComputeContext(threads: 3)
        let counts = UnsafeMutablePointer<Int>.allocate(capacity: 3)
        defer { counts.deallocate() }
        for round in 0..<40 {
            counts.initialize(repeating: 0, count: 3)
            compute.split(3, Counts(counts: counts)) { context, part, begin, end in
                // The slow part moves around: the caller's part, then a helper's.
                if part == (begin + end) % 3 { usleep(2_000) }
                let counts = context.load(as: Counts.self).counts
                for index in begin..<end { counts[index] += 1 }
            }
            guard UnsafeBufferPointer(start: counts, count: 3).allSatisfy({ $0 == 1 }) else {
                Issue.record("round \(round): a part was lost or run twice")
                return
            }
        }
    }

    /// The threads of this process, from /proc.
    static func threadCount() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count) ?? 0
    }

    /// Contexts made and dropped (as tests and servers do) do not leave their threads behind.
    /// Other suites run at the same time, so the check allows for their threads, but not for
    /// the 60 helpers made here.
    @Test func freedContextsEndTheirThreads() async throws {
        let before = Self.threadCount()
        for _ in 0..<20 {
            let compute = ComputeContext(threads: 4)
            let counts = UnsafeMutablePointer<Int>.allocate(capacity: 64)
            counts.initialize(repeating: 0, count: 64)
            compute.split(64, Counts(counts: counts), Self.countIndices)
            counts.deallocate()
        }
        var after = Self.threadCount()
        for _ in 0..<100 where after >= before + 30 {
            try await Task.sleep(nanoseconds: 20_000_000)
            after = Self.threadCount()
        }
        #expect(after < before + 30, "\(before) threads before, \(after) after 20 contexts of 4 threads were freed")
    }
}
