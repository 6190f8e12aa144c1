// Softmax and cross-entropy fused: the gradient of mean(−log softmax(z)[label]) with respect
// to z is (softmax(z) − onehot(label)) / B, computed without forming log(0). Stable because
// the row maximum is subtracted before exponentiating (log-sum-exp).
import Foundation

package enum SoftmaxCrossEntropy {
    /// Mean loss over the batch and the number of correct argmax predictions. When `gradient`
    /// is given it receives dLoss/dLogits (B, C).
    /// - Parameters:
    ///   - logits: (B, C)
    ///   - labels: B class indices
    @discardableResult
    package static func evaluate(logits: Tensor, labels: UnsafePointer<Int32>, gradient: Tensor? = nil) -> (loss: Double, correct: Int) {
        let batch = logits.rows, classes = logits.rowSize
        var totalLoss = 0.0
        var correct = 0
        for row in 0..<batch {
            let z = logits.data + row * classes
            let (maximum, best, logSum) = logSumExp(z, classes: classes)
            let label = Int(labels[row])
            totalLoss += Double(logSum - (z[label] - maximum))
            if best == label { correct += 1 }
            if let gradient {
                let g = gradient.data + row * classes
                let scale = 1 / Float(batch)
                for c in 0..<classes { g[c] = expf(z[c] - maximum - logSum) * scale }
                g[label] -= scale
            }
        }
        return (totalLoss / Double(max(batch, 1)), correct)
    }

    /// One row of logits: its maximum, the first class holding it (the prediction) and
    /// log Σ exp(z − maximum). log softmax(z)[c] = z[c] − maximum − logSum.
    @inline(__always)
    package static func logSumExp(_ z: UnsafePointer<Float>, classes: Int) -> (maximum: Float, best: Int, logSum: Float) {
        var maximum = z[0], best = 0
        for c in 1..<classes where z[c] > maximum { maximum = z[c]; best = c }
        var sum: Float = 0
        for c in 0..<classes { sum += expf(z[c] - maximum) }
        return (maximum, best, logf(sum))
    }
}
