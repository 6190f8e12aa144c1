// Max pooling over kh×kw windows (NHWC, no padding, windows that do not fit are dropped, as
// PyTorch's default floor mode). Forward keeps, per output value, the index of the input value
// that won; backward routes the gradient there. Ties go to the first value in row-major window
// order, so the choice is deterministic.
//
// With `rectifies`, the layer also applies the ReLU that comes before it in the model:
// max(ReLU(x)) = ReLU(max(x)), so rectifying the pooled values does the same on a quarter of
// the values, and saves a pass over the larger input. A window whose maximum is ≤ 0 outputs 0
// and passes no gradient back, exactly as ReLU then pooling would.

import CKernels

/// Max pooling over square windows of NHWC images, as PyTorch's `MaxPool2d` without padding
/// (windows that do not fit are dropped): (B, H·W·C) → (B, OH·OW·C), OH = (H − kernel) / stride + 1.
/// Ties go to the first value in row-major window order, so the gradient's route is deterministic.
/// With `rectifies` it also applies the ReLU before it.
public final class MaxPool2D: Layer {
    /// The threads its passes run on (see `use`).
    private(set) var compute = ComputeContext.serial
    public func use(_ compute: ComputeContext) { self.compute = compute }

    /// The per-sample input shape (C×H×W); forward checks it.
    public let input: ImageShape
    /// The pooled shape: the same channels, (H − kernel) / stride + 1 by (W − kernel) / stride + 1.
    public let output: ImageShape
    /// The side of the square window, in pixels.
    public let kernel: Int
    /// The step between windows, in pixels: `kernel` for non-overlapping windows (PyTorch's default).
    public let stride: Int
    /// True when the layer also does the ReLU that comes before it in the model (max and ReLU
    /// commute): a window whose maximum is ≤ 0 outputs 0 and passes no gradient back.
    public let rectifies: Bool
    private var outputBuffer: Tensor?              // (B, OH·OW·C)
    private var inputGradient: Tensor?             // (B, H·W·C)
    private var winners: UnsafeMutablePointer<Int32>  // (B, OH·OW·C): index within the sample, −1 for none
    private var winnerCapacity = 0

    /// A pool over `input` images with a `kernel`×`kernel` window moving by `stride` (by default the
    /// kernel, so windows do not overlap), also rectifying when `rectifies`. Traps unless the kernel
    /// and stride are positive and the window fits the image.
    public init(input: ImageShape, kernel: Int, stride: Int? = nil, rectifies: Bool = false) {
        self.rectifies = rectifies
        let stride = stride ?? kernel
        precondition(kernel > 0 && stride > 0 && kernel <= input.height && kernel <= input.width)
        self.input = input
        self.kernel = kernel
        self.stride = stride
        output = ImageShape(channels: input.channels, height: (input.height - kernel) / stride + 1,
                            width: (input.width - kernel) / stride + 1)
        winners = .allocate(capacity: 1)
    }

    deinit { winners.deallocate() }

    private static let lanes = SIMD16<Int32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)

    public func outputFeatures(inputFeatures: Int) -> Int { output.count }
    public var description: String {
        (rectifies ? "ReLU + " : "") + "MaxPool2D(\(kernel)×\(kernel)" + (stride != kernel ? ", stride \(stride)" : "") + ")"
    }

    /// Non-overlapping windows (C kernels, 16 channels a vector, masked at the end): forward keeps
    /// no indices, and backward finds each window's first maximum again while it writes every
    /// input gradient (one pass, no zeroing and no scatter). Overlapping windows keep indices.
    private var tiled: Bool { stride == kernel }
    private var inputReference: Tensor?  // (B, H·W·C), for the tiled backward

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        precondition(x.rowSize == input.count, "\(self) got \(x.rowSize) features per sample, expected \(input)")
        let batch = x.rows
        let y = ensure(&outputBuffer, rows: batch, features: output.count)
        if tiled {
            inputReference = x
            tiledForward(x, y)
            return y
        }
        if batch * output.count > winnerCapacity {
            winners.deallocate()
            winnerCapacity = batch * output.count
            winners = .allocate(capacity: winnerCapacity)
        }
        compute.split(batch, minimumPerWorker: 8, Pass(layer: .passUnretained(self), x: x.data, y: y.data, dy: y.data, dx: y.data)) { context, _, begin, end in
            let pass = context.load(as: Pass.self)
            pass.layer.takeUnretainedValue().generalForward(begin..<end, pass)
        }
        return y
    }

    private func tiledForward(_ x: Tensor, _ y: Tensor) {
        compute.split(x.rows, minimumPerWorker: 8, Pass(layer: .passUnretained(self), x: x.data, y: y.data, dy: y.data, dx: y.data)) { context, _, begin, end in
            let pass = context.load(as: Pass.self)
            pass.layer.takeUnretainedValue().tiledForwardPart(begin..<end, pass)
        }
    }

    private func tiledBackward(_ outputGradient: Tensor, _ dx: Tensor) {
        guard let x = inputReference, let y = outputBuffer else { preconditionFailure("\(self).backward before forward") }
        compute.split(x.rows, minimumPerWorker: 8, Pass(layer: .passUnretained(self), x: x.data, y: y.data, dy: outputGradient.data, dx: dx.data)) { context, _, begin, end in
            let pass = context.load(as: Pass.self)
            pass.layer.takeUnretainedValue().tiledBackwardPart(begin..<end, pass)
        }
    }

    public func backward(_ outputGradient: Tensor) -> Tensor {
        let batch = outputGradient.rows
        let dx = ensure(&inputGradient, rows: batch, features: input.count)
        if tiled {
            tiledBackward(outputGradient, dx)
            return dx
        }
        compute.split(batch, minimumPerWorker: 8, Pass(layer: .passUnretained(self), x: dx.data, y: dx.data, dy: outputGradient.data, dx: dx.data)) { context, _, begin, end in
            let pass = context.load(as: Pass.self)
            pass.layer.takeUnretainedValue().generalBackward(begin..<end, pass)
        }
        return dx
    }

    /// What a part of a pass over the batch needs: the layer and the tensors' storage.
    private struct Pass {
        let layer: Unmanaged<MaxPool2D>
        let x: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>
        let dy: UnsafeMutablePointer<Float>, dx: UnsafeMutablePointer<Float>
    }

    private func generalForward(_ samples: Range<Int>, _ pass: Pass) {
        let channels = input.channels, width = input.width
        let winners = self.winners, rectifies = self.rectifies
        let (x, y) = (pass.x, pass.y)
        for n in samples {
            let image = x + n * input.count
            let pooled = y + n * output.count
            let chosen = winners + n * output.count
            for oy in 0..<output.height {
                for ox in 0..<output.width {
                    let out = (oy * output.width + ox) * channels
                    // Start from the window's first pixel, then let strictly larger values win.
                    let first = ((oy * stride) * width + ox * stride) * channels
                    var c = 0
                    // 16 channels at a time: compare, then take the larger values and their
                    // indices where strictly larger (the first maximum wins ties).
                    while c + 16 <= channels {
                        var best = load16(image + first + c)
                        var index = SIMD16<Int32>(repeating: Int32(first + c)) &+ Self.lanes
                        for ky in 0..<kernel {
                            for kx in 0..<kernel where ky != 0 || kx != 0 {
                                let pixel = ((oy * stride + ky) * width + ox * stride + kx) * channels + c
                                let values = load16(image + pixel)
                                let larger = values .> best
                                best.replace(with: values, where: larger)
                                index.replace(with: SIMD16<Int32>(repeating: Int32(pixel)) &+ Self.lanes, where: larger)
                            }
                        }
                        if rectifies {
                            let dead = best .<= 0
                            best.replace(with: 0, where: dead)
                            index.replace(with: -1, where: dead)
                        }
                        store16(best, pooled + out + c)
                        UnsafeMutableRawPointer(chosen + out + c).storeBytes(of: index, as: SIMD16<Int32>.self)
                        c += 16
                    }
                    while c < channels {
                        var best = image[first + c], index = first + c
                        for ky in 0..<kernel {
                            for kx in 0..<kernel where ky != 0 || kx != 0 {
                                let pixel = ((oy * stride + ky) * width + ox * stride + kx) * channels + c
                                if image[pixel] > best { best = image[pixel]; index = pixel }
                            }
                        }
                        if rectifies && best <= 0 { (best, index) = (0, -1) }
                        pooled[out + c] = best
                        chosen[out + c] = Int32(index)
                        c += 1
                    }
                }
            }
        }
        }

    private func tiledForwardPart(_ samples: Range<Int>, _ pass: Pass) {
        for n in samples {
            dk_maxpool(pass.x + n * input.count, input.width, input.channels, kernel, kernel, pass.y + n * output.count,
                       output.height, output.width, rectifies ? 1 : 0)
        }
    }

    private func tiledBackwardPart(_ samples: Range<Int>, _ pass: Pass) {
        // Pixels beyond the last whole window get no gradient.
        let covers = output.height * kernel == input.height && output.width * kernel == input.width
        for n in samples {
            let gradient = pass.dx + n * input.count
            if !covers { gradient.update(repeating: 0, count: input.count) }
            dk_maxpool_gradient(pass.x + n * input.count, pass.y + n * output.count, pass.dy + n * output.count, gradient,
                                input.width, input.channels, kernel, output.height, output.width, rectifies ? 1 : 0)
        }
    }

    private func generalBackward(_ samples: Range<Int>, _ pass: Pass) {
        let winners = self.winners
        let (outputGradient, dx) = (pass.dy, pass.dx)
            (dx + samples.lowerBound * input.count).update(repeating: 0, count: samples.count * input.count)
            for n in samples {
                let dy = outputGradient + n * output.count
                let chosen = winners + n * output.count
                let image = dx + n * input.count
                for index in 0..<output.count where chosen[index] >= 0 { image[Int(chosen[index])] += dy[index] }
            }
        }
}
