// The ONNX export: the protobuf writer against the wire format's documented examples, and the
// graph of an exported model read back field by field (a reader written here for the test,
// not used by digits). onnxruntime itself checks the exports in scripts/check-onnx (e2e).
import Foundation
import Testing
@_spi(Tools) @testable import DigitsKit

/// One field of a protobuf message: its number and its value (a varint, bytes, 32 or 64 bits).
struct WireField {
    let number: Int
    var varint: UInt64? = nil
    var bytes: [UInt8]? = nil
    var fixed32: UInt32? = nil
    var fixed64: UInt64? = nil
    var string: String { String(decoding: bytes ?? [], as: UTF8.self) }
}

func wireFields(_ data: [UInt8]) -> [WireField] {
    var fields: [WireField] = [], position = 0
    func varint() -> UInt64 {
        var value: UInt64 = 0, shift: UInt64 = 0
        while true {
            let byte = data[position]; position += 1
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
    }
    while position < data.count {
        let key = varint(), number = Int(key >> 3)
        switch key & 7 {
        case 0: fields.append(WireField(number: number, varint: varint()))
        case 2:
            let length = Int(varint())
            fields.append(WireField(number: number, bytes: Array(data[position..<position + length])))
            position += length
        case 1:
            let value = data[position..<position + 8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * $1.offset) }
            fields.append(WireField(number: number, fixed64: value))
            position += 8
        case 5:
            let value = data[position..<position + 4].enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * $1.offset) }
            fields.append(WireField(number: number, fixed32: value))
            position += 4
        default: Issue.record("unexpected wire type \(key & 7)"); return fields
        }
    }
    return fields
}

@Suite struct ExportTests {
    /// The examples of protobuf's encoding guide, and a negative int64 in ten bytes.
    @Test func protobufWireFormat() {
        var message = ProtobufMessage()
        message.integer(1, 150)
        #expect(message.bytes == [0x08, 0x96, 0x01])
        message = ProtobufMessage()
        message.string(2, "testing")
        #expect(message.bytes == [0x12, 0x07] + Array("testing".utf8))
        message = ProtobufMessage()
        message.packedIntegers(4, [3, 270, 86942])
        #expect(message.bytes == [0x22, 0x06, 0x03, 0x8E, 0x02, 0x9E, 0xA7, 0x05])
        message = ProtobufMessage()
        message.float(2, 1)
        #expect(message.bytes == [0x15, 0x00, 0x00, 0x80, 0x3F])
        message = ProtobufMessage()
        message.integer(3, -1)
        #expect(message.bytes == [0x18] + [UInt8](repeating: 0xFF, count: 9) + [0x01])
        var outer = ProtobufMessage()
        outer.message(3, message)
        #expect(wireFields(outer.bytes).first?.bytes == message.bytes)
    }

    /// The fast model read back: IR 7, opset 13, the input with a free batch, the nodes in
    /// order (its BatchNorms follow max-pools, so they are nodes of their own, reading the
    /// running statistics), and the two outputs.
    @Test func exportedGraph() throws {
        let model = try InferencePlanTests.model(Architecture.fast(), seed: 3)
        let file = wireFields(try ONNXExport.encode(model, path: "fast.safetensors", producerVersion: "test"))
        #expect(file.first { $0.number == 1 }?.varint == 7)
        let opset = wireFields(file.first { $0.number == 8 }!.bytes!)
        #expect(opset.first { $0.number == 2 }?.varint == 13)
        let graph = wireFields(file.first { $0.number == 7 }!.bytes!)
        let nodes = graph.filter { $0.number == 1 }.map { wireFields($0.bytes!) }
        #expect(nodes.map { $0.first { $0.number == 4 }!.string } == ["Sub", "Div", "Conv", "MaxPool", "BatchNormalization", "Relu",
                                                                      "Conv", "MaxPool", "BatchNormalization", "Relu",
                                                                      "Flatten", "Gemm", "Relu", "Gemm", "Identity", "Softmax"])
        // Each node reads the one before it.
        for (previous, node) in zip(nodes, nodes.dropFirst()) {
            #expect(node.first { $0.number == 1 }?.string == previous.first { $0.number == 2 }?.string)
        }
        let input = wireFields(graph.first { $0.number == 11 }!.bytes!)
        #expect(input.first { $0.number == 1 }?.string == "input")
        let outputs = graph.filter { $0.number == 12 }.map { wireFields($0.bytes!).first { $0.number == 1 }!.string }
        #expect(outputs == ["logits", "probabilities"])

        let initializers = graph.filter { $0.number == 5 }.map { wireFields($0.bytes!) }
        let norm = try #require(nodes.first { $0.first { $0.number == 4 }?.string == "BatchNormalization" })
        #expect(norm.filter { $0.number == 1 }.dropFirst().map(\.string) == ["bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var"])
        let saved = Dictionary(uniqueKeysWithValues: model.savedTensors.map { ($0.name, $0.value.array) })
        for name in ["conv1.weight", "bn1.running_var"] {
            let tensor = try #require(initializers.first { $0.first { $0.number == 8 }?.string == name })
            #expect(Self.floats(tensor) == saved[name])
        }
    }

    /// A BatchNorm right after a convolution is folded into it: conv1's weights scaled by
    /// γ/√(σ²+ε), its bias moved, and no BatchNorm left in the graph (the default cnn).
    @Test func batchNormAfterAConvolutionIsFolded() throws {
        let model = try InferencePlanTests.model(Architecture.cnn(), seed: 3)
        let graph = wireFields(wireFields(try ONNXExport.encode(model, path: "cnn.safetensors")).first { $0.number == 7 }!.bytes!)
        let nodes = graph.filter { $0.number == 1 }.map { wireFields($0.bytes!).first { $0.number == 4 }!.string }
        #expect(Array(nodes.prefix(6)) == ["Sub", "Div", "Conv", "Relu", "Conv", "Relu"])
        #expect(!nodes.contains("BatchNormalization"))
        let initializers = graph.filter { $0.number == 5 }.map { wireFields($0.bytes!) }
        #expect(!initializers.contains { $0.first { $0.number == 8 }!.string.hasPrefix("bn") })
        let conv1 = try #require(initializers.first { $0.first { $0.number == 8 }?.string == "conv1.weight" })
        let exported = Self.floats(conv1)
        let saved = Dictionary(uniqueKeysWithValues: model.savedTensors.map { ($0.name, $0.value.array) })
        #expect(exported.count == 32 * 9)
        for (index, value) in exported.enumerated() {
            let channel = index / 9
            let scale = saved["bn1.weight"]![channel] / (saved["bn1.running_var"]![channel] + 1e-5).squareRoot()
            #expect(abs(value - saved["conv1.weight"]![index] * scale) <= 1e-6 * max(1, abs(value)))
        }
    }

    /// An initializer's raw little-endian floats.
    static func floats(_ tensor: [WireField]) -> [Float] {
        let raw = tensor.first { $0.number == 9 }!.bytes!
        return stride(from: 0, to: raw.count, by: 4).map { offset in
            Float(bitPattern: raw[offset..<offset + 4].enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * $1.offset) })
        }
    }

    /// A BatchNorm after an activation cannot be folded: it is exported as its own node.
    @Test func batchNormAfterAnActivationIsANode() throws {
        let architecture = Architecture(model: "odd", input: [1, 4, 4], classes: 10, activation: "relu", dropout: 0, normalization: .mnist,
                                        layers: [.linear("fc1", 16, 8), .activation(.relu), .batchnorm("bn1", 8), .linear("fc2", 8, 10)])
        let model = try Sequential(architecture, random: RandomGenerator(seed: 1), dropoutRandom: RandomGenerator(seed: 1))
        let graph = wireFields(wireFields(try ONNXExport.encode(model, path: "odd")).first { $0.number == 7 }!.bytes!)
        let nodes = graph.filter { $0.number == 1 }.map { wireFields($0.bytes!).first { $0.number == 4 }!.string }
        #expect(nodes == ["Sub", "Div", "Flatten", "Gemm", "Relu", "BatchNormalization", "Gemm", "Identity", "Softmax"])
    }
}
