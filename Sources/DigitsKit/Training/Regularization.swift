// L1 regularization as the course notes define it: λ·Σ|w| added to the loss, over the weights
// of the dense and convolutional layers (never biases or BatchNorm), with the subgradient
// λ·sign(w), 0 at 0. It pushes small weights to exactly zero, where L2 only shrinks them.
import Foundation

/// L1 regularization: λ·Σ|w| added to the loss over the weights of the model's dense and
/// convolutional layers (never biases or BatchNorm), with the subgradient λ·sign(w), 0 at 0.
/// It pushes small weights to exactly zero, where L2 only shrinks them.
public struct L1Penalty {
    /// λ, the penalty per unit of absolute weight.
    public let lambda: Float
    /// The weights penalized: every Linear and Conv2D weight of the model.
    public let weights: [Parameter]

    /// The penalty `lambda` over the weight of every `Linear` and `Conv2D` of the model,
    /// including the convolutions inside residual blocks. The weights are shared with the
    /// model, so the penalty follows training.
    public init(lambda: Float, model: Sequential) {
        self.lambda = lambda
        weights = model.layerWeights
    }

    /// λ·Σ|w| over the penalized weights.
    public func value() -> Double {
        var sum = 0.0
        for weight in weights {
            let w = weight.value.data
            var part: Float = 0
            for i in 0..<weight.value.count { part += abs(w[i]) }
            sum += Double(part)
        }
        return Double(lambda) * sum
    }

    /// Adds λ·sign(w) to each penalized weight's gradient (0 where w is 0).
    public func addSubgradient() {
        for weight in weights {
            let w = weight.value.data, g = weight.gradient.data
            for i in 0..<weight.value.count where w[i] != 0 { g[i] += w[i] > 0 ? lambda : -lambda }
        }
    }

    /// The share of the penalized weights with |w| below `threshold`.
    public func shareBelow(_ threshold: Float) -> Double {
        let total = weights.reduce(0) { $0 + $1.value.count }
        var small = 0
        for weight in weights {
            let w = weight.value.data
            for i in 0..<weight.value.count where abs(w[i]) < threshold { small += 1 }
        }
        return Double(small) / Double(max(total, 1))
    }
}
