// A model's architecture as data: enough to rebuild it from a checkpoint alone, in Swift or in
// another program. Stored as JSON in the safetensors `__metadata__` under "architecture".
import Foundation

public struct LayerSpec: Codable, Equatable, Sendable {
    public enum Kind: String, Codable, Sendable { case linear, activation, dropout }

    public var kind: Kind
    /// Checkpoint prefix of a layer with parameters ("fc1").
    public var name: String?
    public var inFeatures: Int?
    public var outFeatures: Int?
    /// The activation function's name, for activation layers.
    public var function: String?
    /// The drop probability, for dropout layers.
    public var p: Float?

    enum CodingKeys: String, CodingKey {
        case kind, name, function, p
        case inFeatures = "in_features"
        case outFeatures = "out_features"
    }

    public static func linear(_ name: String, _ inFeatures: Int, _ outFeatures: Int) -> LayerSpec {
        LayerSpec(kind: .linear, name: name, inFeatures: inFeatures, outFeatures: outFeatures)
    }
    public static func activation(_ function: ActivationFunction) -> LayerSpec {
        LayerSpec(kind: .activation, function: function.rawValue)
    }
    public static func dropout(_ p: Float) -> LayerSpec { LayerSpec(kind: .dropout, p: p) }
}

/// Inputs are scaled to 0–1, then standardized: (x/255 − mean) / std.
public struct Normalization: Codable, Equatable, Sendable {
    public var mean: Float
    public var std: Float
    /// MNIST's training-set statistics, as PyTorch's example uses.
    public static let mnist = Normalization(mean: 0.1307, std: 0.3081)
}

public struct Architecture: Codable, Equatable, Sendable {
    public var model: String
    /// Per-sample input shape: [1, 28, 28] for MNIST digits.
    public var input: [Int]
    public var classes: Int
    public var activation: String
    public var dropout: Float
    public var normalization: Normalization?
    public var layers: [LayerSpec]

    /// The MLP: Linear → activation → dropout for each hidden size, then Linear to the classes.
    /// Layers are named fc1, fc2, … as in PyTorch's MNIST examples.
    public static func mlp(hidden: [Int], activation: ActivationFunction, dropout: Float,
                           input: [Int] = [1, 28, 28], classes: Int = 10,
                           normalization: Normalization? = .mnist) -> Architecture {
        var layers: [LayerSpec] = []
        var features = input.reduce(1, *)
        for (index, size) in hidden.enumerated() {
            layers.append(.linear("fc\(index + 1)", features, size))
            layers.append(.activation(activation))
            if dropout > 0 { layers.append(.dropout(dropout)) }
            features = size
        }
        layers.append(.linear("fc\(hidden.count + 1)", features, classes))
        return Architecture(model: "mlp", input: input, classes: classes, activation: activation.rawValue,
                            dropout: dropout, normalization: normalization, layers: layers)
    }

    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try! encoder.encode(self), as: UTF8.self)
    }

    public static func decode(json: String) throws -> Architecture {
        try JSONDecoder().decode(Architecture.self, from: Data(json.utf8))
    }
}
