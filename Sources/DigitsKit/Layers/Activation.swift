// Elementwise activations with their derivatives: ReLU, LeakyReLU, Sigmoid, Tanh, GELU (the
// exact erf form, as PyTorch's default) and Swish/SiLU (x·σ(x)).
import Foundation

/// An elementwise nonlinearity. The raw value is its name in `--activation` and in architecture
/// JSON ("relu", "leaky-relu", "sigmoid", "tanh", "gelu", "swish").
public enum ActivationFunction: String, CaseIterable, Sendable {
    /// ReLU max(x, 0); LeakyReLU (slope 0.01 below 0, PyTorch's default); the logistic sigmoid
    /// 1/(1 + e^−x); tanh; GELU x·Φ(x) in the exact erf form (PyTorch's default); and Swish/SiLU x·σ(x).
    case relu, leakyRelu = "leaky-relu", sigmoid, tanh, gelu, swish

    /// LeakyReLU's slope for x < 0 (PyTorch's default).
    static let leak: Float = 0.01

    /// The weight initialization suited to this activation.
    public var initialization: Initialization {
        self == .sigmoid || self == .tanh ? .xavier : .he
    }
}

/// A layer applying an `ActivationFunction` to every value: (B, F) → (B, F), for flat features
/// and NHWC images alike, with no parameters. Only ReLU's passes are split over the compute
/// context's threads; the other functions run on one thread.
public final class Activation: Layer {
    /// The threads its passes run on (see `use`).
    private(set) var compute = ComputeContext.serial
    public func use(_ compute: ComputeContext) { self.compute = compute }

    /// The function this layer applies, and differentiates in backward.
    public let function: ActivationFunction
    private var input: Tensor?          // (B, F)
    private var output: Tensor?         // (B, F)
    private var inputGradient: Tensor?  // (B, F)

    /// When set, forward records which units were ever positive (for the dead-ReLU monitor).
    package var tracksActivity = false
    package private(set) var everActive: [Bool] = []

    /// A layer applying `function`, on `ComputeContext.serial` until `use(_:)` moves it.
    public init(_ function: ActivationFunction) { self.function = function }

    public var description: String {
        switch function {
        case .relu: return "ReLU"
        case .leakyRelu: return "LeakyReLU(\(ActivationFunction.leak))"
        case .sigmoid: return "Sigmoid"
        case .tanh: return "Tanh"
        case .gelu: return "GELU"
        case .swish: return "Swish"
        }
    }

    package func resetActivity(features: Int) { everActive = [Bool](repeating: false, count: features) }

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        let output = ensure(&output, rows: input.rows, features: input.rowSize)
        let x = input.data, y = output.data, n = input.count
        switch function {
        case .relu:
            compute.split(n, minimumPerWorker: 1 << 16, alignment: 16, (x: UnsafePointer(x), y: y)) { context, _, begin, end in
                let (x, y) = context.load(as: (x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>).self)
                var i = begin
                while i + 16 <= end { let v = load16(x + i); store16(v.replacing(with: 0, where: v .< 0), y + i); i += 16 }
                while i < end { y[i] = max(x[i], 0); i += 1 }
            }
        case .leakyRelu:
            for i in 0..<n { y[i] = x[i] > 0 ? x[i] : ActivationFunction.leak * x[i] }
        case .sigmoid:
            for i in 0..<n { y[i] = sigmoid(x[i]) }
        case .tanh:
            for i in 0..<n { y[i] = Foundation.tanh(x[i]) }
        case .gelu:
            for i in 0..<n { y[i] = x[i] * normalCDF(x[i]) }
        case .swish:
            for i in 0..<n { y[i] = x[i] * sigmoid(x[i]) }
        }
        if tracksActivity {
            let features = input.rowSize
            if everActive.count != features { resetActivity(features: features) }
            for row in 0..<input.rows {
                for unit in 0..<features where y[row * features + unit] > 0 { everActive[unit] = true }
            }
        }
        self.input = input
        return output
    }

    public func backward(_ outputGradient: Tensor) -> Tensor {
        guard let input, let output else { preconditionFailure("\(self).backward before forward") }
        let dx = ensure(&inputGradient, rows: input.rows, features: input.rowSize).data
        let dy = outputGradient.data, x = input.data, y = output.data, n = input.count
        switch function {
        case .relu:
            let pointers = (x: UnsafePointer(x), dy: UnsafePointer(dy), dx: dx)
            compute.split(n, minimumPerWorker: 1 << 16, alignment: 16, pointers) { context, _, begin, end in
                let (x, dy, dx) = context.load(as: (x: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>).self)
                var i = begin
                while i + 16 <= end {
                    store16(load16(dy + i).replacing(with: 0, where: load16(x + i) .<= 0), dx + i)
                    i += 16
                }
                while i < end { dx[i] = x[i] > 0 ? dy[i] : 0; i += 1 }
            }
        case .leakyRelu:
            for i in 0..<n { dx[i] = x[i] > 0 ? dy[i] : ActivationFunction.leak * dy[i] }
        case .sigmoid:
            for i in 0..<n { dx[i] = dy[i] * y[i] * (1 - y[i]) }
        case .tanh:
            for i in 0..<n { dx[i] = dy[i] * (1 - y[i] * y[i]) }
        case .gelu:
            // d/dx x·Φ(x) = Φ(x) + x·φ(x)
            for i in 0..<n { dx[i] = dy[i] * (normalCDF(x[i]) + x[i] * normalPDF(x[i])) }
        case .swish:
            // d/dx x·σ(x) = σ(x)·(1 + x·(1 − σ(x)))
            for i in 0..<n {
                let s = sigmoid(x[i])
                dx[i] = dy[i] * s * (1 + x[i] * (1 - s))
            }
        }
        return inputGradient!
    }
}

/// 1 / (1 + e^−x), without overflow for large |x|.
@inline(__always)
func sigmoid(_ x: Float) -> Float {
    if x >= 0 { return 1 / (1 + expf(-x)) }
    let e = expf(x)
    return e / (1 + e)
}

@inline(__always)
func normalCDF(_ x: Float) -> Float { 0.5 * (1 + erff(x * 0.707_106_77)) }

@inline(__always)
func normalPDF(_ x: Float) -> Float { 0.398_942_3 * expf(-0.5 * x * x) }
