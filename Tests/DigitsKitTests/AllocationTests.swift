// The trainer's own step allocates nothing once its buffers are sized: not on the calling
// thread, and not on the compute context's helper threads. Allocations are counted by the
// test-only AllocationCounter, which replaces malloc for this process and counts only on the
// threads that ask, so suites running at the same time are not counted.
import AllocationCounter
import Testing
@_spi(Tools) @testable import DigitsKit

@Suite struct AllocationTests {
    /// Turns counting on or off on every thread of `compute`: part i of a split runs on thread i.
    static func count(_ on: Bool, on compute: ComputeContext) {
        compute.split(compute.threads, on ? 1 : 0) { context, _, _, _ in
            digits_count_allocations_on_this_thread(Int32(context.load(as: Int.self)))
        }
    }

    /// Allocations made by `body` on the caller and `compute`'s helpers.
    static func allocations(on compute: ComputeContext, _ body: () -> Void) -> Int {
        let before = digits_counted_allocations()
        count(true, on: compute)
        body()
        count(false, on: compute)
        return digits_counted_allocations() - before
    }

    /// The counter sees what it should: an array's storage is one allocation.
    @Test func theCounterCounts() {
        var kept: [[Int]] = []
        let counted = Self.allocations(on: .serial) { kept.append(Array(repeating: 1, count: 100)) }
        #expect(counted >= 1 && kept.count == 1)
    }

    /// Every shipped model's step (forward, fused loss, backward, clipping, Adam) at two
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
