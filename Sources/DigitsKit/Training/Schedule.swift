// Learning-rate schedules, evaluated once per epoch (epochs count from 1).
import Foundation

public enum LearningRateSchedule: Equatable, Sendable, CustomStringConvertible {
    case constant
    /// Multiply by `gamma` every `every` epochs.
    case step(every: Int, gamma: Float)
    /// Cosine annealing (Loshchilov and Hutter 2017) from the base rate to 0 over the run.
    case cosine

    public func rate(base: Float, epoch: Int, totalEpochs: Int) -> Float {
        switch self {
        case .constant:
            return base
        case .step(let every, let gamma):
            return base * Float(pow(Double(gamma), Double((epoch - 1) / max(every, 1))))
        case .cosine:
            let progress = Double(epoch - 1) / Double(max(totalEpochs, 1))
            return base * Float(0.5 * (1 + cos(.pi * progress)))
        }
    }

    public var description: String {
        switch self {
        case .constant: return "constant"
        case .step(let every, let gamma): return "step(every \(every), ×\(gamma))"
        case .cosine: return "cosine"
        }
    }
}
