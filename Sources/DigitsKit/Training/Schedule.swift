// Learning-rate schedules. Constant, step and cosine change the rate once per epoch (epochs
// count from 1); one-cycle changes it at every step, which matters for a run of one epoch.
import Foundation

/// How the learning rate changes over a run. Constant, step and cosine change it once per epoch
/// (epochs count from 1); one-cycle changes it at every step, which matters for a run of one
/// epoch.
public enum LearningRateSchedule: Equatable, Sendable, CustomStringConvertible {
    /// The base rate throughout.
    case constant
    /// Multiply by `gamma` every `every` epochs.
    case step(every: Int, gamma: Float)
    /// Cosine annealing (Loshchilov and Hutter 2017) from the base rate to 0 over the run.
    case cosine
    /// One cycle (Smith and Topin 2019), as PyTorch's OneCycleLR with its defaults: a cosine
    /// warm-up from base/25 to the base rate over the first `warmUp` of the steps, then a
    /// cosine annealing down to base/25/10⁴ at the last step.
    case oneCycle(warmUp: Double)

    /// The one-cycle warm-up share digits uses (PyTorch's default pct_start is 0.3).
    public static let oneCycleWarmUp = 0.25

    /// True when the rate changes within an epoch, so the trainer asks at every step.
    public var changesEveryStep: Bool {
        if case .oneCycle = self { return true }
        return false
    }

    /// The rate for a step of an epoch: `step` counts from 0 within the epoch of
    /// `stepsPerEpoch`. Only one-cycle looks at the step.
    public func rate(base: Float, epoch: Int, totalEpochs: Int, step: Int = 0, stepsPerEpoch: Int = 1) -> Float {
        switch self {
        case .constant:
            return base
        case .step(let every, let gamma):
            return base * Float(pow(Double(gamma), Double((epoch - 1) / max(every, 1))))
        case .cosine:
            let progress = Double(epoch - 1) / Double(max(totalEpochs, 1))
            return base * Float(0.5 * (1 + cos(.pi * progress)))
        case .oneCycle(let warmUp):
            let total = max(totalEpochs * stepsPerEpoch - 1, 1)
            let now = Double(min((epoch - 1) * stepsPerEpoch + step, total))
            let peak = Double(base), start = peak / 25, end = start / 1e4
            let warmSteps = max(warmUp * Double(total), 1)
            // Cosine from `from` to `to` as `t` goes from 0 to 1.
            func anneal(_ from: Double, _ to: Double, _ t: Double) -> Double { to + (from - to) * 0.5 * (1 + cos(.pi * t)) }
            if now < warmSteps { return Float(anneal(start, peak, now / warmSteps)) }
            return Float(anneal(peak, end, (now - warmSteps) / max(Double(total) - warmSteps, 1)))
        }
    }

    public var description: String {
        switch self {
        case .constant: return "constant"
        case .step(let every, let gamma): return "step(every \(every), ×\(gamma))"
        case .cosine: return "cosine"
        case .oneCycle(let warmUp): return "one-cycle (warm-up \(Int((warmUp * 100).rounded()))% of the steps)"
        }
    }
}
