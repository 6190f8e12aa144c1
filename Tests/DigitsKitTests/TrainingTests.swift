// The training loop on a small made-up dataset: it learns, it is deterministic to the bit (on
// one thread and on two), a resumed run equals an uninterrupted one, extending a run means what
// the help says, failures stop it cleanly, and a steady-state step allocates nothing.
import Foundation
import Testing
@_spi(Tools) @testable import DigitsKit
@testable import DigitsPresentation

enum SyntheticDigits {
    /// 8×8 images: class k lights row k % 8 (columns 0–3 for k < 8, 4–7 otherwise, plus a dot
    /// for 8 and 9), over faint noise. Learnable, but not by luck.
    static func dataset(count: Int, seed: UInt64 = 7) throws -> DigitDataset {
        let random = RandomGenerator(seed: seed)
        var pixels: [UInt8] = []
        var labels: [UInt8] = []
        for index in 0..<count {
            let label = index % 10
            var image = (0..<64).map { _ in UInt8(random.nextInt(below: 40)) }
            let row = label % 8
            for column in (label < 8 ? 0..<4 : 4..<8) { image[row * 8 + column] = 200 + UInt8(random.nextInt(below: 56)) }
            if label >= 8 { image[63 - label] = 255 }
            pixels += image
            labels.append(UInt8(label))
        }
        return try DigitDataset(images: IDXArray(shape: [count, 8, 8], values: .ubyte(pixels)), imagesPath: "synthetic-images",
                                labels: IDXArray(shape: [count], values: .ubyte(labels)), labelsPath: "synthetic-labels")
    }

    static let architecture = Architecture.mlp(hidden: [16, 12], activation: .relu, dropout: 0.2, input: [1, 8, 8])

    /// A small CNN whose convolutions and pooling split the batch between threads.
    static let convolutional = Architecture(model: "tiny-cnn", input: [1, 8, 8], classes: 10, activation: "relu", dropout: 0.2,
                                            normalization: .mnist, layers: [
        .conv2d("conv1", 1, 16, kernel: 3, stride: 1, padding: 1), .activation(.relu), .maxpool2d(2, stride: 2),
        .conv2d("conv2", 16, 16, kernel: 3, stride: 1, padding: 1), .batchnorm("bn2", 16), .activation(.relu),
        .flatten, .dropout(0.2), .linear("fc1", 16 * 4 * 4, 10),
    ])

    static func options(epochs: Int = 3, seed: UInt64 = 11) -> TrainingOptions {
        var options = TrainingOptions()
        options.epochs = epochs
        options.batchSize = 32
        options.validationCount = 100
        options.seed = seed
        options.learningRate = 0.01
        return options
    }
}

@Suite struct TrainingTests {
    @Test func learnsTheSyntheticDigits() throws {
        let trainer = try Trainer(architecture: SyntheticDigits.architecture, options: SyntheticDigits.options(epochs: 8),
                                  dataset: SyntheticDigits.dataset(count: 600))
        while !trainer.isFinished { _ = try trainer.runEpoch() }
        #expect(trainer.bestValidationAccuracy > 0.95)
        #expect(trainer.history.count == 8)
        #expect(trainer.history.last!.trainLoss < trainer.history.first!.trainLoss)
    }

    @Test func sameSeedGivesBitIdenticalCheckpoints() throws {
        let dataset = try SyntheticDigits.dataset(count: 400)
        func run(seed: UInt64) throws -> ([UInt8], [UInt8]) {
            let trainer = try Trainer(architecture: SyntheticDigits.architecture, options: SyntheticDigits.options(seed: seed), dataset: dataset)
            while !trainer.isFinished { _ = try trainer.runEpoch() }
            return (trainer.checkpointFile().encoded(), trainer.stateFile().encoded())
        }
        let first = try run(seed: 11), second = try run(seed: 11), other = try run(seed: 12)
        let identical = first.0 == second.0 && first.1 == second.1, differs = first.0 != other.0
        #expect(identical)
        #expect(differs)
    }

    /// At two threads the convolutions, pooling and products split each batch: the same seed
    /// must still give the same bits. One step on one thread and on two computes the same
    /// update up to rounding (the split changes the order of some sums, never their meaning;
    /// over epochs such differences grow, which is why the count is saved with the state).
    @Test func twoThreadsAreDeterministic() throws {
        let dataset = try SyntheticDigits.dataset(count: 400)
        func run(threads: Int) throws -> Trainer {
            let trainer = try Trainer(architecture: SyntheticDigits.convolutional, options: SyntheticDigits.options(epochs: 2),
                                      dataset: dataset, compute: ComputeContext(threads: threads))
            while !trainer.isFinished { _ = try trainer.runEpoch() }
            return trainer
        }
        let first = try run(threads: 2), second = try run(threads: 2)
        #expect(first.checkpointFile().encoded() == second.checkpointFile().encoded())
        #expect(first.stateFile().encoded() == second.stateFile().encoded())
        #expect(first.stateFile().metadata["threads"] == "2")

        func oneStep(threads: Int) throws -> [[Float]] {
            let trainer = try Trainer(architecture: SyntheticDigits.convolutional, options: SyntheticDigits.options(),
                                      dataset: dataset, compute: ComputeContext(threads: threads))
            trainer.step(indices: Array(0..<32)[...], learningRate: 1e-3)
            return trainer.model.parameters.map(\.gradient.array)
        }
        for (a, b) in zip(try oneStep(threads: 1), try oneStep(threads: 2)) {
            let scale = a.map(abs).max() ?? 1
            let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
            #expect(worst <= 1e-5 * max(scale, 1e-3), "one and two threads' gradients differ by \(worst) (scale \(scale))")
        }
    }

    /// Interrupted after 2 of 4 epochs at two threads and resumed through the file's bytes:
    /// the same checkpoint and state as the uninterrupted run. Resumed on one thread, the
    /// trainer knows the state was written by two.
    @Test func resumeAtTwoThreads() throws {
        let dataset = try SyntheticDigits.dataset(count: 400)
        let compute = ComputeContext(threads: 2)
        let uninterrupted = try Trainer(architecture: SyntheticDigits.convolutional, options: SyntheticDigits.options(epochs: 4),
                                        dataset: dataset, compute: compute)
        while !uninterrupted.isFinished { _ = try uninterrupted.runEpoch() }
        let first = try Trainer(architecture: SyntheticDigits.convolutional, options: SyntheticDigits.options(epochs: 4),
                                dataset: dataset, compute: compute)
        _ = try first.runEpoch()
        _ = try first.runEpoch()
        let saved = try SafeTensorsFile.decode(first.stateFile().encoded(), path: "state")
        let resumed = try Trainer(resumingFrom: saved, path: "state", dataset: dataset, compute: compute)
        #expect(resumed.savedThreads == 2)
        while !resumed.isFinished { _ = try resumed.runEpoch() }
        #expect(resumed.checkpointFile().encoded() == uninterrupted.checkpointFile().encoded())
        #expect(resumed.stateFile().encoded() == uninterrupted.stateFile().encoded())
        let elsewhere = try Trainer(resumingFrom: saved, path: "state", dataset: dataset, compute: .serial)
        #expect(elsewhere.savedThreads == 2 && elsewhere.compute.threads == 1)
    }

    /// `--ema`: after every step the average moves toward the weights by the formula, with
    /// the early steps' lower decay (1 + t) / (10 + t); BatchNorm's step count is copied.
    /// Read back through the training state's "average." tensors.
    @Test func weightAverageFollowsTheFormula() throws {
        var options = SyntheticDigits.options()
        options.ema = 0.9
        let trainer = try Trainer(architecture: SyntheticDigits.convolutional, options: options,
                                  dataset: SyntheticDigits.dataset(count: 200))
        let names = trainer.model.savedTensors.map(\.name)
        var expected = trainer.model.savedTensors.map(\.value.array)
        for step in 1...12 {
            trainer.step(indices: Array((step * 8)..<(step * 8 + 32))[...], learningRate: 1e-2)
            let d = min(Float(0.9), Float(1 + step) / Float(10 + step))
            for (index, tensor) in trainer.model.savedTensors.enumerated() {
                let values = tensor.value.array
                expected[index] = tensor.name.hasSuffix("num_batches_tracked") ? values
                    : zip(expected[index], values).map { d * $0 + (1 - d) * $1 }
            }
        }
        let state = trainer.stateFile()
        for (name, values) in zip(names, expected) {
            let average = try #require(state["average.\(name)"], "no average of \(name)")
            let worst = zip(average.values, values).map { abs($0 - $1) }.max() ?? 0
            #expect(worst <= 1e-6, "\(name): the average is off by \(worst)")
        }
        #expect(state["average.bn2.num_batches_tracked"]?.values == [12])
        // Without --ema the state holds no average.
        let plain = try Trainer(architecture: SyntheticDigits.convolutional, options: SyntheticDigits.options(),
                                dataset: SyntheticDigits.dataset(count: 200))
        #expect(!plain.stateFile().entries.contains { $0.name.hasPrefix("average.") })
    }

    /// With `--ema` the average is what validation scores and what the checkpoint keeps, while
    /// training goes on from the weights themselves.
    @Test func theAverageIsValidatedAndSaved() throws {
        var options = SyntheticDigits.options(epochs: 1)
        options.ema = 0.95
        let trainer = try Trainer(architecture: SyntheticDigits.convolutional, options: options,
                                  dataset: SyntheticDigits.dataset(count: 400))
        _ = try trainer.runEpoch()
        let state = trainer.stateFile(), checkpoint = trainer.checkpointFile()
        for tensor in trainer.model.savedTensors where tensor.name.hasSuffix(".weight") {
            let saved = try #require(checkpoint[tensor.name]).values
            #expect(saved == state["average.\(tensor.name)"]?.values, "\(tensor.name): the checkpoint is not the average")
            #expect(saved != tensor.value.array, "\(tensor.name): the checkpoint holds the last step's weights")
            #expect(state["current.\(tensor.name)"]?.values == tensor.value.array)
        }
        // The validation accuracy recorded is the average's, as scored by the inference plan.
        trainer.restoreBestWeights()
        let range = trainer.trainIndices.count..<trainer.dataset.count
        let scored = Predictions.compute(InferencePlan(trainer.model), on: trainer.dataset, range: range)
            .score(labels: trainer.dataset.labels[range])
        #expect(scored.accuracy == trainer.bestValidationAccuracy)
    }

    /// Interrupted and resumed with `--ema`, through the state file's bytes: the same
    /// checkpoint and state as the uninterrupted run (the average is saved and restored).
    @Test func resumedRunWithAnAverageEqualsUninterruptedRun() throws {
        let dataset = try SyntheticDigits.dataset(count: 400)
        var options = SyntheticDigits.options(epochs: 3)
        options.ema = 0.95
        let uninterrupted = try Trainer(architecture: SyntheticDigits.architecture, options: options, dataset: dataset)
        while !uninterrupted.isFinished { _ = try uninterrupted.runEpoch() }
        let first = try Trainer(architecture: SyntheticDigits.architecture, options: options, dataset: dataset)
        _ = try first.runEpoch()
        let saved = try SafeTensorsFile.decode(first.stateFile().encoded(), path: "state")
        let resumed = try Trainer(resumingFrom: saved, path: "state", dataset: dataset)
        while !resumed.isFinished { _ = try resumed.runEpoch() }
        let sameCheckpoint = resumed.checkpointFile().encoded() == uninterrupted.checkpointFile().encoded()
        let sameState = resumed.stateFile().encoded() == uninterrupted.stateFile().encoded()
        #expect(sameCheckpoint)
        #expect(sameState)
        // A state that lost its average is refused, naming the tensor.
        var damaged = saved
        damaged.entries.removeAll { $0.name == "average.fc1.weight" }
        #expect(throws: CheckpointError.missingTensor(path: "state", tensor: "average.fc1.weight")) {
            try Trainer(resumingFrom: damaged, path: "state", dataset: dataset)
        }
    }

    /// A training state is refused at load when any of its tensors holds a NaN or an infinity:
    /// the current weights, the best weights kept for the checkpoint, or an optimizer moment.
    @Test func resumeRefusesNonFiniteState() throws {
        let dataset = try SyntheticDigits.dataset(count: 200)
        let trainer = try Trainer(architecture: SyntheticDigits.architecture, options: SyntheticDigits.options(epochs: 2), dataset: dataset)
        _ = try trainer.runEpoch()
        let state = trainer.stateFile()
        #expect((try? Trainer(resumingFrom: state, path: "state", dataset: dataset)) != nil)
        let names = state.entries.map(\.name)
        let poisoned = [names.first { $0.hasPrefix("current.") }, names.first { $0.hasPrefix("best.") },
                        names.first { !$0.hasPrefix("current.") && !$0.hasPrefix("best.") }].compactMap { $0 }
        #expect(poisoned.count == 3, "\(names)")
        for name in poisoned {
            var entries = state.entries
            let index = entries.firstIndex { $0.name == name }!
            entries[index].values[1] = .nan
            entries[index].values[2] = .infinity
            let bad = SafeTensorsFile(metadata: state.metadata, entries: entries)
            #expect(throws: CheckpointError.nonFiniteValues(path: "state", tensor: name, count: 2)) {
                _ = try Trainer(resumingFrom: bad, path: "state", dataset: dataset)
            }
        }
    }

    /// `--resume --epochs N` extends a run with the schedule over N epochs from there on. A
    /// constant schedule does not depend on the total, so 2 epochs extended to 4 are the 4-epoch
    /// run exactly; cosine does, so the extended run differs (and the comparison can tell).
    @Test(arguments: [TrainingOptions.ScheduleKind.constant, .cosine])
    func extendingARun(schedule: TrainingOptions.ScheduleKind) throws {
        let dataset = try SyntheticDigits.dataset(count: 400)
        var four = SyntheticDigits.options(epochs: 4), two = SyntheticDigits.options(epochs: 2)
        four.schedule = schedule
        two.schedule = schedule
        let straight = try Trainer(architecture: SyntheticDigits.architecture, options: four, dataset: dataset)
        while !straight.isFinished { _ = try straight.runEpoch() }
        let short = try Trainer(architecture: SyntheticDigits.architecture, options: two, dataset: dataset)
        while !short.isFinished { _ = try short.runEpoch() }
        let saved = try SafeTensorsFile.decode(short.stateFile().encoded(), path: "state")
        let extended = try Trainer(resumingFrom: saved, path: "state", dataset: dataset, epochs: 4)
        while !extended.isFinished { _ = try extended.runEpoch() }
        let same = extended.checkpointFile().encoded() == straight.checkpointFile().encoded()
        #expect(same == (schedule == .constant), "\(schedule): extended and straight runs \(same ? "agree" : "differ")")
    }

    @Test func resumedRunEqualsUninterruptedRun() throws {
        let dataset = try SyntheticDigits.dataset(count: 400)
        let uninterrupted = try Trainer(architecture: SyntheticDigits.architecture, options: SyntheticDigits.options(epochs: 4), dataset: dataset)
        while !uninterrupted.isFinished { _ = try uninterrupted.runEpoch() }

        let first = try Trainer(architecture: SyntheticDigits.architecture, options: SyntheticDigits.options(epochs: 4), dataset: dataset)
        _ = try first.runEpoch()
        _ = try first.runEpoch()
        // Through the bytes of the file, as a real resume would.
        let saved = try SafeTensorsFile.decode(first.stateFile().encoded(), path: "state")
        let resumed = try Trainer(resumingFrom: saved, path: "state", dataset: dataset)
        #expect(resumed.completedEpochs == 2)
        while !resumed.isFinished { _ = try resumed.runEpoch() }

        let sameCheckpoint = resumed.checkpointFile().encoded() == uninterrupted.checkpointFile().encoded()
        let sameState = resumed.stateFile().encoded() == uninterrupted.stateFile().encoded()
        #expect(sameCheckpoint)
        #expect(sameState)
    }

    @Test func resumeWithSGDToo() throws {
        let dataset = try SyntheticDigits.dataset(count: 300)
        var options = SyntheticDigits.options(epochs: 3)
        options.optimizer = .sgd
        options.schedule = .step
        options.stepEvery = 1
        let straight = try Trainer(architecture: SyntheticDigits.architecture, options: options, dataset: dataset)
        while !straight.isFinished { _ = try straight.runEpoch() }
        let first = try Trainer(architecture: SyntheticDigits.architecture, options: options, dataset: dataset)
        _ = try first.runEpoch()
        let resumed = try Trainer(resumingFrom: SafeTensorsFile.decode(first.stateFile().encoded(), path: "s"), path: "s", dataset: dataset)
        while !resumed.isFinished { _ = try resumed.runEpoch() }
        let sameCheckpoint = resumed.checkpointFile().encoded() == straight.checkpointFile().encoded()
        #expect(sameCheckpoint)
    }

    @Test func divergenceStopsWithTheEpochAndBatch() throws {
        var options = SyntheticDigits.options()
        options.learningRate = 1e30
        options.optimizer = .sgd
        let trainer = try Trainer(architecture: SyntheticDigits.architecture, options: options, dataset: SyntheticDigits.dataset(count: 300))
        do {
            _ = try trainer.runEpoch()
            Issue.record("a learning rate of 1e30 trained without diverging")
        } catch let TrainingError.diverged(epoch, batch, rate) {
            #expect(epoch == 1 && batch >= 2 && rate == 1e30)
        }
        #expect(trainer.completedEpochs == 0)
    }

    /// One batch per epoch: its loss is finite (it is computed before the step), and the step
    /// itself sends the weights to infinity. The epoch's end must catch it, with the epoch and
    /// the batch, before a NaN validation loss or history reaches a checkpoint (JSONEncoder
    /// used to trap on it).
    @Test func divergenceInAnEpochsLastStepIsCaught() throws {
        var options = SyntheticDigits.options(epochs: 2)
        options.batchSize = 200
        options.learningRate = 1e30
        options.optimizer = .sgd
        let trainer = try Trainer(architecture: SyntheticDigits.architecture, options: options, dataset: SyntheticDigits.dataset(count: 300))
        let before = trainer.checkpointFile()
        do {
            _ = try trainer.runEpoch()
            Issue.record("a step with learning rate 1e30 left finite weights")
        } catch let TrainingError.diverged(epoch, batch, rate) {
            #expect(epoch == 1 && batch == 1 && rate == 1e30)
        }
        #expect(trainer.completedEpochs == 0 && trainer.history.isEmpty)
        // The checkpoint that would be written holds the last good (here: initial) weights.
        #expect(trainer.checkpointFile().entries.map(\.values) == before.entries.map(\.values))
        #expect(!Trainer.json([EpochRecord(epoch: 1, learningRate: 1, trainLoss: .nan, trainAccuracy: 0, validationLoss: .infinity,
                                           validationAccuracy: 0, seconds: 1, imagesPerSecond: 1, health: nil)]).isEmpty)
    }

    @Test func interruptionLeavesTheLastCompletedEpoch() throws {
        let trainer = try Trainer(architecture: SyntheticDigits.architecture, options: SyntheticDigits.options(), dataset: SyntheticDigits.dataset(count: 300))
        _ = try trainer.runEpoch()
        #expect(throws: TrainingError.interrupted(epoch: 2, batch: 3)) {
            var polls = 0
            _ = try trainer.runEpoch(shouldStop: { polls += 1; return polls == 3 })
        }
        #expect(trainer.completedEpochs == 1)
        #expect(trainer.history.count == 1)
    }

    @Test func earlyStoppingKeepsTheBestWeights() throws {
        var options = SyntheticDigits.options(epochs: 10)
        options.patience = 1
        options.learningRate = 1e-12  // nothing improves after the first epoch
        let trainer = try Trainer(architecture: SyntheticDigits.architecture, options: options, dataset: SyntheticDigits.dataset(count: 300))
        while !trainer.isFinished { _ = try trainer.runEpoch() }
        #expect(trainer.completedEpochs == 2 && trainer.stoppedEarly && trainer.bestEpoch == 1)
    }

    @Test func monitorReportsEveryWeight() throws {
        let trainer = try Trainer(architecture: SyntheticDigits.architecture, options: SyntheticDigits.options(), dataset: SyntheticDigits.dataset(count: 300))
        let record = try trainer.runEpoch(monitor: true)
        let health = try #require(record.health)
        #expect(health.map(\.parameter) == ["fc1.weight", "fc2.weight", "fc3.weight"])
        #expect(health.allSatisfy { $0.gradientNorm > 0 && $0.weightNorm > 0 && $0.updateRatio > 0 && $0.updateRatio < 1 })
        #expect(health[0].deadFraction != nil && health[1].deadFraction != nil && health[2].deadFraction == nil)
        // Timing and health stay out of the checkpoint, so files compare bit for bit.
        #expect(trainer.history[0].health == nil && trainer.history[0].seconds == nil)
    }

    @Test func optionsOutOfRangeAreRefused() {
        var options = TrainingOptions()
        #expect(options.problem() == nil)
        options.batchSize = 0
        #expect(options.problem() == "--batch-size must be in 1...65536, got 0")
        // Batches are allocated up front: a forged or mistyped size must not reach the allocator.
        options.batchSize = 100_000_000
        #expect(options.problem() == "--batch-size must be in 1...65536, got 100000000")
        options = TrainingOptions()
        options.validationCount = 60_000
        #expect(options.problem(trainingImages: 60_000) != nil)
        options = TrainingOptions()
        options.learningRate = -1
        #expect(options.problem() != nil)
        for decay: Float in [0, 1, 1.5, -0.1, .nan] {
            options = TrainingOptions()
            options.ema = decay
            #expect(options.problem()?.hasPrefix("--ema must be between 0 and 1") == true, "--ema \(decay)")
        }
        options.ema = 0.999
        #expect(options.problem() == nil)
    }

    @Test func resumeRefusesAForeignFile() throws {
        let dataset = try SyntheticDigits.dataset(count: 300)
        let trainer = try Trainer(architecture: SyntheticDigits.architecture, options: SyntheticDigits.options(), dataset: dataset)
        // The model checkpoint is not a training state.
        #expect(throws: CheckpointError.self) {
            try Trainer(resumingFrom: trainer.checkpointFile(), path: "model.safetensors", dataset: dataset)
        }
        var state = trainer.stateFile()
        state.entries.removeLast()
        #expect(throws: CheckpointError.self) { try Trainer(resumingFrom: state, path: "state", dataset: dataset) }
    }
}

@Suite struct OptimizerTests {
    static func parameter(_ values: [Float], gradient: [Float]) -> Parameter {
        let parameter = Parameter(name: "w", shape: [values.count])
        for (index, value) in values.enumerated() { parameter.value[index] = value; parameter.gradient[index] = gradient[index] }
        return parameter
    }

    /// With bias correction, Adam's first step is lr·g/(|g| + ε) ≈ lr·sign(g) whatever |g|;
    /// without it the step would be (1−β1)/√(1−β2) ≈ 3.16 times larger.
    @Test func adamFirstStepIsBiasCorrected() {
        let p = Self.parameter([1, 1, 1], gradient: [0.5, -2, 1e-3])
        Adam().step([p], learningRate: 0.1)
        for (value, expected) in zip(p.value.array, [Float(0.9), 1.1, 0.9]) { #expect(abs(value - expected) < 1e-4) }
    }

    @Test func adamSecondStepMatchesTheFormula() {
        let p = Self.parameter([0], gradient: [1])
        let adam = Adam(beta1: 0.9, beta2: 0.999, epsilon: 1e-8)
        adam.step([p], learningRate: 0.01)
        p.gradient[0] = 3
        adam.step([p], learningRate: 0.01)
        let m = 0.9 * 0.1 + 0.1 * 3.0, v = 0.999 * 0.001 + 0.001 * 9.0
        let step = 0.01 * (m / (1 - 0.81)) / ((v / (1 - 0.998001)).squareRoot() + 1e-8)
        #expect(abs(Double(p.value[0]) - (-0.01 - step)) < 1e-6)
    }

    /// Three steps on tensors of 1, 17 and 40,003 elements (the last split between two threads,
    /// with a tail past the last 16 lanes) equal the scalar formula evaluated in Float in the
    /// same order, bit for bit, with weight decay.
    @Test func adamMatchesTheScalarFormulaBitForBit() {
        let random = RandomGenerator(seed: 7)
        let sizes = [1, 17, 40_003]
        let parameters = sizes.map { size in
            Self.parameter((0..<size).map { _ in random.nextUnitFloat() - 0.5 }, gradient: [Float](repeating: 0, count: size))
        }
        var expected = parameters.map { ($0.value.array, [Float](repeating: 0, count: $0.value.count), [Float](repeating: 0, count: $0.value.count)) }
        let compute = ComputeContext(threads: 2)
        let adam = Adam(beta1: 0.8, beta2: 0.95, epsilon: 1e-6, weightDecay: 0.01, compute: compute)
        for step in 1...3 {
            for parameter in parameters {
                for i in 0..<parameter.gradient.count { parameter.gradient[i] = 2 * random.nextUnitFloat() - 1 }
            }
            adam.step(parameters, learningRate: 0.01)
            let stepSize = 0.01 / (1 - Float(pow(Double(Float(0.8)), Double(step))))
            let root = (1 - Float(pow(Double(Float(0.95)), Double(step)))).squareRoot()
            for (index, parameter) in parameters.enumerated() {
                var (w, m, v) = expected[index]
                for i in w.indices {
                    let gradient = parameter.gradient[i] + 0.01 * w[i]
                    m[i] = 0.8 * m[i] + (1 - Float(0.8)) * gradient
                    v[i] = 0.95 * v[i] + (1 - Float(0.95)) * gradient * gradient
                    w[i] = w[i] - stepSize * m[i] / (v[i].squareRoot() / root + 1e-6)
                }
                expected[index] = (w, m, v)
                let differing = zip(parameter.value.array, w).filter { $0.0 != $0.1 }.count
                #expect(differing == 0, "step \(step): \(differing) of \(w.count) weights differ from the formula")
            }
        }
        let state = adam.stateTensors(for: parameters)
        for index in parameters.indices {
            #expect(state[index].tensor.array.elementsEqual(expected[index].1), "m of \(sizes[index]) elements")
            #expect(state[parameters.count + index].tensor.array.elementsEqual(expected[index].2), "v of \(sizes[index]) elements")
        }
    }

    @Test func sgdMomentumAndWeightDecay() {
        let p = Self.parameter([1], gradient: [0.5])
        let sgd = SGD(momentum: 0.9, weightDecay: 0.1)
        sgd.step([p], learningRate: 0.1)          // g' = 0.5 + 0.1·1 = 0.6; v = 0.6; w = 0.94
        #expect(abs(p.value[0] - 0.94) < 1e-6)
        sgd.step([p], learningRate: 0.1)          // g' = 0.5 + 0.094; v = 0.9·0.6 + 0.594 = 1.134; w = 0.8266
        #expect(abs(p.value[0] - 0.8266) < 1e-5)
    }

    @Test func clippingScalesTheGlobalNorm() {
        let a = Self.parameter([0, 0], gradient: [3, 0]), b = Self.parameter([0], gradient: [4])
        let norm = clipGradients([a, b], maxNorm: 1)
        #expect(norm == 5)
        #expect(abs(a.gradient[0] - 0.6) < 1e-5 && abs(b.gradient[0] - 0.8) < 1e-5)
        let c = Self.parameter([0], gradient: [0.5])
        clipGradients([c], maxNorm: 1)
        #expect(c.gradient[0] == 0.5)
    }

    @Test func schedules() {
        #expect(LearningRateSchedule.constant.rate(base: 0.1, epoch: 7, totalEpochs: 10) == 0.1)
        let step = LearningRateSchedule.step(every: 3, gamma: 0.5)
        #expect([1, 3, 4, 7].map { step.rate(base: 1, epoch: $0, totalEpochs: 10) } == [1, 1, 0.5, 0.25])
        let cosine = LearningRateSchedule.cosine
        #expect(cosine.rate(base: 1, epoch: 1, totalEpochs: 10) == 1)
        #expect(abs(cosine.rate(base: 1, epoch: 6, totalEpochs: 10) - 0.5) < 1e-6)
        #expect(cosine.rate(base: 1, epoch: 10, totalEpochs: 10) > 0)
    }

    /// One-cycle over 2 epochs of 50 steps (99 steps after the first): up from base/25 to the
    /// base at step 25 (a quarter), smoothly, then down to base/25/10⁴ at the very last step.
    @Test func oneCycleRisesThenFallsWithinTheRun() {
        let cycle = LearningRateSchedule.oneCycle(warmUp: 0.25)
        #expect(cycle.changesEveryStep && !LearningRateSchedule.cosine.changesEveryStep)
        let rates = (1...2).flatMap { epoch in (0..<50).map { cycle.rate(base: 1, epoch: epoch, totalEpochs: 2, step: $0, stepsPerEpoch: 50) } }
        #expect(abs(rates[0] - 1.0 / 25) < 1e-7)
        let peak = rates.indices.max { rates[$0] < rates[$1] }!
        #expect(peak == 25 && abs(rates[peak] - 1) < 1e-3)
        #expect(zip(rates[..<peak], rates[1...peak]).allSatisfy { $0 < $1 })
        #expect(zip(rates[peak...], rates[(peak + 1)...]).allSatisfy { $0 > $1 })
        #expect(abs(rates[99] - 1.0 / 25 / 1e4) < 1e-9)
        // A quarter of the way down (step 43 of 24.75...99), a cosine is still at 0.86 of the
        // peak, where a straight line would be at 0.75.
        #expect(rates[43] > 0.85 && rates[43] < 0.87)
    }
}

@Suite struct BLASCoreTests {
    static let zen4: Set<String> = ["avx", "avx2", "fma", "avx512f", "avx512vl", "avx512bw", "avx512dq", "avx512cd", "avx512_bf16"]

    @Test func choosesFromTheFlags() {
        #expect(BLASCore.choose(flags: Self.zen4) == "SkylakeX")
        #expect(BLASCore.choose(flags: ["avx", "avx2", "fma"]) == "Haswell")
        #expect(BLASCore.choose(flags: ["avx", "sse4_2"]) == "Sandybridge")
        #expect(BLASCore.choose(flags: ["sse2"]) == nil)
    }

    @Test func asksForTheBestCoreUnlessTold() {
        #expect(BLASCore.replacement(environment: [:], flags: Self.zen4) == "SkylakeX")
        #expect(BLASCore.replacement(environment: [:], flags: ["avx", "avx2", "fma"]) == "Haswell")
        #expect(BLASCore.replacement(environment: [:], flags: ["sse2"]) == nil)
        // An inherited OPENBLAS_CORETYPE is kept when it is as good, replaced when weaker.
        #expect(BLASCore.replacement(environment: ["OPENBLAS_CORETYPE": "Cooperlake"], flags: Self.zen4) == nil)
        #expect(BLASCore.replacement(environment: ["OPENBLAS_CORETYPE": "Haswell"], flags: Self.zen4) == "SkylakeX")
        #expect(BLASCore.replacement(environment: ["OPENBLAS_CORETYPE": "Prescott"], flags: ["avx", "avx2", "fma"]) == "Haswell")
        // DIGITS_BLAS_CORE wins over both.
        #expect(BLASCore.replacement(environment: ["DIGITS_BLAS_CORE": "Haswell", "OPENBLAS_CORETYPE": "SkylakeX"], flags: Self.zen4) == "Haswell")
    }

    @Test func readsCpuinfo() {
        let text = "processor\t: 0\nflags\t\t: fpu avx2 fma avx\nbugs\t\t: none\nflags\t\t: other\n"
        #expect(BLASCore.flags(cpuinfo: text) == ["fpu", "avx2", "fma", "avx"])
    }

    @Test func describesTheOrigin() {
        #expect(BLASCore.origin(environment: [:]) == "OpenBLAS's own detection")
        #expect(BLASCore.origin(environment: ["OPENBLAS_CORETYPE": "Haswell"]) == "from OPENBLAS_CORETYPE")
        #expect(BLASCore.origin(environment: ["OPENBLAS_CORETYPE": "SkylakeX", "DIGITS_BLAS_CORE_CHOSEN": "Haswell"])
                == "chosen by digits for this CPU, replacing OPENBLAS_CORETYPE=Haswell")
    }
}

/// L1 regularization: the penalty's subgradient checked against central differences of the
/// whole objective, and sparser weights after training with it.
@Suite struct L1Tests {
    /// d(CE + λΣ|w|)/dw from backward plus the subgradient equals the numeric derivative, for
    /// every weight away from 0 (where |w| is smooth); biases get no penalty.
    @Test func subgradientMatchesCentralDifferences() throws {
        let architecture = Architecture.mlp(hidden: [6], activation: .tanh, dropout: 0, input: [4], classes: 3, normalization: nil)
        let model = try Sequential(architecture, random: RandomGenerator(seed: 3), dropoutRandom: RandomGenerator(seed: 2))
        let penalty = L1Penalty(lambda: 0.05, model: model)
        #expect(penalty.weights.map(\.name) == ["fc1.weight", "fc2.weight"])
        let x = smoothInput(rows: 3, features: 4, seed: 7)
        var labels: [Int32] = [2, 0, 1]
        let dLogits = Tensor(shape: [3, 3])
        model.zeroGradients()
        SoftmaxCrossEntropy.evaluate(logits: model.forward(x, training: true), labels: &labels, gradient: dLogits)
        model.backward(dLogits)
        let withoutPenalty = model.parameters.map(\.gradient.array)
        penalty.addSubgradient()
        func objective() -> Double {
            SoftmaxCrossEntropy.evaluate(logits: model.forward(x, training: true), labels: &labels).loss + penalty.value()
        }
        var checked = 0
        for (parameter, before) in zip(model.parameters, withoutPenalty) {
            for index in 0..<parameter.value.count where abs(parameter.value[index]) > 0.05 {
                let h: Float = 1e-2, original = parameter.value[index]
                parameter.value[index] = original + h
                let plus = objective()
                parameter.value[index] = original - h
                let minus = objective()
                parameter.value[index] = original
                let numeric = (plus - minus) / (2 * Double(h))
                #expect(abs(Double(parameter.gradient[index]) - numeric) <= 2e-3 + 2e-2 * abs(numeric), "\(parameter.name)[\(index)]")
                let added = parameter.gradient[index] - before[index]
                #expect(abs(added - (parameter.name.hasSuffix("weight") ? 0.05 * (original > 0 ? 1 : -1) : 0)) < 1e-6)
                checked += 1
            }
        }
        #expect(checked > 20)
        // Zero has no direction: sign(0) is 0.
        model.zeroGradients()
        penalty.weights[0].value[0] = 0
        penalty.addSubgradient()
        #expect(penalty.weights[0].gradient[0] == 0)
    }

    /// The same run with λ > 0 ends with more near-zero weights than without.
    @Test func penaltyMakesWeightsSparse() throws {
        let dataset = try SyntheticDigits.dataset(count: 600)
        func share(l1: Float?) throws -> Double {
            var options = SyntheticDigits.options(epochs: 20)
            options.l1 = l1
            let trainer = try Trainer(architecture: SyntheticDigits.architecture, options: options, dataset: dataset)
            while !trainer.isFinished { _ = try trainer.runEpoch() }
            return L1Penalty(lambda: 1, model: trainer.model).shareBelow(1e-3)
        }
        // Measured: 0.2% of the weights below 1e-3 without, 67% with λ = 0.01.
        let plain = try share(l1: nil), sparse = try share(l1: 1e-2)
        #expect(sparse > plain + 0.3, "near-zero share \(plain) without L1, \(sparse) with")
    }
}
