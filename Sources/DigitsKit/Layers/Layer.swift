// The layer contract: forward above backward, buffers owned by the layer and reused, and
// backward *accumulating* into parameter gradients (the trainer zeroes them once per step).

/// A trainable tensor with its checkpoint name (PyTorch's: "fc1.weight") and its gradient.
public final class Parameter {
    public let name: String
    /// Same shape as `gradient`.
    public let value: Tensor
    public let gradient: Tensor

    public init(name: String, shape: [Int]) {
        self.name = name
        value = Tensor(shape: shape)
        gradient = Tensor(shape: shape)
    }
}

public protocol Layer: AnyObject, CustomStringConvertible {
    /// Trainable parameters, in checkpoint order.
    var parameters: [Parameter] { get }

    /// Features per sample out, given features per sample in.
    func outputFeatures(inputFeatures: Int) -> Int

    /// (B, I) → (B, O). The result is the layer's own buffer, valid until the next forward.
    /// The layer may keep a reference to `input` for backward; callers must not change it.
    func forward(_ input: Tensor, training: Bool) -> Tensor

    /// dLoss/dOutput (B, O) → dLoss/dInput (B, I), adding parameter gradients into
    /// `Parameter.gradient`. Valid only right after a training forward.
    func backward(_ outputGradient: Tensor) -> Tensor
}

extension Layer {
    public var parameters: [Parameter] { [] }
    public func outputFeatures(inputFeatures: Int) -> Int { inputFeatures }
}

/// Makes `buffer` hold `rows` × `features`, allocating only the first time or when larger.
@inline(__always)
func ensure(_ buffer: inout Tensor?, rows: Int, features: Int) -> Tensor {
    if let existing = buffer, existing.rowSize == features {
        existing.setRows(rows)
        return existing
    }
    let created = Tensor(shape: [rows, features])
    buffer = created
    return created
}
