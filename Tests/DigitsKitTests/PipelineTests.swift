// The background batch pipeline: it delivers exactly the batches of the order it is given,
// the same seed gives the same augmented batches whatever the thread timing, an abandoned
// epoch leaves it ready for the next, and training with it is deterministic and resumable.
import Testing
@_spi(Tools) @testable import DigitsKit

@Suite struct PipelineTests {
    static func batches(_ pipeline: BatchPipeline, epoch: Int, order: [Int]) -> [([Float], [Int32])] {
        pipeline.startEpoch(epoch, order: order)
        var result: [([Float], [Int32])] = []
        while let (inputs, labels) = pipeline.next() {
            result.append((inputs.array, Array(UnsafeBufferPointer(start: labels, count: inputs.rows))))
        }
        return result
    }

    @Test func shuffleIsAPermutationEveryEpoch() {
        let random = RandomGenerator(seed: 4)
        var previous: [Int] = []
        for _ in 0..<5 {
            var order = Array(0..<1000)
            random.shuffle(&order)
            #expect(order.sorted() == Array(0..<1000))  // every image exactly once
            #expect(order != previous && order != Array(0..<1000))
            previous = order
        }
    }

    /// Without augmentation the pipeline's batches equal the in-place assembler's, in order:
    /// every image of the order once, the last partial batch included.
    @Test func deliversExactlyTheOrderedBatches() throws {
        let dataset = try SyntheticDigits.dataset(count: 103)
        let pipeline = BatchPipeline(dataset: dataset, spec: .none, normalization: .mnist, batchSize: 10, seed: 1)
        let assembler = BatchAssembler(dataset: dataset, normalization: .mnist, batchSize: 10)
        var order = Array(0..<103)
        RandomGenerator(seed: 2).shuffle(&order)
        let produced = Self.batches(pipeline, epoch: 1, order: order)
        #expect(produced.count == 11 && produced.last!.1.count == 3)
        for (batch, (inputs, labels)) in produced.enumerated() {
            assembler.assemble(order[batch * 10..<min(batch * 10 + 10, 103)])
            #expect(inputs == assembler.inputs.array)
            #expect(labels == Array(UnsafeBufferPointer(start: assembler.labels, count: labels.count)))
        }
        #expect(produced.flatMap(\.1).count == 103)
    }

    @Test func sameSeedSameAugmentedBatches() throws {
        let dataset = try SyntheticDigits.dataset(count: 64)
        let spec = try AugmentationSpec.parse("shift=1,rotate=15,noise=0.05")
        let order = Array((0..<64).reversed())
        let first = BatchPipeline(dataset: dataset, spec: spec, normalization: nil, batchSize: 8, depth: 2, seed: 9)
        let second = BatchPipeline(dataset: dataset, spec: spec, normalization: nil, batchSize: 8, depth: 4, seed: 9)
        let other = BatchPipeline(dataset: dataset, spec: spec, normalization: nil, batchSize: 8, seed: 10)
        let a = Self.batches(first, epoch: 1, order: order), b = Self.batches(second, epoch: 1, order: order)
        #expect(a.map(\.0) == b.map(\.0) && a.map(\.1) == b.map(\.1))
        #expect(Self.batches(other, epoch: 1, order: order).map(\.0) != a.map(\.0))
        // A new epoch draws new augmentations of the same images.
        #expect(Self.batches(first, epoch: 2, order: order).map(\.0) != a.map(\.0))
    }

    @Test func cancelledEpochLeavesThePipelineReady() throws {
        let dataset = try SyntheticDigits.dataset(count: 200)
        let spec = try AugmentationSpec.parse("shift=2")
        let pipeline = BatchPipeline(dataset: dataset, spec: spec, normalization: nil, batchSize: 10, depth: 3, seed: 5)
        let order = Array(0..<200)
        for taken in [0, 1, 5, 19] {
            pipeline.startEpoch(1, order: order)
            for _ in 0..<taken { _ = pipeline.next() }
            pipeline.cancel()
        }
        // After all that, epoch 2 is the same as from a fresh pipeline.
        let fresh = BatchPipeline(dataset: dataset, spec: spec, normalization: nil, batchSize: 10, depth: 3, seed: 5)
        #expect(Self.batches(pipeline, epoch: 2, order: order).map(\.0) == Self.batches(fresh, epoch: 2, order: order).map(\.0))
    }

    @Test func trainingWithAugmentationIsDeterministicAndResumes() throws {
        let dataset = try SyntheticDigits.dataset(count: 300)
        var options = SyntheticDigits.options(epochs: 3)
        options.augment = "shift=1,rotate=10"
        let straight = try Trainer(architecture: SyntheticDigits.architecture, options: options, dataset: dataset)
        while !straight.isFinished { _ = try straight.runEpoch() }
        let again = try Trainer(architecture: SyntheticDigits.architecture, options: options, dataset: dataset)
        while !again.isFinished { _ = try again.runEpoch() }
        let identical = again.checkpointFile().encoded() == straight.checkpointFile().encoded()
        #expect(identical)
        #expect(straight.checkpointFile().metadata["augmentation"] == "shift=1,rotate=10")

        let first = try Trainer(architecture: SyntheticDigits.architecture, options: options, dataset: dataset)
        _ = try first.runEpoch()
        let saved = first.stateFile().encoded()  // what digits train writes after each epoch
        // An interrupted epoch leaves the pipeline usable: the next epoch runs (no hang).
        #expect(throws: TrainingError.self) { _ = try first.runEpoch(shouldStop: { true }) }
        _ = try first.runEpoch()
        let resumed = try Trainer(resumingFrom: SafeTensorsFile.decode(saved, path: "s"), path: "s", dataset: dataset)
        while !resumed.isFinished { _ = try resumed.runEpoch() }
        let resumedMatches = resumed.checkpointFile().encoded() == straight.checkpointFile().encoded()
        #expect(resumedMatches)
    }

    /// Interrupted in the middle of an epoch (7 batches each: after batches 3 of epoch 1, 3 of
    /// epoch 2 and 6 of epoch 2), saved, and resumed from the saved state: the final
    /// checkpoint is byte for byte the straight run's, with and without augmentation. The
    /// interrupted trainer itself also carries on to the same result.
    @Test(arguments: ["none", "shift=1,rotate=10"])
    func interruptedMidEpochResumesExactly(augment: String) throws {
        let dataset = try SyntheticDigits.dataset(count: 300)
        var options = SyntheticDigits.options(epochs: 3)
        options.augment = augment
        let straight = try Trainer(architecture: SyntheticDigits.architecture, options: options, dataset: dataset)
        while !straight.isFinished { _ = try straight.runEpoch() }
        let expected = straight.checkpointFile().encoded()
        for stopAfter in [3, 10, 13] {
            let first = try Trainer(architecture: SyntheticDigits.architecture, options: options, dataset: dataset)
            var steps = 0
            var saved: [UInt8]?
            while saved == nil {
                do {
                    _ = try first.runEpoch(shouldStop: { steps += 1; return steps == stopAfter })
                } catch TrainingError.interrupted {
                    saved = first.stateFile().encoded()
                }
            }
            let resumed = try Trainer(resumingFrom: SafeTensorsFile.decode(saved!, path: "s"), path: "s", dataset: dataset)
            #expect(resumed.batchesDone == (stopAfter - 1) % 7 + 1 && resumed.completedEpochs == (stopAfter - 1) / 7)
            while !resumed.isFinished { _ = try resumed.runEpoch() }
            let resumedMatches = resumed.checkpointFile().encoded() == expected
            #expect(resumedMatches, "resumed after step \(stopAfter) (\(augment))")
            while !first.isFinished { _ = try first.runEpoch() }
            let continuedMatches = first.checkpointFile().encoded() == expected
            #expect(continuedMatches, "continued after step \(stopAfter) (\(augment))")
        }
    }

    @Test func augmentationRecipeIsValidated() {
        var options = TrainingOptions()
        options.augment = "rotate=999"
        #expect(options.problem()?.contains("rotate=999") == true)
        options.augment = "shift=2"
        #expect(options.problem() == nil && options.augmentation.shift == 2)
    }
}
