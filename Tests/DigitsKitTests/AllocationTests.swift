// The trainer's own step allocates nothing once its buffers are sized: not on the calling
// thread, and not on the compute context's helper threads. Allocations are counted by the
// test-only AllocationCounter, which replaces malloc for this process and counts only on the
// threads that ask, into a counter of this measurement's own: tests running at the same time
// (one of them allocates on purpose) are not counted.
import AllocationCounter
import Dispatch
import Testing
@_spi(Tools) @testable import DigitsKit

@Suite struct AllocationTests {
    /// Counts into `counter` (0: stops counting) on every thread of `compute`: part i of a split
    /// runs on thread i.
    static func count(into counter: Int32, on compute: ComputeContext) {
        compute.split(compute.threads, counter) { context, _, _, _ in
            digits_count_allocations_on_this_thread(context.load(as: Int32.self))
        }
    }

    /// Allocations made by `body` on the caller and `compute`'s helpers.
    static func allocations(on compute: ComputeContext, _ body: () -> Void) -> Int {
        let counter = digits_new_allocation_counter()
        count(into: counter, on: compute)
        body()
        count(into: 0, on: compute)
        return digits_counted_allocations(counter)
    }

    /// The counter sees what it should: an array's storage is one allocation.
    @Test func theCounterCounts() {
        var kept: [[Int]] = []
        let counted = Self.allocations(on: .serial) { kept.append(Array(repeating: 1, count: 100)) }
        #expect(counted >= 1 && kept.count == 1)
    }

    /// A measurement does not count another thread's allocations, counted or not: the step test
    /// runs while other tests (this file's counter check among them) allocate.
    @Test func measurementsDoNotCountEachOther() {
        let other = DispatchGroup()
        let started = DispatchSemaphore(value: 0), measured = DispatchSemaphore(value: 0)
        DispatchQueue.global().async(group: other) {
            started.wait()
            var kept: [[Int]] = []
            let counted = Self.allocations(on: .serial) { kept.append(Array(repeating: 2, count: 100)) }
            #expect(counted >= 1 && kept.count == 1)
            measured.signal()
        }
        let counted = Self.allocations(on: .serial) {
            started.signal()
            measured.wait()  // the other thread's counted allocations happen inside this window
        }
        other.wait()
        #expect(counted == 0)
    }

    /// Every shipped model's step (forward, fused loss, backward, clipping, Adam, the moving
    /// average of the weights) at two
    /// threads, after three warm-up steps. Batch 32 keeps the debug build quick; the buffers are
    /// the same kind at any batch size.
    @Test(arguments: Recipe.modelNames)
    func steadyStateTrainingStepAllocatesNothing(model name: String) throws {
        let random = RandomGenerator(seed: 3)
        let pixels = (0..<(64 * 784)).map { _ in UInt8(random.nextInt(below: 256)) }
        let dataset = try DigitDataset(images: IDXArray(shape: [64, 28, 28], values: .ubyte(pixels)), imagesPath: "images",
                                       labels: IDXArray(shape: [64], values: .ubyte((0..<64).map { UInt8($0 % 10) })), labelsPath: "labels")
        let architecture = Recipe.named(name)!.architecture()
        var options = TrainingOptions()
        options.batchSize = 32
        options.augment = "none"
        options.validationCount = 1
        options.clipNorm = 5
        options.ema = 0.99
        let compute = ComputeContext(threads: 2)
        let trainer = try Trainer(architecture: architecture, options: options, dataset: dataset, compute: compute)
        let batch = Array(0..<32)
        for _ in 0..<3 { trainer.step(indices: batch[...], learningRate: 1e-3) }
        let counted = Self.allocations(on: compute) {
            for _ in 0..<3 { trainer.step(indices: batch[...], learningRate: 1e-3) }
        }
        #expect(counted == 0, "\(name): \(counted) allocations in 3 steady-state steps")
    }
}
