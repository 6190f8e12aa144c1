// Optimizers, in order of increasing complexity: SGD with momentum, then Adam (Kingma and Ba
// 2015) with bias correction. Both apply L2 weight decay as PyTorch does (added to the
// gradient) and keep their state per parameter, in the parameters' order, for checkpoints.
import CKernels
import Foundation

/// An update rule that changes the parameters from their gradients after each batch. A class,
/// because it keeps state per parameter between steps (allocated, in the parameters' order, at
/// the first `step` or `stateTensors(for:)`), so every call must pass the same parameters in
/// the same order.
public protocol Optimizer: AnyObject {
    /// Updates every parameter from its gradient.
    func step(_ parameters: [Parameter], learningRate: Float)
    /// State tensors for checkpoints, named after the parameter ("adam.m.fc1.weight").
    func stateTensors(for parameters: [Parameter]) -> [(name: String, tensor: Tensor)]
    /// Steps taken so far.
    var steps: Int { get set }
}

/// Stochastic gradient descent with momentum, as PyTorch's SGD without dampening or Nesterov:
/// v ← μ·v + (g + λ·w), then w ← w − lr·v.
public final class SGD: Optimizer {
    /// μ, the share of the previous velocity kept at each step (0: plain SGD).
    public let momentum: Float
    /// λ, the L2 penalty added to each gradient as λ·w (PyTorch's `weight_decay`; 0: none).
    public let weightDecay: Float
    public var steps = 0
    private var velocity: [Tensor] = []  // one per parameter, same shape

    /// An SGD optimizer; the velocities start at zero at the first step.
    public init(momentum: Float = 0.9, weightDecay: Float = 0) {
        self.momentum = momentum
        self.weightDecay = weightDecay
    }

    public func step(_ parameters: [Parameter], learningRate: Float) {
        if velocity.isEmpty { velocity = parameters.map { Tensor(shape: $0.value.shape) } }
        steps += 1
        for (parameter, velocity) in zip(parameters, velocity) {
            let w = parameter.value.data, g = parameter.gradient.data, v = velocity.data
            for i in 0..<parameter.value.count {
                let gradient = g[i] + weightDecay * w[i]
                v[i] = momentum * v[i] + gradient
                w[i] -= learningRate * v[i]
            }
        }
    }

    public func stateTensors(for parameters: [Parameter]) -> [(name: String, tensor: Tensor)] {
        if velocity.isEmpty { velocity = parameters.map { Tensor(shape: $0.value.shape) } }
        return zip(parameters, velocity).map { ("sgd.velocity.\($0.name)", $1) }
    }
}

/// Adam (Kingma and Ba, 2015) with bias correction, as PyTorch's Adam: L2 weight decay is added
/// to the gradient (coupled, not AdamW's decoupled decay). Large tensors are updated on the
/// compute context's threads, with the same results as on one.
public final class Adam: Optimizer {
    /// β1, the decay rate of the running mean of the gradients (default 0.9).
    public let beta1: Float
    /// β2, the decay rate of the running mean of the squared gradients (default 0.999).
    public let beta2: Float
    /// ε, added to the bias-corrected root of the second moment in the denominator, against division by zero.
    public let epsilon: Float
    /// λ, the L2 penalty added to each gradient as λ·w (0: none).
    public let weightDecay: Float
    public var steps = 0
    /// The threads a step's updates are split over.
    let compute: ComputeContext
    private var firstMoment: [Tensor] = []   // m, per parameter, same shape
    private var secondMoment: [Tensor] = []  // v, per parameter, same shape

    /// An Adam optimizer whose steps run on `compute`'s threads; the moments start at zero at the
    /// first step.
    public init(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0,
                compute: ComputeContext = .serial) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.compute = compute
    }

    private func allocate(_ parameters: [Parameter]) {
        guard firstMoment.isEmpty else { return }
        firstMoment = parameters.map { Tensor(shape: $0.value.shape) }
        secondMoment = parameters.map { Tensor(shape: $0.value.shape) }
    }

    public func step(_ parameters: [Parameter], learningRate: Float) {
        allocate(parameters)
        steps += 1
        // Bias correction: the moments start at zero, so early averages are scaled up by
        // 1/(1 − βᵗ) to be unbiased estimates.
        let correction1 = 1 - Float(pow(Double(beta1), Double(steps)))
        let correction2 = 1 - Float(pow(Double(beta2), Double(steps)))
        let constants = AdamConstants(beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay,
                                      stepSize: learningRate / correction1, rootCorrection2: correction2.squareRoot())
        for (index, parameter) in parameters.enumerated() {
            let update = AdamUpdate(w: parameter.value.data, g: parameter.gradient.data, m: firstMoment[index].data,
                                    v: secondMoment[index].data, constants: constants)
            // Each element's update is independent, so a large tensor is split between the
            // threads at multiples of 16, with results identical to one pass.
            compute.split(parameter.value.count, minimumPerWorker: Self.elementsPerThread, alignment: 16, update) { context, _, begin, end in
                Adam.update(context.load(as: AdamUpdate.self), from: begin, to: end)
            }
        }
    }

    /// Below this many elements per thread a tensor is updated on one: handing it out would
    /// cost more.
    static let elementsPerThread = 16_384

    /// The Adam update of elements start..<end (`dk_adam`: Swift's SIMD16 square root runs
    /// lane by lane, which made this a quarter of an MLP epoch), with the same arithmetic for
    /// every element, so results do not depend on how a tensor is split.
    fileprivate static func update(_ t: AdamUpdate, from start: Int, to end: Int) {
        let c = t.constants
        dk_adam(t.w, t.g, t.m, t.v, start, end, c.beta1, c.beta2, c.epsilon, c.weightDecay, c.stepSize, c.rootCorrection2)
    }

    public func stateTensors(for parameters: [Parameter]) -> [(name: String, tensor: Tensor)] {
        allocate(parameters)
        return zip(parameters, firstMoment).map { ("adam.m.\($0.name)", $1) }
            + zip(parameters, secondMoment).map { ("adam.v.\($0.name)", $1) }
    }
}

private struct AdamConstants {
    let beta1, beta2, epsilon, weightDecay, stepSize, rootCorrection2: Float
}

/// One parameter's buffers for a step, and the step's constants. Each part touches a disjoint
/// range of elements.
private struct AdamUpdate {
    let w, g, m, v: UnsafeMutablePointer<Float>
    let constants: AdamConstants
}

/// Scales all gradients down together when their global L2 norm exceeds `maxNorm`
/// (Pascanu et al. 2013). Returns the norm before clipping.
@discardableResult
public func clipGradients(_ parameters: [Parameter], maxNorm: Float) -> Float {
    let norm = Float(parameters.reduce(0.0) { $0 + $1.gradient.squaredNorm }.squareRoot())
    if norm > maxNorm {
        let scale = maxNorm / (norm + 1e-6)
        for parameter in parameters {
            let g = parameter.gradient.data
            for i in 0..<parameter.gradient.count { g[i] *= scale }
        }
    }
    return norm
}
