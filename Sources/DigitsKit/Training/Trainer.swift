// The training loop: a seeded shuffle each epoch, mini-batches into reused buffers, forward,
// fused loss, backward, optional clipping, an optimizer step; then validation on images held
// out of the training set, early stopping on it, and the best weights kept.
//
// Every random choice comes from the one seed, through separate streams: 1 initializes the
// weights, 2 draws dropout masks, 3 shuffles. Their states are saved with the optimizer's at
// each epoch's end, and after the step in progress when training is interrupted, so a resumed
// run continues exactly where the first one was, even in the middle of an epoch: the same
// shuffle is drawn again and the batches already trained are skipped (augmentation depends
// only on the epoch and the image, so the remaining batches come out the same).
import Foundation

/// Why training stopped before the end of an epoch, or a run cannot be resumed.
public enum TrainingError: DigitsError, Equatable {
    /// The loss became NaN or infinite (or the weights did at the epoch's last step, or the
    /// validation loss after it), in `epoch` and `batch`, both counted from 1, at that learning
    /// rate. The epoch is not recorded.
    case diverged(epoch: Int, batch: Int, learningRate: Float)
    /// `shouldStop` asked to stop after `batch` (from 1) of `epoch`; the trainer's `stateFile()` then
    /// holds the run as of that step, ready to resume.
    case interrupted(epoch: Int, batch: Int)
    /// The training state at `path` has nothing left to resume: all its `epochs` epochs are trained
    /// and the checkpoint already has its test score.
    case alreadyFinished(path: String, epochs: Int)

    public var message: String {
        switch self {
        case .diverged(let epoch, let batch, let rate):
            return "training diverged: the loss became NaN or infinite in epoch \(epoch), batch \(batch) (learning rate \(rate))"
        case .interrupted(let epoch, let batch):
            return "training interrupted in epoch \(epoch), batch \(batch)"
        case .alreadyFinished(let path, let epochs):
            return "\(path): this run already finished its \(epochs) epochs; there is nothing to resume"
        }
    }

    public var hint: String? {
        switch self {
        case .diverged: return "the learning rate is likely too high; try a smaller --learning-rate or --clip-norm 1"
        case .interrupted: return nil
        case .alreadyFinished(_, let epochs): return "pass --epochs with more than \(epochs) to train it further"
        }
    }
}

/// One epoch's figures. `seconds` and `imagesPerSecond` are for display only; checkpoints keep
/// the deterministic fields, so the same seed gives the same file.
public struct EpochRecord: Codable, Equatable, Sendable {
    /// The epoch this record describes, counted from 1.
    public var epoch: Int
    /// The epoch's learning rate: its highest, for a schedule that changes at every step (one-cycle).
    public var learningRate: Float
    /// The mean loss per training image over the epoch (cross-entropy in nats, plus the L1 penalty
    /// when set), as each batch measured it before its step, with dropout and augmentation on.
    public var trainLoss: Double
    /// The fraction (0–1) of training images the training forward passes classified correctly.
    public var trainAccuracy: Double
    /// The mean cross-entropy per validation image after the epoch, in inference mode.
    public var validationLoss: Double
    /// The fraction (0–1) of validation images classified correctly after the epoch: what early
    /// stopping and the best weights go by.
    public var validationAccuracy: Double
    /// Wall-clock seconds of the epoch's training steps in this process (validation not included);
    /// nil in saved history.
    public var seconds: Double?
    /// Training images per second in this process over `seconds`; nil in saved history.
    public var imagesPerSecond: Double?
    /// Health figures for each weight at the epoch's last step with the monitor on (`--monitor`);
    /// nil otherwise, and in saved history.
    public var health: [LayerHealth]?

    enum CodingKeys: String, CodingKey {
        case epoch, seconds, health
        case learningRate = "learning_rate", trainLoss = "train_loss", trainAccuracy = "train_accuracy"
        case validationLoss = "val_loss", validationAccuracy = "val_accuracy", imagesPerSecond = "images_per_second"
    }

    /// Without the timing and monitor fields.
    var deterministic: EpochRecord {
        var copy = self
        copy.seconds = nil
        copy.imagesPerSecond = nil
        copy.health = nil
        return copy
    }
}

/// The course notes' health figures for one weight tensor, at an epoch's last step.
public struct LayerHealth: Codable, Equatable, Sendable {
    /// The weight's checkpoint name, e.g. "fc1.weight".
    public var parameter: String
    /// ‖∂L/∂W‖, the L2 norm of the weight's gradient at that step (after clipping, when set).
    public var gradientNorm: Double
    /// ‖W‖, the L2 norm of the weight after that step.
    public var weightNorm: Double
    /// ‖Δw‖/‖w‖ for the step: about 1e-3 is healthy.
    public var updateRatio: Double
    /// Fraction of the following ReLU's units that were never positive on the validation set.
    public var deadFraction: Double?

    enum CodingKeys: String, CodingKey {
        case parameter
        case gradientNorm = "gradient_norm", weightNorm = "weight_norm", updateRatio = "update_ratio", deadFraction = "dead_fraction"
    }

    /// A warning in words, or nil when the figures look healthy.
    public var warning: String? {
        if gradientNorm < 1e-7 || updateRatio < 1e-6 { return "vanishing gradients" }
        if gradientNorm > 1e3 || updateRatio > 1e-1 { return "exploding gradients" }
        if let deadFraction, deadFraction > 0.5 { return "more than half the ReLUs are dead" }
        return nil
    }
}

/// The gradient norms of every dense and convolutional weight, sampled through training when
/// the health monitor is on (`digits train --monitor`): what the gradient-flow picture draws,
/// one row per layer. Vanishing gradients show as early rows orders of magnitude below the last.
public struct GradientFlow: Equatable, Sendable {
    /// The weights' names, first layer first (`fc1.weight`, `layer1.0.conv1.weight`, …).
    public var layers: [String] = []
    /// The training step (mini-batch, counted from the run's start) of each sample.
    public var steps: [Int] = []
    /// ‖∂L/∂W‖ of each layer at each sample: `norms[sample][layer]`.
    public var norms: [[Double]] = []
    /// Samples taken per epoch (and at each epoch's last step).
    public static let samplesPerEpoch = 40

    /// An empty record.
    public init() {}
}

/// Where an epoch is, for progress bars: given to `runEpoch`'s `progress` after every step.
public struct BatchProgress: Sendable {
    /// The epoch being trained, counted from 1.
    public var epoch: Int
    /// Batches of the epoch done, counting the step just taken (from 1) and any trained before an
    /// interruption.
    public var batch: Int
    /// Batches in the epoch; the last one may be partial.
    public var batches: Int
    /// The mean training loss per image over the epoch so far.
    public var runningLoss: Double
    /// Training images per second since this `runEpoch` call began.
    public var imagesPerSecond: Double
    /// Wall-clock seconds since this `runEpoch` call began.
    public var elapsedSeconds: Double
}

/// Trains a `Sequential` model: a seeded shuffle each epoch, mini-batch steps (forward, loss,
/// backward, optional clipping, the optimizer), then validation on images held out of the
/// training set, early stopping, and the best weights kept. Every random choice comes from
/// `TrainingOptions.seed`, and `stateFile()` saves enough to resume a run exactly, even in the
/// middle of an epoch.
public final class Trainer {
    /// The model being trained. It holds the latest weights; `restoreBestWeights()` puts the best
    /// ones back.
    public let model: Sequential
    /// The run's settings (when resumed, with `epochs` as extended).
    public let options: TrainingOptions
    /// The update rule the options name (Adam or SGD), with its state (moments, step count).
    public let optimizer: Optimizer
    /// The training images, the validation images held out at its end included.
    public let dataset: DigitDataset
    /// The images trained on: the first `dataset.count − options.validationCount`, in dataset order
    /// (each epoch shuffles a copy).
    public let trainIndices: [Int]
    /// The last `options.validationCount` images of `dataset`, never trained on: scored after every
    /// epoch.
    public let validationIndices: [Int]
    /// The threads the model, the validation plan and the optimizer run on.
    public let compute: ComputeContext
    /// The thread count recorded in the training state this trainer resumed from (nil for a new
    /// run, or a state written before it was recorded). Results depend on the thread count: a
    /// run resumed on another count goes on, but not bit for bit as it would have.
    public private(set) var savedThreads: Int?

    private let shuffleRandom: RandomGenerator
    private let dropoutRandom: RandomGenerator
    private let assembler: BatchAssembler
    private let logitsGradient: Tensor        // (B, C)
    /// The L1 penalty of `--l1`, nil without one.
    public let l1: L1Penalty?
    private var order: [Int]                  // this epoch's shuffled training indices
    /// Background batches with augmentation; nil without augmentation (batches are then
    /// assembled in place, which costs less than handing them over).
    private let pipeline: BatchPipeline?
    /// The moving average of the weights (`--ema`), nil without one.
    private let average: WeightAverage?

    /// One record per completed epoch, oldest first, without the timing and health fields (as
    /// checkpoints save them).
    public private(set) var history: [EpochRecord] = []
    /// Per-layer gradient norms sampled by `runEpoch(monitor: true)`, in this process (an
    /// interrupted run's earlier samples are not saved with its state).
    public private(set) var gradientFlow = GradientFlow()
    /// Epochs fully trained and validated; 0 before the first.
    public private(set) var completedEpochs = 0
    /// The highest validation accuracy (0–1) so far; −1 before the first epoch.
    public private(set) var bestValidationAccuracy = -1.0
    /// The epoch (from 1) that reached `bestValidationAccuracy`, whose weights `bestWeights` holds;
    /// 0 before the first epoch.
    public private(set) var bestEpoch = 0
    /// Epochs since the validation accuracy last improved; the run stops early when it reaches
    /// `options.patience`.
    public private(set) var epochsWithoutImprovement = 0
    /// Batches of the current epoch already trained (0 between epochs), and their loss sum,
    /// correct count and images, so an epoch interrupted and resumed reports the same figures.
    public private(set) var batchesDone = 0
    private var partialLossSum = 0.0, partialCorrect = 0, partialSeen = 0
    /// The shuffle generator's state before the current epoch's shuffle.
    private var shuffleStateAtEpochStart: [UInt64]
    /// A copy of the saved tensors (parameters and buffers) at the best validation accuracy.
    public private(set) var bestWeights: [[Float]]

    /// A new run: weights initialized from the seed's stream 1.
    public convenience init(architecture: Architecture, options: TrainingOptions, dataset: DigitDataset,
                            compute: ComputeContext = .serial) throws {
        try self.init(architecture: architecture, options: options, dataset: dataset,
                      initRandom: RandomGenerator(seed: options.seed, stream: 1),
                      dropoutRandom: RandomGenerator(seed: options.seed, stream: 2),
                      shuffleRandom: RandomGenerator(seed: options.seed, stream: 3), compute: compute, source: "<model>")
    }

    private init(architecture: Architecture, options: TrainingOptions, dataset: DigitDataset, initRandom: RandomGenerator,
                 dropoutRandom: RandomGenerator, shuffleRandom: RandomGenerator, compute: ComputeContext, source: String) throws {
        try BLAS.load()  // every model trains some products on OpenBLAS
        self.options = options
        self.dataset = dataset
        self.compute = compute
        self.shuffleRandom = shuffleRandom
        self.dropoutRandom = dropoutRandom
        shuffleStateAtEpochStart = shuffleRandom.stateWords
        model = try Sequential(architecture, random: initRandom, dropoutRandom: dropoutRandom, compute: compute, source: source)
        optimizer = options.makeOptimizer(compute: compute)
        let trainCount = dataset.count - options.validationCount
        trainIndices = Array(0..<trainCount)
        validationIndices = Array(trainCount..<dataset.count)
        order = trainIndices
        assembler = BatchAssembler(dataset: dataset, normalization: architecture.normalization, batchSize: options.batchSize)
        logitsGradient = Tensor(shape: [options.batchSize, architecture.classes])
        let network = model
        l1 = options.l1.flatMap { $0 > 0 ? L1Penalty(lambda: $0, model: network) : nil }
        bestWeights = model.savedTensors.map { $0.value.array }
        average = options.ema.map { WeightAverage(decay: $0, tensors: network.savedTensors) }
        let augmentation = options.augmentation
        pipeline = augmentation.isNone ? nil
            : BatchPipeline(dataset: dataset, spec: augmentation, normalization: architecture.normalization,
                            batchSize: options.batchSize, seed: RandomGenerator(seed: options.seed, stream: 4).next())
    }

    /// True when the planned epochs are done or early stopping has triggered.
    public var isFinished: Bool {
        completedEpochs >= options.epochs || (options.patience.map { epochsWithoutImprovement >= $0 } ?? false)
    }

    /// True when early stopping ended the run before its planned epochs.
    public var stoppedEarly: Bool { completedEpochs < options.epochs && isFinished }

    /// Trains one epoch (or the rest of an interrupted one) and validates. `shouldStop` is
    /// polled after every step; when it returns true the epoch stops there with
    /// TrainingError.interrupted, and stateFile() then holds the run as of that step.
    public func runEpoch(monitor: Bool = false, progress: (BatchProgress) -> Void = { _ in },
                         shouldStop: () -> Bool = { false }) throws -> EpochRecord {
        let epoch = completedEpochs + 1
        let schedule = options.learningRateSchedule
        let start = DispatchTime.now().uptimeNanoseconds
        let firstBatch = batchesDone
        if firstBatch == 0 {
            shuffleStateAtEpochStart = shuffleRandom.stateWords
        } else {
            shuffleRandom.restore(shuffleStateAtEpochStart)
        }
        order = trainIndices
        shuffleRandom.shuffle(&order)

        let batchSize = options.batchSize
        let batches = (order.count + batchSize - 1) / batchSize  // the last, partial batch is kept
        func rate(at batch: Int) -> Float {
            schedule.rate(base: options.learningRate, epoch: epoch, totalEpochs: options.epochs, step: batch, stepsPerEpoch: batches)
        }
        // The epoch's record shows its highest rate (for a per-epoch schedule, its only one).
        let recordedRate = schedule.changesEveryStep ? (0..<batches).lazy.map(rate).max() ?? 0 : rate(at: 0)
        var lossSum = partialLossSum, correct = partialCorrect, seen = partialSeen
        let seenBefore = seen  // images of this epoch trained before an interruption
        var health: [LayerHealth] = []
        var weightsBeforeStep: [[Float]] = []

        pipeline?.startEpoch(epoch, order: Array(order[min(firstBatch * batchSize, order.count)...]))
        // Whatever ends the epoch early leaves the pipeline ready for the next one.
        var finished = false
        defer { if !finished { pipeline?.cancel() } }

        for batch in firstBatch..<batches {
            let inputs: Tensor
            let labels: UnsafePointer<Int32>
            if let pipeline {
                guard let next = pipeline.next() else { preconditionFailure("the pipeline ran out of batches") }
                (inputs, labels) = next
            } else {
                assembler.assemble(order[batch * batchSize..<min((batch + 1) * batchSize, order.count)])
                inputs = assembler.inputs
                labels = UnsafePointer(assembler.labels)
            }
            let count = inputs.rows
            let monitoredStep = monitor && batch == batches - 1
            if monitoredStep { weightsBeforeStep = model.parameters.map { $0.value.array } }
            let stepRate = rate(at: batch)
            let (loss, right) = step(inputs: inputs, labels: labels, learningRate: stepRate)
            guard loss.isFinite else { throw TrainingError.diverged(epoch: epoch, batch: batch + 1, learningRate: stepRate) }
            if monitoredStep { health = measureHealth(before: weightsBeforeStep) }
            if monitor && (batch % max(1, batches / GradientFlow.samplesPerEpoch) == 0 || batch == batches - 1) {
                sampleGradientFlow(step: (epoch - 1) * batches + batch + 1)
            }

            lossSum += loss * Double(count)
            correct += right
            seen += count
            (batchesDone, partialLossSum, partialCorrect, partialSeen) = (batch + 1, lossSum, correct, seen)
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            progress(BatchProgress(epoch: epoch, batch: batch + 1, batches: batches,
                                   runningLoss: lossSum / Double(seen), imagesPerSecond: Double(seen - seenBefore) / max(elapsed, 1e-9),
                                   elapsedSeconds: elapsed))
            if shouldStop() && batch + 1 < batches { throw TrainingError.interrupted(epoch: epoch, batch: batch + 1) }
        }
        _ = pipeline?.next()  // returns nil and releases the last batch's slot
        finished = true
        (batchesDone, partialLossSum, partialCorrect, partialSeen) = (0, 0, 0, 0)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9

        // The last step of the epoch may have made the weights non-finite, which its loss (computed
        // before the step) cannot show: stop before anything of this epoch is recorded or saved.
        guard model.parameters.allSatisfy({ parameter in
            let values = UnsafeBufferPointer(start: parameter.value.data, count: parameter.value.count)
            return values.reduce(Float(0)) { $0 + $1 * 0 }.isFinite
        }) else { throw TrainingError.diverged(epoch: epoch, batch: batches, learningRate: rate(at: batches - 1)) }
        // With --ema the average is validated, and kept as the best weights; training goes on
        // from the weights themselves.
        average?.exchange()
        let validation = validate()
        let candidateWeights = validation.accuracy > bestValidationAccuracy ? model.savedTensors.map { $0.value.array } : nil
        average?.exchange()
        guard validation.loss.isFinite else { throw TrainingError.diverged(epoch: epoch, batch: batches, learningRate: rate(at: batches - 1)) }
        if monitor { attachDeadFractions(to: &health) }

        let record = EpochRecord(epoch: epoch, learningRate: recordedRate, trainLoss: lossSum / Double(seen),
                                 trainAccuracy: Double(correct) / Double(seen),
                                 validationLoss: validation.loss, validationAccuracy: validation.accuracy,
                                 seconds: seconds, imagesPerSecond: Double(seen - seenBefore) / seconds,
                                 health: monitor ? health : nil)
        history.append(record.deterministic)
        completedEpochs = epoch
        if let candidateWeights {
            bestValidationAccuracy = validation.accuracy
            bestEpoch = epoch
            epochsWithoutImprovement = 0
            bestWeights = candidateWeights
        } else {
            epochsWithoutImprovement += 1
        }
        return record
    }

    /// One optimization step on a batch of normalized images (B, H·W) and their labels: forward,
    /// the fused softmax cross-entropy (plus the L1 penalty, when asked, in the loss and its
    /// subgradient in the gradients), backward, clipping when asked, and the optimizer. The
    /// epoch loop, `digits bench` and the microbenchmarks all train through here. In steady
    /// state (after the first step has sized the buffers) it allocates nothing. A non-finite
    /// loss leaves the weights untouched: nothing is back-propagated, and the caller stops.
    @discardableResult
    public func step(inputs: Tensor, labels: UnsafePointer<Int32>, learningRate: Float) -> (loss: Double, correct: Int) {
        logitsGradient.setRows(inputs.rows)
        model.zeroGradients()
        let logits = model.forward(inputs, training: true)
        var (loss, right) = SoftmaxCrossEntropy.evaluate(logits: logits, labels: labels, gradient: logitsGradient)
        guard loss.isFinite else { return (loss, right) }
        model.backward(logitsGradient)
        if let l1 {
            loss += l1.value()
            l1.addSubgradient()
        }
        if let clipNorm = options.clipNorm { clipGradients(model.parameters, maxNorm: clipNorm) }
        optimizer.step(model.parameters, learningRate: learningRate)
        average?.update(afterStep: optimizer.steps)
        return (loss, right)
    }

    /// One step on the training images `indices` (at most the batch size), assembled into the
    /// trainer's own buffers without augmentation: what `digits bench` and the benchmarks time.
    @discardableResult
    public func step(indices: ArraySlice<Int>, learningRate: Float) -> (loss: Double, correct: Int) {
        assembler.assemble(indices)
        return step(inputs: assembler.inputs, labels: UnsafePointer(assembler.labels), learningRate: learningRate)
    }

    /// Loss and accuracy on the validation images, through the same InferencePlan as
    /// `digits evaluate` (compiled from the current weights).
    private func validate() -> EvaluationResult {
        let range = trainIndices.count..<dataset.count
        return Predictions.compute(InferencePlan(model), on: dataset, range: range).score(labels: dataset.labels[range])
    }

    /// A model holding the best weights (for the final test and the checkpoint).
    public func restoreBestWeights() {
        for (parameter, values) in zip(model.savedTensors, bestWeights) {
            values.withUnsafeBufferPointer { parameter.value.data.update(from: $0.baseAddress!, count: $0.count) }
        }
    }

    // MARK: Health

    private func measureHealth(before: [[Float]]) -> [LayerHealth] {
        zip(model.parameters, before).compactMap { parameter, old in
            guard parameter.name.hasSuffix(".weight") else { return nil }
            var update = 0.0
            for index in 0..<old.count {
                let delta = Double(parameter.value[index]) - Double(old[index])
                update += delta * delta
            }
            let weightNorm = parameter.value.squaredNorm.squareRoot()
            return LayerHealth(parameter: parameter.name, gradientNorm: parameter.gradient.squaredNorm.squareRoot(),
                               weightNorm: weightNorm, updateRatio: update.squareRoot() / max(weightNorm, 1e-12))
        }
    }

    /// Appends the current gradient norm of every layer weight (the step just taken's).
    private func sampleGradientFlow(step: Int) {
        let weights = model.layerWeights
        if gradientFlow.layers.isEmpty { gradientFlow.layers = weights.map(\.name) }
        gradientFlow.steps.append(step)
        gradientFlow.norms.append(weights.map { $0.gradient.squaredNorm.squareRoot() })
    }

    /// ReLU layers paired with the weight of the Linear layer before them.
    private var reluAfterLinear: [(weight: String, activation: Activation)] {
        var pairs: [(String, Activation)] = []
        var lastWeight: String?
        for layer in model.layers {
            if let linear = layer as? Linear { lastWeight = linear.weight.name }
            if let activation = layer as? Activation, activation.function == .relu, let weight = lastWeight {
                pairs.append((weight, activation))
            }
        }
        return pairs
    }

    /// Which ReLU units were ever positive on the validation images. The inference plan fuses
    /// the activations away, so this runs the layers themselves, in inference mode, only when
    /// the health monitor asks.
    private func attachDeadFractions(to health: inout [LayerHealth]) {
        let pairs = reluAfterLinear
        guard !pairs.isEmpty else { return }
        for (_, activation) in pairs {
            activation.tracksActivity = true
            activation.resetActivity(features: 0)
        }
        defer { for (_, activation) in pairs { activation.tracksActivity = false } }
        let monitorAssembler = BatchAssembler(dataset: dataset, normalization: model.architecture.normalization,
                                              batchSize: model.architecture.inferenceBatchSize)
        let batch = model.architecture.inferenceBatchSize
        for start in stride(from: 0, to: validationIndices.count, by: batch) {
            monitorAssembler.assemble(validationIndices[start..<min(start + batch, validationIndices.count)])
            _ = model.forward(monitorAssembler.inputs, training: false)
        }
        for (weight, activation) in pairs {
            guard let index = health.firstIndex(where: { $0.parameter == weight }), !activation.everActive.isEmpty else { continue }
            let dead = activation.everActive.filter { !$0 }.count
            health[index].deadFraction = Double(dead) / Double(activation.everActive.count)
        }
    }

    // MARK: Checkpoints

    /// Metadata for the model checkpoint (best weights).
    public func checkpointMetadata(test: EvaluationResult? = nil) -> [String: String] {
        var metadata: [String: String] = [
            "seed": String(options.seed),
            "epochs": String(completedEpochs),
            "best_epoch": String(bestEpoch),
            "validation_accuracy": String(bestValidationAccuracy),
            "training": options.json(),
            "history": Self.json(history),
        ]
        metadata["augmentation"] = options.augmentation.description
        if let test {
            metadata["test_accuracy"] = String(test.accuracy)
            metadata["test_loss"] = String(test.loss)
        }
        return metadata
    }

    /// The model checkpoint: the best weights so far, with the metadata.
    public func checkpointFile(test: EvaluationResult? = nil) -> SafeTensorsFile {
        var file = Checkpoint.file(for: model, metadata: checkpointMetadata(test: test))
        for (index, values) in bestWeights.enumerated() { file.entries[index].values = values }
        return file
    }

    /// Everything needed to continue: current weights, best weights, optimizer state, random
    /// states and the early-stopping counters.
    public func stateFile() -> SafeTensorsFile {
        var entries: [SafeTensorsFile.Entry] = []
        for (parameter, best) in zip(model.savedTensors, bestWeights) {
            entries.append(.init(name: "current.\(parameter.name)", shape: parameter.value.shape, values: parameter.value.array))
            entries.append(.init(name: "best.\(parameter.name)", shape: parameter.value.shape, values: best))
        }
        for (name, tensor) in optimizer.stateTensors(for: model.parameters) {
            entries.append(.init(name: name, shape: tensor.shape, values: tensor.array))
        }
        for (name, tensor) in averageTensors {
            entries.append(.init(name: name, shape: tensor.shape, values: tensor.array))
        }
        let metadata: [String: String] = [
            "format": "digits-training-state",
            "format_version": Checkpoint.formatVersion,
            "architecture": model.architecture.json(),
            // Sums are split by thread, so the bits depend on the count.
            "threads": String(compute.threads),
            "training": options.json(),
            "completed_epochs": String(completedEpochs),
            "optimizer_steps": String(optimizer.steps),
            "best_validation_accuracy": String(bestValidationAccuracy),
            "best_epoch": String(bestEpoch),
            "epochs_without_improvement": String(epochsWithoutImprovement),
            // Mid-epoch, the shuffle is drawn again on resume, from the state before it.
            "random_shuffle": (batchesDone > 0 ? shuffleStateAtEpochStart : shuffleRandom.stateWords)
                .map { String($0, radix: 16) }.joined(separator: ","),
            "batches_done": String(batchesDone),
            "partial_loss_sum": String(partialLossSum),
            "partial_correct": String(partialCorrect),
            "partial_seen": String(partialSeen),
            "random_dropout": dropoutRandom.stateWords.map { String($0, radix: 16) }.joined(separator: ","),
            "history": Self.json(history),
        ]
        return SafeTensorsFile(metadata: metadata, entries: entries)
    }

    /// Restores a trainer from a state file. `epochs` may extend the planned run.
    public convenience init(resumingFrom state: SafeTensorsFile, path: String, dataset: DigitDataset, epochs: Int? = nil,
                            compute: ComputeContext = .serial) throws {
        func value(_ key: String) throws -> String {
            guard let value = state.metadata[key] else {
                throw CheckpointError.notACheckpoint(path: path, reason: "training state has no \(key)")
            }
            return value
        }
        guard state.metadata["format"] == "digits-training-state" else {
            throw CheckpointError.notACheckpoint(path: path, reason: "not a digits training state (format \(state.metadata["format"] ?? "missing"))")
        }
        let architecture: Architecture
        var options: TrainingOptions
        let history: [EpochRecord]
        do {
            architecture = try Architecture.decode(json: try value("architecture"))
            options = try JSONDecoder().decode(TrainingOptions.self, from: Data(try value("training").utf8))
            history = try JSONDecoder().decode([EpochRecord].self, from: Data(try value("history").utf8))
        } catch let error as CheckpointError {
            throw error
        } catch {
            throw CheckpointError.notACheckpoint(path: path, reason: "training state metadata is not valid JSON")
        }
        if let epochs { options.epochs = epochs }
        guard dataset.count - options.validationCount > 0, dataset.pixelsPerImage == architecture.input.reduce(1, *) else {
            throw CheckpointError.mismatch(path: path, reason: "the training state does not fit this dataset")
        }
        if let problem = options.problem(trainingImages: dataset.count) {
            throw CheckpointError.notACheckpoint(path: path, reason: "the saved training options are invalid: \(problem)")
        }
        // The weights (twice) and the optimizer's moments are in the file: an architecture that
        // declares more is refused before the model allocates it.
        let held = state.entries.reduce(0) { $0 + $1.values.count }
        guard let declared = architecture.declaredParameterCount, declared <= held else {
            throw CheckpointError.notACheckpoint(path: path, reason: "the architecture declares more parameters than the state holds")
        }
        func words(_ key: String) throws -> [UInt64] {
            let parsed = try value(key).split(separator: ",").compactMap { UInt64($0, radix: 16) }
            guard parsed.count == 4, parsed.contains(where: { $0 != 0 }) else {
                throw CheckpointError.notACheckpoint(path: path, reason: "invalid random state \(key)")
            }
            return parsed
        }
        guard let completed = Int(try value("completed_epochs")), let steps = Int(try value("optimizer_steps")),
              let bestAccuracy = Double(try value("best_validation_accuracy")), let bestEpoch = Int(try value("best_epoch")),
              let without = Int(try value("epochs_without_improvement")) else {
            throw CheckpointError.notACheckpoint(path: path, reason: "invalid counters in the training state")
        }

        // The initial weights are overwritten below, so their generator's seed does not matter.
        try self.init(architecture: architecture, options: options, dataset: dataset, initRandom: RandomGenerator(seed: 0),
                      dropoutRandom: RandomGenerator(state: try words("random_dropout")),
                      shuffleRandom: RandomGenerator(state: try words("random_shuffle")), compute: compute, source: path)
        savedThreads = state.metadata["threads"].flatMap { Int($0) }

        // The optimizer's moments, and the moving average of the weights with --ema.
        let runningTensors = optimizer.stateTensors(for: model.parameters) + averageTensors
        let expected = Set(model.savedTensors.flatMap { ["current.\($0.name)", "best.\($0.name)"] } + runningTensors.map(\.name))
        if let extra = state.entries.first(where: { !expected.contains($0.name) }) {
            throw CheckpointError.unexpectedTensor(path: path, tensor: extra.name)
        }
        try Checkpoint.load(state, into: model.savedTensors, prefix: "current.", strict: false, path: path)
        // The best weights, the optimizer's moments and the average are refused on a NaN or infinity too: a
        // resumed run would carry it into every later step, or save it as its checkpoint.
        bestWeights = try model.savedTensors.map { parameter in
            guard let entry = state["best.\(parameter.name)"] else { throw CheckpointError.missingTensor(path: path, tensor: "best.\(parameter.name)") }
            guard entry.shape == parameter.value.shape else {
                throw CheckpointError.wrongShape(path: path, tensor: entry.name, expected: parameter.value.shape, found: entry.shape)
            }
            try Checkpoint.requireFinite(entry, path: path)
            return entry.values
        }
        for (name, tensor) in runningTensors {
            guard let entry = state[name] else { throw CheckpointError.missingTensor(path: path, tensor: name) }
            guard entry.shape == tensor.shape else {
                throw CheckpointError.wrongShape(path: path, tensor: name, expected: tensor.shape, found: entry.shape)
            }
            try Checkpoint.requireFinite(entry, path: path)
            entry.values.withUnsafeBufferPointer { tensor.data.update(from: $0.baseAddress!, count: $0.count) }
        }
        optimizer.steps = steps
        self.history = history
        completedEpochs = completed
        // Written since mid-epoch states exist; a state without them is at an epoch's end.
        if let done = state.metadata["batches_done"] {
            guard let done = Int(done), done >= 0, let lossSum = Double(state.metadata["partial_loss_sum"] ?? ""),
                  let right = Int(state.metadata["partial_correct"] ?? ""), let seen = Int(state.metadata["partial_seen"] ?? ""),
                  done * options.batchSize < trainIndices.count || done == 0, seen >= 0, right >= 0, right <= seen else {
                throw CheckpointError.notACheckpoint(path: path, reason: "invalid position in the epoch (batches_done)")
            }
            (batchesDone, partialLossSum, partialCorrect, partialSeen) = (done, lossSum, right, seen)
        }
        bestValidationAccuracy = bestAccuracy
        self.bestEpoch = bestEpoch
        epochsWithoutImprovement = without
    }

    /// The moving average's tensors as the training state names them ("average.fc1.weight", …);
    /// none without `--ema`.
    private var averageTensors: [(name: String, tensor: Tensor)] {
        guard let average else { return [] }
        return zip(average.tensors, average.averages).map { ("average.\($0.name)", $1) }
    }

    static func json(_ history: [EpochRecord]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Divergence is stopped before it is recorded; a non-finite value that got here anyway
        // is written as a string rather than trapping the process.
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return (try? encoder.encode(history)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
    }
}
