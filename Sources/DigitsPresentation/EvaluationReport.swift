// A model evaluated on a labelled dataset, and the ways `digits evaluate` shows it: aligned
// terminal tables, JSON, a Markdown report with pictures, and a CSV of every prediction.
@_spi(Tools) import DigitsKit
import Foundation

package struct Evaluation {
    package let modelPath: String
    /// The model's architecture (an ensemble's first member's, named for the whole).
    package private(set) var architecture: Architecture
    package let parameterCount: Int
    /// The checkpoint's metadata (recorded accuracy, training options, history).
    package let metadata: [String: String]
    package let dataset: DigitDataset
    /// What the data is called in titles: "MNIST test" or the image file's path.
    package let datasetName: String
    package let predictions: Predictions
    package let report: ClassificationReport
    /// Each member's own accuracy, in `--model` order, for an ensemble (empty for one model):
    /// what the average gained is read beside them.
    package let memberAccuracies: [Double]
    package let seconds: Double

    /// Loads nothing: runs `model` over `dataset` and scores the predictions.
    package init(model: Sequential, modelPath: String, metadata: [String: String], dataset: DigitDataset,
                datasetName: String) throws {
        try self.init(models: [model], modelPaths: [modelPath], metadata: [metadata], dataset: dataset, datasetName: datasetName)
    }

    /// Runs every model over `dataset` and scores the mean of their probabilities (an
    /// ensemble; one model scores as on its own). An ensemble's report has no recorded
    /// accuracy or history: those belong to each member's checkpoint.
    package init(models: [Sequential], modelPaths: [String], metadata: [[String: String]], dataset: DigitDataset,
                datasetName: String) throws {
        precondition(!models.isEmpty && models.count == modelPaths.count && models.count == metadata.count)
        for (model, path) in zip(models, modelPaths) { try model.checkInput(dataset, modelPath: path) }
        let first = models[0].architecture
        for (model, path) in zip(models, modelPaths).dropFirst()
        where !model.architecture.hasSameClasses(as: first) {
            throw CheckpointError.mismatch(path: path, reason: "an ensemble's models must have the same classes as \(modelPaths[0]) (\(model.architecture.classes), against \(first.classes))")
        }
        let start = DispatchTime.now()
        let members = models.map { Predictions.compute($0, on: dataset) }
        predictions = Predictions.average(members, labels: dataset.labels)
        seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        memberAccuracies = members.count < 2 ? [] : members.map { $0.score(labels: dataset.labels).accuracy }
        report = ClassificationReport(labels: dataset.labels.map(Int.init), predicted: predictions.predicted,
                                      losses: predictions.losses, classes: first.digitClasses)
        self.modelPath = modelPaths.joined(separator: " + ")
        architecture = first
        if models.count > 1 { architecture.model = "ensemble of \(models.count): " + models.map(\.architecture.model).joined(separator: ", ") }
        parameterCount = models.reduce(0) { $0 + $1.parameterCount }
        self.metadata = models.count == 1 ? metadata[0] : [:]
        self.dataset = dataset
        self.datasetName = datasetName
    }

    /// The per-epoch history recorded in the checkpoint, if it has one.
    package var history: [EpochRecord] {
        guard let json = metadata["history"] else { return [] }
        return (try? JSONDecoder().decode([EpochRecord].self, from: Data(json.utf8))) ?? []
    }

    /// The misclassified images, most confidently wrong first (ties: dataset order).
    package var errors: [Int] {
        (0..<predictions.count).filter { predictions.predicted[$0] != Int(dataset.labels[$0]) }
            .sorted { (predictions.confidence(at: $0), -$0) > (predictions.confidence(at: $1), -$1) }
    }

    // MARK: Terminal

    /// The terminal report. `color` highlights the diagonal and the errors with ANSI codes.
    package func terminalLines(color: Bool, topConfusions: Int = 10) -> [String] {
        let green = color ? "\u{1B}[1;32m" : "", red = color ? "\u{1B}[31m" : "", dim = color ? "\u{1B}[2m" : ""
        let bold = color ? "\u{1B}[1m" : "", reset = color ? "\u{1B}[0m" : ""
        var lines: [String] = []
        lines.append("model: \(modelPath) (\(architecture.model), \(formatCount(parameterCount)) parameters)")
        lines.append("data: \(datasetName), \(formatCount(report.count)) images (\(dataset.imagesPath))")
        lines.append(String(format: "\(bold)accuracy %.2f%%\(reset) (%@ of %@), loss %.4f, %.2f s",
                            report.accuracy * 100, formatCount(report.correct), formatCount(report.count), report.loss, seconds))
        if let summary = membersSummary { lines.append("members alone: " + summary) }
        lines.append("")
        lines.append("confusion matrix (rows: true class, columns: predicted)")
        let width = max(5, String(report.count).count + 1)
        func cell(_ text: String) -> String { text.leftPadded(to: width, with: " ") }
        lines.append("true\\pred" + (0..<report.classes).map { cell(String($0)) }.joined() + cell("total"))
        for row in 0..<report.classes {
            var line = "    \(row)    "
            for column in 0..<report.classes {
                let count = report.confusion[row][column]
                let text = cell(String(count))
                if row == column { line += green + text + reset }
                else if count > 0 { line += red + text + reset }
                else { line += dim + text + reset }
            }
            lines.append(line + cell(String(report.perClass[row].support)))
        }
        lines.append("  total  " + report.predictedTotals.map { cell(String($0)) }.joined() + cell(String(report.count)))
        lines.append("")
        lines.append("class      precision   recall       f1  support")
        func metricsLine(_ name: String, _ m: ClassMetrics) -> String {
            name.rightPadded(to: 10) + String(format: "%9.4f %8.4f %8.4f", m.precision, m.recall, m.f1)
                + String(m.support).leftPadded(to: 9, with: " ")
        }
        for (c, metrics) in report.perClass.enumerated() { lines.append(metricsLine("  \(c)", metrics)) }
        lines.append(metricsLine("macro", report.macro))
        lines.append(metricsLine("weighted", report.weighted))
        lines.append("")
        if report.confusions.isEmpty {
            lines.append("no confusions: every image is classified correctly")
        } else {
            lines.append("most frequent confusions (true → predicted: count):")
            let shown = report.confusions.prefix(topConfusions)
            lines.append("  " + shown.map { "\($0.label) → \($0.predicted): \($0.count)" }.joined(separator: ", "))
        }
        return lines
    }

    // MARK: JSON

    /// "99.63%, 99.64% (mean 99.64%)": an ensemble's members, each scored alone; nil for one
    /// model. The terminal shows it as "members alone: …", report.md as a row of its table.
    package var membersSummary: String? {
        guard !memberAccuracies.isEmpty else { return nil }
        let mean = memberAccuracies.reduce(0, +) / Double(memberAccuracies.count)
        return memberAccuracies.map { String(format: "%.2f%%", $0 * 100) }.joined(separator: ", ")
            + String(format: " (mean %.2f%%)", mean * 100)
    }

    package var jsonObject: [String: Any] {
        var object = report.jsonObject
        if !memberAccuracies.isEmpty { object["member_accuracies"] = memberAccuracies }
        object["model"] = modelPath
        object["architecture"] = architecture.model
        object["parameters"] = parameterCount
        object["dataset"] = ["name": datasetName, "images": dataset.imagesPath, "labels": dataset.labelsPath]
        object["seconds"] = seconds
        if let recorded = metadata["test_accuracy"].flatMap(Double.init) { object["recorded_test_accuracy"] = recorded }
        return object
    }

    package static func json(_ object: Any) throws -> String {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    // MARK: CSV

    /// `index,label,predicted,confidence`, one row per image in dataset order.
    package var predictionsCSV: String {
        var text = "index,label,predicted,confidence\n"
        text.reserveCapacity(predictions.count * 24)
        for index in 0..<predictions.count {
            text += "\(index),\(dataset.labels[index]),\(predictions.predicted[index]),\(String(format: "%.6f", predictions.confidence(at: index)))\n"
        }
        return text
    }

    /// index,logit0,...: every image's raw outputs, with enough digits (%.9g) to give the
    /// float back exactly. Empty rows for an ensemble, which has no logits of its own.
    package var logitsCSV: String {
        let classes = predictions.classes
        var text = "index," + (0..<classes).map { "logit\($0)" }.joined(separator: ",") + "\n"
        guard predictions.logits.count == predictions.count * classes else { return text }
        text.reserveCapacity(predictions.count * classes * 14)
        for index in 0..<predictions.count {
            text += "\(index)"
            for value in predictions.logits[index * classes..<(index + 1) * classes] { text += String(format: ",%.9g", Double(value)) }
            text += "\n"
        }
        return text
    }

    // MARK: Report directory

    /// The files of a report, in the order they are written.
    package static let reportFiles = ["confusion.png", "errors.png", "training.png", "report.json", "report.md"]

    /// Writes report.md, report.json, confusion.png, errors.png and (when the checkpoint has a
    /// history) training.png into `directory`, creating it. Each file is written atomically.
    /// Returns the paths written.
    @discardableResult
    package func writeReport(to directory: String, maxErrorsShown: Int = 100) throws -> [String] {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw FileError.unwritable(path: directory, reason: "cannot create the report directory (\((error as NSError).localizedDescription))")
        }
        func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }
        var written: [String] = []

        try ConfusionPicture.render(report, title: "CONFUSION: \(architecture.model) ON \(datasetName)".uppercased()).write(to: path("confusion.png"))
        written.append(path("confusion.png"))

        let wrong = Array(errors.prefix(maxErrorsShown))
        if !wrong.isEmpty {
            let cells = wrong.map { index in
                GridCell(image: dataset.image(at: index),
                         caption: "\(dataset.labels[index])→\(predictions.predicted[index])",
                         captionColor: RGB(255, 120, 100),
                         note: String(format: "%.0f%%", predictions.confidence(at: index) * 100))
            }
            let title = "ERRORS: \(wrong.count) OF \(report.count - report.correct), MOST CONFIDENT FIRST"
            try DigitGrid.render(cells, columns: min(12, cells.count), title: title, path: path("errors.png")).write(to: path("errors.png"))
            written.append(path("errors.png"))
        }

        let history = self.history
        if !history.isEmpty {
            try TrainingCurves.render(history, title: "TRAINING: \(architecture.model), \(history.count) EPOCHS".uppercased())
                .write(to: path("training.png"))
            written.append(path("training.png"))
        }

        var object = jsonObject
        object["errors_shown"] = wrong.map { ["index": $0, "label": Int(dataset.labels[$0]), "predicted": predictions.predicted[$0],
                                               "confidence": Double(predictions.confidence(at: $0))] }
        try Files.writeAtomically(Array((try Self.json(object) + "\n").utf8), to: path("report.json"))
        written.append(path("report.json"))

        try Files.writeAtomically(Array(markdown(errorsShown: wrong.count, hasHistory: !history.isEmpty).utf8), to: path("report.md"))
        written.append(path("report.md"))
        return written
    }

    /// The Markdown report: every number of the terminal report, with the pictures embedded.
    package func markdown(errorsShown: Int, hasHistory: Bool) -> String {
        var md = "# Evaluation of `\((modelPath as NSString).lastPathComponent)` on \(datasetName)\n\n"
        md += "| | |\n| --- | --- |\n"
        md += "| model | `\(modelPath)`: \(architecture.model), \(formatCount(parameterCount)) parameters |\n"
        md += "| data | \(datasetName): `\(dataset.imagesPath)`, `\(dataset.labelsPath)` |\n"
        md += String(format: "| accuracy | **%.2f%%** (%@ of %@) |\n", report.accuracy * 100, formatCount(report.correct), formatCount(report.count))
        if let summary = membersSummary { md += "| members alone | \(summary) |\n" }
        md += String(format: "| loss | %.4f (mean cross-entropy) |\n", report.loss)
        if let recorded = metadata["test_accuracy"].flatMap(Double.init) {
            md += String(format: "| recorded at training | %.2f%% test accuracy |\n", recorded * 100)
        }
        if let training = metadata["training"] { md += "| training options | `\(training)` |\n" }
        md += "\n## Confusion matrix\n\nRows are the true classes, columns the predictions; the diagonal (bold) is correct.\n\n"
        md += "| true \\ predicted | " + (0..<report.classes).map(String.init).joined(separator: " | ") + " | total |\n"
        md += "| ---: |" + String(repeating: " ---: |", count: report.classes + 1) + "\n"
        for row in 0..<report.classes {
            let cells = (0..<report.classes).map { column in
                row == column ? "**\(report.confusion[row][column])**" : String(report.confusion[row][column])
            }
            md += "| **\(row)** | " + cells.joined(separator: " | ") + " | \(report.perClass[row].support) |\n"
        }
        md += "| total | " + report.predictedTotals.map(String.init).joined(separator: " | ") + " | \(report.count) |\n\n"
        md += "![confusion matrix](confusion.png)\n\n"
        md += "## Per class\n\n| class | precision | recall | F1 | support |\n| ---: | ---: | ---: | ---: | ---: |\n"
        func row(_ name: String, _ m: ClassMetrics) -> String {
            String(format: "| %@ | %.4f | %.4f | %.4f | %d |\n", name, m.precision, m.recall, m.f1, m.support)
        }
        for (c, metrics) in report.perClass.enumerated() { md += row(String(c), metrics) }
        md += row("macro average", report.macro)
        md += row("weighted average", report.weighted)
        md += "\n## Most frequent confusions\n\n"
        if report.confusions.isEmpty {
            md += "None: every image is classified correctly.\n"
        } else {
            md += "| true → predicted | count |\n| --- | ---: |\n"
            for confusion in report.confusions.prefix(15) { md += "| \(confusion.label) → \(confusion.predicted) | \(confusion.count) |\n" }
        }
        if errorsShown > 0 {
            md += "\n## Errors\n\nThe \(errorsShown) most confidently wrong of \(report.count - report.correct) errors, "
            md += "each captioned true → predicted with the model's confidence.\n\n![misclassified digits](errors.png)\n"
        }
        if hasHistory {
            md += "\n## Training\n\nLoss and accuracy per epoch on the training and validation sets, from the checkpoint's history.\n\n"
            md += "![training curves](training.png)\n"
        }
        return md
    }
}
