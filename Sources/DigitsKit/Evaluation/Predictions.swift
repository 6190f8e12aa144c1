// Class probabilities for every image of a dataset, in inference mode: the model runs on
// batches gathered into buffers allocated once, then a numerically stable softmax per row
// (the same log-sum-exp as the fused loss).
// `digits evaluate` and `digits classify` both go through here, so an image gets the same
// probabilities whichever command asks.
import Foundation

/// The model's answer for each image of a dataset, in dataset order.
public struct Predictions: Sendable {
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

    /// Runs `model` over every image of `dataset` (batches of the model's inference size),
    /// through its InferencePlan when it has one (`plan`, when given, is that plan, compiled
    /// before; it must be the model's).
    public static func compute(_ model: Sequential, on dataset: DigitDataset, batchSize: Int? = nil,
                               plan given: InferencePlan? = nil) -> Predictions {
        let classes = model.architecture.classes, digitClasses = model.architecture.digitClasses
        let count = dataset.count
        let batchSize = max(1, min(batchSize ?? model.architecture.inferenceBatchSize, max(count, 1)))
        var probabilities = [Float](repeating: 0, count: count * classes)
        var predicted = [Int](repeating: 0, count: count)
        var losses = [Double](repeating: 0, count: count)
        /// Softmax, prediction and loss for the logits of images start..<start + rows.
        func record(_ logits: Tensor, start: Int, rows: Int, _ output: UnsafeMutablePointer<Float>) {
            for row in 0..<rows {
                let z = logits.data + row * classes
                let p = output + (start + row) * classes
                let (maximum, best, logSum) = SoftmaxCrossEntropy.logSumExp(z, classes: classes)
                for c in 0..<classes { p[c] = expf(z[c] - maximum - logSum) }
                predicted[start + row] = best < digitClasses ? best : (0..<digitClasses).max { z[$0] < z[$1] || (z[$0] == z[$1] && $0 > $1) } ?? 0
                let label = Int(dataset.labels[start + row])
                losses[start + row] = Double(logSum - (z[label] - maximum))
            }
        }
        probabilities.withUnsafeMutableBufferPointer { output in
            if let plan = given ?? InferencePlan(model), dataset.pixelsPerImage == plan.inputCount {
                dataset.pixels.withUnsafeBufferPointer { pixels in
                    for start in stride(from: 0, to: count, by: batchSize) {
                        let rows = min(batchSize, count - start)
                        let logits = plan.forward(pixels: pixels.baseAddress! + start * plan.inputCount, count: rows)
                        record(logits, start: start, rows: rows, output.baseAddress!)
                    }
                }
                return
            }
            let assembler = BatchAssembler(dataset: dataset, normalization: model.architecture.normalization, batchSize: batchSize)
            let indices = Array(0..<count)
            for start in stride(from: 0, to: count, by: batchSize) {
                let batch = indices[start..<min(start + batchSize, count)]
                assembler.assemble(batch)
                record(model.forward(assembler.inputs, training: false), start: start, rows: batch.count, output.baseAddress!)
            }
        }
        return Predictions(classes: classes, digitClasses: digitClasses, probabilities: probabilities, predicted: predicted, losses: losses)
    }
}

extension Predictions {
    /// Accuracy and mean loss against the dataset's labels, as `digits evaluate` reports them.
    public func score(labels: [UInt8]) -> EvaluationResult {
        var correct = 0
        for (index, label) in labels.enumerated() where predicted[index] == Int(label) { correct += 1 }
        return EvaluationResult(loss: losses.reduce(0, +) / Double(max(count, 1)), correct: correct, count: count)
    }
}

public enum InputError: DigitsError, Equatable {
    case wrongImageSize(path: String, rows: Int, columns: Int, model: String, expected: [Int])

    public var message: String {
        switch self {
        case .wrongImageSize(let path, let rows, let columns, let model, let expected):
            return "\(path): images are \(rows)×\(columns), but the model \(model) takes \(expected.map(String.init).joined(separator: "×"))"
        }
    }

    public var hint: String? { "use images the size the model was trained on, or a model trained on these images" }
}

extension Sequential {
    /// Checks that `dataset`'s images are what this model reads: one channel of H×W.
    /// `modelPath` names the model's file in the error.
    public func checkInput(_ dataset: DigitDataset, modelPath: String? = nil) throws {
        let input = architecture.input
        let expectedPixels = input.reduce(1, *)
        let matches = input.count == 3 ? (input[0] == 1 && input[1] == dataset.rows && input[2] == dataset.columns)
            : expectedPixels == dataset.pixelsPerImage
        guard matches else {
            throw InputError.wrongImageSize(path: dataset.imagesPath, rows: dataset.rows, columns: dataset.columns,
                                            model: modelPath.map { "\($0) (\(architecture.model))" } ?? "(\(architecture.model))",
                                            expected: input)
        }
    }
}
