// `digits train`: trains a model on MNIST, validating on images held out of the training set,
// scoring the test set once at the end, and saving a safetensors checkpoint after every epoch.
import ArgumentParser
@_spi(Tools) import DigitsKit
import DigitsPresentation
import Foundation
import Synchronization

/// The signal (SIGINT or SIGTERM) that asked training to stop, or 0; the training loop polls it
/// after every step.
let interruptRequested = Atomic<Int32>(0)

extension DigitsCommand {
    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Train a model on MNIST and save it as a safetensors checkpoint.",
            discussion: """
                The last --validation images of the training set (5,000 by default, never the \
                test set) are held out: they pick the best epoch and drive early stopping. The \
                test set is scored once, at the end, with the best weights.

                After every epoch the best weights so far go to --output, and everything needed \
                to continue (current weights, optimizer moments, random states) to the training \
                state beside it (such as mlp.state.safetensors). Both are written atomically \
                (a temporary file, then a rename), so a crash or kill -9 never leaves a torn file. \
                Ctrl-C (SIGINT) or SIGTERM lets the step in progress finish, saves the training \
                state as of that step, prints how to resume and exits with 130 (143 for SIGTERM). \
                --resume continues exactly where the state left off, even mid-epoch: on the same \
                thread count (saved with the state), the final checkpoint is byte-identical to an \
                uninterrupted run's. --resume --epochs N extends a run: the learning rate of the \
                epochs still to come follows the schedule over N epochs. With a constant or step \
                schedule that is exactly an N-epoch run; with cosine (the default) or one-cycle, \
                whose rates depend on the total, the epochs already trained kept their rates for \
                the old total, so an extended run is not the N-epoch run.

                Each epoch's mini-batches come from a seeded shuffle; the last, partial batch is \
                kept. Every random choice (initialization, shuffling, dropout) flows from --seed: \
                the same seed and thread count give a bit-identical checkpoint.

                Models (--model), each with its own measured defaults (epochs, learning rate, \
                dropout, augmentation), written to checkpoints/MODEL.safetensors:
                  mlp         784-128-64-10 perceptron (30 epochs, lr 0.002, --augment shift=1,fill=0.2)
                  cnn         conv32-conv32-pool-conv64-conv64-pool-fc256-fc10 with BatchNorm \
                (15 epochs, lr 0.002, --augment shift=2,rotate=10,scale=0.1,fill=0.4)
                  cnn-basic   conv32-pool-conv64-pool-fc128-fc10, PyTorch's side-by-side case \
                (10 epochs, lr 0.001, no augmentation)
                  fast        conv24(5×5)-pool-BN-conv32-pool-BN-fc256-fc10, the fast path to 99%: one \
                epoch, batch 256, one-cycle schedule with a peak lr of 0.012, Adam β 0.7/0.9, no \
                augmentation
                  resnet      residual CNN: 3×3 stem conv16, residual blocks 16, 32, 64 (the last two with \
                stride 2 and a 1×1 projection skip), global average pool, fc10; names as torchvision's \
                (layer1.0.conv1.weight …) (8 epochs, lr 0.002, --augment shift=2,rotate=10,scale=0.1)

                Examples:
                  digits train
                  digits train --model cnn
                  digits train --model cnn-basic --epochs 3 --augment none
                  digits train --model fast --seed 3
                  digits train --model resnet --epochs 3
                  digits train --epochs 5 --activation gelu --hidden 256,128 --output checkpoints/wide.safetensors
                  digits train --optimizer sgd --learning-rate 0.05 --schedule step --step-every 5
                  digits train --resume --epochs 40
                  scripts/make-extra-data && digits train --model cnn \
                --extra datasets/extra/synthetic-images-idx3-ubyte \
                --extra datasets/extra/negatives-images-idx3-ubyte   (the shipped CNN)
                """
        )

        @Option(help: "Model to train: mlp, cnn, cnn-basic, fast or resnet.", completion: .list(Recipe.modelNames))
        var model: String = "mlp"

        @Option(help: "Directory holding the MNIST files.", completion: .directory)
        var data: String = MNIST.defaultDirectory

        @Option(name: .customLong("output"), help: "Checkpoint to write; the training state goes beside it (default checkpoints/MODEL.safetensors).",
                completion: .file(extensions: ["safetensors"]))
        var outputPath: String?

        var output: String { outputPath ?? "checkpoints/\(model).safetensors" }

        @Flag(help: "Continue the run saved at --output (its options are kept; --epochs may extend it).")
        var resume = false

        @Option(help: "Epochs to train (default: 30 for mlp, 15 for cnn, 10 for cnn-basic, 1 for fast, 8 for resnet).")
        var epochs: Int?

        @Option(help: "Images per mini-batch (default 128; 256 for fast).")
        var batchSize: Int?

        @Option(help: "Base learning rate, the peak of one-cycle (default: 0.002; 0.001 for cnn-basic, 0.012 for fast).")
        var learningRate: Float?

        @Option(help: "adam or sgd (default adam).")
        var optimizer: TrainingOptions.OptimizerKind?

        @Option(help: "Adam's β1 (default 0.9; 0.7 for fast).")
        var beta1: Float?

        @Option(help: "Adam's β2 (default 0.999; 0.9 for fast).")
        var beta2: Float?

        @Option(help: "Adam's ε (default 1e-8).")
        var epsilon: Float?

        @Option(help: "SGD's momentum (default 0.9).")
        var momentum: Float?

        @Option(help: "L2 weight decay on every parameter, added to the gradient as PyTorch's weight_decay: coupled L2, not AdamW's decoupled decay (default 0).")
        var weightDecay: Float?

        @Option(help: ArgumentHelp("L1 regularization: adds λ·Σ|w| over the dense and convolutional weights (not biases or BatchNorm) to the loss, with the subgradient λ·sign(w) (0 at 0), which drives small weights to zero; combines with --weight-decay (default 0: none).", valueName: "λ"))
        var l1: Float?

        @Option(help: "Learning-rate schedule: constant, step, cosine (per epoch) or onecycle (per step: a warm-up from lr/25 to lr over the first quarter of the steps, then cosine annealing to lr/25/10⁴) (default cosine; onecycle for fast).")
        var schedule: TrainingOptions.ScheduleKind?

        @Option(help: "Step schedule: epochs between decays (default 10).")
        var stepEvery: Int?

        @Option(help: "Step schedule: factor at each decay (default 0.1).")
        var stepGamma: Float?

        @Option(help: "Clip the global gradient norm to this (default: no clipping).")
        var clipNorm: Float?

        @Option(help: "Stop after this many epochs without a better validation accuracy (default: never).")
        var patience: Int?

        @Option(help: ArgumentHelp("Keep an exponential moving average of the weights, with this decay (such as 0.999; early steps use less, (1 + step) / (10 + step)), and validate, keep and save the average instead of the last step's weights (default: none).", valueName: "decay"))
        var ema: Float?

        @Option(help: "Images held out of the end of the training set for validation (default 5000).")
        var validation: Int?

        @Option(help: "MLP only: hidden layer sizes, comma-separated (default 128,64).")
        var hidden: String?

        @Option(help: "MLP only: \(ActivationFunction.allCases.map(\.rawValue).joined(separator: ", ")) (default relu).")
        var activation: ActivationFunction?

        @Flag(help: "MLP only: BatchNorm between each hidden layer and its activation (layers bn1, bn2, …).")
        var batchNorm = false

        @Option(help: "Dropout probability (mlp: after each hidden layer, default 0.15; cnn: before the last layer, 0.4; cnn-basic 0.5).")
        var dropout: Float?

        @Option(help: "Augmentation recipe, such as shift=2,rotate=10,elastic=34:4, or none (default: the model's measured best; the grammar is in digits help augment).")
        var augment: String?

        @Option(help: ArgumentHelp("More training pictures: an IDX image file NAME-images-idx3-ubyte with NAME-labels-idx1-ubyte beside it, labels 0–9 for digits and 10 for pictures that are not digits (scripts/make-synthetic-digits and scripts/make-negatives make them). Label 10 gives the model an extra class, \"not a digit\", which classify and serve use to refuse letters and scribbles. Repeatable.", valueName: "file"),
                completion: .file())
        var extra: [String] = []

        @Option(help: "Seed for every random choice (default 1).")
        var seed: UInt64?

        @Option(help: "Threads for training (default: one per core). The bits depend on it: it is saved with the training state, and --resume on another count says so.")
        var threads: Int?

        @Flag(help: "Print per-layer gradient norm, weight norm, update ratio and dead ReLUs each epoch, and draw the gradient flow: every dense and convolutional layer's gradient norm, sampled 40 times an epoch, one row per layer on a log colour scale, written after each epoch to OUTPUT-gradient-flow.png beside the checkpoint (checkpoints/mlp-gradient-flow.png for the default output).")
        var monitor = false

        @Option(help: ArgumentHelp("Write TensorBoard event files into this directory (such as runs/NAME; view with tensorboard --logdir runs): per epoch the train and validation loss and accuracy, the learning rate, the --monitor figures, histograms of every weight and its gradient; the running training loss every --log-every steps; the options and augmented samples at the start, the test figures and misread test digits at the end.", valueName: "directory"),
                completion: .directory)
        var logdir: String?

        @Option(help: "With --logdir: steps between two points of the running training loss (default 50).")
        var logEvery: Int = 50

        @Flag(help: "Print one JSON object per epoch, and a last one with the test result, on stdout; nothing else there.")
        var json = false

        /// The options given on this command line that differ from the run being resumed, with
        /// the saved value: re-running the same command with --resume added is fine (up-arrow,
        /// add --resume), changing what defines the run is not. Only --epochs may change.
        func conflicts(with saved: TrainingOptions, architecture: Architecture?) -> [(flag: String, saved: String)] {
            let given = trainingOptions
            var differing: [(String, String)] = []
            func check<Value: Equatable>(_ flag: String, _ isGiven: Bool, _ mine: Value, _ theirs: Value, _ shown: String? = nil) {
                if isGiven && mine != theirs { differing.append((flag, shown ?? "\(theirs)")) }
            }
            check("--batch-size", batchSize != nil, given.batchSize, saved.batchSize)
            check("--learning-rate", learningRate != nil, given.learningRate, saved.learningRate)
            check("--optimizer", optimizer != nil, given.optimizer, saved.optimizer, saved.optimizer.rawValue)
            check("--beta1", beta1 != nil, given.beta1, saved.beta1)
            check("--beta2", beta2 != nil, given.beta2, saved.beta2)
            check("--epsilon", epsilon != nil, given.epsilon, saved.epsilon)
            check("--momentum", momentum != nil, given.momentum, saved.momentum)
            check("--weight-decay", weightDecay != nil, given.weightDecay, saved.weightDecay)
            check("--l1", l1 != nil, given.l1 ?? 0, saved.l1 ?? 0)
            check("--schedule", schedule != nil, given.schedule, saved.schedule, saved.schedule.rawValue)
            check("--step-every", stepEvery != nil, given.stepEvery, saved.stepEvery)
            check("--step-gamma", stepGamma != nil, given.stepGamma, saved.stepGamma)
            check("--clip-norm", clipNorm != nil, given.clipNorm, saved.clipNorm, saved.clipNorm.map { "\($0)" } ?? "none")
            check("--patience", patience != nil, given.patience, saved.patience, saved.patience.map(String.init) ?? "none")
            check("--ema", ema != nil, given.ema, saved.ema, saved.ema.map { "\($0)" } ?? "none")
            check("--validation", validation != nil, given.validationCount, saved.validationCount)
            check("--augment", augment != nil, given.augment, saved.augment, saved.augment ?? "none")
            check("--extra", !extra.isEmpty, extra, saved.extra ?? [], (saved.extra ?? []).joined(separator: ", "))
            check("--seed", seed != nil, given.seed, saved.seed)
            if let architecture {
                check("--dropout", dropout != nil, dropout, architecture.dropout)
                check("--activation", activation != nil, activation?.rawValue, architecture.activation)
                let savedHidden = architecture.layers.filter { $0.kind == .linear }.dropLast().compactMap(\.outFeatures)
                check("--hidden", hidden != nil, hiddenSizes ?? [], savedHidden, savedHidden.map(String.init).joined(separator: ","))
                let savedBatchNorm = model == "mlp" && architecture.layers.contains { $0.kind == .batchnorm }
                check("--batch-norm", batchNorm, batchNorm, savedBatchNorm, savedBatchNorm ? "on" : "off")
            }
            return differing
        }

        var recipe: Recipe { Recipe.named(model) ?? Recipe.all[0] }

        var trainingOptions: TrainingOptions {
            var options = recipe.trainingOptions
            if let epochs { options.epochs = epochs }
            if let batchSize { options.batchSize = batchSize }
            if let learningRate { options.learningRate = learningRate }
            if let optimizer { options.optimizer = optimizer }
            if let beta1 { options.beta1 = beta1 }
            if let beta2 { options.beta2 = beta2 }
            if let epsilon { options.epsilon = epsilon }
            if let momentum { options.momentum = momentum }
            if let weightDecay { options.weightDecay = weightDecay }
            if let l1 { options.l1 = l1 == 0 ? nil : l1 }
            if let schedule { options.schedule = schedule }
            if let stepEvery { options.stepEvery = stepEvery }
            if let stepGamma { options.stepGamma = stepGamma }
            options.clipNorm = clipNorm
            options.patience = patience
            if let ema { options.ema = ema }
            if let validation { options.validationCount = validation }
            if let seed { options.seed = seed }
            let recipe = augment ?? Recipe.defaultAugmentation(model: model)
            if let spec = try? AugmentationSpec.parse(recipe) {
                options.augment = spec.description  // the canonical spelling, "none" included
            } else {
                options.augment = recipe  // problem() says why it does not parse
            }
            return options
        }

        var hiddenSizes: [Int]? {
            guard let hidden else { return [128, 64] }
            let sizes = hidden.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !sizes.isEmpty, sizes.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
            return sizes.compactMap { $0 }
        }

        func validate() throws {
            guard Recipe.named(model) != nil else {
                throw ValidationError("--model \(model) is not available; the models are: \(Recipe.modelNames.joined(separator: ", "))")
            }
            if model != "mlp", let given = [("--hidden", hidden != nil), ("--activation", activation != nil), ("--batch-norm", batchNorm)]
                .first(where: { $0.1 }) {
                throw ValidationError("\(given.0) applies to the mlp only; --model \(model) has a fixed shape")
            }
            if let problem = trainingOptions.problem() { throw ValidationError(problem) }
            guard hiddenSizes != nil else { throw ValidationError("--hidden takes positive sizes separated by commas, such as 128,64; got \(hidden ?? "")") }
            if let dropout, !(0..<1).contains(dropout) { throw ValidationError("--dropout must be in [0, 1), got \(dropout)") }
            if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
            guard logEvery >= 1 else { throw ValidationError("--log-every must be at least 1, got \(logEvery)") }
        }

        func run() throws {
            try BLAS.load()
            let compute = ComputeContext(threads: threads ?? ComputeContext.processorCount)
            let log = Log(json: json)
            log.info("BLAS: \(BLASCore.summary(environment: ProcessInfo.processInfo.environment, threads: compute.threads))")

            let statePath = Self.statePath(for: output)
            try checkWritable(output)
            let lock = try OutputLock(output: output)
            defer { withExtendedLifetime(lock) {} }
            // The log directory is made before any training time is spent, too.
            let board = try logdir.map { try TrainingBoard(directory: $0, every: logEvery) }

            var train = try MNIST.load(from: data, split: .train)
            let test = try MNIST.load(from: data, split: .test)
            let trainer: Trainer
            if resume {
                guard FileManager.default.fileExists(atPath: statePath) else {
                    throw CheckpointError.notACheckpoint(path: statePath, reason: "no training state to resume (it is written after each epoch)")
                }
                let state = try SafeTensorsFile.read(contentsOf: statePath)
                if let saved = state.metadata["training"].flatMap(TrainingOptions.init(json:)) {
                    let architecture = state.metadata["architecture"].flatMap { try? Architecture.decode(json: $0) }
                    if let conflict = conflicts(with: saved, architecture: architecture).first {
                        throw ValidationError("--resume continues the run saved in \(statePath), whose \(conflict.flag) was \(conflict.saved); drop \(conflict.flag) to resume it (only --epochs can change, to extend the run), or train a new run without --resume")
                    }
                    for path in saved.extra ?? [] {
                        train = try train.inserting(DigitDataset.extra(images: path), beforeLast: saved.validationCount)
                    }
                }
                trainer = try Trainer(resumingFrom: state, path: statePath, dataset: train, epochs: epochs, compute: compute)
                if let saved = trainer.savedThreads, saved != compute.threads {
                    log.info("note: this run was trained on \(saved) thread\(saved == 1 ? "" : "s") and resumes on \(compute.threads): it goes on, but not bit for bit as it would have on \(saved) (pass --threads \(saved) for that)")
                }
                if trainer.isFinished {
                    // Killed after the last epoch, before the test score was written: finish that.
                    let scored = (try? SafeTensorsFile.read(contentsOf: output))?.metadata["test_accuracy"] != nil
                    guard !scored else { throw TrainingError.alreadyFinished(path: statePath, epochs: trainer.completedEpochs) }
                    log.info("\(statePath): all \(trainer.completedEpochs) epochs are trained, but \(output) has no test score yet: scoring the best weights")
                } else {
                    log.info("resuming \(statePath) " + (trainer.batchesDone > 0
                    ? "in epoch \(trainer.completedEpochs + 1) of \(trainer.options.epochs), after batch \(trainer.batchesDone)"
                    : "after epoch \(trainer.completedEpochs) of \(trainer.options.epochs)"))
                }
            } else {
                var options = trainingOptions
                if let problem = options.problem(trainingImages: train.count) { throw ValidationError(problem) }
                var architecture = recipe.architecture(dropout: dropout, hidden: hiddenSizes!, activation: activation ?? .relu,
                                                       batchNorm: batchNorm, input: [1, train.rows, train.columns])
                for path in extra {
                    let pictures = try DigitDataset.extra(images: path)
                    train = try train.inserting(pictures, beforeLast: options.validationCount)
                    let negatives = pictures.labels.reduce(0) { $0 + ($1 == 10 ? 1 : 0) }
                    log.info("extra: \(path): \(formatCount(pictures.count - negatives)) digits, \(formatCount(negatives)) pictures that are not digits")
                }
                if !extra.isEmpty {
                    options.extra = extra
                    if train.labels.contains(10) {
                        architecture = architecture.withRejectClass()
                        log.info("model: class \(architecture.digitClasses) is \"not a digit\"")
                    }
                }
                trainer = try Trainer(architecture: architecture, options: options, dataset: train, compute: compute)
            }
            let options = trainer.options
            log.info("data: \(trainer.trainIndices.count) training images, \(trainer.validationIndices.count) for validation (the end of the training set), \(test.count) test images")
            log.info("model: \(trainer.model.architecture.model), \(formatCount(trainer.model.parameterCount)) parameters")
            trainer.model.summary.forEach { log.info("  " + $0) }
            log.info("training: \(options.epochs) epochs, \(optimizerDescription(options)), batch \(options.batchSize), \(options.learningRateSchedule) schedule, augmentation \(options.augmentation)\(options.l1.map { ", L1 \($0)" } ?? "")\(options.ema.map { ", weight average (EMA) \($0)" } ?? ""), seed \(options.seed)")

            try board?.start(trainer: trainer, architecture: trainer.model.architecture)
            if let board { log.info("TensorBoard: \(board.writer.path)") }

            for signal in [SIGINT, SIGTERM] {
                Glibc.signal(signal) { received in interruptRequested.store(received, ordering: .relaxed) }
            }
            // A test hook: SIGINT to itself after N steps, to interrupt at an exact point.
            let interruptAfter = ProcessInfo.processInfo.environment["DIGITS_INTERRUPT_AFTER_STEPS"].flatMap { Int($0) }
            let bar = ProgressBar(enabled: !json && isatty(STDOUT_FILENO) == 1)
            var stepsTaken = 0  // by this process, for DIGITS_INTERRUPT_AFTER_STEPS
            func stopRequested() -> Bool {
                stepsTaken += 1
                if let interruptAfter, stepsTaken == interruptAfter { raise(SIGINT) }
                return interruptRequested.load(ordering: .relaxed) != 0
            }
            while !trainer.isFinished {
                let record: EpochRecord
                do {
                    var boardError: Error?
                    record = try trainer.runEpoch(monitor: monitor, progress: { progress in
                        bar.update(progress)
                        guard let board, boardError == nil else { return }
                        do {
                            try board.progress(progress, step: (progress.epoch - 1) * progress.batches + progress.batch)
                        } catch { boardError = error }
                    }, shouldStop: stopRequested)
                    if let boardError { throw boardError }
                } catch TrainingError.interrupted {
                    // The step in progress has finished: save the run as of that step.
                    bar.clear()
                    try trainer.stateFile().write(to: statePath)
                    reportInterruption(trainer, statePath: statePath)
                } catch {
                    bar.clear()
                    throw error
                }
                bar.clear()
                try trainer.checkpointFile().write(to: output)
                try trainer.stateFile().write(to: statePath)
                log.epoch(record, of: options.epochs)
                try board?.epoch(record, model: trainer.model)
                if monitor {
                    let picture = Self.gradientFlowPath(for: output)
                    try GradientFlowPicture.render(trainer.gradientFlow, title: Self.gradientFlowTitle(trainer.model.architecture))
                        .write(to: picture)
                    if trainer.isFinished || trainer.completedEpochs == 1 { log.info("gradient flow: \(picture)") }
                }
                if interruptRequested.load(ordering: .relaxed) != 0 && !trainer.isFinished {
                    reportInterruption(trainer, statePath: statePath)
                }
            }

            if trainer.stoppedEarly {
                log.info("early stop: no better validation accuracy for \(options.patience ?? 0) epochs")
            }
            trainer.restoreBestWeights()
            // Scored as `digits evaluate` scores it (the inference plan, the best digit), so the
            // recorded accuracy is the one evaluate reports.
            let predictions = Predictions.compute(trainer.model, on: test)
            let result = predictions.score(labels: test.labels)
            try trainer.checkpointFile(test: result).write(to: output)
            try board?.finish(test: test, predictions: predictions, step: trainer.completedEpochs)
            if let l1 = trainer.l1 {
                log.info(String(format: "L1 %g: %.1f%% of the dense and convolutional weights have |w| < 1e-3", Double(l1.lambda), 100 * l1.shareBelow(1e-3)))
            }
            log.final(test: result, checkpoint: output, bestEpoch: trainer.bestEpoch, validation: trainer.bestValidationAccuracy, statePath: statePath)
        }

        /// One training run per output: an exclusive flock on a hidden file beside it, held for
        /// the whole run. Two runs on one --output would overwrite each other's checkpoint and
        /// mix their training states; the second is refused instead. The kernel drops the lock
        /// when the process ends in any way (kill -9 included), so a stale file never blocks.
        final class OutputLock {
            struct Busy: DigitsError {
                let output: String, holder: String
                var message: String { "\(output): another digits train\(holder) is writing this checkpoint and its training state" }
                var hint: String? { "wait for it to finish (or stop it), or pass another --output" }
            }
            private let descriptor: Int32

            init(output: String) throws {
                let directory = (output as NSString).deletingLastPathComponent
                let path = (directory.isEmpty ? "" : directory + "/") + "." + (output as NSString).lastPathComponent + ".lock"
                descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
                guard descriptor >= 0 else { throw FileError.unwritable(path: path, reason: String(cString: strerror(errno))) }
                guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
                    var buffer = [UInt8](repeating: 0, count: 32)
                    let count = pread(descriptor, &buffer, 31, 0)
                    let pid = count > 0 ? String(decoding: buffer[..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : ""
                    close(descriptor)
                    throw Busy(output: output, holder: pid.isEmpty ? "" : " (process \(pid))")
                }
                let pid = Array("\(getpid())\n".utf8)
                _ = ftruncate(descriptor, 0)
                _ = pwrite(descriptor, pid, pid.count, 0)
            }

            deinit { close(descriptor) }
        }

        /// "GRADIENT FLOW: MLP, 10 HIDDEN, SIGMOID, BATCHNORM": what the picture shows.
        static func gradientFlowTitle(_ architecture: Architecture) -> String {
            var parts = [architecture.model]
            if architecture.model == "mlp" {
                parts.append("\(architecture.layers.filter { $0.kind == .linear }.count - 1) hidden")
                parts.append(architecture.activation)
                if architecture.layers.contains(where: { $0.kind == .batchnorm }) { parts.append("batchnorm") }
            }
            return "GRADIENT FLOW: " + parts.joined(separator: ", ")
        }

        /// checkpoints/mlp.safetensors → checkpoints/mlp-gradient-flow.png.
        static func gradientFlowPath(for output: String) -> String {
            let base = output.hasSuffix(".safetensors") ? String(output.dropLast(".safetensors".count)) : output
            return base + "-gradient-flow.png"
        }

                static func statePath(for output: String) -> String {
            let base = output.hasSuffix(".safetensors") ? String(output.dropLast(".safetensors".count)) : output
            return base + ".state.safetensors"
        }

        /// Finds an unwritable destination before any training time is spent.
        private func checkWritable(_ path: String) throws {
            let directory = (path as NSString).deletingLastPathComponent
            let probe = (directory.isEmpty ? "." : directory) + "/.digits-write-test-\(getpid())"
            do {
                try Files.writeAtomically([0], to: probe)
            } catch FileError.unwritable(_, let reason) {
                throw FileError.unwritable(path: path, reason: reason)
            }
            unlink(probe)
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                throw FileError.notAFile(path: path)
            }
        }

        /// Says what was saved and how to continue, then exits with 128 + the signal: 130 for
        /// SIGINT, 143 for SIGTERM.
        private func reportInterruption(_ trainer: Trainer, statePath: String) -> Never {
            var standardError = StandardError()
            let signal = interruptRequested.load(ordering: .relaxed)
            let epoch = trainer.completedEpochs + (trainer.batchesDone > 0 ? 1 : 0)
            let position = trainer.batchesDone > 0 ? "epoch \(epoch), after batch \(trainer.batchesDone)" : "the end of epoch \(epoch)"
            print("\n\(signal == SIGTERM ? "terminated" : "interrupted") at \(position): the training state is saved in \(statePath).",
                  to: &standardError)
            if trainer.completedEpochs > 0 {
                print("\(output) holds the best weights of epochs 1–\(trainer.completedEpochs).", to: &standardError)
            }
            print("resume with: digits train --resume\(model == "mlp" ? "" : " --model \(model)")\(outputPath.map { " --output \($0)" } ?? "")",
                  to: &standardError)
            Foundation.exit(128 + (signal == 0 ? SIGINT : signal))
        }

        private func optimizerDescription(_ options: TrainingOptions) -> String {
            switch options.optimizer {
            case .adam: return "Adam (lr \(options.learningRate), β1 \(options.beta1), β2 \(options.beta2), ε \(options.epsilon)\(options.weightDecay > 0 ? ", weight decay \(options.weightDecay)" : ""))"
            case .sgd: return "SGD (lr \(options.learningRate), momentum \(options.momentum)\(options.weightDecay > 0 ? ", weight decay \(options.weightDecay)" : ""))"
            }
        }
    }
}

extension TrainingOptions.OptimizerKind: ExpressibleByArgument {}
extension TrainingOptions.ScheduleKind: ExpressibleByArgument {}
extension ActivationFunction: ExpressibleByArgument {}

/// Human lines go to stdout, or to stderr when --json keeps stdout for JSON lines.
struct Log {
    let json: Bool

    func info(_ line: String) {
        if json { var standardError = StandardError(); print(line, to: &standardError) } else { print(line) }
    }

    func epoch(_ record: EpochRecord, of total: Int) {
        if json {
            emit(record)
            return
        }
        let width = String(total).count
        var line = "epoch \(String(record.epoch).leftPadded(to: width, with: " "))/\(total)"
        line += String(format: "  train loss %.4f acc %6.2f%%", record.trainLoss, 100 * record.trainAccuracy)
        line += String(format: "  val loss %.4f acc %6.2f%%", record.validationLoss, 100 * record.validationAccuracy)
        line += String(format: "  %.2f s  %@ img/s  lr %.2e", record.seconds ?? 0, formatCount(Int(record.imagesPerSecond ?? 0)), record.learningRate)
        print(line)
        for health in record.health ?? [] {
            var text = String(format: "    %-12@ grad %.3e  weight %.3e  update/weight %.2e", health.parameter, health.gradientNorm, health.weightNorm, health.updateRatio)
            if let dead = health.deadFraction { text += String(format: "  dead ReLUs %.1f%%", 100 * dead) }
            if let warning = health.warning { text += "  ⚠ \(warning)" }
            print(text)
        }
        fflush(nil)
    }

    func final(test: EvaluationResult, checkpoint: String, bestEpoch: Int, validation: Double, statePath: String) {
        if json {
            struct Final: Encodable {
                let test_accuracy: Double, test_loss: Double, checkpoint: String
            }
            emit(Final(test_accuracy: test.accuracy, test_loss: test.loss, checkpoint: checkpoint))
            return
        }
        print(String(format: "best validation accuracy %.2f%% (epoch %d); test accuracy %.2f%% (loss %.4f, %d of %d)",
                     100 * validation, bestEpoch, 100 * test.accuracy, test.loss, test.correct, test.count))
        print("saved \(checkpoint) (training state: \(statePath))")
    }

    private func emit(_ value: some Encodable) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // A non-finite figure is a string ("nan"), never a trap.
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        guard let data = try? encoder.encode(value) else { return }
        print(String(decoding: data, as: UTF8.self))
        fflush(nil)
    }
}

/// A one-line progress bar, redrawn in place on a terminal at most ten times a second.
final class ProgressBar {
    let enabled: Bool
    private var lastDraw: UInt64 = 0

    init(enabled: Bool) { self.enabled = enabled }

    func update(_ progress: BatchProgress) {
        guard enabled else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        guard now - lastDraw > 100_000_000 || progress.batch == progress.batches else { return }
        lastDraw = now
        let width = 30
        let filled = width * progress.batch / max(progress.batches, 1)
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        // Remaining batches at the average time per batch so far.
        let eta = progress.elapsedSeconds / Double(max(progress.batch, 1)) * Double(progress.batches - progress.batch)
        print(String(format: "\r\u{1B}[Kepoch %d [%@] %d/%d  loss %.4f  %@ img/s  ETA %.1f s", progress.epoch, bar,
                     progress.batch, progress.batches, progress.runningLoss, formatCount(Int(progress.imagesPerSecond)), eta),
              terminator: "")
        fflush(nil)
    }

    func clear() {
        guard enabled else { return }
        print("\r\u{1B}[K", terminator: "")
        fflush(nil)
    }
}
