// A trained model compiled for inference, the way onnxruntime or XNNPACK prepare a graph:
//   - BatchNorm folds into the convolution or dense layer before it (running statistics);
//   - weights are packed once into panels of 32 output columns, the layout the register-tiled
//     kernel (CKernels' dk_tile) reads, with PyTorch's flatten order permuted away;
//   - bias and ReLU are applied as results leave the registers, max-pooling right after, and
//     output pixels that no pooling window covers are not computed;
//   - a convolution reads its input image in place (no im2col): a tile is up to 14 output
//     pixels along a row, and each kernel tap is one contiguous run of input channels;
//   - a 3×3 convolution with 16 or more input channels (the cnn's conv2–4, cnn-basic's and
//     fast's conv2) runs as Winograd's F(2×2, 3×3), as in training: 2.25 times fewer
//     multiply-adds, and each 2×2 block of outputs computed alone, so any split of the rows
//     between workers gives the same bits;
//   - every buffer is allocated when the plan is made, so a forward pass allocates nothing.
// Dropout is the identity here. A model with a layer the plan does not compile (an activation
// other than ReLU, BatchNorm after an activation) runs through the same entry point on a private
// copy of its Sequential layers (`isCompiled` is then false), so every caller (validation, the
// test score written at the end of training, evaluate, classify, serve, bench) has one path.
//
// Work is split between the context's threads by samples (batches), or, for a single
// convolutional sample, by output rows and then by output panels, so one image also uses every
// core. A plan runs one forward pass at a time: its buffers are shared by its calls.
import CKernels
import Synchronization

/// A trained model compiled for inference: BatchNorm folded into the layer before it, weights
/// packed once into panels for the register-tiled kernels, bias, ReLU and max-pooling applied
/// as results leave the registers, and every buffer allocated up front, so a forward pass
/// allocates nothing.
///
/// A model with a layer the plan cannot compile (such as an activation other than ReLU, or a
/// BatchNorm after an activation) runs through the same calls on a private copy of its layers
/// (`isCompiled` is then false). Work is split between the compute context's threads by
/// samples, or, for a single convolutional sample, by output rows and panels. A plan runs one
/// forward pass at a time: its buffers are shared by its calls, so concurrent callers need a
/// plan each.
public final class InferencePlan {
    /// A convolution with its bias, optional ReLU and optional max-pool.
    struct Convolution {
        let input: ImageShape        // as stored, before padding
        let padded: ImageShape       // the image the kernel reads (the input when padding is 0)
        let padding: Int
        let kernelHeight: Int, kernelWidth: Int, stride: Int
        let convolved: ImageShape    // the convolution's output
        var relu: Bool
        var pool: (kernel: Int, stride: Int)?
        var output: ImageShape {      // what the stage writes: pooled when it pools
            guard let pool else { return convolved }
            return ImageShape(channels: convolved.channels, height: (convolved.height - pool.kernel) / pool.stride + 1,
                              width: (convolved.width - pool.kernel) / pool.stride + 1)
        }
        /// The convolved rows and columns the stage's output reads: all of them, or those its
        /// pool's windows cover. A 2×2 pool of cnn-basic's 11×11 conv2 reads 10×10 of them,
        /// so the 21 of 121 pixels it drops are never computed.
        var used: (height: Int, width: Int) {
            guard let pool else { return (convolved.height, convolved.width) }
            return ((output.height - 1) * pool.stride + pool.kernel, (output.width - 1) * pool.stride + pool.kernel)
        }
        var weights: PackedWeights
        /// The folded kernels as Winograd's F(2×2, 3×3) multiplies them (dk_winograd_weights),
        /// for a stage that runs that way (see `takesWinograd`); nil for the direct kernel.
        var winograd: UnsafeMutablePointer<Float>?
        let offsets: UnsafeMutablePointer<Int>  // (taps): each tap's offset in the padded input
        var chunks: [(start: Int, count: Int)]  // the used output columns per tile, ≤ 14 each

        /// Whether the stage runs as Winograd's F(2×2, 3×3) does in training: its used rows and
        /// columns fit as a layer does (`Conv2D.winogradFits`; the padding is already in the
        /// input the stage reads), and it has no pool or a 2×2 one, so a pooled row is a row of
        /// output blocks.
        var takesWinograd: Bool {
            Conv2D.winogradFits(kernelHeight: kernelHeight, kernelWidth: kernelWidth, stride: stride, channels: input.channels,
                                outputs: convolved.channels, outputHeight: used.height, outputWidth: used.width)
                && (pool == nil || (pool!.kernel == 2 && pool!.stride == 2))
        }

        /// Transforms the (folded) packed kernels for Winograd's product.
        mutating func prepareWinograd() {
            let channels = input.channels, outputs = convolved.channels, width = Int(DK_PANEL)
            var kernels = [Float](repeating: 0, count: outputs * channels * 9)  // (O, C, 3, 3), PyTorch's order
            for o in 0..<outputs {
                for c in 0..<channels {
                    for tap in 0..<9 {
                        kernels[(o * channels + c) * 9 + tap] = weights.values[(o / width) * weights.inputs * width + (tap * channels + c) * width + o % width]
                    }
                }
            }
            let transformed = alignedFloats(dk_winograd_weights_size(outputs, channels))
            dk_winograd_weights(kernels, outputs, channels, 0, transformed)
            winograd = transformed
        }

        func deallocate() {
            weights.deallocate()
            offsets.deallocate()
            winograd?.deallocate()
        }

        /// Columns `0..<width` cut into the fewest tiles of at most DK_MAX_ROWS, as even as can be.
        static func chunks(width: Int) -> [(start: Int, count: Int)] {
            let tiles = (width + Int(DK_MAX_ROWS) - 1) / Int(DK_MAX_ROWS)
            return (0..<tiles).map { t in (width * t / tiles, width * (t + 1) / tiles - width * t / tiles) }
        }
    }

    /// A dense layer with its bias and optional ReLU.
    struct Dense {
        let inputs: Int
        var relu: Bool
        var weights: PackedWeights
    }

    enum Stage {
        case convolution(Convolution)
        case dense(Dense)
    }

    /// The architecture of the compiled model (its input shape, layers, classes and normalization).
    public let architecture: Architecture
    let convolutions: [Convolution]
    let denses: [Dense]
    /// Per-sample input size, and the floats the dense layers start from (the input itself for
    /// an MLP, the last convolution's output otherwise, in NHWC order).
    package let inputCount: Int
    let features: Int
    let classes: Int
    /// The threads a forward pass runs on.
    public let compute: ComputeContext
    /// A private copy of the model, for a model that does not compile (nil when it does).
    private let fallback: Sequential?
    /// The plan whose packed weights this one reads (`init(sharingWeightsOf:)`); nil when they
    /// are its own, freed with it.
    private let weightsOwner: InferencePlan?
    private var normalized: Tensor  // (B, input): the fallback's normalized pixels
    private var scratch: [Scratch] = []
    private var logitsBuffer: Tensor
    /// The next block of samples a worker takes (see runBlocks).
    private let nextBlock = Atomic<Int>(0)
    /// Samples per block (see runBlocks): the kernels' best, at most DK_MAX_ROWS.
    private let blockRows = Int(dk_block_rows())

    /// The instruction set the kernels were compiled for: "AVX-512", "AVX2" (with FMA), or
    /// "portable C" when the building machine had neither (or DIGITS_TARGET_CPU asked for a
    /// portable binary).
    public static var kernels: String {
        switch dk_vector_width() {
        case 16: return "AVX-512"
        case 8: return "AVX2"
        default: return "portable C"
        }
    }

    /// Compiles `model` to run on `compute` (the model's own context when nil). The plan copies
    /// the weights: later changes to the model do not reach it.
    public init(_ model: Sequential, compute: ComputeContext? = nil) {
        architecture = model.architecture
        inputCount = architecture.input.reduce(1, *)
        classes = architecture.classes
        self.compute = compute ?? model.compute
        if let (convolutions, denses) = Self.lower(model, inputCount: inputCount, classes: classes) {
            self.convolutions = convolutions
            self.denses = denses
            fallback = nil
        } else {
            convolutions = []
            denses = []
            // The architecture built `model` already, so it builds again; the copy keeps the
            // plan's buffers apart from the model's (and from other plans of the same model).
            if let copy = try? Sequential(model.architecture, random: nil, dropoutRandom: RandomGenerator(seed: 0),
                                          compute: self.compute) {
                for (target, source) in zip(copy.savedTensors, model.savedTensors) {
                    target.value.data.update(from: source.value.data, count: source.value.count)
                }
                fallback = copy
            } else {
                fallback = model
            }
        }
        weightsOwner = nil
        features = convolutions.last?.output.count ?? inputCount
        logitsBuffer = Tensor(shape: [1, classes])
        normalized = Tensor(shape: [0, inputCount])
    }

    /// Another plan of a compiled plan's model that reads `other`'s packed weights instead of
    /// packing them again, with buffers of its own: the two run at once (a request each, or two
    /// halves of one batch) and give the same bits. Packing is most of what making a plan of
    /// the CNN costs (its dense layer alone is 3 MB). `other` is kept alive while this plan is.
    public init(sharingWeightsOf other: InferencePlan) {
        precondition(other.isCompiled, "only a compiled plan's weights can be shared")
        architecture = other.architecture
        inputCount = other.inputCount
        classes = other.classes
        compute = other.compute
        convolutions = other.convolutions
        denses = other.denses
        fallback = nil
        weightsOwner = other.weightsOwner ?? other
        features = other.features
        logitsBuffer = Tensor(shape: [1, classes])
        normalized = Tensor(shape: [0, inputCount])
    }

    /// For each convolution, whether it runs as Winograd's F(2×2, 3×3) (the others run the
    /// direct kernel).
    var winogradStages: [Bool] { convolutions.map { $0.winograd != nil } }

    /// True when the model runs through the packed kernels; false when it runs on a copy of its
    /// layers because one of them is not compiled.
    public var isCompiled: Bool { fallback == nil }

    /// The model's stages, or nil (having freed what it packed) when a layer is not compiled.
    private static func lower(_ model: Sequential, inputCount: Int, classes: Int) -> ([Convolution], [Dense])? {
        var stages: [Stage] = []
        func fail() -> ([Convolution], [Dense])? {
            for stage in stages {
                switch stage {
                case .convolution(let c): c.deallocate()
                case .dense(let d): d.weights.deallocate()
                }
            }
            return nil
        }
        var flattened: ImageShape?  // set by Flatten: the next dense layer reads NHWC features
        var lastHasActivation = false
        for layer in model.layers {
            switch layer {
            case let conv as Conv2D:
                guard stages.allSatisfy({ if case .convolution = $0 { true } else { false } }) else { return fail() }
                stages.append(.convolution(Self.convolution(conv)))
                lastHasActivation = conv.fusedPool > 0
            case let norm as BatchNorm:
                guard !lastHasActivation, let last = stages.last else { return fail() }
                switch last {
                case .convolution(var stage):
                    // After a max-pool the fold still holds where every channel's scale γ/σ is
                    // not negative: max(s·x + c) = s·max(x) + c for s ≥ 0.
                    guard stage.pool == nil || (0..<norm.channels).allSatisfy({ norm.weight.value[$0] >= 0 }),
                          stage.weights.outputs == norm.channels else { return fail() }
                    stage.weights.fold(norm)
                    stages[stages.count - 1] = .convolution(stage)
                case .dense(var stage):
                    guard stage.weights.outputs == norm.channels else { return fail() }
                    stage.weights.fold(norm)
                    stages[stages.count - 1] = .dense(stage)
                }
            case let activation as Activation:
                guard activation.function == .relu, let last = stages.last else { return fail() }
                switch last {
                case .convolution(var stage): stage.relu = true; stages[stages.count - 1] = .convolution(stage)
                case .dense(var stage): stage.relu = true; stages[stages.count - 1] = .dense(stage)
                }
                lastHasActivation = true
            case let pool as MaxPool2D:
                guard case .convolution(var stage)? = stages.last, stage.pool == nil,
                      stage.convolved == pool.input else { return fail() }
                stage.pool = (pool.kernel, pool.stride)
                stage.relu = stage.relu || pool.rectifies
                stages[stages.count - 1] = .convolution(stage)
                lastHasActivation = stage.relu
            case let flatten as Flatten:
                flattened = flatten.input
            case is Dropout:
                continue
            case let linear as Linear:
                stages.append(.dense(Self.dense(linear, flattenedFrom: flattened)))
                flattened = nil
                lastHasActivation = false
            default:
                return fail()
            }
        }
        var convolutions: [Convolution] = [], denses: [Dense] = []
        for stage in stages {
            switch stage {
            case .convolution(var c):
                c.chunks = Convolution.chunks(width: c.used.width)
                convolutions.append(c)
            case .dense(let d): denses.append(d)
            }
        }
        guard let last = denses.last, last.weights.outputs == classes, !last.relu else { return fail() }
        // Each stage must read what the one before it writes.
        var size = inputCount
        for c in convolutions {
            guard c.input.count == size else { return fail() }
            size = c.output.count
        }
        for d in denses {
            guard d.inputs == size else { return fail() }
            size = d.weights.outputs
        }
        for index in convolutions.indices where convolutions[index].takesWinograd { convolutions[index].prepareWinograd() }
        return (convolutions, denses)
    }

    deinit {
        guard weightsOwner == nil else { return }
        for c in convolutions { c.deallocate() }
        for d in denses { d.weights.deallocate() }
    }

    private static func convolution(_ conv: Conv2D) -> Convolution {
        let channels = conv.input.channels, kh = conv.kernelHeight, kw = conv.kernelWidth
        let padded = ImageShape(channels: channels, height: conv.input.height + 2 * conv.padding,
                                width: conv.input.width + 2 * conv.padding)
        let w = conv.weight.value.data
        // Column k of the packed weight is tap (ky, kx), channel c: k = (ky·kw + kx)·C + c.
        let weights = PackedWeights(outputs: conv.convolved.channels, inputs: kh * kw * channels, bias: conv.bias.value.data) { o, k in
            let c = k % channels, tap = k / channels
            return w[((o * channels + c) * kh + tap / kw) * kw + tap % kw]
        }
        let offsets = UnsafeMutablePointer<Int>.allocate(capacity: kh * kw)
        for ky in 0..<kh { for kx in 0..<kw { offsets[ky * kw + kx] = (ky * padded.width + kx) * channels } }
        return Convolution(input: conv.input, padded: padded, padding: conv.padding, kernelHeight: kh, kernelWidth: kw,
                           stride: conv.stride, convolved: conv.convolved, relu: conv.fusedPool > 0,
                           pool: conv.fusedPool > 0 ? (conv.fusedPool, conv.fusedPool) : nil,
                           weights: weights, offsets: offsets, chunks: Convolution.chunks(width: conv.convolved.width))
    }

    /// After Flatten, the features arrive in NHWC order, and the weight's columns are in
    /// PyTorch's (C, H, W) order: the packing permutes them.
    private static func dense(_ linear: Linear, flattenedFrom image: ImageShape?) -> Dense {
        let inputs = linear.inputSize, w = linear.weight.value.data
        let weights = PackedWeights(outputs: linear.outputSize, inputs: inputs, bias: linear.bias.value.data) { o, k in
            guard let image, image.channels > 1 else { return w[o * inputs + k] }
            let c = k % image.channels, pixel = k / image.channels
            return w[o * inputs + c * image.height * image.width + pixel]
        }
        return Dense(inputs: inputs, relu: false, weights: weights)
    }

    // MARK: Forward

    /// Logits (B, classes) for B images given as normalized floats (B, input), as
    /// Sequential.forward takes them. The result is the plan's buffer, valid until the next call.
    public func forward(_ input: Tensor) -> Tensor {
        if let fallback { return fallback.forward(input, training: false) }
        return run(Source(floats: UnsafePointer(input.data), bytes: nil, scale: 1, shift: 0), count: input.rows)
    }

    /// Logits for `count` images of raw pixels (count, input), normalized on the way in as
    /// (x/255 − mean)/std with the model's normalization.
    public func forward(pixels: UnsafePointer<UInt8>, count: Int) -> Tensor {
        let normalization = architecture.normalization ?? Normalization(mean: 0, std: 1)
        let scale = 1 / (255 * normalization.std), shift = -normalization.mean / normalization.std
        if let fallback {
            if normalized.capacity < count * inputCount { normalized = Tensor(shape: [count, inputCount]) }
            normalized.setRows(count)
            if count > 0 { dk_normalize_bytes(pixels, count * inputCount, scale, shift, normalized.data) }
            return fallback.forward(normalized, training: false)
        }
        return run(Source(floats: nil, bytes: pixels, scale: scale, shift: shift), count: count)
    }

    /// Where the images come from: floats ready to use, or bytes to normalize.
    struct Source {
        let floats: UnsafePointer<Float>?
        let bytes: UnsafePointer<UInt8>?
        let scale: Float, shift: Float
    }

    private func run(_ source: Source, count: Int) -> Tensor {
        let workers = compute.threads
        if scratch.count < workers { scratch += (scratch.count..<workers).map { _ in Scratch(self) } }
        if logitsBuffer.capacity < count * classes { logitsBuffer = Tensor(shape: [count, classes]) }
        logitsBuffer.setRows(count)
        guard count > 0 else { return logitsBuffer }
        let context = Context(plan: .passUnretained(self), source: source, output: logitsBuffer.data, count: count)
        if workers > 1 && count < 2 * workers && !convolutions.isEmpty {
            for sample in 0..<count { runSpread(context, sample: sample) }
        } else {
            nextBlock.store(0, ordering: .relaxed)
            let blocks = (count + blockRows - 1) / blockRows
            compute.split(blocks, minimumPerWorker: 1, maximumParts: scratch.count, context) { context, part, _, _ in
                let context = context.load(as: Context.self)
                context.plan.takeUnretainedValue().runBlocks(context, part: part)
            }
        }
        return logitsBuffer
    }

    struct Context {
        let plan: Unmanaged<InferencePlan>
        let source: Source
        let output: UnsafeMutablePointer<Float>
        let count: Int
    }

    /// Blocks of up to `blockRows` samples (12 or 14), taken in turn by the workers until none
    /// is left: a worker slowed down by something else on its core takes fewer. Each block goes
    /// through the convolutions one sample at a time into a block of feature rows, then through
    /// the dense layers together. Blocks start at multiples of `blockRows` whoever takes them,
    /// and each row's sums run in the same order in a block of any size, so the results do not
    /// depend on the timing.
    private func runBlocks(_ context: Context, part: Int) {
        let buffers = scratch[part]
        while true {
            let start = nextBlock.add(1, ordering: .relaxed).oldValue * blockRows
            guard start < context.count else { return }
            let rows = min(blockRows, context.count - start)
            var a: UnsafePointer<Float>
            if convolutions.isEmpty {
                if let bytes = context.source.bytes {
                    dk_normalize_bytes(bytes + start * inputCount, rows * inputCount, context.source.scale, context.source.shift,
                                       buffers.features)
                    a = UnsafePointer(buffers.features)
                } else {
                    a = context.source.floats! + start * inputCount
                }
            } else {
                for row in 0..<rows {
                    convolve(image(context.source, sample: start + row, into: buffers.image), buffers,
                             into: buffers.features + row * features)
                }
                a = UnsafePointer(buffers.features)
            }
            var lda = features
            for (index, dense) in denses.enumerated() {
                let last = index == denses.count - 1
                let out = last ? context.output + start * classes : buffers.hidden[index % 2]
                let ldc = last ? classes : dense.weights.outputs
                for panel in 0..<dense.weights.panels {
                    dense.weights.tile(rows: rows, a: a, lda: lda, offsets: tileZeroOffset, segments: 1, length: dense.inputs,
                                       panel: panel, c: out + panel * Int(DK_PANEL), ldc: ldc, relu: dense.relu)
                }
                a = UnsafePointer(out)
                lda = ldc
            }
        }
    }

    /// The sample's first image: in place when it is floats, else normalized into `buffer`.
    private func image(_ source: Source, sample: Int, into buffer: UnsafeMutablePointer<Float>) -> UnsafePointer<Float> {
        if let floats = source.floats { return floats + sample * inputCount }
        dk_normalize_bytes(source.bytes! + sample * inputCount, inputCount, source.scale, source.shift, buffer)
        return UnsafePointer(buffer)
    }

    /// Every convolution stage on one sample, the last writing the feature row.
    private func convolve(_ input: UnsafePointer<Float>, _ buffers: Scratch, into featureRow: UnsafeMutablePointer<Float>) {
        var x = input
        for (index, stage) in convolutions.enumerated() {
            let out = index == convolutions.count - 1 ? featureRow : buffers.stages[index % 2]
            let padded = pad(x, stage, buffers)
            if stage.winograd != nil {
                winogradRows(stage, padded, 0..<stage.used.height / 2, pooledInto: out, convolved: buffers.convolved,
                             scratch: buffers.winograd)
            } else if let pool = stage.pool {
                convolveRows(stage, padded, 0..<stage.used.height, into: buffers.convolved)
                dk_maxpool(buffers.convolved, stage.convolved.width, stage.convolved.channels, pool.kernel, pool.stride,
                           out, stage.output.height, stage.output.width, 0)
            } else {
                convolveRows(stage, padded, 0..<stage.convolved.height, into: out)
            }
            x = UnsafePointer(out)
        }
    }

    /// The input with `padding` zeros around it, in `buffers.padded`; the input itself without.
    private func pad(_ x: UnsafePointer<Float>, _ stage: Convolution, _ buffers: Scratch) -> UnsafePointer<Float> {
        guard stage.padding > 0 else { return x }
        let p = stage.padding, c = stage.input.channels, inner = stage.input, outer = stage.padded
        buffers.padded.update(repeating: 0, count: outer.count)
        for y in 0..<inner.height {
            (buffers.padded + ((y + p) * outer.width + p) * c).update(from: x + y * inner.width * c, count: inner.width * c)
        }
        return UnsafePointer(buffers.padded)
    }

    /// Rows `blockRows` of 2×2 output blocks of a Winograd stage (output rows twice those): bias
    /// added, then pooled into `out` through `convolved` (a pooled row is a block row) or written
    /// to `out`, with ReLU applied. The same bits whoever computes which rows.
    private func winogradRows(_ stage: Convolution, _ x: UnsafePointer<Float>, _ blockRows: Range<Int>,
                              pooledInto out: UnsafeMutablePointer<Float>, convolved: UnsafeMutablePointer<Float>,
                              scratch: UnsafeMutablePointer<Float>) {
        let channels = stage.input.channels, outputs = stage.convolved.channels
        let rowSize = stage.convolved.width * outputs
        let target = stage.pool == nil ? out : convolved
        dk_winograd_conv3x3_rows(x, stage.padded.width * channels, stage.used.width + 2, channels, outputs, stage.winograd,
                                 stage.weights.bias, target, rowSize, blockRows.lowerBound, blockRows.upperBound, scratch)
        if stage.pool != nil {
            dk_maxpool(convolved + 2 * blockRows.lowerBound * rowSize, stage.convolved.width, outputs, 2, 2,
                       out + blockRows.lowerBound * stage.output.width * outputs, blockRows.count, stage.output.width,
                       stage.relu ? 1 : 0)
        } else if stage.relu {
            // ReLU as max-pooling's `rectify` does it: a NaN stays NaN.
            let first = out + 2 * blockRows.lowerBound * rowSize
            for i in 0..<2 * blockRows.count * rowSize where first[i] < 0 { first[i] = 0 }
        }
    }

    /// Output rows `rows` of a convolution (bias and ReLU applied) into `out`, (OH, OW, O): the
    /// columns its pool reads (`used`), the others left as they were.
    private func convolveRows(_ stage: Convolution, _ x: UnsafePointer<Float>, _ rows: Range<Int>,
                              into out: UnsafeMutablePointer<Float>) {
        let channels = stage.input.channels, width = stage.padded.width, outputs = stage.convolved.channels
        let taps = stage.kernelHeight * stage.kernelWidth
        for oy in rows {
            for chunk in stage.chunks {
                let a = x + ((oy * stage.stride) * width + chunk.start * stage.stride) * channels
                let c = out + (oy * stage.convolved.width + chunk.start) * outputs
                for panel in 0..<stage.weights.panels {
                    stage.weights.tile(rows: chunk.count, a: a, lda: stage.stride * channels, offsets: stage.offsets,
                                       segments: taps, length: channels, panel: panel,
                                       c: c + panel * Int(DK_PANEL), ldc: outputs, relu: stage.relu)
                }
            }
        }
    }

    // MARK: One sample on every worker

    /// One sample with each layer split between the workers: convolutions by output rows
    /// (pooled rows when the stage pools), dense layers by panels of outputs.
    private func runSpread(_ context: Context, sample: Int) {
        let shared = scratch[0]
        var x = image(context.source, sample: sample, into: shared.image)
        for (index, stage) in convolutions.enumerated() {
            let out = index == convolutions.count - 1 ? shared.features : shared.stages[index % 2]
            let padded = pad(x, stage, shared)
            let rows = stage.winograd != nil ? stage.used.height / 2 : stage.output.height
            // Overlapping pooling windows would have two workers write one convolved row.
            let spread = stage.pool.map { $0.stride >= $0.kernel } ?? true
            let job = SpreadJob(plan: .passUnretained(self), layer: index, input: padded, lda: 0, output: out, ldc: 0,
                                convolved: shared.convolved)
            compute.split(rows, minimumPerWorker: spread ? 1 : rows, job) { context, part, begin, end in
                let job = context.load(as: SpreadJob.self)
                job.plan.takeUnretainedValue().convolutionPart(job, begin..<end, part: part)
            }
            x = UnsafePointer(out)
        }
        var a = UnsafePointer(shared.features), lda = features
        for (index, dense) in denses.enumerated() {
            let last = index == denses.count - 1
            let out = last ? context.output + sample * classes : shared.hidden[index % 2]
            let ldc = last ? classes : dense.weights.outputs
            let job = SpreadJob(plan: .passUnretained(self), layer: index, input: a, lda: lda, output: out, ldc: ldc,
                                convolved: out)
            compute.split(dense.weights.panels, minimumPerWorker: 2, job) { context, _, begin, end in
                let job = context.load(as: SpreadJob.self)
                job.plan.takeUnretainedValue().densePart(job, begin..<end)
            }
            a = UnsafePointer(out)
            lda = ldc
        }
    }

    /// One layer of one sample, for its parts: `layer` indexes the convolutions or the dense
    /// layers; `convolved` is the pre-pooling buffer (convolutions), `lda`/`ldc` the row
    /// strides (dense layers).
    struct SpreadJob {
        let plan: Unmanaged<InferencePlan>
        let layer: Int
        let input: UnsafePointer<Float>, lda: Int
        let output: UnsafeMutablePointer<Float>, ldc: Int
        let convolved: UnsafeMutablePointer<Float>
    }

    /// Output rows `rows` of convolution `job.layer` (pooled rows when it pools; rows of output
    /// blocks when it runs Winograd's way), on worker `part`.
    private func convolutionPart(_ job: SpreadJob, _ rows: Range<Int>, part: Int) {
        let stage = convolutions[job.layer]
        if stage.winograd != nil {
            winogradRows(stage, job.input, rows, pooledInto: job.output, convolved: job.convolved, scratch: scratch[part].winograd)
            return
        }
        guard let pool = stage.pool else {
            convolveRows(stage, job.input, rows, into: job.output)
            return
        }
        let first = rows.lowerBound * pool.stride, last = (rows.upperBound - 1) * pool.stride + pool.kernel
        convolveRows(stage, job.input, first..<last, into: job.convolved)
        let rowSize = stage.convolved.width * stage.convolved.channels
        dk_maxpool(job.convolved + first * rowSize, stage.convolved.width, stage.convolved.channels, pool.kernel, pool.stride,
                   job.output + rows.lowerBound * stage.output.width * stage.output.channels, rows.count, stage.output.width, 0)
    }

    /// Panels `panels` of dense layer `job.layer` for one row.
    private func densePart(_ job: SpreadJob, _ panels: Range<Int>) {
        let dense = denses[job.layer]
        for panel in panels {
            dense.weights.tile(rows: 1, a: job.input, lda: job.lda, offsets: tileZeroOffset, segments: 1, length: dense.inputs,
                               panel: panel, c: job.output + panel * Int(DK_PANEL), ldc: job.ldc, relu: dense.relu)
        }
    }
}

/// Weights (outputs × inputs) packed as panels of 32 outputs, each [inputs][32] and zero past
/// the last output, with the bias zero-padded to whole panels. 64-byte aligned.
struct PackedWeights {
    let outputs: Int
    let inputs: Int
    let panels: Int
    let values: UnsafeMutablePointer<Float>  // (panels, inputs, 32)
    let bias: UnsafeMutablePointer<Float>    // (panels · 32)

    init(outputs: Int, inputs: Int, bias source: UnsafePointer<Float>, weight: (Int, Int) -> Float) {
        let width = Int(DK_PANEL)
        self.outputs = outputs
        self.inputs = inputs
        panels = (outputs + width - 1) / width
        values = alignedFloats(panels * inputs * width)
        bias = alignedFloats(panels * width)
        packPanels(outputs: outputs, inputs: inputs, into: values, bias: bias, biasSource: source, weight: weight)
    }

    func deallocate() {
        values.deallocate()
        bias.deallocate()
    }

    /// BatchNorm in inference: y = γ·(x − mean)/√(var + ε) + β, folded per output into the
    /// weights and the bias.
    mutating func fold(_ norm: BatchNorm) {
        let width = Int(DK_PANEL)
        for o in 0..<outputs {
            let scale = norm.weight.value[o] / (norm.runningVariance.value[o] + norm.epsilon).squareRoot()
            let panel = values + (o / width) * inputs * width + o % width
            for k in 0..<inputs { panel[k * width] *= scale }
            bias[o] = (bias[o] - norm.runningMean.value[o]) * scale + norm.bias.value[o]
        }
    }

    @inline(__always)
    func tile(rows: Int, a: UnsafePointer<Float>, lda: Int, offsets: UnsafePointer<Int>, segments: Int, length: Int,
              panel: Int, c: UnsafeMutablePointer<Float>, ldc: Int, relu: Bool) {
        let width = Int(DK_PANEL)
        dk_tile(rows, a, lda, offsets, segments, length, values + panel * inputs * width, bias + panel * width,
                c, ldc, min(width, outputs - panel * width), relu ? 1 : 0)
    }
}

/// One worker's buffers, sized for the plan's largest stage.
final class Scratch {
    let image: UnsafeMutablePointer<Float>      // (input): a normalized sample
    let padded: UnsafeMutablePointer<Float>     // the largest padded convolution input
    let convolved: UnsafeMutablePointer<Float>  // the largest convolution output before pooling
    let stages: [UnsafeMutablePointer<Float>]   // two, for stage outputs in turn
    let features: UnsafeMutablePointer<Float>   // (14, features): a block of dense inputs
    let hidden: [UnsafeMutablePointer<Float>]   // two (14, widest dense output)
    let winograd: UnsafeMutablePointer<Float>   // the largest Winograd stage's transforms of one block row

    init(_ plan: InferencePlan) {
        let rows = Int(DK_MAX_ROWS)
        let largestOutput = plan.convolutions.map(\.output.count).max() ?? 0
        let widest = plan.denses.map { $0.weights.panels * Int(DK_PANEL) }.max() ?? 0
        image = alignedFloats(plan.inputCount)
        padded = alignedFloats(plan.convolutions.map { $0.padding > 0 ? $0.padded.count : 0 }.max() ?? 0)
        convolved = alignedFloats(plan.convolutions.map(\.convolved.count).max() ?? 0)
        stages = [alignedFloats(largestOutput), alignedFloats(largestOutput)]
        features = alignedFloats(rows * plan.features)
        hidden = [alignedFloats(rows * widest), alignedFloats(rows * widest)]
        winograd = alignedFloats(plan.convolutions.filter { $0.winograd != nil }
            .map { dk_winograd_conv_scratch($0.used.width + 2, $0.input.channels, $0.convolved.channels) }.max() ?? 0)
    }

    deinit {
        for buffer in [image, padded, convolved, features, stages[0], stages[1], hidden[0], hidden[1], winograd] { buffer.deallocate() }
    }
}
