// Mini-batches with augmentation, made on a background thread while the model trains on the
// previous one. A ring of `depth` batch slots, allocated once, passes between the producer and
// the trainer through two semaphores (free slots, ready slots): a bounded queue that allocates
// nothing per batch.
//
// Determinism: image i of epoch e is augmented from its own random stream (e·2³² + i of the
// augmentation seed), so batches are identical whatever the threads' timing. The order of the
// images is the trainer's seeded shuffle, exactly as without augmentation.
//
// Every epoch signals `ready` once per batch, even a cancelled one (it then skips the work), and
// the trainer takes every batch, so the semaphores are back at their start when an epoch ends.
import Foundation
import Synchronization

package final class BatchPipeline {
    package let batchSize: Int
    package let depth: Int
    private let shared: Shared
    private var batchesThisEpoch = 0
    private var taken = 0
    private var holding = false

    /// What the producer thread and the trainer share. A slot belongs to one side at a time,
    /// handed over by the semaphores, which also order the memory accesses.
    private final class Shared: @unchecked Sendable {
        let dataset: DigitDataset
        let augmenter: Augmenter
        let random = RandomGenerator(seed: 0)
        let seed: UInt64
        let batchSize: Int
        let inputs: [Tensor]                        // depth × (B, H·W)
        let labels: UnsafeMutablePointer<Int32>     // (depth, B)
        let free = DispatchSemaphore(value: 0)
        let ready = DispatchSemaphore(value: 0)
        let start = DispatchSemaphore(value: 0)
        let cancelled = Atomic<Bool>(false)
        let stopped = Atomic<Bool>(false)
        var order: [Int] = []                       // written before `start` is signalled
        var epoch = 0

        init(dataset: DigitDataset, spec: AugmentationSpec, normalization: Normalization?, batchSize: Int, depth: Int, seed: UInt64) {
            self.dataset = dataset
            augmenter = Augmenter(spec: spec, rows: dataset.rows, columns: dataset.columns,
                                  normalization: normalization ?? Normalization(mean: 0, std: 1))  // as BatchAssembler
            self.seed = seed
            self.batchSize = batchSize
            inputs = (0..<depth).map { _ in Tensor(shape: [batchSize, dataset.pixelsPerImage]) }
            labels = .allocate(capacity: depth * batchSize)
            labels.initialize(repeating: 0, count: depth * batchSize)
            // Counted up from zero: libdispatch refuses to free a semaphore below its initial value.
            for _ in 0..<depth { free.signal() }
        }

        deinit {
            labels.deallocate()
        }

        func produceEpoch() {
            let batches = (order.count + batchSize - 1) / batchSize
            let size = dataset.pixelsPerImage
            for batch in 0..<batches {
                free.wait()
                if !cancelled.load(ordering: .relaxed) {
                    let slot = batch % inputs.count
                    let indices = order[batch * batchSize..<min((batch + 1) * batchSize, order.count)]
                    let tensor = inputs[slot]
                    tensor.setRows(indices.count)
                    dataset.pixels.withUnsafeBufferPointer { pixels in
                        for (row, index) in indices.enumerated() {
                            random.reseed(seed: seed, stream: UInt64(epoch) << 32 | UInt64(index))
                            augmenter.augment(pixels.baseAddress! + index * size, into: tensor.data + row * size, random: random)
                            labels[slot * batchSize + row] = Int32(dataset.labels[index])
                        }
                    }
                }
                ready.signal()
            }
        }
    }

    /// - Parameter seed: the augmentation seed (derived from the run's seed by the trainer).
    package init(dataset: DigitDataset, spec: AugmentationSpec, normalization: Normalization?, batchSize: Int,
                depth: Int = 3, seed: UInt64) {
        precondition(depth >= 2, "a pipeline needs at least 2 slots to overlap work, got \(depth)")
        self.batchSize = batchSize
        self.depth = depth
        shared = Shared(dataset: dataset, spec: spec, normalization: normalization, batchSize: batchSize, depth: depth, seed: seed)
        let shared = self.shared
        let thread = Thread {
            while true {
                shared.start.wait()
                if shared.stopped.load(ordering: .relaxed) { return }
                shared.produceEpoch()
            }
        }
        thread.name = "digits-batches"
        thread.start()
    }

    deinit {
        cancel()
        shared.stopped.store(true, ordering: .relaxed)
        shared.start.signal()
    }

    /// Starts producing the batches of `order` (the epoch's shuffled indices) in the background.
    package func startEpoch(_ epoch: Int, order: [Int]) {
        precondition(taken == batchesThisEpoch && !holding, "startEpoch before the previous epoch was finished or cancelled")
        shared.order = order
        shared.epoch = epoch
        shared.cancelled.store(false, ordering: .relaxed)
        batchesThisEpoch = (order.count + batchSize - 1) / batchSize
        taken = 0
        shared.start.signal()
    }

    /// The next batch: inputs (B, H·W), normalized, and B labels, valid until the next call;
    /// nil when the epoch is done.
    package func next() -> (inputs: Tensor, labels: UnsafePointer<Int32>)? {
        if holding {
            shared.free.signal()
            holding = false
        }
        guard taken < batchesThisEpoch else { return nil }
        shared.ready.wait()
        let slot = taken % depth
        taken += 1
        holding = true
        return (shared.inputs[slot], UnsafePointer(shared.labels + slot * batchSize))
    }

    /// Abandons the rest of the epoch (interruption, divergence): the producer skips the work
    /// of the remaining batches and this drains them.
    package func cancel() {
        shared.cancelled.store(true, ordering: .relaxed)
        while next() != nil {}
    }
}
