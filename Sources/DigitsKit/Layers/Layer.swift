// The layer contract: forward above backward, buffers owned by the layer and reused, and
// backward *accumulating* into parameter gradients (the trainer zeroes them once per step).

/// A trainable tensor with its checkpoint name (PyTorch's: "fc1.weight") and its gradient.
public final class Parameter {
    /// The checkpoint name, PyTorch's state_dict key: `fc1.weight`, `bn1.running_mean`,
    /// `layer1.0.conv1.weight`.
    public let name: String
    /// Same shape as `gradient`.
    public let value: Tensor
    /// dLoss/dValue, the same shape as `value`: backward passes add into it, and the trainer zeroes
    /// it once per step. Unused for buffers (BatchNorm's running statistics).
    public let gradient: Tensor

    /// A parameter named `name` whose value and gradient are zero tensors of `shape` (`[O, I]` for a
    /// Linear weight, `[]` for a scalar).
    public init(name: String, shape: [Int]) {
        self.name = name
        value = Tensor(shape: shape)
        gradient = Tensor(shape: shape)
    }
}

/// One stage of a model, with hand-written backprop. Tensors are (B, features): one row per
/// sample, NHWC images within a row. Forward returns a buffer the layer owns and reuses (or its
/// input itself where the layer is the identity, as dropout in inference); backward, valid only
/// right after a training forward, returns dLoss/dInput and *adds* to the parameters' gradients,
/// which the trainer zeroes once per step.
public protocol Layer: AnyObject, CustomStringConvertible {
    /// Trainable parameters, in checkpoint order.
    var parameters: [Parameter] { get }

    /// State that is saved with the model but not trained by the optimizer (BatchNorm's
    /// running statistics), in checkpoint order.
    var buffers: [Parameter] { get }

    /// Features per sample out, given features per sample in.
    func outputFeatures(inputFeatures: Int) -> Int

    /// (B, I) → (B, O). The result is the layer's own buffer, valid until the next forward.
    /// The layer may keep a reference to `input` for backward; callers must not change it.
    func forward(_ input: Tensor, training: Bool) -> Tensor

    /// dLoss/dOutput (B, O) → dLoss/dInput (B, I), adding parameter gradients into
    /// `Parameter.gradient`. Valid only right after a training forward.
    func backward(_ outputGradient: Tensor) -> Tensor

    /// Runs later passes on `compute`'s threads (a new layer runs on ComputeContext.serial).
    /// Sequential gives every layer its own context.
    func use(_ compute: ComputeContext)
}

extension Layer {
    public var parameters: [Parameter] { [] }
    public var buffers: [Parameter] { [] }
    public func outputFeatures(inputFeatures: Int) -> Int { inputFeatures }
    /// Layers whose passes are plain loops on one thread ignore the context.
    public func use(_ compute: ComputeContext) {}
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

/// A layer with a weight and a bias (Linear, Conv2D): initialized from its fan-in and fan-out.
public protocol WeightedLayer: Layer {
    /// The weight: (O, I) for Linear, (O, C, kh, kw) for Conv2D, as PyTorch's.
    var weight: Parameter { get }
    /// The bias, one value per output (O).
    var bias: Parameter { get }
    /// Inputs that feed one output: I for Linear, C·kh·kw for Conv2D.
    var fanIn: Int { get }
    /// The first layer's input gradient is never used; it skips computing it (Sequential
    /// decides).
    var computesInputGradient: Bool { get }
}

/// How `initialize(_:using:)` draws a weighted layer's random weights from its fan-in and
/// fan-out. The raw value names the scheme.
public enum Initialization: String, Sendable {
    /// He et al. (2015): N(0, 2/fan-in), for ReLU-like activations.
    case he
    /// Glorot and Bengio (2010): U(±√(6/(fan-in + fan-out))), for tanh, sigmoid and the logits.
    case xavier
}

extension WeightedLayer {
    /// Outputs that one input feeds: O for Linear, O·kh·kw for Conv2D.
    var fanOut: Int { weight.value.count / fanIn }

    /// Random weights, zero biases.
    public func initialize(_ scheme: Initialization, using random: RandomGenerator) {
        let w = weight.value.data
        switch scheme {
        case .he:
            let deviation = Float((2.0 / Double(fanIn)).squareRoot())
            for index in 0..<weight.value.count { w[index] = random.nextNormal() * deviation }
        case .xavier:
            let limit = Float((6.0 / Double(fanIn + fanOut)).squareRoot())
            for index in 0..<weight.value.count { w[index] = (2 * random.nextUnitFloat() - 1) * limit }
        }
        bias.value.zero()
    }
}
