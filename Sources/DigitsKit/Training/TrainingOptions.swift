// Everything that decides a training run. Stored in checkpoints, so a run can be resumed
// exactly and a model's provenance read back.
import Foundation

/// Everything that decides a training run, stored as JSON in checkpoints and training states so
/// that a run can be resumed exactly and a model's provenance read back. `problem(trainingImages:)`
/// checks the values.
public struct TrainingOptions: Codable, Equatable, Sendable {
    /// The update rule: Adam (with `beta1`, `beta2` and `epsilon`) or SGD with `momentum`.
    public enum OptimizerKind: String, Codable, CaseIterable, Sendable {
        /// Adam (Kingma and Ba 2015), or stochastic gradient descent with momentum.
        case adam, sgd
    }
    /// How the learning rate changes over the run: constant; step (× `stepGamma` every `stepEvery`
    /// epochs); cosine annealing toward 0; or one-cycle (warm-up then annealing, at every step). See
    /// `LearningRateSchedule`.
    public enum ScheduleKind: String, Codable, CaseIterable, Sendable {
        /// The base rate throughout; × `stepGamma` every `stepEvery` epochs; cosine annealing
        /// toward 0; one-cycle (a warm-up, then annealing, changing at every step).
        case constant, step, cosine, onecycle
    }

    /// Epochs planned for the run (early stopping may end it sooner); at least 1.
    public var epochs = 30
    /// Images per mini-batch, 1 to `maximumBatchSize`; an epoch's last batch may be smaller.
    public var batchSize = 128
    /// The base learning rate, which the schedule scales; positive.
    public var learningRate: Float = 2e-3
    /// Which update rule trains the model.
    public var optimizer: OptimizerKind = .adam
    /// Adam's decay rate for its running mean of the gradients, in [0, 1).
    public var beta1: Float = 0.9
    /// Adam's decay rate for its running mean of the squared gradients, in [0, 1).
    public var beta2: Float = 0.999
    /// Adam's term added to the denominator, for stability; positive.
    public var epsilon: Float = 1e-8
    /// SGD only.
    public var momentum: Float = 0.9
    /// L2 penalty, added to the gradient as PyTorch's weight_decay (coupled, not AdamW's
    /// decoupled decay), on every parameter.
    public var weightDecay: Float = 0
    /// L1 penalty λ (`--l1`): λ·Σ|w| over the dense and convolutional weights, nil for none.
    public var l1: Float?
    /// How the learning rate changes over the run.
    public var schedule: ScheduleKind = .cosine
    /// Step schedule: multiply the rate by `stepGamma` every `stepEvery` epochs.
    public var stepEvery = 10
    /// Step schedule: the factor the rate is multiplied by every `stepEvery` epochs; positive.
    public var stepGamma: Float = 0.1
    /// Clip the global gradient norm to this, when set.
    public var clipNorm: Float?
    /// Stop after this many epochs without a better validation accuracy, when set.
    public var patience: Int?
    /// The decay of an exponential moving average of the weights (`--ema`), in (0, 1), nil for
    /// none. With one, validation, the best weights and the checkpoint are the average's.
    public var ema: Float?
    /// Images held out of the end of the training set for validation.
    public var validationCount = 5000
    /// The seed every random choice comes from (weight initialization, dropout masks, shuffling,
    /// augmentation), each through its own stream.
    public var seed: UInt64 = 1
    /// The augmentation recipe (`--augment` grammar; "none" or nil for none). `digits train`
    /// always sets it; nil is what checkpoints made before augmentation existed decode to.
    public var augment: String?
    /// Extra labelled IDX image files trained on with MNIST (`--extra`): more digits, and
    /// pictures that are not digits (label 10, the reject class). nil for MNIST alone.
    public var extra: [String]?

    /// The defaults: Adam at 2e-3 with a cosine schedule, 30 epochs of 128-image batches, 5,000
    /// validation images and seed 1, without weight decay, L1, clipping, early stopping, augmentation
    /// or extra images.
    public init() {}

    enum CodingKeys: String, CodingKey {
        case epochs, optimizer, momentum, schedule, patience, seed
        case batchSize = "batch_size", learningRate = "learning_rate", beta1, beta2, epsilon
        case weightDecay = "weight_decay", stepEvery = "step_every", stepGamma = "step_gamma"
        case clipNorm = "clip_norm", validationCount = "validation_count", augment, extra, l1, ema
    }

    /// The parsed recipe; `problem()` has already refused one that does not parse.
    public var augmentation: AugmentationSpec {
        augment.flatMap { try? AugmentationSpec.parse($0) } ?? .none
    }

    /// The schedule `schedule` names, with its parameters (`stepEvery` and `stepGamma`, or one-cycle's
    /// warm-up share `LearningRateSchedule.oneCycleWarmUp`).
    public var learningRateSchedule: LearningRateSchedule {
        switch schedule {
        case .constant: return .constant
        case .step: return .step(every: stepEvery, gamma: stepGamma)
        case .cosine: return .cosine
        case .onecycle: return .oneCycle(warmUp: LearningRateSchedule.oneCycleWarmUp)
        }
    }

    /// The optimizer these options describe, updating on `compute`'s threads.
    public func makeOptimizer(compute: ComputeContext = .serial) -> Optimizer {
        switch optimizer {
        case .adam: return Adam(beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay, compute: compute)
        case .sgd: return SGD(momentum: momentum, weightDecay: weightDecay)
        }
    }

    /// Batches are allocated up front (inputs, activations, gradients): this keeps them to a
    /// few gigabytes even for the CNNs.
    public static let maximumBatchSize = 65_536

    /// The first problem with the values, as a message naming the command-line flag (e.g. "--epochs
    /// must be at least 1, got 0"), or nil when all are usable. Given `trainingImages`, it also checks
    /// that the validation images leave some to train on.
    public func problem(trainingImages: Int? = nil) -> String? {
        if epochs < 1 { return "--epochs must be at least 1, got \(epochs)" }
        if batchSize < 1 || batchSize > Self.maximumBatchSize {
            return "--batch-size must be in 1...\(Self.maximumBatchSize), got \(batchSize)"
        }
        if !(learningRate > 0) || !learningRate.isFinite { return "--learning-rate must be positive, got \(learningRate)" }
        if !(0..<1).contains(beta1) || !(0..<1).contains(beta2) { return "--beta1 and --beta2 must be in [0, 1), got \(beta1) and \(beta2)" }
        if !(epsilon > 0) { return "--epsilon must be positive, got \(epsilon)" }
        if !(0..<1).contains(momentum) { return "--momentum must be in [0, 1), got \(momentum)" }
        if !(weightDecay >= 0) || !weightDecay.isFinite { return "--weight-decay must be 0 or more, got \(weightDecay)" }
        if let l1, !(l1 >= 0) || !l1.isFinite { return "--l1 must be 0 or more, got \(l1)" }
        if stepEvery < 1 || !(stepGamma > 0) { return "--step-every must be at least 1 and --step-gamma positive" }
        if let clipNorm, !(clipNorm > 0) { return "--clip-norm must be positive, got \(clipNorm)" }
        if let patience, patience < 1 { return "--patience must be at least 1, got \(patience)" }
        if let ema, !(ema > 0 && ema < 1) { return "--ema must be between 0 and 1 (such as 0.999), got \(ema)" }
        if validationCount < 1 { return "--validation must be at least 1, got \(validationCount)" }
        if let augment {
            do { _ = try AugmentationSpec.parse(augment) } catch let error as AugmentationError { return error.message } catch {}
        }
        if let trainingImages, validationCount >= trainingImages {
            return "--validation \(validationCount) leaves no training images out of \(trainingImages)"
        }
        return nil
    }

    /// The options stored as JSON under "training" in a checkpoint or training state, or nil
    /// when the text is not such JSON.
    public init?(json: String) {
        guard let options = try? JSONDecoder().decode(TrainingOptions.self, from: Data(json.utf8)) else { return nil }
        self = options
    }

    /// The options as compact JSON with sorted keys and snake_case names, as checkpoints and training
    /// states store them under "training". A non-finite number is written as a string, which decoding
    /// refuses, rather than trapping.
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Only a non-finite number could make the encoder throw; it is written as a string
        // instead (and refused when read back), never a trap.
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
