// The worker pool: every part of a job runs exactly once, including a job posted while a new
// helper thread is still starting (that helper once took the job for an old one and never ran
// its part, leaving the poster waiting forever).
import Dispatch
import Foundation
import Testing
@testable import DigitsKit

@Suite struct ParallelTests {
    final class Parts: @unchecked Sendable {
        var runs = [Int](repeating: 0, count: 3)  // each part writes only its own slot
    }

    @Test func jobPostedWhileHelpersStartIsNotLost() {
        for round in 0..<100 {
            let pool = WorkerPool()
            let parts = Parts()
            let done = DispatchSemaphore(value: 0)
            Thread {
                pool.ensureHelpers(2)
                pool.run(parts: 3) { parts.runs[$0] += 1 }
                done.signal()
            }.start()
            // A lost part shows as a job that never finishes; the stuck thread is left behind.
            guard done.wait(timeout: .now() + 10) == .success else {
                Issue.record("round \(round): the job never finished")
                return
            }
            #expect(parts.runs == [1, 1, 1])
        }
    }

    @Test func splitCoversEveryIndexOnce() {
        let saved = Parallel.workers
        defer { Parallel.workers = saved }
        Parallel.workers = 2
        final class Seen: @unchecked Sendable { var counts = [Int](repeating: 0, count: 1000) }
        let seen = Seen()
        Parallel.split(1000, alignment: 16) { range in for index in range { seen.counts[index] += 1 } }
        #expect(seen.counts.allSatisfy { $0 == 1 })
    }
}
