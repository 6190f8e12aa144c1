// A model's architecture as data: enough to rebuild it from a checkpoint alone, in Swift or in
// another program. Stored as JSON in the safetensors `__metadata__` under "architecture".
import Foundation

/// One layer of an `Architecture`, as data: its kind and the fields that kind uses (the others
/// nil). Encoded with PyTorch's argument names (`in_features`, `kernel_size`, …).
public struct LayerSpec: Codable, Equatable, Sendable {
    /// The type of layer; the raw value is the JSON `kind`: linear, activation, dropout, conv2d,
    /// maxpool2d, flatten, batchnorm, residual (a basic block) or globalavgpool.
    public enum Kind: String, Codable, Sendable {
        /// The layer each kind builds: `Linear`, `Activation`, `Dropout`, `Conv2D`, `MaxPool2D`,
        /// `Flatten`, `BatchNorm`, `ResidualBlock` (a basic block) and `GlobalAveragePool`.
        case linear, activation, dropout, conv2d, maxpool2d, flatten, batchnorm, residual, globalavgpool
    }

    /// What layer this spec builds; it decides which of the other fields are read.
    public var kind: Kind
    /// Checkpoint prefix of a layer with parameters ("fc1", "conv1", "bn1").
    public var name: String?
    /// Linear layers: features in (I).
    public var inFeatures: Int?
    /// Linear layers: features out (O); the class count for the last one.
    public var outFeatures: Int?
    /// The activation function's name, for activation layers.
    public var function: String?
    /// The drop probability, for dropout layers.
    public var p: Float?
    /// Convolutions: channels in and out.
    public var inChannels: Int?
    /// Convolutions and residual blocks: channels out.
    public var outChannels: Int?
    /// Convolutions and pooling: [height, width] of the window.
    public var kernelSize: [Int]?
    /// Convolutions, pooling and residual blocks: the step between windows, in pixels. Absent means
    /// 1, or the window size for pooling.
    public var stride: Int?
    /// Convolutions: zero pixels added on each side. Absent means 0.
    public var padding: Int?
    /// BatchNorm: the channels (or features) normalized.
    public var numFeatures: Int?
    /// Convolutions: false when the layer has no bias (a BatchNorm follows). Absent means true.
    public var bias: Bool?

    enum CodingKeys: String, CodingKey {
        case kind, name, function, p, stride, padding, bias
        case inFeatures = "in_features", outFeatures = "out_features"
        case inChannels = "in_channels", outChannels = "out_channels", kernelSize = "kernel_size"
        case numFeatures = "num_features"
    }

    /// A Linear layer named `name` (its checkpoint prefix, e.g. "fc1") from the first count of
    /// features to the second.
    public static func linear(_ name: String, _ inFeatures: Int, _ outFeatures: Int) -> LayerSpec {
        LayerSpec(kind: .linear, name: name, inFeatures: inFeatures, outFeatures: outFeatures)
    }
    /// An activation layer applying `function`.
    public static func activation(_ function: ActivationFunction) -> LayerSpec {
        LayerSpec(kind: .activation, function: function.rawValue)
    }
    /// A dropout layer with drop probability `p`, in [0, 1).
    public static func dropout(_ p: Float) -> LayerSpec { LayerSpec(kind: .dropout, p: p) }
    /// A convolution named `name` from the first channel count to the second, with a square
    /// `kernel`×`kernel` window. `bias: false` (for a convolution followed by BatchNorm) is recorded
    /// as `"bias": false`; a bias is the default and is not written.
    public static func conv2d(_ name: String, _ inChannels: Int, _ outChannels: Int, kernel: Int,
                              stride: Int = 1, padding: Int = 0, bias: Bool = true) -> LayerSpec {
        LayerSpec(kind: .conv2d, name: name, inChannels: inChannels, outChannels: outChannels,
                  kernelSize: [kernel, kernel], stride: stride, padding: padding, bias: bias ? nil : false)
    }
    /// A residual basic block named like torchvision's ("layer2.0"): two 3×3 convolutions
    /// with BatchNorm, the first with `stride`, and a projection skip when the shape changes.
    public static func residual(_ name: String, _ inChannels: Int, _ outChannels: Int, stride: Int = 1) -> LayerSpec {
        LayerSpec(kind: .residual, name: name, inChannels: inChannels, outChannels: outChannels, stride: stride)
    }
    /// A residual block's skip is a projection (1×1 convolution and BatchNorm) when the block
    /// changes the image's size or channels; the model, its parameter count and the ONNX export
    /// all ask here.
    var residualProjects: Bool { (stride ?? 1) != 1 || inChannels != outChannels }

    /// Every channel's mean over the image: C×H×W → C.
    public static let globalAveragePool = LayerSpec(kind: .globalavgpool)
    /// A max-pool over square `kernel`×`kernel` windows moving by `stride` (by default the kernel,
    /// so windows do not overlap).
    public static func maxpool2d(_ kernel: Int, stride: Int? = nil) -> LayerSpec {
        LayerSpec(kind: .maxpool2d, kernelSize: [kernel, kernel], stride: stride ?? kernel)
    }
    /// Flattens images into PyTorch's (C, H, W) order: what comes before a CNN's first Linear layer.
    public static let flatten = LayerSpec(kind: .flatten)
    /// A BatchNorm named `name` over the given number of channels (after a convolution) or features
    /// (after a Linear layer).
    public static func batchnorm(_ name: String, _ features: Int) -> LayerSpec {
        LayerSpec(kind: .batchnorm, name: name, numFeatures: features)
    }
}

/// Inputs are scaled to 0–1, then standardized: (x/255 − mean) / std.
public struct Normalization: Codable, Equatable, Sendable {
    /// Subtracted from the pixels once scaled to 0–1 (MNIST's: 0.1307).
    public var mean: Float
    /// What the centered pixels are divided by (MNIST's: 0.3081).
    public var std: Float
    /// MNIST's training-set statistics, as PyTorch's example uses.
    public static let mnist = Normalization(mean: 0.1307, std: 0.3081)
}

/// A whole model as data, enough to rebuild it from a checkpoint alone (in Swift, with
/// `Sequential`, or in another program). Stored as JSON under "architecture" in a checkpoint's
/// safetensors metadata.
public struct Architecture: Codable, Equatable, Sendable {
    /// The model family's name, shown in messages and exports: "mlp", "cnn-basic", "cnn", "fast" or
    /// "resnet". The network itself is what `layers` says.
    public var model: String
    /// Per-sample input shape: [1, 28, 28] for MNIST digits.
    public var input: [Int]
    /// Output classes, the width of the logits: 10 for the digits, 11 with a reject class.
    public var classes: Int
    /// The hidden layers' activation (an `ActivationFunction` raw value; "relu" for the CNNs), recorded
    /// for provenance and option checks: each activation layer in `layers` names its own.
    public var activation: String
    /// The dropout probability the network was built with (0 for none), recorded for provenance
    /// and option checks: each dropout layer in `layers` has its own.
    public var dropout: Float
    /// How pixels are standardized before the first layer; nil means scaled to 0–1 only.
    public var normalization: Normalization?
    /// The layers in order, from the input to the logits.
    public var layers: [LayerSpec]
    /// True when the last class is "not a digit" (trained on negatives, `digits train
    /// --negatives`): the digits are then classes 0..<classes − 1. Absent in older files.
    public var rejectClass: Bool?

    enum CodingKeys: String, CodingKey {
        case model, input, classes, activation, dropout, normalization, layers
        case rejectClass = "reject_class"
    }

    /// True when `other` answers in the same classes (the same count, the same reject class), so
    /// the two models' probabilities can be averaged (an ensemble).
    public func hasSameClasses(as other: Architecture) -> Bool {
        classes == other.classes && rejectClass == other.rejectClass
    }

    /// The digit classes: every class but the reject class.
    public var digitClasses: Int { rejectClass == true ? classes - 1 : classes }

    /// The same network with one more output, "not a digit", after the digits.
    public func withRejectClass() -> Architecture {
        guard rejectClass != true, let last = layers.lastIndex(where: { $0.kind == .linear }) else { return self }
        var copy = self
        copy.classes += 1
        copy.layers[last].outFeatures = copy.classes
        copy.rejectClass = true
        return copy
    }

    /// The MLP: Linear → activation → dropout for each hidden size, then Linear to the classes.
    /// Layers are named fc1, fc2, … as in PyTorch's MNIST examples. With `batchNorm`, a
    /// BatchNorm (bn1, bn2, …) sits between each hidden Linear and its activation.
    public static func mlp(hidden: [Int], activation: ActivationFunction, dropout: Float,
                           input: [Int] = [1, 28, 28], classes: Int = 10,
                           normalization: Normalization? = .mnist, batchNorm: Bool = false) -> Architecture {
        var layers: [LayerSpec] = []
        var features = input.reduce(1, *)
        for (index, size) in hidden.enumerated() {
            layers.append(.linear("fc\(index + 1)", features, size))
            if batchNorm { layers.append(.batchnorm("bn\(index + 1)", size)) }
            layers.append(.activation(activation))
            if dropout > 0 { layers.append(.dropout(dropout)) }
            features = size
        }
        layers.append(.linear("fc\(hidden.count + 1)", features, classes))
        return Architecture(model: "mlp", input: input, classes: classes, activation: activation.rawValue,
                            dropout: dropout, normalization: normalization, layers: layers)
    }

    /// The basic CNN, PyTorch's side-by-side case: conv 3×3 1→32, ReLU, maxpool 2,
    /// conv 3×3 32→64, ReLU, maxpool 2, flatten (1600), dense 128, ReLU, dropout 0.5, dense 10.
    public static func cnnBasic(input: [Int] = [1, 28, 28], classes: Int = 10, dropout: Float = 0.5) -> Architecture {
        let side = ((input[1] - 2) / 2 - 2) / 2
        var layers: [LayerSpec] = [
            .conv2d("conv1", input[0], 32, kernel: 3), .activation(.relu), .maxpool2d(2),
            .conv2d("conv2", 32, 64, kernel: 3), .activation(.relu), .maxpool2d(2),
            .flatten, .linear("fc1", 64 * side * side, 128), .activation(.relu),
        ]
        if dropout > 0 { layers.append(.dropout(dropout)) }
        layers.append(.linear("fc2", 128, classes))
        return Architecture(model: "cnn-basic", input: input, classes: classes, activation: "relu", dropout: dropout,
                            normalization: .mnist, layers: layers)
    }

    /// The default CNN: two blocks of two 3×3 convolutions (32, then 64 channels), each followed
    /// by BatchNorm and ReLU, a 2×2 max-pool after each block, then dense 256 with BatchNorm,
    /// ReLU and dropout, and dense 10. No padding: 28 → 26 → 24 → 12 → 10 → 8 → 4.
    public static func cnn(input: [Int] = [1, 28, 28], classes: Int = 10, dropout: Float = 0.4) -> Architecture {
        let side = ((input[1] - 4) / 2 - 4) / 2
        var layers: [LayerSpec] = [
            .conv2d("conv1", input[0], 32, kernel: 3), .batchnorm("bn1", 32), .activation(.relu),
            .conv2d("conv2", 32, 32, kernel: 3), .batchnorm("bn2", 32), .activation(.relu), .maxpool2d(2),
            .conv2d("conv3", 32, 64, kernel: 3), .batchnorm("bn3", 64), .activation(.relu),
            .conv2d("conv4", 64, 64, kernel: 3), .batchnorm("bn4", 64), .activation(.relu), .maxpool2d(2),
            .flatten, .linear("fc1", 64 * side * side, 256), .batchnorm("bn5", 256), .activation(.relu),
        ]
        if dropout > 0 { layers.append(.dropout(dropout)) }
        layers.append(.linear("fc2", 256, classes))
        return Architecture(model: "cnn", input: input, classes: classes, activation: "relu", dropout: dropout,
                            normalization: .mnist, layers: layers)
    }

    /// The fast CNN, for `digits train --model fast`: the fastest published MNIST recipe's net
    /// (tuomaso/train_mnist_fast: conv, max-pool, ReLU, twice) with a BatchNorm between each pool
    /// and its ReLU: conv 5×5 1→`first`, max-pool 2, BN, ReLU, conv 3×3 `first`→`second`, max-pool
    /// 2, BN, ReLU, flatten, dense `hidden`, ReLU, dense 10. 28 → 24 → 12 → 10 → 5. BatchNorm
    /// lifted one epoch from 98.86% to 99.01% (mean of seeds 0–4); after the pool it normalizes a
    /// quarter of the values that it would before (the epoch took 0.75× the time, with the same
    /// accuracy on validation seeds 5–14: 99.12% against 99.06%). The inference plan folds it into
    /// the convolution while every γ ≥ 0.
    public static func fast(input: [Int] = [1, 28, 28], classes: Int = 10, dropout: Float = 0, first: Int = 24,
                            second: Int = 32, hidden: Int = 256) -> Architecture {
        let side = ((input[1] - 4) / 2 - 2) / 2
        var layers: [LayerSpec] = [
            .conv2d("conv1", input[0], first, kernel: 5), .maxpool2d(2), .batchnorm("bn1", first), .activation(.relu),
            .conv2d("conv2", first, second, kernel: 3), .maxpool2d(2), .batchnorm("bn2", second), .activation(.relu),
            .flatten, .linear("fc1", second * side * side, hidden), .activation(.relu),
        ]
        if dropout > 0 { layers.append(.dropout(dropout)) }
        layers.append(.linear("fc2", hidden, classes))
        return Architecture(model: "fast", input: input, classes: classes, activation: "relu", dropout: dropout,
                            normalization: .mnist, layers: layers)
    }

    /// The residual CNN, for `digits train --model resnet`: a 3×3 stem (1→`width`, BatchNorm,
    /// ReLU), three residual basic blocks (`width` at 28×28, 2·`width` at 14×14 and 4·`width` at
    /// 7×7, the last two with stride 2 and a projection skip), a global average pool and a
    /// dense layer to the classes. Names as torchvision's ResNet: conv1, bn1, layer1.0.conv1, …,
    /// fc.
    public static func resnet(input: [Int] = [1, 28, 28], classes: Int = 10, width: Int = 16) -> Architecture {
        let layers: [LayerSpec] = [
            .conv2d("conv1", input[0], width, kernel: 3, padding: 1, bias: false), .batchnorm("bn1", width), .activation(.relu),
            .residual("layer1.0", width, width),
            .residual("layer2.0", width, 2 * width, stride: 2),
            .residual("layer3.0", 2 * width, 4 * width, stride: 2),
            .globalAveragePool, .linear("fc", 4 * width, classes),
        ]
        return Architecture(model: "resnet", input: input, classes: classes, activation: "relu", dropout: 0,
                            normalization: .mnist, layers: layers)
    }

    /// The parameters and buffers the layers declare, counted without building them (nil when
    /// the count overflows), so a reader can compare it with the values a file really holds
    /// before allocating anything.
    public var declaredParameterCount: Int? {
        var total = 0
        func add(_ factors: Int?...) -> Bool {
            var product = 1
            for factor in factors {
                guard let factor, factor >= 0 else { return false }
                let (result, overflow) = product.multipliedReportingOverflow(by: factor)
                guard !overflow else { return false }
                product = result
            }
            let (sum, overflow) = total.addingReportingOverflow(product)
            total = sum
            return !overflow
        }
        for spec in layers {
            let ok: Bool
            switch spec.kind {
            case .linear: ok = add(spec.inFeatures, spec.outFeatures) && add(spec.outFeatures)
            case .conv2d:
                let kernel = spec.kernelSize ?? []
                ok = kernel.count == 2 && add(spec.outChannels, spec.inChannels, kernel[0], kernel[1])
                    && (spec.bias == false || add(spec.outChannels))
            case .residual:
                // conv1, conv2 and two BatchNorms; a projection (1×1 and BatchNorm) when the shape changes.
                let projects = spec.residualProjects
                ok = add(spec.outChannels, spec.inChannels, 9) && add(spec.outChannels, spec.outChannels, 9) && add(spec.outChannels, 8)
                    && (!projects || (add(spec.outChannels, spec.inChannels) && add(spec.outChannels, 4)))
            case .batchnorm: ok = add(spec.numFeatures, 4)
            default: ok = true
            }
            guard ok else { return nil }
        }
        return total
    }

    /// True when the model has convolutions.
    public var isConvolutional: Bool { layers.contains { $0.kind == .conv2d } }

    /// Images per inference batch: large for the MLP, whose layers are small; 128 for the CNNs,
    /// whose per-layer buffers grow with the batch (1000 images would need gigabytes).
    public var inferenceBatchSize: Int { isConvolutional ? 128 : 1000 }

    /// The architecture as compact JSON with sorted keys, as stored in checkpoints. A non-finite
    /// number is written as a string ("nan", "inf"), which `decode(json:)` refuses, rather than
    /// trapping.
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Only a non-finite number could make the encoder throw; it is written as a string
        // instead (and refused when read back), never a trap.
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// Decodes an architecture from its JSON.
    ///
    /// - Throws: `DecodingError` when the text is not JSON, a required field is missing or a value
    ///   has the wrong type (a non-finite number written as a string included).
    public static func decode(json: String) throws -> Architecture {
        try JSONDecoder().decode(Architecture.self, from: Data(json.utf8))
    }
}
