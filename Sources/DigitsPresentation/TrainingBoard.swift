// What `digits train --logdir` shows in TensorBoard, written through DigitsKit's event-file
// writer: the run's options as text and a picture of augmented training samples at the start;
// the running training loss every few steps; per epoch the losses, accuracies, learning rate
// and, with --monitor, each weight's health figures, plus histograms of every weight and of its
// last gradient; at the end the test figures and a gallery of the test digits it got wrong.
@_spi(Tools) import DigitsKit
import Foundation

package final class TrainingBoard {
    package let writer: TensorBoardWriter
    /// Steps between two "train/running_loss" points.
    package let every: Int

    package init(directory: String, every: Int) throws {
        writer = try TensorBoardWriter(directory: directory)
        self.every = max(every, 1)
    }

    /// The options as text, and 8 training digits each with 7 augmented versions (the run's
    /// recipe; none when it has none).
    package func start(trainer: Trainer, architecture: Architecture) throws {
        let options = trainer.options
        var text = "| option | value |\n| --- | --- |\n"
        if let object = try? JSONSerialization.jsonObject(with: Data(options.json().utf8)) as? [String: Any] {
            for key in object.keys.sorted() { text += "| \(key) | \(object[key].map { "\($0)" } ?? "") |\n" }
        }
        text += "| model | \(architecture.model), \(formatCount(trainer.model.parameterCount)) parameters |\n"
        try writer.text("options", text, step: 0)
        let spec = options.augmentation
        if !spec.isNone {
            let indices = Array(trainer.trainIndices.prefix(8))
            let canvas = try AugmentationPreview.render(trainer.dataset, indices: indices, spec: spec, variants: 7,
                                                        seed: options.seed, scale: 2, path: "augmented samples")
            try writer.image("augmented_samples", png: try canvas.pngBytes(), width: canvas.width, height: canvas.height, channels: 3, step: 0)
        }
    }

    /// The running training loss, every `every` steps; `step` counts from 1 over the run.
    package func progress(_ progress: BatchProgress, step: Int) throws {
        guard step % every == 0 else { return }
        try writer.scalars([("train/running_loss", progress.runningLoss)], step: step)
    }

    /// An epoch's figures and histograms, at the epoch's number.
    package func epoch(_ record: EpochRecord, model: Sequential) throws {
        var values: [(String, Double)] = [
            ("train/loss", record.trainLoss), ("train/accuracy", record.trainAccuracy),
            ("val/loss", record.validationLoss), ("val/accuracy", record.validationAccuracy),
            ("learning_rate", Double(record.learningRate)),
        ]
        if let seconds = record.seconds { values.append(("epoch_seconds", seconds)) }
        for health in record.health ?? [] {
            values += [("health/\(health.parameter)/gradient_norm", health.gradientNorm),
                       ("health/\(health.parameter)/weight_norm", health.weightNorm),
                       ("health/\(health.parameter)/update_ratio", health.updateRatio)]
            if let dead = health.deadFraction { values.append(("health/\(health.parameter)/dead_fraction", dead)) }
        }
        try writer.scalars(values, step: record.epoch)
        for parameter in model.parameters {
            try writer.histogram("weights/\(parameter.name)", values: UnsafeBufferPointer(start: parameter.value.data, count: parameter.value.count),
                                 step: record.epoch)
            try writer.histogram("gradients/\(parameter.name)", values: UnsafeBufferPointer(start: parameter.gradient.data, count: parameter.gradient.count),
                                 step: record.epoch)
        }
    }

    /// The test figures and up to 48 misread test digits, most confidently wrong first.
    package func finish(test: DigitDataset, predictions: Predictions, step: Int) throws {
        let result = predictions.score(labels: test.labels)
        try writer.scalars([("test/accuracy", result.accuracy), ("test/loss", result.loss)], step: step)
        let wrong = (0..<predictions.count).filter { predictions.predicted[$0] != Int(test.labels[$0]) }
            .sorted { (predictions.confidence(at: $0), -$0) > (predictions.confidence(at: $1), -$1) }.prefix(48)
        guard !wrong.isEmpty else { return }
        let cells = wrong.map { index in
            GridCell(image: test.image(at: index), caption: "\(test.labels[index])→\(predictions.predicted[index])",
                     captionColor: RGB(255, 120, 100), note: String(format: "%.0f%%", predictions.confidence(at: index) * 100))
        }
        let canvas = try DigitGrid.render(cells, columns: min(12, cells.count), title: "TEST ERRORS: \(wrong.count) OF \(result.count - result.correct)",
                                          path: "test errors")
        try writer.image("test_errors", png: try canvas.pngBytes(), width: canvas.width, height: canvas.height, channels: 3, step: step)
    }
}
