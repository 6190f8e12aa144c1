// A model as a list of layers applied in order (tinygrad's and Keras' Sequential), built from
// an Architecture so that a checkpoint alone can rebuild it.

/// Why an architecture cannot be built into a model.
public enum ModelError: DigitsError, Equatable {
    /// The architecture from `path` (a checkpoint, or "<model>" for one built in code) cannot be
    /// built: a layer that does not fit its input, an unknown activation, a value out of range;
    /// `reason` says which.
    case invalidArchitecture(path: String, reason: String)

    public var message: String {
        switch self {
        case .invalidArchitecture(let path, let reason): return "\(path): invalid model architecture: \(reason)"
        }
    }
    public var hint: String? { "the checkpoint was not written by this version of digits, or it is damaged" }
}

/// A model as a list of layers applied in order, built from an `Architecture` so that a
/// checkpoint alone can rebuild it: (B, I) normalized inputs (NHWC for images) → (B, classes)
/// logits. ReLU followed by max-pooling runs as one `MaxPool2D`, and a 3×3 single-channel first
/// convolution followed by ReLU and a non-overlapping max-pool as one `Conv2D` (when
/// `Conv2D.canFusePool` allows).
public final class Sequential {
    /// The description the model was built from, saved in its checkpoints.
    public let architecture: Architecture
    /// The layers in the order forward runs them. Fused layers (see above) make this shorter than
    /// `architecture.layers`.
    public let layers: [any Layer]
    /// Every trainable tensor, in checkpoint order.
    public let parameters: [Parameter]
    /// Everything a checkpoint holds: each layer's parameters, then its buffers (BatchNorm's
    /// running statistics), layer by layer as PyTorch's state_dict.
    public let savedTensors: [Parameter]
    /// The threads every layer runs on. Setting it moves the whole model to another context.
    public var compute: ComputeContext {
        didSet { for layer in layers { layer.use(compute) } }
    }

    /// What flows between layers: images (NHWC inside, described as C×H×W) or flat features.
    private enum Shape {
        case image(ImageShape)
        case flat(Int)

        var count: Int {
            switch self {
            case .image(let image): return image.count
            case .flat(let features): return features
            }
        }
    }

    /// Builds the layers. Weights are initialized from `random` (He or Xavier per layer, from
    /// the activation that follows), or left at zero when it is nil because a checkpoint will
    /// fill them (drawing 300,000 normal numbers is a third of `digits classify`'s own time);
    /// dropout layers draw their masks from `dropoutRandom`.
    public init(_ architecture: Architecture, random: RandomGenerator?, dropoutRandom: RandomGenerator,
                compute: ComputeContext = .serial, source: String = "<model>") throws {
        func invalid(_ reason: String) -> ModelError { .invalidArchitecture(path: source, reason: reason) }
        func initialize(_ layer: (any WeightedLayer)?, _ scheme: Initialization) {
            if let random { layer?.initialize(scheme, using: random) }
        }
        let input = architecture.input
        guard !input.isEmpty, input.count <= 3, input.allSatisfy({ $0 > 0 && $0 <= 1 << 24 }), input.reduce(1, *) <= 1 << 24 else {
            throw invalid("input shape \(input) is not [features] or [channels, height, width]")
        }
        // [C, H, W] is an image; any other shape is a flat vector of features.
        var shape = input.count == 3 ? Shape.image(ImageShape(channels: input[0], height: input[1], width: input[2]))
            : Shape.flat(input.reduce(1, *))
        var layers: [any Layer] = []
        var pending: (any WeightedLayer)?
        func positive(_ values: Int?...) -> Bool { values.allSatisfy { ($0 ?? 0) > 0 } }
        /// A max-pool spec's square window and stride, if it is one and fits `image`.
        func poolWindow(_ spec: LayerSpec, over image: ImageShape) -> (kernel: Int, stride: Int)? {
            guard spec.kind == .maxpool2d, let kernel = spec.kernelSize, kernel.count == 2, kernel[0] == kernel[1],
                  positive(kernel[0], spec.stride ?? kernel[0]), kernel[0] <= min(image.height, image.width) else { return nil }
            return (kernel[0], spec.stride ?? kernel[0])
        }
        var specs = architecture.layers[...]
        while let spec = specs.popFirst() {
            switch spec.kind {
            case .linear:
                // A one-channel image is its own flat vector (the MLP's input); otherwise Flatten first.
                if case .image(let image) = shape, image.channels != 1 {
                    throw invalid("linear layer \(spec.name ?? "?") follows \(image) images; add a flatten layer")
                }
                guard let name = spec.name, let inputs = spec.inFeatures, let outputs = spec.outFeatures,
                      inputs == shape.count, positive(outputs), outputs <= 1 << 20 else {
                    throw invalid("linear layer \(spec.name ?? "?") does not take \(shape.count) inputs")
                }
                initialize(pending, .he)
                let linear = Linear(name: name, inputSize: inputs, outputSize: outputs)
                linear.computesInputGradient = !layers.isEmpty
                layers.append(linear)
                pending = linear
                shape = .flat(outputs)
            case .conv2d:
                guard case .image(let image) = shape else { throw invalid("conv2d layer \(spec.name ?? "?") needs images, not flat features") }
                guard let name = spec.name, spec.inChannels == image.channels, let outputs = spec.outChannels,
                      let kernel = spec.kernelSize, kernel.count == 2, positive(outputs, kernel[0], kernel[1], spec.stride ?? 1),
                      outputs <= 1 << 14, (spec.padding ?? 0) >= 0, (spec.padding ?? 0) < max(kernel[0], kernel[1]),
                      image.height + 2 * (spec.padding ?? 0) >= kernel[0], image.width + 2 * (spec.padding ?? 0) >= kernel[1] else {
                    throw invalid("conv2d layer \(spec.name ?? "?") does not fit \(image) images")
                }
                initialize(pending, .he)
                // A first 3×3 single-channel convolution followed by ReLU and a non-overlapping
                // max-pool runs as one layer, which never materializes the large activation.
                var fusedPool = 0
                if layers.isEmpty, Conv2D.canFusePool(input: image, outputChannels: outputs, kernelHeight: kernel[0], kernelWidth: kernel[1]),
                   specs.count >= 2, specs[specs.startIndex].kind == .activation, specs[specs.startIndex].function == "relu" {
                    let side = { (size: Int) in (size + 2 * (spec.padding ?? 0) - 3) / (spec.stride ?? 1) + 1 }
                    let convolved = ImageShape(channels: outputs, height: side(image.height), width: side(image.width))
                    if let window = poolWindow(specs[specs.startIndex + 1], over: convolved), window.stride == window.kernel {
                        fusedPool = window.kernel
                    }
                }
                let conv = Conv2D(name: name, input: image, outputChannels: outputs, kernelHeight: kernel[0], kernelWidth: kernel[1],
                                  stride: spec.stride ?? 1, padding: spec.padding ?? 0, fusedPool: fusedPool,
                                  hasBias: spec.bias != false)
                conv.computesInputGradient = !layers.isEmpty
                layers.append(conv)
                pending = conv
                shape = .image(conv.output)
                if fusedPool > 0 {
                    specs.removeFirst(2)
                    initialize(conv, ActivationFunction.relu.initialization)
                    pending = nil
                }
            case .residual:
                let stride = spec.stride ?? 1
                guard case .image(let image) = shape, let name = spec.name, spec.inChannels == image.channels,
                      let outputs = spec.outChannels, positive(outputs, stride), outputs <= 1 << 14, stride <= 4 else {
                    throw invalid("residual block \(spec.name ?? "?") does not fit \(shape.count) inputs")
                }
                initialize(pending, .he)
                pending = nil
                let block = ResidualBlock(name: name, input: image, outputChannels: outputs, stride: stride)
                // Every convolution in the block feeds a ReLU (conv2 and the projection through the sum).
                for conv in block.convolutions { initialize(conv, .he) }
                layers.append(block)
                shape = .image(block.output)
            case .globalavgpool:
                guard case .image(let image) = shape else { throw invalid("a global average pool needs images, not flat features") }
                layers.append(GlobalAveragePool(input: image))
                shape = .flat(image.channels)
            case .maxpool2d:
                guard case .image(let image) = shape, let window = poolWindow(spec, over: image) else {
                    throw invalid("maxpool2d needs images at least as large as its square window")
                }
                let pool = MaxPool2D(input: image, kernel: window.kernel, stride: window.stride)
                layers.append(pool)
                shape = .image(pool.output)
            case .flatten:
                guard case .image(let image) = shape else { throw invalid("flatten follows flat features") }
                layers.append(Flatten(input: image))
                shape = .flat(image.count)
            case .batchnorm:
                let channels: Int
                switch shape {
                case .image(let image): channels = image.channels
                case .flat(let features): channels = features
                }
                guard let name = spec.name, spec.numFeatures == channels else {
                    throw invalid("batchnorm \(spec.name ?? "?") does not normalize \(channels) channels")
                }
                layers.append(BatchNorm(name: name, channels: channels))
            case .activation:
                guard let name = spec.function, let function = ActivationFunction(rawValue: name) else {
                    throw invalid("unknown activation \(spec.function ?? "?")")
                }
                initialize(pending, function.initialization)
                pending = nil
                // ReLU then max-pooling: one layer that pools, then rectifies (the same function).
                if function == .relu, let next = specs.first, case .image(let image) = shape, let window = poolWindow(next, over: image) {
                    specs.removeFirst()
                    let pool = MaxPool2D(input: image, kernel: window.kernel, stride: window.stride, rectifies: true)
                    layers.append(pool)
                    shape = .image(pool.output)
                    continue
                }
                layers.append(Activation(function))
            case .dropout:
                guard let p = spec.p, p >= 0, p < 1 else {
                    throw invalid("dropout probability \(spec.p.map { "\($0)" } ?? "?") outside [0, 1)")
                }
                layers.append(Dropout(probability: p, random: dropoutRandom))
            }
        }
        // The output layer has no activation after it: Xavier keeps the logits' variance near 1.
        initialize(pending, .xavier)
        guard case .flat(let features) = shape, features == architecture.classes else {
            throw invalid("the last layer gives \(shape.count) outputs for \(architecture.classes) classes")
        }
        self.architecture = architecture
        self.layers = layers
        self.compute = compute
        for layer in layers { layer.use(compute) }
        parameters = layers.flatMap(\.parameters)
        savedTensors = layers.flatMap { $0.parameters + $0.buffers }
    }

    /// The number of trainable values: weights and biases, BatchNorm's γ and β included, its running
    /// statistics not.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.value.count } }

    /// The weight of every dense and convolutional layer, in order, those inside residual
    /// blocks included; not biases or BatchNorm's scales. What L1 penalizes and what the
    /// gradient-flow picture shows, one row each.
    public var layerWeights: [Parameter] {
        layers.flatMap { layer -> [Parameter] in
            if let linear = layer as? Linear { return [linear.weight] }
            if let conv = layer as? Conv2D { return [conv.weight] }
            if let block = layer as? ResidualBlock { return block.convolutions.map(\.weight) }
            return []
        }
    }

    /// One line per layer, as `digits train` prints it: the layer, what it outputs per sample
    /// (C×H×W for images) and its parameter count.
    public var summary: [String] {
        var lines: [String] = []
        var outputText = architecture.input.map(String.init).joined(separator: "×")
        var features = architecture.input.reduce(1, *)
        for layer in layers {
            let out = layer.outputFeatures(inputFeatures: features)
            if let conv = layer as? Conv2D { outputText = conv.output.description }
            else if let block = layer as? ResidualBlock { outputText = block.output.description }
            else if let pool = layer as? MaxPool2D { outputText = pool.output.description }
            else if out != features || layer is Flatten || layer is Linear { outputText = String(out) }
            let count = layer.parameters.reduce(0) { $0 + $1.value.count }
            lines.append("\(layer.description.rightPadded(to: 26))\(outputText.leftPadded(to: 9, with: " "))\(count > 0 ? "  \(formatCount(count).leftPadded(to: 9, with: " ")) parameters" : "")")
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

    /// Sets every trainable parameter's gradient to zero. Backward adds into the gradients, so a
    /// training step starts with this.
    public func zeroGradients() {
        for parameter in parameters { parameter.gradient.zero() }
    }

    /// The trainable parameter with this checkpoint name (e.g. "fc1.weight"), or nil. Buffers
    /// (BatchNorm's running statistics) are not searched.
    public func parameter(named name: String) -> Parameter? { parameters.first { $0.name == name } }
}

extension String {
    /// At least `length` characters, spaces added on the right (always one space at least).
    package func rightPadded(to length: Int) -> String {
        count >= length ? self + " " : self + String(repeating: " ", count: length - count)
    }
}
