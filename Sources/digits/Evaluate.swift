// `digits evaluate`: a model scored on a labelled dataset: accuracy and loss, the confusion
// matrix, per-class precision, recall and F1, the most frequent confusions; optionally a report
// directory with pictures, a CSV of every prediction, or JSON.
import ArgumentParser
@_spi(Tools) import DigitsKit
import DigitsPresentation
import Foundation

extension DigitsCommand {
    struct Evaluate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Score a model on a labelled dataset: accuracy, confusion matrix, per-class metrics, a report.",
            discussion: """
                Runs the model (in inference mode) over every image of an MNIST split, or of any \
                IDX image/label pair given with --images and --labels, and prints the accuracy, \
                the mean cross-entropy loss, the 10×10 confusion matrix (true classes as rows, \
                predictions as columns, with totals; the diagonal is green on a color terminal), \
                precision, recall, F1 and support per class with macro and weighted averages, \
                and the most frequent confusions.

                --report DIR writes report.md (everything above, with the pictures embedded), \
                report.json (every number), confusion.png (a heatmap with the counts), \
                errors.png (misclassified digits captioned true→predicted and confidence, most \
                confidently wrong first) and training.png (loss and accuracy per epoch, from the \
                checkpoint's history).

                Examples:
                  digits evaluate
                  digits evaluate --model checkpoints/mlp.safetensors --report out/mlp-report
                  digits evaluate --images my-images.idx --labels my-labels.idx --json
                  digits evaluate --predictions out/predictions.csv
                  digits evaluate --model a.safetensors --model b.safetensors --model c.safetensors
                """
        )

        @Option(name: .customLong("model"), help: ArgumentHelp("The checkpoint to evaluate (default: checkpoints/cnn.safetensors). Given more than once, the models are scored as an ensemble: the mean of their probabilities.", valueName: "file"),
                completion: .file(extensions: ["safetensors"]))
        var models: [String] = []

        @OptionGroup var source: DatasetOptions

        @Option(help: "Write report.md, report.json, confusion.png, errors.png and training.png into this directory.", completion: .directory)
        var report: String?

        @Option(help: "Write a CSV with index,label,predicted,confidence for every image, in dataset order.", completion: .file(extensions: ["csv"]))
        var predictions: String?

        @Option(help: ArgumentHelp("Write a CSV with index and the model's raw outputs (logit0, logit1, ...) for every image, in dataset order: what an exported model's logits are compared with (one model only).", valueName: "file.csv"),
                completion: .file(extensions: ["csv"]))
        var logits: String?

        @Option(help: "Most misclassified digits drawn in errors.png.")
        var errors: Int = 100

        @Option(help: "Threads for inference (default: one per core).")
        var threads: Int?

        @Flag(help: "Print the result as JSON on stdout (accuracy, loss, per_class, confusion, ...), and nothing else there.")
        var json = false

        func validate() throws {
            if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
            guard errors >= 0 else { throw ValidationError("--errors must be 0 or more, got \(errors)") }
            if logits != nil && models.count > 1 { throw ValidationError("--logits takes one --model: an ensemble averages probabilities, not logits") }
        }

        func run() throws {
            let loaded = try ModelFile.loadAll(models, threads: threads ?? ProcessInfo.processInfo.activeProcessorCount)
            let (dataset, path, split) = try source.load(defaultSplit: .test)
            let name = split == nil ? (path as NSString).lastPathComponent : path
            let evaluation = try Evaluation(models: loaded.map(\.model), modelPaths: loaded.map(\.path),
                                            metadata: loaded.map(\.metadata), dataset: dataset, datasetName: name)
            let metadata = evaluation.metadata

            var written: [String] = []
            if let predictions {
                let parent = (predictions as NSString).deletingLastPathComponent
                if !parent.isEmpty { try? FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true) }
                try Files.writeAtomically(Array(evaluation.predictionsCSV.utf8), to: predictions)
                written.append(predictions)
            }
            if let logits {
                let parent = (logits as NSString).deletingLastPathComponent
                if !parent.isEmpty { try? FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true) }
                try Files.writeAtomically(Array(evaluation.logitsCSV.utf8), to: logits)
                written.append(logits)
            }
            if let report { written += try evaluation.writeReport(to: report, maxErrorsShown: errors) }

            if json {
                var object = evaluation.jsonObject
                if !written.isEmpty { object["written"] = written }
                print(try Evaluation.json(object))
                return
            }
            let color = isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
            evaluation.terminalLines(color: color).forEach { print($0) }
            if let recorded = metadata["test_accuracy"].flatMap(Double.init), split == .test {
                // Training scores the test set through the same inference plan: equal, not close.
                print(String(format: "the checkpoint records %.2f%% test accuracy%@", recorded * 100,
                             recorded == evaluation.report.accuracy ? " (matches exactly)" : "; this run differs"))
            }
            if evaluation.architecture.rejectClass == true {
                // What classify would refuse: the accuracy above scores the best digit regardless.
                let thresholds = loaded.map { $0.metadata["reject_threshold"].flatMap(Float.init) ?? 0.5 }
                let threshold = thresholds.reduce(0, +) / Float(thresholds.count)  // as DigitReader takes it
                let refused = (0..<evaluation.predictions.count).filter { (evaluation.predictions.notDigitProbability(at: $0) ?? 0) >= threshold }.count
                print(String(format: "not a digit: classify would refuse %@ of %@ (%.2f%%) at its threshold %.2f",
                             formatCount(refused), formatCount(evaluation.predictions.count),
                             100 * Double(refused) / Double(max(evaluation.predictions.count, 1)), Double(threshold)))
            }
            for path in written { print("wrote \(path)") }
        }
    }
}
