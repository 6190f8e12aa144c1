// 2-D convolution. Padding-free layers of 16 or more input channels (every convolution after the
// first in the CNNs), and padding-free first layers, read their input in place, as the inference
// plan does: forward runs the register-tiled kernel with one segment per kernel tap, and the
// weight gradient is a C kernel that sums dY · x tap by tap (dk_conv_weight_gradient, vectors
// over channels; for fewer than 16 channels dk_conv_weight_gradient_by_outputs, vectors over
// outputs), so no im2col matrix is built at all.
// Among them, 3×3 stride-1 layers with an even output and channels in whole vectors of 8 (the
// cnn's second to fourth, the fast model's second) take Winograd's F(2×2, 3×3) instead, for
// forward, the input gradient and the weight gradient (Sources/CKernels/winograd.c): 2.25 times
// fewer multiply-adds, the same sums to within rounding.
// Other layers lower to im2col: forward multiplies each thread's im2col rows with the same
// tiled kernel, and the weight gradient is one GEMM over the batch.
//
// Layout: activations are NHWC, each sample's H·W·C values contiguous with the channels
// innermost. That makes every im2col row (one output position) a run of kh·kw contiguous
// copies of C floats, and the GEMM's output (positions × out-channels) is NHWC again, so no
// transposes are needed between layers. MaxPool and BatchNorm then vectorize over channels.
//
// The weight is stored as PyTorch's (O, C, kh, kw) for checkpoints; each step permutes it into
// the GEMM's (O, kh, kw, C) order (O·C·kh·kw floats, nothing next to the activations), and the
// gradient back. On the im2col path, forward lowers the whole batch into one im2col matrix and
// keeps it for the weight gradient (B·OH·OW × kh·kw·C floats: 85 MB for a layer like the CNN's
// second at batch 128, which now reads its input in place instead).
// A stride-1 layer's input gradient is itself a convolution (of the zero-padded output gradient
// with the kernel turned 180°), run by the inference plan's register-tiled kernel; other strides
// go through col2im in chunks of whole samples, each chunk's dCols at most 2²³ floats (32 MB), so
// that buffer does not grow with the batch.
import CKernels

/// The shape of one image sample, written C×H×W (PyTorch's order) but stored NHWC: each sample is
/// H·W·C contiguous floats with the channels innermost.
public struct ImageShape: Equatable, Sendable, CustomStringConvertible {
    /// Values per pixel (C): 1 for a grayscale digit, the output channels after a convolution.
    public var channels: Int
    /// The image's height in pixels (H).
    public var height: Int
    /// The image's width in pixels (W).
    public var width: Int

    /// The shape `channels` × `height` × `width`.
    public init(channels: Int, height: Int, width: Int) {
        self.channels = channels
        self.height = height
        self.width = width
    }

    /// Floats per sample, C·H·W: the row size of a (B, H·W·C) activation tensor.
    public var count: Int { channels * height * width }
    public var description: String { "\(channels)×\(height)×\(width)" }
}

/// A 2-D convolution over NHWC images, as PyTorch's `Conv2d`: (B, H·W·C) → (B, OH·OW·O), where
/// OH = (H + 2·padding − kh) / stride + 1 and likewise OW. Padding-free layers with 16 or more
/// input channels, and padding-free first layers, read their input in place (C kernels for the
/// product and the weight gradient); the others go through im2col, with the weight gradient as
/// one OpenBLAS GEMM. The weight keeps PyTorch's (O, C, kh, kw) layout for checkpoints. A 3×3
/// single-channel first layer with whole vectors of outputs takes the direct path and can also
/// do the ReLU and max-pool that follow it (`fusedPool`), then giving (B, PH·PW·O).
public final class Conv2D: Layer, WeightedLayer {
    /// The threads its passes run on (see `use`).
    private(set) var compute = ComputeContext.serial
    public func use(_ compute: ComputeContext) { self.compute = compute }

    /// The per-sample input shape (C×H×W) the layer was built for; forward checks it.
    public let input: ImageShape
    /// What the layer outputs: the convolution, or its pooled maximum when fused with a pool.
    public let output: ImageShape
    /// The convolution's own output shape (before any fused pooling).
    public let convolved: ImageShape
    /// A fused ReLU + max-pool over non-overlapping k×k windows (0: none). Only the direct path
    /// fuses: the large first activation is then never written, read back or differentiated
    /// whole. Forward keeps, per pooled value, which window position won (−1 for a window
    /// whose maximum was ≤ 0), and backward sends the gradient only there.
    public let fusedPool: Int
    private var poolWinners: UnsafeMutablePointer<Int32>  // (B, PH·PW·O)
    private var poolWinnerCapacity = 0
    /// The kernel's height kh, in pixels.
    public let kernelHeight: Int
    /// The kernel's width kw, in pixels.
    public let kernelWidth: Int
    /// The step between output positions, in input pixels, in both directions.
    public let stride: Int
    /// Zero pixels added on every side of the input before convolving.
    public let padding: Int
    /// The kernels, shape (O, C, kh, kw) as PyTorch's, saved as `NAME.weight`. Each forward permutes
    /// it into the GEMM's (O, kh, kw, C) order.
    public let weight: Parameter  // (O, C, kh, kw), PyTorch's layout
    /// The bias, one value per output channel (O), saved as `NAME.bias`; when `hasBias` is false it
    /// stays at zero and is neither trained nor saved.
    public let bias: Parameter    // (O); held at zero, and not trained or saved, when `hasBias` is false
    /// False for a convolution followed by BatchNorm, whose own bias makes this one redundant
    /// (torchvision's ResNet convolutions): the checkpoint then has no `NAME.bias`.
    public let hasBias: Bool
    /// The first layer's input gradient is never used; skipping it saves a GEMM and a col2im.
    public package(set) var computesInputGradient = true

    private let patchSize: Int                 // K = kh·kw·C
    private let samplesPerChunk: Int
    private var gemmWeight: Tensor             // (O, kh, kw, C): the weight in im2col's order
    private var gemmWeightGradient: Tensor     // (O, kh, kw, C)
    /// The weight as the register-tiled kernel (dk_tile) reads it, repacked by each forward:
    /// panels of 32 output channels, each (K, 32), zero past the last channel; and the bias.
    private let panelWeight: UnsafeMutablePointer<Float>  // (⌈O/32⌉, K, 32), 64-byte aligned
    private let panelBias: UnsafeMutablePointer<Float>    // (⌈O/32⌉·32)
    /// Stride-1 layers take the input gradient as a convolution of the zero-padded output
    /// gradient with the kernel turned 180° and its channels swapped, on the register-tiled
    /// kernel of the inference plan (dk_tile): no dCols matrix, no col2im scatter.
    private let tiledInputGradient: Bool
    private let turnedPanels: UnsafeMutablePointer<Float>   // (⌈C/32⌉, kh·kw·O, 32): the turned kernel, packed each backward
    private let turnedOffsets: UnsafeMutablePointer<Int>    // (kh·kw): each tap's offset in the padded gradient
    private let zeroBias: UnsafeMutablePointer<Float>       // (32)
    private var paddedGradients: UnsafeMutablePointer<Float>  // (parts, PH·PW·O): one zero-bordered dY per part
    private var paddedGradientParts = 0
    private var columns: Tensor?               // (B·OH·OW, K): the batch's im2col, kept for backward
    /// Padding-free layers with at least 16 input channels, and padding-free first layers (which
    /// compute no input gradient), read the input in place (see the file's header): im2col would
    /// copy every input value kh·kw times, and OpenBLAS packs it again.
    private var readsInPlace: Bool { !direct && padding == 0 && (input.channels >= 16 || !computesInputGradient) }
    private let tapOffsets: UnsafeMutablePointer<Int>          // (kh·kw): each tap's offset in the input image
    private let patchOffsets: UnsafeMutablePointer<Int>        // (K): each patch element's offset, for fewer than 16 channels
    private var weightGradientParts: Tensor    // (workers, O·K + O): per-worker dW (im2col's order) and db sums
    /// Padding-free, stride-1 3×3 layers of 16 or more input channels, in whole vectors of 8, with
    /// an even output, run Winograd's F(2×2, 3×3) (Sources/CKernels/winograd.c) for forward, the
    /// input gradient and the weight gradient: 2.25 times fewer multiply-adds than the tiled
    /// kernel's direct convolution, the same sums to within rounding.
    @_spi(Tools) public let usesWinograd: Bool

    /// Whether a convolution of these sizes (padding aside) suits Winograd's F(2×2, 3×3): a 3×3
    /// kernel at stride 1, 16 or more input channels (fewer do too little per transform), and
    /// what `dk_winograd_fits` asks (whole vectors of 8, an even output). The inference plan
    /// asks the same of the part of a layer's output its pool reads.
    static func winogradFits(kernelHeight: Int, kernelWidth: Int, stride: Int, channels: Int, outputs: Int,
                             outputHeight: Int, outputWidth: Int) -> Bool {
        kernelHeight == 3 && kernelWidth == 3 && stride == 1 && channels >= 16
            && dk_winograd_fits(outputHeight + 2, outputWidth + 2, channels, outputs) != 0
    }
    private let winogradWeights: UnsafeMutablePointer<Float>        // (16, ⌈O/32⌉, C, 32): G g Gᵀ, packed each forward
    private let turnedWinogradWeights: UnsafeMutablePointer<Float>  // (16, ⌈C/32⌉, O, 32): of the turned kernel, each backward
    private let winogradScratchSize: Int                            // floats one part's transforms need
    private var winogradScratch: UnsafeMutablePointer<Float>        // (parts, winogradScratchSize)
    private var winogradScratchParts = 0
    /// 3×3 single-channel first layers (K = 9, O a multiple of 16, no input gradient) skip
    /// im2col and GEMM: a product with K = 9 spends more time packing than multiplying.
    private let direct: Bool
    private var directWeight: Tensor           // (K, O): the weight for the direct path
    private var partials: Tensor               // (workers, K + 1, O): per-worker dW and db sums
    private var columnGradient: Tensor         // (chunk·OH·OW, K): one chunk's dCols; sized at the first backward,
                                               // so inference never pays for it (up to 32 MB per layer)
    private var inputReference: Tensor?        // (B, H·W·C), the previous layer's output
    private var outputBuffer: Tensor?          // (B, OH·OW·O)
    private var inputGradient: Tensor?         // (B, H·W·C)

    /// A convolution from `input` images to `outputChannels` channels with a kh×kw kernel, whose
    /// tensors are named `name.weight` and `name.bias`. The weights start at zero (`initialize(_:using:)`
    /// or a checkpoint fills them). A nonzero `fusedPool` also applies ReLU and a non-overlapping
    /// `fusedPool`×`fusedPool` max-pool; only `canFusePool` shapes allow it, and only as the first
    /// layer (one that computes no input gradient). `allowsWinograd: false` keeps a layer that
    /// could take Winograd's path (`usesWinograd`) on the direct convolution, to compare the two.
    /// Traps when the kernel does not fit the padded input.
    public init(name: String, input: ImageShape, outputChannels: Int, kernelHeight: Int, kernelWidth: Int,
                stride: Int = 1, padding: Int = 0, fusedPool: Int = 0, hasBias: Bool = true, allowsWinograd: Bool = true) {
        precondition(kernelHeight > 0 && kernelWidth > 0 && stride > 0 && padding >= 0)
        let outputHeight = (input.height + 2 * padding - kernelHeight) / stride + 1
        let outputWidth = (input.width + 2 * padding - kernelWidth) / stride + 1
        precondition(outputHeight > 0 && outputWidth > 0, "a \(kernelHeight)×\(kernelWidth) kernel does not fit \(input)")
        self.input = input
        convolved = ImageShape(channels: outputChannels, height: outputHeight, width: outputWidth)
        precondition(fusedPool == 0 || (Self.canFusePool(input: input, outputChannels: outputChannels, kernelHeight: kernelHeight,
                                                          kernelWidth: kernelWidth) && fusedPool <= min(outputHeight, outputWidth)))
        self.fusedPool = fusedPool
        output = fusedPool == 0 ? convolved
            : ImageShape(channels: outputChannels, height: outputHeight / fusedPool, width: outputWidth / fusedPool)
        poolWinners = .allocate(capacity: 1)
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        self.stride = stride
        self.padding = padding
        weight = Parameter(name: "\(name).weight", shape: [outputChannels, input.channels, kernelHeight, kernelWidth])
        bias = Parameter(name: "\(name).bias", shape: [outputChannels])
        self.hasBias = hasBias
        patchSize = kernelHeight * kernelWidth * input.channels
        gemmWeight = Tensor(shape: [outputChannels, patchSize])
        gemmWeightGradient = Tensor(shape: [outputChannels, patchSize])
        let outputPanels = (outputChannels + Int(DK_PANEL) - 1) / Int(DK_PANEL)
        panelWeight = alignedFloats(outputPanels * patchSize * Int(DK_PANEL))
        panelBias = alignedFloats(outputPanels * Int(DK_PANEL))
        tiledInputGradient = stride == 1 && padding < kernelHeight && padding < kernelWidth
        let inputPanels = (input.channels + Int(DK_PANEL) - 1) / Int(DK_PANEL)
        turnedPanels = alignedFloats(tiledInputGradient ? inputPanels * kernelHeight * kernelWidth * outputChannels * Int(DK_PANEL) : 1)
        turnedOffsets = .allocate(capacity: kernelHeight * kernelWidth)
        let paddedWidth = outputWidth + 2 * (kernelWidth - 1 - padding)
        for ky in 0..<kernelHeight {
            for kx in 0..<kernelWidth { turnedOffsets[ky * kernelWidth + kx] = (ky * paddedWidth + kx) * outputChannels }
        }
        zeroBias = alignedFloats(Int(DK_PANEL))
        paddedGradients = alignedFloats(1)
        let positions = outputHeight * outputWidth
        samplesPerChunk = max(1, (1 << 23) / (positions * patchSize))
        columnGradient = Tensor(shape: [0, patchSize])
        direct = Self.canFusePool(input: input, outputChannels: outputChannels, kernelHeight: kernelHeight, kernelWidth: kernelWidth)
        tapOffsets = .allocate(capacity: kernelHeight * kernelWidth)
        patchOffsets = .allocate(capacity: patchSize)
        for ky in 0..<kernelHeight {
            for kx in 0..<kernelWidth {
                let tap = ky * kernelWidth + kx
                tapOffsets[tap] = (ky * input.width + kx) * input.channels
                for c in 0..<input.channels { patchOffsets[tap * input.channels + c] = tapOffsets[tap] + c }
            }
        }
        weightGradientParts = Tensor(shape: [0, outputChannels * (patchSize + 1)])
        usesWinograd = allowsWinograd && padding == 0
            && Self.winogradFits(kernelHeight: kernelHeight, kernelWidth: kernelWidth, stride: stride, channels: input.channels,
                                 outputs: outputChannels, outputHeight: outputHeight, outputWidth: outputWidth)
        winogradWeights = alignedFloats(usesWinograd ? dk_winograd_weights_size(outputChannels, input.channels) : 1)
        turnedWinogradWeights = alignedFloats(usesWinograd ? dk_winograd_weights_size(input.channels, outputChannels) : 1)
        winogradScratchSize = usesWinograd
            ? max(dk_winograd_conv_scratch(input.width, input.channels, outputChannels),
                  dk_winograd_conv_scratch(outputWidth + 4, outputChannels, input.channels),
                  dk_winograd_gradient_scratch(input.channels, outputChannels))
            : 0
        winogradScratch = alignedFloats(1)
        directWeight = Tensor(shape: [direct ? patchSize : 0, outputChannels])
        partials = Tensor(shape: [0, patchSize + 1, outputChannels])
    }

    deinit {
        poolWinners.deallocate()
        panelWeight.deallocate()
        panelBias.deallocate()
        turnedPanels.deallocate()
        turnedOffsets.deallocate()
        tapOffsets.deallocate()
        patchOffsets.deallocate()
        zeroBias.deallocate()
        paddedGradients.deallocate()
        winogradWeights.deallocate()
        turnedWinogradWeights.deallocate()
        winogradScratch.deallocate()
    }

    /// Whether the direct path applies (3×3, one input channel, whole vectors of outputs), and
    /// so whether a following ReLU + max-pool can be fused in. The fused layer must also be
    /// the first (it computes no input gradient).
    public static func canFusePool(input: ImageShape, outputChannels: Int, kernelHeight: Int, kernelWidth: Int) -> Bool {
        input.channels == 1 && kernelHeight == 3 && kernelWidth == 3 && outputChannels % 16 == 0
    }

    public var parameters: [Parameter] { hasBias ? [weight, bias] : [weight] }
    public var fanIn: Int { patchSize }
    public func outputFeatures(inputFeatures: Int) -> Int { output.count }
    public var description: String {
        "Conv2D(\(input.channels) → \(convolved.channels), \(kernelHeight)×\(kernelWidth)"
            + (stride != 1 ? ", stride \(stride)" : "") + (padding != 0 ? ", pad \(padding)" : "") + (hasBias ? "" : ", no bias") + ")"
            + (fusedPool > 0 ? " + ReLU + MaxPool2D(\(fusedPool)×\(fusedPool))" : "")
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        precondition(x.rowSize == input.count, "\(self) got \(x.rowSize) features per sample, expected \(input)")
        let batch = x.rows
        let y = ensure(&outputBuffer, rows: batch, features: output.count)
        // Winograd's passes read the weight in PyTorch's layout (dk_winograd_weights).
        if !usesWinograd { permuteWeight() }
        let positions = convolved.height * convolved.width
        let rows = batch * positions
        inputReference = x
        precondition(fusedPool == 0 || !computesInputGradient, "a fused \(self) must be the first layer")
        if fusedPool > 0 {
            fusedForward(x.data, into: y.data, batch: batch)
            return y
        }
        if direct && !computesInputGradient {
            directForward(x.data, into: y.data, batch: batch)
            return y
        }
        if usesWinograd {
            dk_winograd_weights(weight.value.data, convolved.channels, input.channels, 0, winogradWeights)
            reserveWinogradScratch()
            compute.split(batch, minimumPerWorker: 2, Pass(self, x: x.data, y: y.data)) { context, part, begin, end in
                let pass = context.load(as: Pass.self)
                let layer = pass.layer.takeUnretainedValue(), input = layer.input
                dk_winograd_conv3x3(pass.x, input.height, input.width, input.channels, layer.convolved.channels, layer.winogradWeights,
                                    layer.bias.value.data, pass.y, begin, end, layer.winogradScratch + part * layer.winogradScratchSize)
            }
            return y
        }
        packPanels()
        if readsInPlace {
            compute.split(batch, minimumPerWorker: 2, Pass(self, x: x.data, y: y.data)) { context, _, begin, end in
                let pass = context.load(as: Pass.self)
                pass.layer.takeUnretainedValue().inPlaceForwardPart(begin..<end, pass.x, pass.y)
            }
            return y
        }
        let columns = ensure(&columns, rows: rows, features: patchSize)
        // Each part lowers its samples to im2col rows (kept for the weight gradient) and
        // multiplies them while they are in cache, Y (rows, O) = b + cols (rows, K) · Wᵀ (K, O),
        // with the inference plan's register-tiled kernel: OpenBLAS would first copy the whole
        // im2col matrix into its own packed layout.
        compute.split(batch, minimumPerWorker: 2, Pass(self, x: x.data, y: y.data, columns: columns.data)) { context, _, begin, end in
            let pass = context.load(as: Pass.self)
            pass.layer.takeUnretainedValue().forwardPart(begin..<end, pass)
        }
        inputReference = x
        return y
    }

    /// The weight (O, K) and bias into panels of 32 output channels for dk_tile.
    private func packPanels() {
        let w = gemmWeight.data, patchSize = self.patchSize
        DigitsKit.packPanels(outputs: convolved.channels, inputs: patchSize, into: panelWeight, bias: panelBias,
                             biasSource: bias.value.data) { o, k in w[o * patchSize + k] }
    }

    /// im2col for samples `part`, then their rows of the product, 14 rows at a time.
    private func forwardPart(_ part: Range<Int>, _ pass: Pass) {
        let columns = pass.columns!, y = pass.y
        im2colPart(part, Pass(self, x: pass.x, y: columns))
        let positions = convolved.height * convolved.width, outputChannels = convolved.channels, width = Int(DK_PANEL)
        var row = part.lowerBound * positions
        let end = part.upperBound * positions
        while row < end {
            let count = min(Int(DK_MAX_ROWS), end - row)
            var panel = 0
            while panel * width < outputChannels {
                dk_tile(count, columns + row * patchSize, patchSize, tileZeroOffset, 1, patchSize,
                        panelWeight + panel * patchSize * width, panelBias + panel * width,
                        y + row * outputChannels + panel * width, outputChannels, min(width, outputChannels - panel * width), 0)
                panel += 1
            }
            row += count
        }
    }

    /// Y for samples `part`, read from the input in place: up to 14 output pixels of a row per
    /// call, each kernel tap a run of C contiguous input channels (`tapOffsets`).
    private func inPlaceForwardPart(_ part: Range<Int>, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        let channels = input.channels, outputChannels = convolved.channels, width = Int(DK_PANEL)
        let taps = kernelHeight * kernelWidth
        for n in part {
            let image = x + n * input.count, out = y + n * convolved.count
            for oy in 0..<convolved.height {
                var ox = 0
                while ox < convolved.width {
                    let count = min(Int(DK_MAX_ROWS), convolved.width - ox)
                    let corner = image + (oy * stride * input.width + ox * stride) * channels
                    var panel = 0
                    while panel * width < outputChannels {
                        dk_tile(count, corner, stride * channels, tapOffsets, taps, channels, panelWeight + panel * patchSize * width,
                                panelBias + panel * width, out + (oy * convolved.width + ox) * outputChannels + panel * width,
                                outputChannels, min(width, outputChannels - panel * width), 0)
                        panel += 1
                    }
                    ox += count
                }
            }
        }
    }

    /// im2col alone, into the layer's column buffer: what forward does before its product.
    /// For the microbenchmarks, which time the lowering apart from the GEMM.
    @_spi(Tools) public func lowerToColumns(_ x: Tensor) {
        let columns = ensure(&columns, rows: x.rows * convolved.height * convolved.width, features: patchSize)
        im2col(x.data, into: columns.data, firstSample: 0, samples: x.rows)
    }

    public func backward(_ outputGradient: Tensor) -> Tensor {
        guard let x = inputReference else { preconditionFailure("\(self).backward before forward") }
        let batch = outputGradient.rows
        let positions = convolved.height * convolved.width, outputChannels = convolved.channels
        let dx = ensure(&inputGradient, rows: batch, features: input.count)
        if computesInputGradient && !tiledInputGradient { dx.zero() }
        if fusedPool > 0 {
            directGradient(x.data, outputGradient.data, batch: batch, .fused)
            return dx
        }
        if direct && !computesInputGradient {
            directGradient(x.data, outputGradient.data, batch: batch, .direct)
            return dx
        }
        let dyAll = outputGradient.data
        if readsInPlace {
            inPlaceWeightGradient(x.data, dyAll, batch: batch)
        } else {
            guard let columns else { preconditionFailure("\(self).backward before forward") }
            let rows = batch * positions
            // dW (O, K) = dYᵀ (O, B·OH·OW) · cols (B·OH·OW, K)
            compute.sgemm(transposeA: true, m: outputChannels, n: patchSize, k: rows,
                       a: outputGradient.data, lda: outputChannels, b: columns.data, ldb: patchSize,
                       beta: 0, c: gemmWeightGradient.data, ldc: patchSize)
            let db = bias.gradient.data
            // Without a bias nothing reads (or zeroes) its gradient: skip the sum.
            for row in 0..<(hasBias ? rows : 0) {
                let dyRow = dyAll + row * outputChannels
                var channel = 0
                while channel + 16 <= outputChannels { store16(load16(db + channel) + load16(dyRow + channel), db + channel); channel += 16 }
                while channel < outputChannels { db[channel] += dyRow[channel]; channel += 1 }
            }
        }
        if computesInputGradient && tiledInputGradient {
            turnedInputGradient(dyAll, into: dx.data, batch: batch)
        } else if computesInputGradient {
            columnGradient.setRows(max(columnGradient.rows, min(samplesPerChunk, batch) * positions))
            for first in Swift.stride(from: 0, to: batch, by: samplesPerChunk) {
                let samples = min(samplesPerChunk, batch - first)
                // dCols (rows, K) = dY (rows, O) · W (O, K), then scattered back onto the image.
                compute.sgemm(m: samples * positions, n: patchSize, k: outputChannels,
                           a: dyAll + first * convolved.count, lda: outputChannels, b: gemmWeight.data, ldb: patchSize,
                           beta: 0, c: columnGradient.data, ldc: patchSize)
                col2im(dx.data, firstSample: first, samples: samples)
            }
        }
        accumulateWeightGradient()
        return dx
    }

    /// dW (O, K) and db from the input in place: each worker adds its samples' sums into its own
    /// row of `weightGradientParts` (dk_conv_weight_gradient), and the rows are added in order,
    /// so the bits depend on the worker count only.
    private func inPlaceWeightGradient(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, batch: Int) {
        let outputChannels = convolved.channels, size = outputChannels * (patchSize + 1)
        if weightGradientParts.rows < compute.threads { weightGradientParts = Tensor(shape: [compute.threads, size]) }
        if usesWinograd { reserveWinogradScratch() }
        weightGradientParts.zero()
        compute.split(batch, maximumParts: weightGradientParts.rows, Pass(self, x: x, y: UnsafeMutablePointer(mutating: dy))) {
            context, part, begin, end in
            let pass = context.load(as: Pass.self)
            let layer = pass.layer.takeUnretainedValue()
            let (input, output) = (layer.input, layer.convolved)
            let sums = layer.weightGradientParts.data + part * output.channels * (layer.patchSize + 1)
            if layer.usesWinograd {
                dk_winograd_weight_gradient(pass.x, input.height, input.width, input.channels, pass.y, output.channels, begin, end,
                                            sums, layer.winogradScratch + part * layer.winogradScratchSize)
            } else if input.channels >= 16 {
                dk_conv_weight_gradient(pass.x, input.height, input.width, input.channels, layer.stride, pass.y, output.height,
                                        output.width, output.channels, layer.kernelHeight, layer.kernelWidth, begin, end, sums)
            } else {
                // Few channels would fill few lanes: vectorize over the outputs instead.
                dk_conv_weight_gradient_by_outputs(pass.x, input.height, input.width, input.channels, layer.stride, pass.y,
                                                   output.height, output.width, output.channels, layer.kernelHeight,
                                                   layer.kernelWidth, layer.patchOffsets, begin, end, sums)
            }
        }
        let dW = gemmWeightGradient.data, db = bias.gradient.data, weights = outputChannels * patchSize
        copy(weightGradientParts.data, to: dW, count: weights)
        for part in 1..<weightGradientParts.rows {
            let sums = weightGradientParts.data + part * size
            for i in 0..<weights { dW[i] += sums[i] }
        }
        for part in 0..<(hasBias ? weightGradientParts.rows : 0) {
            let sums = weightGradientParts.data + part * size + weights
            for o in 0..<outputChannels { db[o] += sums[o] }
        }
    }

    // MARK: The input gradient of stride-1 layers, as a convolution

    /// dX = dY, zero-padded by kh − 1 − padding, convolved with W turned 180° with its input and
    /// output channels swapped: dX[iy, ix, c] = Σ dY[iy − ky + p, ix − kx + p, o] · W[o, c, ky, kx].
    private func turnedInputGradient(_ dy: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Float>, batch: Int) {
        let width = Int(DK_PANEL), outputChannels = convolved.channels, channels = input.channels
        let taps = kernelHeight * kernelWidth, source = weight.value.data
        if usesWinograd {
            // The turned kernel in Winograd's form, in place of dk_tile's panels.
            dk_winograd_weights(source, outputChannels, channels, 1, turnedWinogradWeights)
            reserveWinogradScratch()
        } else {
            for c in 0..<channels {
                let panel = turnedPanels + (c / width) * taps * outputChannels * width + c % width
                for tap in 0..<taps {
                    let (ky, kx) = (kernelHeight - 1 - tap / kernelWidth, kernelWidth - 1 - tap % kernelWidth)
                    for o in 0..<outputChannels {
                        panel[(tap * outputChannels + o) * width] = source[((o * channels + c) * kernelHeight + ky) * kernelWidth + kx]
                    }
                }
            }
        }
        if paddedGradientParts < compute.threads {
            // Zeroed once: each part writes only the interior, so the border stays zero.
            paddedGradients.deallocate()
            paddedGradientParts = compute.threads
            paddedGradients = alignedFloats(paddedGradientParts * paddedGradientSize)
        }
        compute.split(batch, maximumParts: paddedGradientParts, Pass(self, x: dy, y: dx)) { context, part, begin, end in
            let pass = context.load(as: Pass.self)
            pass.layer.takeUnretainedValue().turnedPart(part, begin..<end, pass.x, pass.y)
        }
    }

    /// Scratch for each part of the Winograd passes, allocated once for the thread count.
    private func reserveWinogradScratch() {
        guard winogradScratchParts < compute.threads else { return }
        winogradScratch.deallocate()
        winogradScratchParts = compute.threads
        winogradScratch = alignedFloats(winogradScratchParts * winogradScratchSize)
    }

    /// Floats in one sample's zero-bordered output gradient.
    private var paddedGradientSize: Int {
        (convolved.height + 2 * (kernelHeight - 1 - padding)) * (convolved.width + 2 * (kernelWidth - 1 - padding)) * convolved.channels
    }

    private func turnedPart(_ part: Int, _ samples: Range<Int>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>) {
        let width = Int(DK_PANEL), rowsPerTile = Int(DK_MAX_ROWS)
        let outputChannels = convolved.channels, channels = input.channels, taps = kernelHeight * kernelWidth
        let borderY = kernelHeight - 1 - padding, borderX = kernelWidth - 1 - padding
        let paddedWidth = convolved.width + 2 * borderX
        let padded = paddedGradients + part * paddedGradientSize
        let rowFloats = convolved.width * outputChannels
        for n in samples {
            let gradient = dy + n * convolved.count
            for oy in 0..<convolved.height {
                copy(gradient + oy * rowFloats, to: padded + ((oy + borderY) * paddedWidth + borderX) * outputChannels, count: rowFloats)
            }
            let image = dx + n * input.count
            if usesWinograd {
                dk_winograd_conv3x3(padded, convolved.height + 2 * borderY, paddedWidth, outputChannels, channels, turnedWinogradWeights,
                                    nil, image, 0, 1, winogradScratch + part * winogradScratchSize)
                continue
            }
            for iy in 0..<input.height {
                var ix = 0
                while ix < input.width {
                    let count = min(rowsPerTile, input.width - ix)
                    var panel = 0
                    while panel * width < channels {
                        dk_tile(count, padded + (iy * paddedWidth + ix) * outputChannels, outputChannels, turnedOffsets, taps,
                                outputChannels, turnedPanels + panel * taps * outputChannels * width, zeroBias,
                                image + (iy * input.width + ix) * channels + panel * width, channels,
                                min(width, channels - panel * width), 0)
                        panel += 1
                    }
                    ix += count
                }
            }
        }
    }

    // MARK: The direct path (3×3 single-channel first layers)

    /// The 9 input values under output position (oy, ox), zeros over the padding. Scalars, not
    /// a vector: each is broadcast where it multiplies, which costs less than assembling lanes.
    typealias Patch = (Float, Float, Float, Float, Float, Float, Float, Float, Float)

    @inline(__always)
    private func patch(_ image: UnsafePointer<Float>, _ oy: Int, _ ox: Int) -> Patch {
        let height = input.height, width = input.width
        let top = oy * stride - padding, left = ox * stride - padding
        if padding == 0 {
            let a = image + top * width + left, b = a + width, c = b + width
            return (a[0], a[1], a[2], b[0], b[1], b[2], c[0], c[1], c[2])
        }
        @inline(__always) func value(_ ky: Int, _ kx: Int) -> Float {
            let iy = top + ky, ix = left + kx
            return iy >= 0 && iy < height && ix >= 0 && ix < width ? image[iy * width + ix] : 0
        }
        return (value(0, 0), value(0, 1), value(0, 2), value(1, 0), value(1, 1), value(1, 2), value(2, 0), value(2, 1), value(2, 2))
    }

    /// b + Σ_t p_t · W[t, block..<block+16], with W as (9, O).
    @inline(__always)
    private static func dot(_ p: Patch, _ weights: UnsafePointer<Float>, _ outputChannels: Int, _ start: SIMD16<Float>) -> SIMD16<Float> {
        var sum = start
        sum += p.0 * load16(weights); sum += p.1 * load16(weights + outputChannels)
        sum += p.2 * load16(weights + 2 * outputChannels); sum += p.3 * load16(weights + 3 * outputChannels)
        sum += p.4 * load16(weights + 4 * outputChannels); sum += p.5 * load16(weights + 5 * outputChannels)
        sum += p.6 * load16(weights + 6 * outputChannels); sum += p.7 * load16(weights + 7 * outputChannels)
        sum += p.8 * load16(weights + 8 * outputChannels)
        return sum
    }

    /// The weight as (9, O), so one tap's 16 output channels are one vector load.
    private func transposeDirectWeight() {
        let outputChannels = convolved.channels, taps = patchSize
        let w = directWeight.data, g = gemmWeight.data
        for o in 0..<outputChannels { for t in 0..<taps { w[t * outputChannels + o] = g[o * taps + t] } }
    }

    /// Y[p, :] = b + Σ_t patch[t] · W[:, t], 16 output channels per vector.
    private func directForward(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, batch: Int) {
        transposeDirectWeight()
        compute.split(batch, minimumPerWorker: 4, Pass(self, x: x, y: y)) { context, _, begin, end in
            let pass = context.load(as: Pass.self)
            pass.layer.takeUnretainedValue().directForward(begin..<end, pass.x, into: pass.y)
        }
    }

    private func directForward(_ samples: Range<Int>, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        let outputChannels = convolved.channels
        let b = UnsafePointer(bias.value.data), weights = UnsafePointer(directWeight.data)
        let outputHeight = convolved.height, outputWidth = convolved.width, sampleSize = input.count
        for n in samples {
            let image = x + n * sampleSize
            for oy in 0..<outputHeight {
                for ox in 0..<outputWidth {
                    let values = patch(image, oy, ox)
                    let out = y + ((n * outputHeight + oy) * outputWidth + ox) * outputChannels
                    var block = 0
                    while block < outputChannels {
                        store16(Self.dot(values, weights + block, outputChannels, load16(b + block)), out + block)
                        block += 16
                    }
                }
            }
        }
    }

    /// What a part of a split pass needs: the layer and the storage it reads and writes.
    private struct Pass {
        let layer: Unmanaged<Conv2D>
        let x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>
        let kind: GradientSource
        /// im2col and col2im: the chunk's first sample.
        let first: Int
        /// The tiled forward: the im2col rows it writes and multiplies.
        let columns: UnsafeMutablePointer<Float>?
        init(_ layer: Conv2D, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, kind: GradientSource = .direct, first: Int = 0,
             columns: UnsafeMutablePointer<Float>? = nil) {
            self.layer = .passUnretained(layer)
            (self.x, self.y, self.kind, self.first, self.columns) = (x, y, kind, first, columns)
        }
    }

    /// Which positions the direct weight gradient adds up.
    private enum GradientSource { case direct, fused }

    /// dW[:, t] and db for 16 output channels, held in registers while positions are added.
    struct PatchSums {
        var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>(), a4 = SIMD16<Float>()
        var a5 = SIMD16<Float>(), a6 = SIMD16<Float>(), a7 = SIMD16<Float>(), a8 = SIMD16<Float>(), bias = SIMD16<Float>()

        /// One position: its patch times its output gradient g.
        @inline(__always)
        mutating func add(_ v: Patch, _ g: SIMD16<Float>) {
            a0 += v.0 * g; a1 += v.1 * g; a2 += v.2 * g
            a3 += v.3 * g; a4 += v.4 * g; a5 += v.5 * g
            a6 += v.6 * g; a7 += v.7 * g; a8 += v.8 * g
            bias += g
        }

        /// Rows 0–8 (the taps) and 9 (the bias) of a (10, O) block of sums.
        @inline(__always)
        func store(_ row: UnsafeMutablePointer<Float>, stride: Int) {
            store16(a0, row); store16(a1, row + stride); store16(a2, row + 2 * stride)
            store16(a3, row + 3 * stride); store16(a4, row + 4 * stride); store16(a5, row + 5 * stride)
            store16(a6, row + 6 * stride); store16(a7, row + 7 * stride); store16(a8, row + 8 * stride)
            store16(bias, row + 9 * stride)
        }
    }

    /// dW and db for the direct paths from the input x and the output gradient dy: every
    /// position (`.direct`) or the pool's winners (`.fused`). The sums are taken per worker in
    /// Float, 16 output channels at a time, and the workers' sums added in order.
    private func directGradient(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, batch: Int, _ kind: GradientSource) {
        let outputChannels = convolved.channels, taps = patchSize, stride = (taps + 1) * outputChannels
        let threads = compute.threads
        if partials.rows < threads { partials = Tensor(shape: [threads, taps + 1, outputChannels]) }
        partials.zero()
        compute.split(batch, minimumPerWorker: 4, Pass(self, x: x, y: UnsafeMutablePointer(mutating: dy), kind: kind)) { context, part, begin, end in
            let pass = context.load(as: Pass.self)
            pass.layer.takeUnretainedValue().gradientPart(part, begin..<end, pass.x, pass.y, pass.kind)
        }
        let sums = partials.data
        let dW = gemmWeightGradient.data, db = bias.gradient.data
        gemmWeightGradient.zero()
        for part in 0..<partials.rows {
            let sum = sums + part * stride
            for o in 0..<outputChannels {
                for t in 0..<taps { dW[o * taps + t] += sum[t * outputChannels + o] }
                if hasBias { db[o] += sum[taps * outputChannels + o] }
            }
        }
        accumulateWeightGradient()
    }

    private func gradientPart(_ part: Int, _ samples: Range<Int>, _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ kind: GradientSource) {
        let outputChannels = convolved.channels, stride = (patchSize + 1) * outputChannels
        if kind == .fused {
            // In C: Swift's masked SIMD selects made this loop several times slower than the
            // sums themselves (13.6% of a cnn-basic epoch, perf record).
            dk_pool_conv3x3_gradient(x, input.height, input.width, padding, self.stride, dy, poolWinners,
                                     samples.lowerBound, samples.upperBound, output.height, output.width, fusedPool,
                                     outputChannels, partials.data + part * stride)
            return
        }
        var block = 0
        while block < outputChannels {
            var blockSums = PatchSums()
            directSums(samples, block, x, dy, &blockSums)
            blockSums.store(partials.data + part * stride + block, stride: outputChannels)
            block += 16
        }
    }

    /// dW[:, t] = Σ_p dY[p, :] · patch_p[t] and db = Σ_p dY[p, :], over every position.
    @inline(__always)
    private func directSums(_ samples: Range<Int>, _ block: Int, _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                            _ result: inout PatchSums) {
        let outputChannels = convolved.channels
        let outputHeight = convolved.height, outputWidth = convolved.width, sampleSize = input.count
        var sums = result  // a local, so the sums stay in registers
        for n in samples {
            let image = x + n * sampleSize
            for oy in 0..<outputHeight {
                for ox in 0..<outputWidth {
                    let g = load16(dy + ((n * outputHeight + oy) * outputWidth + ox) * outputChannels + block)
                    sums.add(patch(image, oy, ox), g)
                }
            }
        }
        result = sums
    }

    // MARK: Fused ReLU + max-pool (direct path only)

    /// For each pooled cell: the convolution at each window position (row-major), the first
    /// maximum, then ReLU.
    private func fusedForward(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, batch: Int) {
        transposeDirectWeight()
        if batch * output.count > poolWinnerCapacity {
            poolWinners.deallocate()
            poolWinnerCapacity = batch * output.count
            poolWinners = .allocate(capacity: poolWinnerCapacity)
        }
        compute.split(batch, minimumPerWorker: 4, Pass(self, x: x, y: y)) { context, _, begin, end in
            let pass = context.load(as: Pass.self)
            pass.layer.takeUnretainedValue().fusedForward(begin..<end, pass.x, into: pass.y)
        }
    }

    private func fusedForward(_ samples: Range<Int>, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        let outputChannels = convolved.channels, pool = fusedPool
        let b = UnsafePointer(bias.value.data), weights = UnsafePointer(directWeight.data), winners = poolWinners
        let pooledHeight = output.height, pooledWidth = output.width, sampleSize = input.count, pooledSize = output.count
        for n in samples {
            let image = x + n * sampleSize
            for py in 0..<pooledHeight {
                for px in 0..<pooledWidth {
                    let cell = n * pooledSize + (py * pooledWidth + px) * outputChannels
                    var block = 0
                    while block < outputChannels {
                        var best = SIMD16<Float>(), winner = SIMD16<Int32>()
                        for position in 0..<(pool * pool) {
                            let values = patch(image, py * pool + position / pool, px * pool + position % pool)
                            let sum = Self.dot(values, weights + block, outputChannels, load16(b + block))
                            if position == 0 {
                                best = sum
                            } else {
                                let larger = sum .> best
                                best.replace(with: sum, where: larger)
                                winner.replace(with: Int32(position), where: larger)
                            }
                        }
                        let dead = best .<= 0
                        best.replace(with: 0, where: dead)
                        winner.replace(with: -1, where: dead)
                        store16(best, y + cell + block)
                        UnsafeMutableRawPointer(winners + cell + block).storeBytes(of: winner, as: SIMD16<Int32>.self)
                        block += 16
                    }
                }
            }
        }
    }

    // MARK: Weight layout

    /// (O, C, kh, kw) → (O, kh, kw, C).
    private func permuteWeight() {
        let channels = input.channels, taps = kernelHeight * kernelWidth
        let source = weight.value.data, destination = gemmWeight.data
        for o in 0..<convolved.channels {
            for c in 0..<channels {
                for tap in 0..<taps { destination[o * patchSize + tap * channels + c] = source[o * patchSize + c * taps + tap] }
            }
        }
    }

    /// gradient (O, C, kh, kw) += (O, kh, kw, C).
    private func accumulateWeightGradient() {
        let channels = input.channels, taps = kernelHeight * kernelWidth
        let source = gemmWeightGradient.data, destination = weight.gradient.data
        for o in 0..<convolved.channels {
            for c in 0..<channels {
                for tap in 0..<taps { destination[o * patchSize + c * taps + tap] += source[o * patchSize + tap * channels + c] }
            }
        }
    }

    // MARK: im2col and col2im

    /// Row (n, oy, ox) of `columns` = the kh×kw×C patch under output position (oy, ox) of
    /// sample `firstSample + n`, zeros where it hangs over the padding.
    private func im2col(_ x: UnsafePointer<Float>, into columns: UnsafeMutablePointer<Float>, firstSample: Int, samples: Int) {
        compute.split(samples, minimumPerWorker: 2, Pass(self, x: x, y: columns, first: firstSample)) { context, _, begin, end in
            let pass = context.load(as: Pass.self)
            pass.layer.takeUnretainedValue().im2colPart(begin..<end, pass)
        }
    }

    private func im2colPart(_ part: Range<Int>, _ pass: Pass) {
        let channels = input.channels, height = input.height, width = input.width
        let positions = convolved.height * convolved.width
        let (x, columns, firstSample) = (pass.x, pass.y, pass.first)
        var row = columns + part.lowerBound * positions * patchSize
        for n in (firstSample + part.lowerBound)..<(firstSample + part.upperBound) {
            let image = x + n * input.count
            for oy in 0..<convolved.height {
                for ox in 0..<convolved.width {
                    var destination = row
                    for ky in 0..<kernelHeight {
                        let iy = oy * stride + ky - padding
                        let firstX = ox * stride - padding
                        if iy < 0 || iy >= height {
                            destination.update(repeating: 0, count: kernelWidth * channels)
                        } else if firstX >= 0 && firstX + kernelWidth <= width {
                            // The whole kernel row is inside: kw·C contiguous floats.
                            copy(image + (iy * width + firstX) * channels, to: destination, count: kernelWidth * channels)
                        } else {
                            for kx in 0..<kernelWidth {
                                let ix = firstX + kx
                                if ix < 0 || ix >= width {
                                    (destination + kx * channels).update(repeating: 0, count: channels)
                                } else {
                                    copy(image + (iy * width + ix) * channels, to: destination + kx * channels, count: channels)
                                }
                            }
                        }
                        destination += kernelWidth * channels
                    }
                    row += patchSize
                }
            }
        }
    }

    /// A short copy without a memmove call: the runs are kw·C floats, often only 3.
    @inline(__always)
    private func copy(_ source: UnsafePointer<Float>, to destination: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + 16 <= count { store16(load16(source + i), destination + i); i += 16 }
        while i < count { destination[i] = source[i]; i += 1 }
    }

    /// The adjoint of im2col: adds each row of `columnGradient` back onto the pixels it came from.
    private func col2im(_ dx: UnsafeMutablePointer<Float>, firstSample: Int, samples: Int) {
        compute.split(samples, minimumPerWorker: 2, Pass(self, x: UnsafePointer(dx), y: dx, first: firstSample)) { context, _, begin, end in
            let pass = context.load(as: Pass.self)
            pass.layer.takeUnretainedValue().col2imPart(begin..<end, pass)
        }
    }

    private func col2imPart(_ part: Range<Int>, _ pass: Pass) {
        let channels = input.channels, height = input.height, width = input.width
        let positions = convolved.height * convolved.width
        let (dx, firstSample) = (pass.y, pass.first)
        var row = UnsafePointer(columnGradient.data + part.lowerBound * positions * patchSize)
        for n in (firstSample + part.lowerBound)..<(firstSample + part.upperBound) {
            let image = dx + n * input.count
            for oy in 0..<convolved.height {
                for ox in 0..<convolved.width {
                    var source = row
                    for ky in 0..<kernelHeight {
                        let iy = oy * stride + ky - padding
                        if iy >= 0 && iy < height {
                            for kx in 0..<kernelWidth {
                                let ix = ox * stride + kx - padding
                                if ix >= 0 && ix < width {
                                    let pixel = image + (iy * width + ix) * channels, gradient = source + kx * channels
                                    var c = 0
                                    while c + 16 <= channels { store16(load16(pixel + c) + load16(gradient + c), pixel + c); c += 16 }
                                    while c < channels { pixel[c] += gradient[c]; c += 1 }
                                }
                            }
                        }
                        source += kernelWidth * channels
                    }
                    row += patchSize
                }
            }
        }
    }
}
