// L1 regularization as the course notes define it: λ·Σ|w| added to the loss, over the weights
// of the dense and convolutional layers (never biases or BatchNorm), with the subgradient
// λ·sign(w), 0 at 0. It pushes small weights to exactly zero, where L2 only shrinks them.
import Foundation

public struct L1Penalty {
    public let lambda: Float
    /// The weights penalized: every Linear and Conv2D weight of the model.
    public let weights: [Parameter]

    public init(lambda: Float, model: Sequential) {
        self.lambda = lambda
        weights = model.layers.compactMap { layer in
            if let linear = layer as? Linear { return linear.weight }
            if let conv = layer as? Conv2D { return conv.weight }
            return nil
        }
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
