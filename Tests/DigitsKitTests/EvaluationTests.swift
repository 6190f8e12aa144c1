// Evaluation: the report's numbers against a hand-counted example, the predictions against the
// fused loss the trainer uses, and a report directory written and read back.
import Foundation
import Testing
@_spi(Tools) @testable import DigitsKit
@testable import DigitsPresentation

@Suite struct EvaluationTests {
    /// labels    0 0 1 1 1 2
    /// predicted 0 1 1 1 2 2
    /// class 0: precision 1/1, recall 1/2; class 1: 2/3, 2/3; class 2: 1/2, 1/1.
    @Test func handCountedReport() {
        let report = ClassificationReport(labels: [0, 0, 1, 1, 1, 2], predicted: [0, 1, 1, 1, 2, 2],
                                          losses: [0.1, 2, 0.2, 0.3, 1.5, 0.4], classes: 3)
        #expect(report.confusion == [[1, 1, 0], [0, 2, 1], [0, 0, 1]])
        #expect(report.correct == 4 && report.count == 6)
        #expect(abs(report.accuracy - 4.0 / 6) < 1e-12)
        #expect(abs(report.loss - 4.5 / 6) < 1e-12)
        #expect(report.predictedTotals == [1, 3, 2])
        let expected: [(Double, Double, Int)] = [(1, 0.5, 2), (2.0 / 3, 2.0 / 3, 3), (0.5, 1, 1)]
        for (metrics, (precision, recall, support)) in zip(report.perClass, expected) {
            #expect(abs(metrics.precision - precision) < 1e-12)
            #expect(abs(metrics.recall - recall) < 1e-12)
            #expect(abs(metrics.f1 - 2 * precision * recall / (precision + recall)) < 1e-12)
            #expect(metrics.support == support)
        }
        let f1s = expected.map { 2 * $0.0 * $0.1 / ($0.0 + $0.1) }
        #expect(abs(report.macro.precision - (1 + 2.0 / 3 + 0.5) / 3) < 1e-12)
        #expect(abs(report.macro.f1 - f1s.reduce(0, +) / 3) < 1e-12)
        #expect(abs(report.weighted.recall - (2 * 0.5 + 3 * 2.0 / 3 + 1 * 1) / 6) < 1e-12)  // = accuracy
        #expect(abs(report.weighted.f1 - (2 * f1s[0] + 3 * f1s[1] + f1s[2]) / 6) < 1e-12)
        #expect(report.confusions == [Confusion(label: 0, predicted: 1, count: 1), Confusion(label: 1, predicted: 2, count: 1)])
    }

    @Test func confusionsLargestFirstAndNeverPredictedClass() {
        // Class 2 is never predicted: precision 0 by convention, F1 0.
        let report = ClassificationReport(labels: [2, 2, 2, 1, 0], predicted: [1, 1, 0, 1, 0], losses: [Double](repeating: 0, count: 5), classes: 3)
        #expect(report.confusions == [Confusion(label: 2, predicted: 1, count: 2), Confusion(label: 2, predicted: 0, count: 1)])
        #expect(report.perClass[2] == ClassMetrics(precision: 0, recall: 0, f1: 0, support: 3))
        #expect(report.confusion.flatMap { $0 }.reduce(0, +) == 5)
    }

    static func tinyModel(classes: Int = 3) throws -> Sequential {
        try Sequential(Architecture.mlp(hidden: [8], activation: .relu, dropout: 0, input: [1, 4, 4], classes: classes),
                       random: RandomGenerator(seed: 7), dropoutRandom: RandomGenerator(seed: 8))
    }

    static func tinyDataset(count: Int, path: String = "images.idx") throws -> DigitDataset {
        let random = RandomGenerator(seed: 3)
        let pixels = (0..<count * 16).map { _ in UInt8(random.nextInt(below: 256)) }
        let labels = (0..<count).map { UInt8($0 % 3) }
        return try DigitDataset(images: IDXArray(shape: [count, 4, 4], values: .ubyte(pixels)), imagesPath: path,
                                labels: IDXArray(shape: [count], values: .ubyte(labels)), labelsPath: "labels.idx")
    }

    /// Probabilities are a distribution per image, the argmax is the prediction, and the mean
    /// loss and the correct count equal the fused softmax cross-entropy's over the same batches.
    @Test func predictionsAgreeWithTheFusedLoss() throws {
        let model = try Self.tinyModel()
        let dataset = try Self.tinyDataset(count: 2500)
        let predictions = Predictions.compute(model, on: dataset)
        #expect(predictions.count == 2500)
        for index in [0, 1, 999, 1000, 2499] {
            let row = Array(predictions.probabilities(at: index))
            #expect(abs(row.reduce(0, +) - 1) < 1e-5)
            #expect(row.firstIndex(of: row.max()!) == predictions.predicted[index])
            #expect(abs(Double(-log(row[Int(dataset.labels[index])])) - predictions.losses[index]) < 1e-4)
            #expect(predictions.top(2, at: index).first?.digit == predictions.predicted[index])
        }
        // The reference: the layers themselves (Sequential, not the plan) and the fused loss.
        let assembler = BatchAssembler(dataset: dataset, normalization: model.architecture.normalization, batchSize: 128)
        var reference = EvaluationResult(loss: 0, correct: 0, count: 2500)
        for start in stride(from: 0, to: 2500, by: 128) {
            let batch = Array(start..<min(start + 128, 2500))
            assembler.assemble(batch[...])
            let result = SoftmaxCrossEntropy.evaluate(logits: model.forward(assembler.inputs, training: false), labels: assembler.labels)
            reference.loss += result.loss * Double(batch.count) / 2500
            reference.correct += result.correct
        }
        let report = ClassificationReport(labels: dataset.labels.map(Int.init), predicted: predictions.predicted,
                                          losses: predictions.losses, classes: 3)
        #expect(report.correct == reference.correct)
        #expect(abs(report.loss - reference.loss) < 1e-6)
    }

    /// An ensemble's probabilities are the mean of its members', its prediction the mean's
    /// most probable class (which may be neither member's), its loss −log of the mean's
    /// probability of the label; a lone member is itself, bit for bit.
    @Test func ensemblesAverageProbabilities() throws {
        let a = Predictions(classes: 3, digitClasses: 3, probabilities: [0.5, 0.4, 0.1, 0.2, 0.2, 0.6], predicted: [0, 2], losses: [0, 0])
        let b = Predictions(classes: 3, digitClasses: 3, probabilities: [0.1, 0.5, 0.4, 0.1, 0.8, 0.1], predicted: [1, 1], losses: [0, 0])
        let mean = Predictions.average([a, b], labels: [UInt8(1), 2])
        #expect(zip(mean.probabilities, [0.3, 0.45, 0.25, 0.15, 0.5, 0.35] as [Float]).allSatisfy { abs($0 - $1) < 1e-6 })
        #expect(mean.predicted == [1, 1])
        #expect(abs(mean.losses[0] + log(0.45)) < 1e-6 && abs(mean.losses[1] + log(0.35)) < 1e-6)
        let alone = Predictions.average([a], labels: [UInt8]?.none)
        #expect(alone.probabilities == a.probabilities && alone.predicted == a.predicted)

        // A model's ensemble with itself scores exactly as the model; with a second model the
        // report names both and counts both models' parameters.
        let model = try Self.tinyModel(), other = try Sequential(Self.tinyModel().architecture, random: RandomGenerator(seed: 99),
                                                                  dropoutRandom: RandomGenerator(seed: 8))
        let dataset = try Self.tinyDataset(count: 200)
        let single = try Evaluation(model: model, modelPath: "m", metadata: [:], dataset: dataset, datasetName: "t")
        let twice = try Evaluation(models: [model, model], modelPaths: ["m", "m"], metadata: [[:], [:]], dataset: dataset, datasetName: "t")
        #expect(twice.predictions.predicted == single.predictions.predicted)
        #expect(zip(twice.predictions.probabilities, single.predictions.probabilities).allSatisfy { abs($0 - $1) < 1e-6 })
        let pair = try Evaluation(models: [model, other], modelPaths: ["m", "o"], metadata: [[:], [:]], dataset: dataset, datasetName: "t")
        #expect(pair.modelPath == "m + o" && pair.parameterCount == 2 * model.parameterCount)
        #expect(pair.architecture.model.hasPrefix("ensemble of 2"))
        // Beside an ensemble's accuracy stands each member's own, as it scores alone; one
        // model has no members to show. Labelled with the first model's own predictions, the
        // data gives it 100% and the other model less.
        let own = try DigitDataset(images: IDXArray(shape: [200, 4, 4], values: .ubyte(dataset.pixels)), imagesPath: "images.idx",
                                   labels: IDXArray(shape: [200], values: .ubyte(single.predictions.predicted.map(UInt8.init))), labelsPath: "own.idx")
        let first = try Evaluation(model: model, modelPath: "m", metadata: [:], dataset: own, datasetName: "own")
        let second = try Evaluation(model: other, modelPath: "o", metadata: [:], dataset: own, datasetName: "own")
        let both = try Evaluation(models: [model, other], modelPaths: ["m", "o"], metadata: [[:], [:]], dataset: own, datasetName: "own")
        #expect(first.report.accuracy == 1 && second.report.accuracy < 1)
        #expect(both.memberAccuracies == [1, second.report.accuracy])
        #expect(both.membersSummary == String(format: "100.00%%, %.2f%% (mean %.2f%%)", second.report.accuracy * 100,
                                              (1 + second.report.accuracy) * 50))
        #expect(both.jsonObject["member_accuracies"] as? [Double] == both.memberAccuracies)
        #expect(first.memberAccuracies.isEmpty && first.membersSummary == nil && first.jsonObject["member_accuracies"] == nil)
        let otherAlone = Predictions.compute(other, on: dataset)
        #expect(pair.predictions.probabilities.indices.allSatisfy {
            abs(pair.predictions.probabilities[$0] - (single.predictions.probabilities[$0] + otherAlone.probabilities[$0]) / 2) < 1e-6
        })
        // Models with different classes cannot be averaged.
        #expect(throws: CheckpointError.self) {
            try Evaluation(models: [model, try Self.tinyModel(classes: 4)], modelPaths: ["m", "four"], metadata: [[:], [:]],
                           dataset: dataset, datasetName: "t")
        }
    }

    @Test func wrongImageSizeIsRefused() throws {
        let model = try Self.tinyModel()
        let dataset = try DigitDataset(images: IDXArray(shape: [2, 5, 5], values: .ubyte([UInt8](repeating: 0, count: 50))),
                                       imagesPath: "big.idx", labels: IDXArray(shape: [2], values: .ubyte([0, 1])), labelsPath: "l")
        #expect(throws: InputError.wrongImageSize(path: "big.idx", rows: 5, columns: 5, model: "m (mlp)", expected: [1, 4, 4])) {
            try Evaluation(model: model, modelPath: "m", metadata: [:], dataset: dataset, datasetName: "test")
        }
    }

    @Test func reportDirectoryAndCSV() throws {
        let model = try Self.tinyModel()
        let dataset = try Self.tinyDataset(count: 300)
        let history = #"[{"epoch":1,"learning_rate":0.001,"train_loss":1.0,"train_accuracy":0.5,"val_loss":0.9,"val_accuracy":0.6},{"epoch":2,"learning_rate":0.001,"train_loss":0.5,"train_accuracy":0.8,"val_loss":0.6,"val_accuracy":0.7}]"#
        let evaluation = try Evaluation(model: model, modelPath: "tiny.safetensors", metadata: ["history": history, "test_accuracy": "0.5"],
                                        dataset: dataset, datasetName: "tiny")
        #expect(evaluation.history.count == 2)
        let directory = TestFiles.scratchDirectory() + "/nested/report"
        let written = try evaluation.writeReport(to: directory, maxErrorsShown: 10)
        #expect(written.map { ($0 as NSString).lastPathComponent } == Evaluation.reportFiles)
        for name in ["confusion.png", "errors.png", "training.png"] {
            let picture = try PNG.readGray(contentsOf: "\(directory)/\(name)")
            #expect(picture.width > 100 && picture.height > 40)
        }
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(directory)/report.json"))) as! [String: Any]
        let confusion = json["confusion"] as! [[Int]]
        #expect(confusion.count == 3 && confusion.allSatisfy { $0.count == 3 })
        #expect(confusion.flatMap { $0 }.reduce(0, +) == 300)
        #expect((json["per_class"] as! [[String: Any]]).count == 3)
        #expect(abs((json["accuracy"] as! Double) - evaluation.report.accuracy) < 1e-12)
        #expect((json["errors_shown"] as! [Any]).count == min(10, 300 - evaluation.report.correct))
        let markdown = try String(contentsOfFile: "\(directory)/report.md", encoding: .utf8)
        #expect(markdown.contains(String(format: "**%.2f%%**", evaluation.report.accuracy * 100)))
        #expect(markdown.contains("![confusion matrix](confusion.png)") && markdown.contains("![training curves](training.png)"))

        let lines = evaluation.predictionsCSV.split(separator: "\n")
        #expect(lines.count == 301 && lines[0] == "index,label,predicted,confidence")
        let fields = lines[6].split(separator: ",")
        #expect(fields[0] == "5" && Int(fields[1]) == Int(dataset.labels[5]) && Int(fields[2]) == evaluation.predictions.predicted[5])
        // Most confidently wrong first.
        let errors = evaluation.errors
        #expect(zip(errors, errors.dropFirst()).allSatisfy { evaluation.predictions.confidence(at: $0) >= evaluation.predictions.confidence(at: $1) })
        #expect(errors.allSatisfy { evaluation.predictions.predicted[$0] != Int(dataset.labels[$0]) })
    }

    @Test func terminalReportIsAligned() throws {
        let report = ClassificationReport(labels: [0, 1, 2, 2], predicted: [0, 1, 2, 1], losses: [0, 0, 0, 0], classes: 3)
        #expect(report.confusions.first == Confusion(label: 2, predicted: 1, count: 1))
        let evaluation = try Evaluation(model: Self.tinyModel(), modelPath: "m", metadata: [:], dataset: Self.tinyDataset(count: 30), datasetName: "t")
        let lines = evaluation.terminalLines(color: false)
        let matrix = lines.drop { !$0.hasPrefix("true\\pred") }.prefix(5)
        #expect(Set(matrix.map(\.count)).count == 1, "matrix rows have different widths: \(Array(matrix))")
        let colored = evaluation.terminalLines(color: true).joined(separator: "\n")
        #expect(colored.contains("\u{1B}[1;32m"))
    }
}
