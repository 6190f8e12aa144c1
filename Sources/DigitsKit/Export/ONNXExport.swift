// A model as an ONNX file (opset 13), for onnxruntime and every other ONNX consumer. The graph
// takes [N, 1, 28, 28] floats in 0–1 (N free) and standardizes them itself, as digits does, then
// runs the layers in NCHW with the checkpoint's PyTorch-shaped weights as they are: Conv takes
// (out, in, kh, kw), Gemm takes fc.weight (out, in) with transB, and Flatten gives PyTorch's
// order. BatchNorm is folded into the convolution or dense layer before it (w·γ/√(σ²+ε), and
// the bias shifted), computed in Double; dropout is left out (inference). Outputs: "logits"
// [N, classes] and "probabilities", their softmax (the last class is "not a digit" for a model
// with a reject class).
import Foundation

/// Why a model could not be written as an ONNX file.
public enum ExportError: DigitsError, Equatable {
    /// The model at `path` has something the exporter cannot write: a BatchNorm that does not
    /// follow a convolution or dense layer (or does not match its outputs), an unknown activation,
    /// an unnamed layer with parameters, or a missing weight tensor; `reason` says which.
    case unsupported(path: String, reason: String)

    public var message: String {
        switch self {
        case .unsupported(let path, let reason): return "\(path): cannot be exported to ONNX: \(reason)"
        }
    }
    public var hint: String? { "export a model written by digits train (mlp, cnn, cnn-basic, fast, resnet)" }
}

/// Writes a model as an ONNX file (opset 13) for onnxruntime and other ONNX consumers.
///
/// The graph takes `[N, 1, 28, 28]` floats in 0–1 (N free), standardizes them itself with the
/// model's normalization, and runs the layers in NCHW with the checkpoint's PyTorch-shaped
/// weights. BatchNorm is folded into the convolution or dense layer before it and dropout is left
/// out (inference). The outputs are "logits" and "probabilities" (their softmax), both
/// `[N, classes]`; the last class is "not a digit" for a model with a reject class.
public enum ONNXExport {
    /// The operator set the graph is written for, and the IR version that goes with it.
    public static let opset = 13
    static let irVersion = 7

    /// The ONNX file of `model`; `path` names it in errors. `producerVersion` is recorded.
    public static func encode(_ model: Sequential, path: String, producerVersion: String = "") throws -> [UInt8] {
        var graph = try GraphBuilder(model: model, path: path)
        try graph.build()
        var file = ProtobufMessage()
        file.integer(1, irVersion)
        file.string(2, "digits")
        file.string(3, producerVersion)
        file.string(6, "digits \(model.architecture.model): input [N, \(model.architecture.input.map(String.init).joined(separator: ", "))] float in 0–1 (ink bright, as MNIST); outputs logits and probabilities [N, \(model.architecture.classes)]")
        file.message(7, graph.message)
        var opsetImport = ProtobufMessage()
        opsetImport.string(1, "")
        opsetImport.integer(2, opset)
        file.message(8, opsetImport)
        for (key, value) in [("architecture", model.architecture.json()),
                             ("not_a_digit_class", model.architecture.rejectClass == true ? String(model.architecture.classes - 1) : "none")] {
            var entry = ProtobufMessage()
            entry.string(1, key)
            entry.string(2, value)
            file.message(14, entry)
        }
        return file.bytes
    }

    /// Nodes and initializers, added layer by layer.
    private struct GraphBuilder {
        let model: Sequential
        let path: String
        let values: [String: Parameter]
        var message = ProtobufMessage()
        var current = "input"      // the name of the tensor the next layer reads
        var flat = false           // true once the tensor is [N, features]
        var counter = 0

        init(model: Sequential, path: String) throws {
            self.model = model
            self.path = path
            values = Dictionary(model.savedTensors.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        }

        mutating func build() throws {
            let architecture = model.architecture
            message.string(2, "digits-\(architecture.model)")
            message.message(11, Self.valueInfo("input", dimensions: ["N"] + architecture.input.map { "\($0)" }))
            if let normalization = architecture.normalization {
                add("Sub", [current, constant("mean", [normalization.mean])])
                add("Div", [current, constant("std", [normalization.std])])
            }
            let layers = architecture.layers
            var index = 0
            while index < layers.count {
                let spec = layers[index]
                // A BatchNorm right after this layer is folded into it.
                let folded = index + 1 < layers.count && layers[index + 1].kind == .batchnorm
                    && (spec.kind == .conv2d || spec.kind == .linear) ? layers[index + 1] : nil
                try emit(spec, foldingIn: folded)
                index += folded == nil ? 1 : 2
            }
            rename(to: "logits")
            add("Softmax", [current], attributes: [Self.attribute("axis", .integer(1))], output: "probabilities")
            message.message(12, Self.valueInfo("logits", dimensions: ["N", "\(architecture.classes)"]))
            message.message(12, Self.valueInfo("probabilities", dimensions: ["N", "\(architecture.classes)"]))
        }

        private mutating func emit(_ spec: LayerSpec, foldingIn norm: LayerSpec?) throws {
            switch spec.kind {
            case .conv2d:
                try convolution(spec, foldingIn: norm)
            case .residual:
                // ReLU(BN2(conv2(ReLU(BN1(conv1(x))))) + skip(x)), each BatchNorm folded.
                let name = try required(spec.name), input = current
                let inputs = spec.inChannels ?? 0, outputs = spec.outChannels ?? 0, stride = spec.stride ?? 1
                try convolution(.conv2d("\(name).conv1", inputs, outputs, kernel: 3, stride: stride, padding: 1, bias: false),
                                foldingIn: .batchnorm("\(name).bn1", outputs))
                add("Relu", [current])
                try convolution(.conv2d("\(name).conv2", outputs, outputs, kernel: 3, padding: 1, bias: false),
                                foldingIn: .batchnorm("\(name).bn2", outputs))
                let branch = current
                current = input
                if spec.residualProjects {
                    try convolution(.conv2d("\(name).downsample.0", inputs, outputs, kernel: 1, stride: stride, bias: false),
                                    foldingIn: .batchnorm("\(name).downsample.1", outputs))
                }
                add("Add", [branch, current])
                add("Relu", [current])
            case .globalavgpool:
                add("GlobalAveragePool", [current])
                add("Flatten", [current], attributes: [Self.attribute("axis", .integer(1))])
                flat = true
            case .linear:
                if !flat { add("Flatten", [current], attributes: [Self.attribute("axis", .integer(1))]); flat = true }
                let (weight, bias) = try folded(spec, norm)
                add("Gemm", [current, weight, bias], attributes: [Self.attribute("transB", .integer(1))])
            case .batchnorm:
                // Right after a convolution or a dense layer it was folded there; elsewhere (after
                // a max-pool, as in the fast model, or an activation) it is a node of its own,
                // in inference mode: the running statistics.
                let name = try required(spec.name)
                add("BatchNormalization", [current, try initializer("\(name).weight"), try initializer("\(name).bias"),
                                           try initializer("\(name).running_mean"), try initializer("\(name).running_var")],
                    attributes: [Self.attribute("epsilon", .float(1e-5))])
            case .activation:
                guard let function = spec.function.flatMap(ActivationFunction.init(rawValue:)) else {
                    throw ExportError.unsupported(path: path, reason: "unknown activation \(spec.function ?? "none")")
                }
                activation(function)
            case .maxpool2d:
                let kernel = spec.kernelSize ?? [2, 2], stride = spec.stride ?? kernel[0]
                add("MaxPool", [current], attributes: [Self.attribute("kernel_shape", .integers(kernel)),
                                                       Self.attribute("strides", .integers([stride, stride]))])
            case .flatten:
                add("Flatten", [current], attributes: [Self.attribute("axis", .integer(1))])
                flat = true
            case .dropout:
                break  // the identity in inference
            }
        }

        /// A Conv node for a conv2d spec, with a following BatchNorm folded in.
        private mutating func convolution(_ spec: LayerSpec, foldingIn norm: LayerSpec?) throws {
            let (weight, bias) = try folded(spec, norm)
            let kernel = spec.kernelSize ?? [1, 1], stride = spec.stride ?? 1, padding = spec.padding ?? 0
            add("Conv", [current, weight, bias], attributes: [
                Self.attribute("kernel_shape", .integers(kernel)), Self.attribute("strides", .integers([stride, stride])),
                Self.attribute("pads", .integers([padding, padding, padding, padding])),
            ])
        }

        private mutating func activation(_ function: ActivationFunction) {
            let x = current
            switch function {
            case .relu: add("Relu", [x])
            case .leakyRelu: add("LeakyRelu", [x], attributes: [Self.attribute("alpha", .float(ActivationFunction.leak))])
            case .sigmoid: add("Sigmoid", [x])
            case .tanh: add("Tanh", [x])
            case .gelu:
                // x · Φ(x) = x · (1 + erf(x/√2)) / 2, opset 13 having no Gelu.
                add("Div", [x, constant("sqrt2", [Float(2).squareRoot()])])
                add("Erf", [current])
                add("Add", [current, constant("one", [1])])
                add("Mul", [current, constant("half", [0.5])])
                add("Mul", [x, current])
            case .swish:
                add("Sigmoid", [x])
                add("Mul", [x, current])
            }
        }

        /// The layer's weight and bias initializers, with a following BatchNorm folded in.
        private mutating func folded(_ spec: LayerSpec, _ norm: LayerSpec?) throws -> (weight: String, bias: String) {
            let name = try required(spec.name)
            let weight = try tensor("\(name).weight")
            let outputs = weight.value.shape[0], perOutput = weight.value.count / max(outputs, 1)
            // A convolution without a bias (BatchNorm follows it) gets a zero one: Conv's is optional,
            // but the folded BatchNorm's shift lands there.
            let bias = spec.bias == false ? [Float](repeating: 0, count: outputs) : try tensor("\(name).bias").value.array
            guard let norm else {
                return (try initializer("\(name).weight"), addInitializer("\(name).bias", shape: [outputs], values: bias))
            }
            let normName = try required(norm.name)
            let gamma = try tensor("\(normName).weight").value.array, beta = try tensor("\(normName).bias").value.array
            let mean = try tensor("\(normName).running_mean").value.array, variance = try tensor("\(normName).running_var").value.array
            guard gamma.count == outputs, beta.count == outputs, mean.count == outputs, variance.count == outputs, bias.count == outputs else {
                throw ExportError.unsupported(path: path, reason: "\(normName) does not match the \(outputs) outputs of \(name)")
            }
            var w = weight.value.array, b = bias
            for o in 0..<outputs {
                let scale = Double(gamma[o]) / (Double(variance[o]) + 1e-5).squareRoot()
                for i in 0..<perOutput { w[o * perOutput + i] = Float(Double(w[o * perOutput + i]) * scale) }
                b[o] = Float((Double(b[o]) - Double(mean[o])) * scale + Double(beta[o]))
            }
            return (addInitializer("\(name).weight", shape: weight.value.shape, values: w),
                    addInitializer("\(name).bias", shape: [outputs], values: b))
        }

        private func required(_ name: String?) throws -> String {
            guard let name else { throw ExportError.unsupported(path: path, reason: "a layer with parameters has no name") }
            return name
        }

        private func tensor(_ name: String) throws -> Parameter {
            guard let parameter = values[name] else { throw ExportError.unsupported(path: path, reason: "tensor \(name) is missing") }
            return parameter
        }

        /// A checkpoint tensor as an initializer of the same name and shape.
        private mutating func initializer(_ name: String) throws -> String {
            let parameter = try tensor(name)
            return addInitializer(name, shape: parameter.value.shape, values: parameter.value.array)
        }

        private mutating func constant(_ name: String, _ values: [Float]) -> String {
            counter += 1
            return addInitializer("\(name)_\(counter)", shape: [values.count], values: values)
        }

        private mutating func addInitializer(_ name: String, shape: [Int], values: [Float]) -> String {
            var tensor = ProtobufMessage()
            tensor.packedIntegers(1, shape)
            tensor.integer(2, 1)  // FLOAT
            tensor.string(8, name)
            var raw = [UInt8](repeating: 0, count: values.count * 4)
            for (index, value) in values.enumerated() {
                withUnsafeBytes(of: value.bitPattern.littleEndian) { raw.replaceSubrange(index * 4..<index * 4 + 4, with: $0) }
            }
            tensor.bytes(9, raw)
            message.message(5, tensor)
            return name
        }

        /// A node reading `inputs`; its output becomes the current tensor.
        private mutating func add(_ operation: String, _ inputs: [String], attributes: [ProtobufMessage] = [], output: String? = nil) {
            counter += 1
            let name = output ?? "\(operation.lowercased())_\(counter)"
            var node = ProtobufMessage()
            for input in inputs { node.string(1, input) }
            node.string(2, name)
            node.string(3, "\(operation)_\(counter)")
            node.string(4, operation)
            for attribute in attributes { node.message(5, attribute) }
            message.message(1, node)
            if output == nil { current = name }
        }

        /// Gives the current tensor the name `name` (an Identity node).
        private mutating func rename(to name: String) {
            add("Identity", [current], output: name)
            current = name
        }

        static func valueInfo(_ name: String, dimensions: [String]) -> ProtobufMessage {
            var shape = ProtobufMessage()
            for dimension in dimensions {
                var entry = ProtobufMessage()
                if let size = Int(dimension) { entry.integer(1, size) } else { entry.string(2, dimension) }
                shape.message(1, entry)
            }
            var tensorType = ProtobufMessage()
            tensorType.integer(1, 1)  // FLOAT
            tensorType.message(2, shape)
            var type = ProtobufMessage()
            type.message(1, tensorType)
            var info = ProtobufMessage()
            info.string(1, name)
            info.message(2, type)
            return info
        }

        /// An attribute's value, with the AttributeProto field and type it is written with.
        enum AttributeValue {
            case integer(Int), float(Float), integers([Int])
        }

        static func attribute(_ name: String, _ value: AttributeValue) -> ProtobufMessage {
            var attribute = ProtobufMessage()
            attribute.string(1, name)
            switch value {
            case .integer(let integer): attribute.integer(3, integer); attribute.integer(20, 2)       // i, INT
            case .float(let float): attribute.float(2, float); attribute.integer(20, 1)               // f, FLOAT
            case .integers(let integers): attribute.packedIntegers(8, integers); attribute.integer(20, 7)  // ints, INTS
            }
            return attribute
        }
    }
}
