// Loss and accuracy of a model over part of a dataset, in inference mode (no dropout).

public struct EvaluationResult: Sendable {
    public var loss: Double
    public var correct: Int
    public var count: Int
    public var accuracy: Double { count == 0 ? 0 : Double(correct) / Double(count) }
}

public enum Evaluator {
    public static func evaluate(_ model: Sequential, on dataset: DigitDataset, indices: [Int],
                                batchSize: Int? = nil) -> EvaluationResult {
        let assembler = BatchAssembler(dataset: dataset, normalization: model.architecture.normalization,
                                       batchSize: batchSize ?? model.architecture.inferenceBatchSize)
        return evaluate(model, assembler: assembler, indices: indices)
    }

    public static func evaluate(_ model: Sequential, assembler: BatchAssembler, indices: [Int]) -> EvaluationResult {
        var totalLoss = 0.0
        var correct = 0
        let batchSize = assembler.inputs.capacity / max(assembler.inputs.rowSize, 1)
        for start in stride(from: 0, to: indices.count, by: batchSize) {
            let batch = indices[start..<min(start + batchSize, indices.count)]
            assembler.assemble(batch)
            let logits = model.forward(assembler.inputs, training: false)
            let result = SoftmaxCrossEntropy.evaluate(logits: logits, labels: assembler.labels)
            totalLoss += result.loss * Double(batch.count)
            correct += result.correct
        }
        return EvaluationResult(loss: totalLoss / Double(max(indices.count, 1)), correct: correct, count: indices.count)
    }
}
