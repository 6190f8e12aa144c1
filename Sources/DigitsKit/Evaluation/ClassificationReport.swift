// What a reviewer asks of a classifier: accuracy and loss, the confusion matrix (true classes
// as rows, predictions as columns), precision, recall and F1 per class with their macro and
// support-weighted averages, and the most frequent confusions. Built from labels and
// predictions alone, so it can be checked against hand-counted examples.

/// Precision, recall and F1 of one class (or their macro or weighted average), each 0–1,
/// with the number of images behind them.
public struct ClassMetrics: Equatable, Sendable {
    /// Of the images predicted as this class, the share that truly are (0 when the class is never
    /// predicted).
    public var precision: Double
    /// Of the images truly of this class, the share predicted as it (0 when the class has no images).
    public var recall: Double
    /// The harmonic mean of `precision` and `recall`, 2·p·r/(p + r); 0 when both are 0.
    public var f1: Double
    /// Images whose true class this is.
    public var support: Int
}

/// One off-diagonal cell of the confusion matrix: images of class `label` predicted as `predicted`.
public struct Confusion: Equatable, Sendable {
    /// The true class, 0..<classes.
    public var label: Int
    /// The class the model predicted instead, never equal to `label`.
    public var predicted: Int
    /// How many images were mistaken this way (at least 1).
    public var count: Int
}

/// What a reviewer asks of a classifier, built from labels, predictions and per-image losses
/// alone: accuracy and mean loss, the confusion matrix, precision, recall and F1 per class with
/// their macro and support-weighted averages, and the most frequent confusions.
public struct ClassificationReport: Sendable {
    /// The number of classes counted, C: the side of `confusion` and the length of `perClass`.
    public let classes: Int
    /// (C, C): confusion[true][predicted] counts.
    public let confusion: [[Int]]
    /// The number of images, N.
    public let count: Int
    /// Images whose prediction equals their label (the diagonal of `confusion`).
    public let correct: Int
    /// Mean cross-entropy over the images.
    public let loss: Double
    /// (C) the metrics of each class, indexed by class.
    public let perClass: [ClassMetrics]
    /// Unweighted mean over the classes.
    public let macro: ClassMetrics
    /// Mean weighted by each class's support.
    public let weighted: ClassMetrics
    /// Off-diagonal cells with at least one image, largest first (ties: by true, then predicted class).
    public let confusions: [Confusion]

    /// `correct` / `count`, 0–1 (0 when there are no images).
    public var accuracy: Double { count == 0 ? 0 : Double(correct) / Double(count) }

    /// - Parameters:
    ///   - labels: (N) true classes
    ///   - predicted: (N) predicted classes
    ///   - losses: (N) per-image cross-entropy
    ///   - classes: the number of classes the confusion matrix counts (the digits: 10)
    ///
    /// Every label and prediction must lie in `0..<classes` (the loaders check labels when they
    /// read them); a caller's mistake stops with a message naming the class, not a bare index
    /// trap.
    public init(labels: [Int], predicted: [Int], losses: [Double], classes: Int) {
        precondition(labels.count == predicted.count && labels.count == losses.count, "one label, prediction and loss per image")
        if let outside = labels.first(where: { !(0..<classes).contains($0) }) ?? predicted.first(where: { !(0..<classes).contains($0) }) {
            preconditionFailure("class \(outside) is outside 0..<\(classes): a report of \(classes) classes cannot count it")
        }
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
        for (label, guess) in zip(labels, predicted) { confusion[label][guess] += 1 }
        self.classes = classes
        self.confusion = confusion
        count = labels.count
        correct = (0..<classes).reduce(0) { $0 + confusion[$1][$1] }
        loss = losses.isEmpty ? 0 : losses.reduce(0, +) / Double(losses.count)

        // A class never predicted has precision 0 (scikit-learn's zero_division=0 convention),
        // and F1 is 0 when precision and recall are both 0.
        let perClass = (0..<classes).map { c in
            let truePositives = Double(confusion[c][c])
            let predictedAs = Double((0..<classes).reduce(0) { $0 + confusion[$1][c] })
            let support = confusion[c].reduce(0, +)
            let precision = predictedAs == 0 ? 0 : truePositives / predictedAs
            let recall = support == 0 ? 0 : truePositives / Double(support)
            let f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall)
            return ClassMetrics(precision: precision, recall: recall, f1: f1, support: support)
        }
        self.perClass = perClass
        let total = perClass.reduce(0) { $0 + $1.support }
        func average(_ weight: (ClassMetrics) -> Double, _ sum: Double) -> ClassMetrics {
            let scale = sum == 0 ? 0 : 1 / sum
            return ClassMetrics(precision: perClass.reduce(0) { $0 + weight($1) * $1.precision } * scale,
                                recall: perClass.reduce(0) { $0 + weight($1) * $1.recall } * scale,
                                f1: perClass.reduce(0) { $0 + weight($1) * $1.f1 } * scale,
                                support: total)
        }
        macro = average({ _ in 1 }, Double(classes))
        weighted = average({ Double($0.support) }, Double(total))

        var confusions: [Confusion] = []
        for label in 0..<classes {
            for guess in 0..<classes where guess != label && confusion[label][guess] > 0 {
                confusions.append(Confusion(label: label, predicted: guess, count: confusion[label][guess]))
            }
        }
        self.confusions = confusions.sorted {
            ($0.count, -$0.label, -$0.predicted) > ($1.count, -$1.label, -$1.predicted)
        }
    }

    /// Column sums: how often each class was predicted.
    public var predictedTotals: [Int] { (0..<classes).map { c in confusion.reduce(0) { $0 + $1[c] } } }

    /// Everything as JSON-ready values: `accuracy`, `loss`, `count`, `correct`,
    /// `per_class` (precision, recall, f1, support per class), `macro_avg`, `weighted_avg`,
    /// `confusion` (C arrays of C counts) and `top_confusions`.
    public var jsonObject: [String: Any] {
        func metrics(_ m: ClassMetrics) -> [String: Any] {
            ["precision": m.precision, "recall": m.recall, "f1": m.f1, "support": m.support]
        }
        return [
            "accuracy": accuracy,
            "loss": loss,
            "count": count,
            "correct": correct,
            "per_class": perClass.enumerated().map { ["class": $0.offset] .merging(metrics($0.element)) { a, _ in a } },
            "macro_avg": metrics(macro),
            "weighted_avg": metrics(weighted),
            "confusion": confusion,
            "top_confusions": confusions.map { ["label": $0.label, "predicted": $0.predicted, "count": $0.count] },
        ]
    }
}
