// The loops between the GEMMs (im2col, col2im, pooling, activations) would otherwise run on one
// core while OpenBLAS's other threads wait. Parallel.split cuts such a loop into one contiguous
// part per worker; each part writes only its own outputs, so the result does not depend on the
// threads' timing. The worker count follows BLAS.threads.
import Dispatch

public enum Parallel {
    /// Workers for the loops; set with BLAS.threads.
    nonisolated(unsafe) static var workers = 1

    /// Calls `body` on disjoint parts of 0..<count, in parallel when there is enough work
    /// (at least `minimumPerWorker` items per worker). Part boundaries are multiples of `alignment`.
    @inline(__always)
    static func split(_ count: Int, minimumPerWorker: Int = 1, alignment: Int = 1, _ body: (Range<Int>) -> Void) {
        let parts = min(workers, count / max(minimumPerWorker, 1))
        guard parts > 1 else {
            body(0..<count)
            return
        }
        let units = (count + alignment - 1) / alignment
        // The parts touch disjoint memory, which the compiler cannot see: hence the box.
        withoutActuallyEscaping(body) { body in
            let work = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: parts) { part in
                let begin = min(count, units * part / parts * alignment)
                let end = part == parts - 1 ? count : min(count, units * (part + 1) / parts * alignment)
                if begin < end { work.value(begin..<end) }
            }
        }
    }
}

struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
