// The exponential moving average of a model's weights (`digits train --ema`). The weights of
// the last step carry that step's noise; their running average is smoother, and often scores
// better. Validation, the best weights and the checkpoint use the average; training goes on
// from the weights themselves.

/// An exponential moving average of every saved tensor of a model: weights, biases and
/// BatchNorm's running statistics (whose step count is copied, not averaged). Updated after
/// every optimizer step, in place, allocating nothing.
final class WeightAverage {
    /// The decay of the average at full strength (`--ema`), in (0, 1).
    let decay: Float
    /// The model's saved tensors, in `Sequential.savedTensors` order.
    let tensors: [Parameter]
    /// The averages, one per tensor, of its shape.
    let averages: [Tensor]
    /// Per tensor, whether it is copied rather than averaged (BatchNorm's step count).
    private let copied: [Bool]

    /// An average of `tensors` that starts at their current values.
    init(decay: Float, tensors: [Parameter]) {
        self.decay = decay
        self.tensors = tensors
        averages = tensors.map { tensor in
            let average = Tensor(shape: tensor.value.shape)
            average.data.update(from: tensor.value.data, count: tensor.value.count)
            return average
        }
        copied = tensors.map { $0.name.hasSuffix("num_batches_tracked") }
    }

    /// The decay after `step` optimizer steps: `decay`, or less early in a run,
    /// (1 + step) / (10 + step) as TensorFlow's ExponentialMovingAverage with num_updates, so
    /// that the average is not held near the random initial weights for thousands of steps.
    func rate(afterStep step: Int) -> Float {
        min(decay, Float(1 + step) / Float(10 + step))
    }

    /// Moves the average toward the current values: average ← d·average + (1 − d)·value, with
    /// d = `rate(afterStep: step)`.
    func update(afterStep step: Int) {
        let d = rate(afterStep: step)
        for (index, (tensor, average)) in zip(tensors, averages).enumerated() {
            let values = tensor.value.data, averaged = average.data
            if copied[index] {
                averaged.update(from: values, count: tensor.value.count)
                continue
            }
            for element in 0..<tensor.value.count {
                averaged[element] = d * averaged[element] + (1 - d) * values[element]
            }
        }
    }

    /// Exchanges the model's values and the averages: after one call the model holds the
    /// average (to validate it, or copy it as the best weights), after a second its own weights
    /// again.
    func exchange() {
        for (tensor, average) in zip(tensors, averages) {
            let values = tensor.value.data, averaged = average.data
            for index in 0..<tensor.value.count {
                let value = values[index]
                values[index] = averaged[index]
                averaged[index] = value
            }
        }
    }
}
