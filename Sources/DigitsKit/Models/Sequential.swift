// A model as a list of layers applied in order (tinygrad's and Keras' Sequential), built from
// an Architecture so that a checkpoint alone can rebuild it.

public enum ModelError: DigitsError, Equatable {
    case invalidArchitecture(path: String, reason: String)

    public var message: String {
        switch self {
        case .invalidArchitecture(let path, let reason): return "\(path): invalid model architecture: \(reason)"
        }
    }
    public var hint: String? { "the checkpoint was not written by this version of digits, or it is damaged" }
}

public final class Sequential {
    public let architecture: Architecture
    public let layers: [any Layer]
    /// Every trainable tensor, in checkpoint order.
    public let parameters: [Parameter]

    /// Builds the layers. Weights are initialized from `random` (He or Xavier per layer, from
    /// the activation that follows); dropout layers draw their masks from `dropoutRandom`.
    public init(_ architecture: Architecture, random: RandomGenerator, dropoutRandom: RandomGenerator,
                source: String = "<model>") throws {
        var layers: [any Layer] = []
        var features = architecture.input.reduce(1, *)
        var pendingLinear: Linear?
        for spec in architecture.layers {
            switch spec.kind {
            case .linear:
                guard let name = spec.name, let inputs = spec.inFeatures, let outputs = spec.outFeatures,
                      inputs == features, outputs > 0 else {
                    throw ModelError.invalidArchitecture(path: source, reason: "linear layer \(spec.name ?? "?") does not take \(features) inputs")
                }
                pendingLinear?.initialize(.he, using: random)
                let linear = Linear(name: name, inputSize: inputs, outputSize: outputs)
                linear.computesInputGradient = !layers.isEmpty
                layers.append(linear)
                pendingLinear = linear
                features = outputs
            case .activation:
                guard let name = spec.function, let function = ActivationFunction(rawValue: name) else {
                    throw ModelError.invalidArchitecture(path: source, reason: "unknown activation \(spec.function ?? "?")")
                }
                pendingLinear?.initialize(function.initialization, using: random)
                pendingLinear = nil
                layers.append(Activation(function))
            case .dropout:
                guard let p = spec.p, p >= 0, p < 1 else {
                    throw ModelError.invalidArchitecture(path: source, reason: "dropout probability \(spec.p.map { "\($0)" } ?? "?") outside [0, 1)")
                }
                layers.append(Dropout(probability: p, random: dropoutRandom))
            }
        }
        // The output layer has no activation after it: Xavier keeps the logits' variance near 1.
        pendingLinear?.initialize(.xavier, using: random)
        guard features == architecture.classes else {
            throw ModelError.invalidArchitecture(path: source, reason: "the last layer gives \(features) outputs for \(architecture.classes) classes")
        }
        self.architecture = architecture
        self.layers = layers
        parameters = layers.flatMap(\.parameters)
    }

    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.value.count } }

    /// One line per layer, as `digits train` prints it.
    public var summary: [String] {
        var lines: [String] = []
        var features = architecture.input.reduce(1, *)
        for layer in layers {
            let out = layer.outputFeatures(inputFeatures: features)
            let count = layer.parameters.reduce(0) { $0 + $1.value.count }
            lines.append("\(layer.description.rightPadded(to: 22))\(String(out).leftPadded(to: 6, with: " ")) features\(count > 0 ? "  \(formatCount(count).leftPadded(to: 9, with: " ")) parameters" : "")")
            features = out
        }
        return lines
    }

    /// (B, I) → logits (B, C). The result is the last layer's buffer.
    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        var x = input
        for layer in layers { x = layer.forward(x, training: training) }
        return x
    }

    /// Back-propagates dLoss/dLogits, accumulating every parameter's gradient.
    public func backward(_ logitsGradient: Tensor) {
        var gradient = logitsGradient
        for layer in layers.reversed() { gradient = layer.backward(gradient) }
    }

    public func zeroGradients() {
        for parameter in parameters { parameter.gradient.zero() }
    }

    public func parameter(named name: String) -> Parameter? { parameters.first { $0.name == name } }
}

extension String {
    /// At least `length` characters, spaces added on the right (always one space at least).
    func rightPadded(to length: Int) -> String {
        count >= length ? self + " " : self + String(repeating: " ", count: length - count)
    }
}
