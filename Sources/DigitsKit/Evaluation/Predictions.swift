// Class probabilities for the images of a dataset, in inference mode: the model's InferencePlan
// runs on batches of raw pixels, then a numerically stable softmax per row (the same
// log-sum-exp as the fused loss). Validation during training, the test score written into the
// checkpoint, `digits evaluate` and `digits classify` all go through here, so an image gets
// the same probabilities whichever asks, and the recorded accuracy is evaluate's, bit for bit.
import Foundation

/// Loss and accuracy of a model over part of a dataset.
public struct EvaluationResult: Sendable, Equatable {
    /// Mean cross-entropy per image (−log p(label)), in nats.
    public var loss: Double
    /// Images whose predicted digit equals their label.
    public var correct: Int
    /// Images scored.
    public var count: Int
    /// `correct` / `count`, 0–1 (0 when no image was scored).
    public var accuracy: Double { count == 0 ? 0 : Double(correct) / Double(count) }
}

/// The model's answer for each image of a dataset, in dataset order.
public struct Predictions: Sendable {
    /// C, the model's output classes: the digits, plus the reject class ("not a digit") when
    /// the model has one.
    public let classes: Int
    /// The digit classes: all of them, or all but the last when it is "not a digit".
    public let digitClasses: Int
    /// (N, C) softmax probabilities over every class, row-major.
    public let probabilities: [Float]
    /// (N) the most probable digit of each row (the reject class, if any, never counts); the
    /// first maximum on ties, as SoftmaxCrossEntropy counts.
    public let predicted: [Int]
    /// (N) −log p(label): the cross-entropy of each image against its label.
    public let losses: [Double]
    /// (N, C) the model's raw outputs, row-major; empty for an ensemble, whose members'
    /// logits are not averaged.
    public var logits: [Float] = []

    /// N, the number of images predicted.
    public var count: Int { predicted.count }

    /// Probability of the predicted class.
    public func confidence(at index: Int) -> Float { probabilities[index * classes + predicted[index]] }

    /// Row `index` of the probabilities (every class, the reject class last if there is one).
    public func probabilities(at index: Int) -> ArraySlice<Float> {
        probabilities[index * classes..<(index + 1) * classes]
    }

    /// The probability that image `index` is not a digit, for a model with a reject class.
    public func notDigitProbability(at index: Int) -> Float? {
        digitClasses < classes ? probabilities[index * classes + digitClasses] : nil
    }

    /// The `k` most probable digits of image `index`, most probable first.
    public func top(_ k: Int, at index: Int) -> [(digit: Int, probability: Float)] {
        let row = probabilities(at: index).prefix(digitClasses)
        return row.indices.map { ($0 - row.startIndex, row[$0]) }
            .sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
            .prefix(max(k, 0)).map { (digit: $0.0, probability: $0.1) }
    }

    /// Runs `model` over every image of `dataset` through an InferencePlan made for it (on
    /// the model's compute context).
    public static func compute(_ model: Sequential, on dataset: DigitDataset) -> Predictions {
        compute(InferencePlan(model), on: dataset)
    }

    /// Runs `plan` over the images `range` of `dataset` (all of them when nil), in batches of
    /// `batchSize` (the model's inference size by default). Every score digits reports comes
    /// from here: validation, the test accuracy recorded at the end of training, evaluate and
    /// classify. `dataset`'s images must be the plan's input size (Sequential.checkInput).
    public static func compute(_ plan: InferencePlan, on dataset: DigitDataset, range: Range<Int>? = nil,
                               batchSize: Int? = nil) -> Predictions {
        precondition(dataset.pixelsPerImage == plan.inputCount, "images of \(dataset.pixelsPerImage) pixels for a plan of \(plan.inputCount)")
        let range = range ?? 0..<dataset.count
        return dataset.pixels.withUnsafeBufferPointer { pixels in
            dataset.labels.withUnsafeBufferPointer { labels in
                compute(plan, pixels: pixels.baseAddress! + range.lowerBound * plan.inputCount, count: range.count,
                        labels: labels.baseAddress! + range.lowerBound, batchSize: batchSize)
            }
        }
    }

    /// Runs `plan` over unlabelled images: `pixels` holds whole images of the plan's input size,
    /// one after another. The losses are then zero.
    public static func compute(_ plan: InferencePlan, pixels: [UInt8], batchSize: Int? = nil) -> Predictions {
        precondition(pixels.count % max(plan.inputCount, 1) == 0, "\(pixels.count) pixels are not whole images of \(plan.inputCount)")
        return pixels.withUnsafeBufferPointer { pixels in
            compute(plan, pixels: pixels.baseAddress, count: pixels.count / max(plan.inputCount, 1), labels: nil, batchSize: batchSize)
        }
    }

    private static func compute(_ plan: InferencePlan, pixels: UnsafePointer<UInt8>?, count: Int, labels: UnsafePointer<UInt8>?,
                                batchSize: Int?) -> Predictions {
        let classes = plan.architecture.classes, digitClasses = plan.architecture.digitClasses
        let batchSize = max(1, min(batchSize ?? plan.architecture.inferenceBatchSize, max(count, 1)))
        var probabilities = [Float](repeating: 0, count: count * classes)
        var predicted = [Int](repeating: 0, count: count)
        var losses = [Double](repeating: 0, count: count)
        var allLogits = [Float](repeating: 0, count: count * classes)
        guard count > 0, let pixels else {
            return Predictions(classes: classes, digitClasses: digitClasses, probabilities: [], predicted: [], losses: [])
        }
        probabilities.withUnsafeMutableBufferPointer { output in
            for start in stride(from: 0, to: count, by: batchSize) {
                let rows = min(batchSize, count - start)
                let logits = plan.forward(pixels: pixels + start * plan.inputCount, count: rows)
                allLogits.withUnsafeMutableBufferPointer { $0.baseAddress!.advanced(by: start * classes).update(from: logits.data, count: rows * classes) }
                // Softmax, prediction and loss, with the same log-sum-exp as the fused loss.
                for row in 0..<rows {
                    let z = logits.data + row * classes
                    let p = output.baseAddress! + (start + row) * classes
                    let (maximum, best, logSum) = SoftmaxCrossEntropy.logSumExp(z, classes: classes)
                    for c in 0..<classes { p[c] = expf(z[c] - maximum - logSum) }
                    predicted[start + row] = best < digitClasses ? best
                        : (0..<digitClasses).max { z[$0] < z[$1] || (z[$0] == z[$1] && $0 > $1) } ?? 0
                    // A label the model has no class for (a reject label scored by a ten-class
                    // model) costs as much as a probability of zero.
                    if let labels {
                        let label = Int(labels[start + row])
                        losses[start + row] = label < classes ? Double(logSum - (z[label] - maximum)) : .infinity
                    }
                }
            }
        }
        return Predictions(classes: classes, digitClasses: digitClasses, probabilities: probabilities, predicted: predicted, losses: losses,
                           logits: allLogits)
    }
}

extension Predictions {
    /// The predictions of several runs over consecutive images, as one (they must have the
    /// same classes).
    static func concatenating(_ parts: [Predictions]) -> Predictions {
        precondition(!parts.isEmpty && parts.allSatisfy { $0.classes == parts[0].classes && $0.digitClasses == parts[0].digitClasses },
                     "predictions to join must have the same classes")
        return Predictions(classes: parts[0].classes, digitClasses: parts[0].digitClasses, probabilities: parts.flatMap(\.probabilities),
                           predicted: parts.flatMap(\.predicted), losses: parts.flatMap(\.losses), logits: parts.flatMap(\.logits))
    }
}

extension Predictions {
    /// Accuracy and mean loss against the dataset's labels, as `digits evaluate` reports them.
    /// `labels` are the labels of the images predicted, in order.
    public func score<Labels: Collection>(labels: Labels) -> EvaluationResult where Labels.Element == UInt8 {
        var correct = 0
        for (index, label) in labels.enumerated() where predicted[index] == Int(label) { correct += 1 }
        return EvaluationResult(loss: losses.reduce(0, +) / Double(max(count, 1)), correct: correct, count: count)
    }
}

extension Predictions {
    /// An ensemble's answer: the mean of several models' probabilities for the same images
    /// (every member with the same classes), the most probable digit of the mean, and the loss
    /// −log of the mean's probability of the label. One member is returned as it is, so a
    /// single model scores exactly as on its own. `labels` are the images' labels (nil: the
    /// losses are zero).
    public static func average<Labels: Collection>(_ members: [Predictions], labels: Labels?) -> Predictions
    where Labels.Element == UInt8 {
        precondition(!members.isEmpty, "an ensemble needs at least one member")
        guard members.count > 1 else { return members[0] }
        let first = members[0], classes = first.classes, digitClasses = first.digitClasses, count = first.count
        precondition(members.allSatisfy { $0.classes == classes && $0.digitClasses == digitClasses && $0.count == count },
                     "the members of an ensemble must have the same classes and images")
        var probabilities = [Float](repeating: 0, count: count * classes)
        for member in members {
            for index in probabilities.indices { probabilities[index] += member.probabilities[index] }
        }
        let scale = 1 / Float(members.count)
        for index in probabilities.indices { probabilities[index] *= scale }
        var predicted = [Int](repeating: 0, count: count)
        var losses = [Double](repeating: 0, count: count)
        var label = labels?.makeIterator()
        for row in 0..<count {
            let p = probabilities[row * classes..<(row + 1) * classes]
            // The first maximum among the digits, as compute(_:) picks it.
            var best = 0
            for digit in 1..<digitClasses where p[p.startIndex + digit] > p[p.startIndex + best] { best = digit }
            predicted[row] = best
            if let value = label?.next() {
                let truth = Int(value)
                losses[row] = truth < classes ? -log(Double(max(p[p.startIndex + truth], Float.leastNormalMagnitude))) : .infinity
            }
        }
        return Predictions(classes: classes, digitClasses: digitClasses, probabilities: probabilities, predicted: predicted, losses: losses)
    }
}
