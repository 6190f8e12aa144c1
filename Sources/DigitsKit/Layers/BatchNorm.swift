// Batch normalization (Ioffe and Szegedy 2015), per channel: over the batch for flat features,
// over the batch and every pixel for NHWC images (the channel is the innermost index, so a
// sample's values are rows of C). As PyTorch's BatchNorm1d/2d: ε = 1e-5, momentum 0.1, the
// biased variance to normalize and the unbiased one in the running estimate, which inference
// uses. running_mean, running_var and num_batches_tracked are saved in checkpoints.
import CKernels
import Foundation

/// Batch normalization per channel, as PyTorch's `BatchNorm1d` (flat features, each feature a
/// channel) and `BatchNorm2d` (NHWC images: statistics over the batch and every pixel).
/// Training normalizes with the batch's mean and biased variance and updates the running
/// estimates (with the unbiased variance); inference normalizes with the running estimates.
/// Its tensors are saved under PyTorch's names: `NAME.weight`, `NAME.bias`,
/// `NAME.running_mean`, `NAME.running_var` and `NAME.num_batches_tracked`.
public final class BatchNorm: Layer {
    /// The threads its passes run on (see `use`).
    private(set) var compute = ComputeContext.serial
    public func use(_ compute: ComputeContext) {
        self.compute = compute
        if compute.threads > parts {
            partSums.deallocate()
            parts = compute.threads
            partSums = .allocate(capacity: 2 * parts * channels)
        }
    }

    /// The channels normalized: C for NHWC images (the innermost index), or the feature count for
    /// flat input. Each sample's feature count must be a multiple of it.
    public let channels: Int
    /// Added to the variance before its square root, for stability: 1e-5, as PyTorch.
    public let epsilon: Float = 1e-5
    /// The running estimates' update weight, running = (1 − momentum)·running + momentum·batch
    /// statistic: 0.1, as PyTorch.
    public let momentum: Float = 0.1
    /// The per-channel scale γ, shape (C), starting at 1; saved as `NAME.weight`.
    public let weight: Parameter        // (C): γ
    /// The per-channel shift β, shape (C), starting at 0; saved as `NAME.bias`.
    public let bias: Parameter          // (C): β
    /// The running mean of each channel, shape (C), starting at 0: what inference subtracts. A
    /// buffer saved as `NAME.running_mean`, updated by training forward passes, not the optimizer.
    public let runningMean: Parameter   // (C)
    /// The running unbiased variance of each channel, shape (C), starting at 1: what inference
    /// divides by (its square root, with `epsilon`). A buffer saved as `NAME.running_var`.
    public let runningVariance: Parameter  // (C)
    /// The number of training forward passes so far, a scalar (shape `[]`) stored as a float. Saved
    /// as `NAME.num_batches_tracked` for PyTorch; the computation does not use it (the momentum is fixed).
    public let batchesTracked: Parameter   // (): a count, stored as a float
    private var normalized: Tensor?     // (B, F): x̂, kept for backward
    private var output: Tensor?         // (B, F)
    private var inputGradient: Tensor?  // (B, F)
    // Per-channel scratch, (C) each, allocated once. Sums are taken in Float over blocks of
    // rows (so the loops vectorize across channels) and the blocks added up in Double, each
    // worker over its own rows, then the workers' sums in order.
    private let mean: UnsafeMutablePointer<Float>
    private let inverseDeviation: UnsafeMutablePointer<Float>  // 1/√(var + ε) of the last forward
    private let roughMean: UnsafeMutablePointer<Float>  // forward's first pass: Σx/n, the second pass's shift
    private let scale: UnsafeMutablePointer<Float>     // backward's dx = scale·dy + slope·x̂ + offset
    private let slope: UnsafeMutablePointer<Float>
    private let sum: UnsafeMutablePointer<Double>
    private let sumOfProducts: UnsafeMutablePointer<Double>
    private var parts = 1                               // workers the buffers below are sized for
    private var partSums: UnsafeMutablePointer<Double>  // (parts, 2, C): each worker's sum and sumOfProducts
    private var lastWasTraining = false
    private static let block = 64

    /// A BatchNorm over `channels` channels whose tensors are named `name.weight`, `name.bias`,
    /// `name.running_mean` and so on, starting as a new PyTorch layer does: γ = 1, β = 0, running
    /// mean 0 and running variance 1.
    public init(name: String, channels: Int) {
        self.channels = channels
        weight = Parameter(name: "\(name).weight", shape: [channels])
        bias = Parameter(name: "\(name).bias", shape: [channels])
        runningMean = Parameter(name: "\(name).running_mean", shape: [channels])
        runningVariance = Parameter(name: "\(name).running_var", shape: [channels])
        batchesTracked = Parameter(name: "\(name).num_batches_tracked", shape: [])
        for c in 0..<channels {
            weight.value[c] = 1
            runningVariance.value[c] = 1
        }
        mean = .allocate(capacity: channels)
        inverseDeviation = .allocate(capacity: channels)
        roughMean = .allocate(capacity: channels)
        scale = .allocate(capacity: channels)
        slope = .allocate(capacity: channels)
        sum = .allocate(capacity: channels)
        sumOfProducts = .allocate(capacity: channels)
        partSums = .allocate(capacity: 2 * channels)
    }

    deinit {
        mean.deallocate()
        inverseDeviation.deallocate()
        roughMean.deallocate()
        scale.deallocate()
        slope.deallocate()
        sum.deallocate()
        sumOfProducts.deallocate()
        partSums.deallocate()
    }

    /// sum[c] = Σ_rows (a[row, c] − shift[c]) and sumOfProducts[c] = Σ_rows (a[row, c] − shift[c])·(b[row, c] −
    /// shift[c]), with no shift when it is nil, split by rows over the workers.
    private func channelSums(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, shift: UnsafePointer<Float>?, rows: Int) {
        let channels = self.channels
        for i in 0..<(2 * parts * channels) { partSums[i] = 0 }
        let job = Sums(a: a, b: b, shift: shift, sums: partSums, channels: channels)
        compute.split(rows, minimumPerWorker: 4096, maximumParts: parts, job) { context, part, begin, end in
            context.load(as: Sums.self).run(part: part, rows: begin..<end)
        }
        for c in 0..<channels { sum[c] = 0; sumOfProducts[c] = 0 }
        for part in 0..<parts {
            for c in 0..<channels {
                sum[c] += partSums[2 * part * channels + c]
                sumOfProducts[c] += partSums[(2 * part + 1) * channels + c]
            }
        }
    }

    /// One worker's share of `channelSums`: its rows, into its own (2, C) sums (dk_channel_sums
    /// in C: it keeps up to 64 channels' Float block sums in registers).
    private struct Sums {
        let a: UnsafePointer<Float>, b: UnsafePointer<Float>, shift: UnsafePointer<Float>?
        let sums: UnsafeMutablePointer<Double>
        let channels: Int

        func run(part: Int, rows: Range<Int>) {
            let sum = sums + 2 * part * channels
            dk_channel_sums(a + rows.lowerBound * channels, b + rows.lowerBound * channels, shift, rows.count, channels,
                            BatchNorm.block, sum, sum + channels)
        }
    }

    public var parameters: [Parameter] { [weight, bias] }
    public var buffers: [Parameter] { [runningMean, runningVariance, batchesTracked] }
    public var description: String { "BatchNorm(\(channels))" }

    /// The pointers the parts of forward's normalization need.
    private struct Normalize {
        let x: UnsafeMutablePointer<Float>, hat: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>
        let gamma: UnsafeMutablePointer<Float>, beta: UnsafeMutablePointer<Float>
        let mean: UnsafeMutablePointer<Float>, inverse: UnsafeMutablePointer<Float>
        let channels: Int
    }

    /// The pointers the parts of backward's dx need.
    private struct Backward {
        let dy: UnsafeMutablePointer<Float>, hat: UnsafeMutablePointer<Float>, dx: UnsafeMutablePointer<Float>
        let scale: UnsafeMutablePointer<Float>, slope: UnsafeMutablePointer<Float>, offset: UnsafeMutablePointer<Float>
        let channels: Int
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        precondition(x.rowSize % channels == 0, "\(self) got \(x.rowSize) features per sample")
        let rows = x.count / channels  // values per channel: batch × pixels
        let xhat = ensure(&normalized, rows: x.rows, features: x.rowSize)
        let y = ensure(&output, rows: x.rows, features: x.rowSize)
        lastWasTraining = training
        if training {
            // Two passes: the mean m in Float, then Σd and Σd² of d = x − m, so that no large
            // mean cancels in Σd² − (Σd)²/n. (One pass shifted by the first row instead made a
            // residual block's gradient check miss its tolerance.)
            channelSums(x.data, x.data, shift: nil, rows: rows)
            for c in 0..<channels { roughMean[c] = Float(sum[c] / Double(rows)) }
            channelSums(x.data, x.data, shift: roughMean, rows: rows)
            for c in 0..<channels {
                let shifted = sum[c] / Double(rows)
                mean[c] = Float(Double(roughMean[c]) + shifted)
                let squares = max(sumOfProducts[c] - sum[c] * shifted, 0)  // Σ(x − μ)²
                let variance = squares / Double(rows)
                inverseDeviation[c] = Float(1 / (variance + Double(epsilon)).squareRoot())
                let unbiased = rows > 1 ? squares / Double(rows - 1) : variance
                runningMean.value[c] = (1 - momentum) * runningMean.value[c] + momentum * mean[c]
                runningVariance.value[c] = (1 - momentum) * runningVariance.value[c] + momentum * Float(unbiased)
            }
            batchesTracked.value[0] += 1
        } else {
            for c in 0..<channels {
                mean[c] = runningMean.value[c]
                inverseDeviation[c] = 1 / (runningVariance.value[c] + epsilon).squareRoot()
            }
        }
        let pointers = Normalize(x: x.data, hat: xhat.data, y: y.data, gamma: weight.value.data, beta: bias.value.data,
                                 mean: mean, inverse: inverseDeviation, channels: channels)
        compute.split(rows, minimumPerWorker: 4096, pointers) { context, _, begin, end in
            let p = context.load(as: Normalize.self)
            let (x, xhat, y, gamma, beta, mean, inverse, channels) = (p.x, p.hat, p.y, p.gamma, p.beta, p.mean, p.inverse, p.channels)
            for row in begin..<end {
                let values = x + row * channels, hat = xhat + row * channels, out = y + row * channels
                var c = 0
                while c + 16 <= channels {
                    let normalized = (load16(values + c) - load16(mean + c)) * load16(inverse + c)
                    store16(normalized, hat + c)
                    store16(load16(gamma + c) * normalized + load16(beta + c), out + c)
                    c += 16
                }
                while c < channels {
                    hat[c] = (values[c] - mean[c]) * inverse[c]
                    out[c] = gamma[c] * hat[c] + beta[c]
                    c += 1
                }
            }
        }
        return y
    }

    public func backward(_ outputGradient: Tensor) -> Tensor {
        guard let xhat = normalized else { preconditionFailure("\(self).backward before forward") }
        let rows = outputGradient.count / channels
        let dx = ensure(&inputGradient, rows: outputGradient.rows, features: outputGradient.rowSize)
        let dy = outputGradient.data, hat = xhat.data, gamma = weight.value.data
        // Σ dy (= dβ) and Σ dy·x̂ (= dγ), per channel.
        channelSums(dy, hat, shift: nil, rows: rows)
        for c in 0..<channels {
            bias.gradient[c] += Float(sum[c])
            weight.gradient[c] += Float(sumOfProducts[c])
        }
        // Per channel: dx = a·dy + b·x̂ + d. In training the batch statistics depend on x too:
        // dx = γ/σ · (dy − mean(dy) − x̂·mean(dy·x̂)); in inference it is γ/σ · dy.
        let scale = self.scale, slope = self.slope, offset = mean
        for c in 0..<channels {
            scale[c] = gamma[c] * inverseDeviation[c]
            slope[c] = lastWasTraining ? -scale[c] * Float(sumOfProducts[c] / Double(rows)) : 0
            offset[c] = lastWasTraining ? -scale[c] * Float(sum[c] / Double(rows)) : 0
        }
        let pointers = Backward(dy: dy, hat: hat, dx: dx.data, scale: scale, slope: slope, offset: offset, channels: channels)
        compute.split(rows, minimumPerWorker: 4096, pointers) { context, _, begin, end in
            let p = context.load(as: Backward.self)
            let (dy, hat, dx, scale, slope, offset, channels) = (p.dy, p.hat, p.dx, p.scale, p.slope, p.offset, p.channels)
            for row in begin..<end {
                let g = dy + row * channels, h = hat + row * channels, out = dx + row * channels
                var c = 0
                while c + 16 <= channels {
                    store16(load16(scale + c) * load16(g + c) + load16(slope + c) * load16(h + c) + load16(offset + c), out + c)
                    c += 16
                }
                while c < channels { out[c] = scale[c] * g[c] + slope[c] * h[c] + offset[c]; c += 1 }
            }
        }
        return dx
    }
}
