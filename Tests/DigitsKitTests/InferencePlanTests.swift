// The compiled inference path gives the logits Sequential.forward gives in inference mode: for
// every shipped architecture, with BatchNorm folded, at batch sizes that leave partial tiles,
// on one thread and on two (where a single convolutional sample is spread over both), from
// normalized floats and from raw bytes; and for a made-up model with padding, strides, an
// overlapping pool and channel counts that are not multiples of 16.
import Testing
@_spi(Tools) @testable import DigitsKit

@Suite(.serialized) struct InferencePlanTests {
    /// A model with random weights and BatchNorm statistics far from the identity.
    static func model(_ architecture: Architecture, seed: UInt64) throws -> Sequential {
        let model = try Sequential(architecture, random: RandomGenerator(seed: seed), dropoutRandom: RandomGenerator(seed: 2))
        let random = RandomGenerator(seed: seed + 100)
        for layer in model.layers {
            guard let norm = layer as? BatchNorm else { continue }
            for c in 0..<norm.channels {
                norm.runningMean.value[c] = random.nextUnitFloat() - 0.5
                norm.runningVariance.value[c] = 0.5 + random.nextUnitFloat()
                norm.weight.value[c] = 0.5 + random.nextUnitFloat()
                norm.bias.value[c] = random.nextUnitFloat() - 0.5
            }
        }
        return model
    }

    /// The largest difference between the two logits, relative to the largest logit.
    static func difference(_ plan: Tensor, _ reference: Tensor) -> Float {
        #expect(plan.shape == reference.shape)
        var scale: Float = 1, worst: Float = 0
        for i in 0..<reference.count {
            scale = max(scale, abs(reference[i]))
            worst = max(worst, abs(plan[i] - reference[i]))
        }
        return worst / scale
    }


    @Test(arguments: ["mlp", "cnn-basic", "cnn", "fast"], [1, 2])
    func planMatchesSequential(name: String, workers: Int) throws {
        let model = try Self.model(Recipe.named(name)!.architecture(), seed: 5)
        let plan = InferencePlan(model, compute: ComputeContext(threads: workers))
        #expect(plan.isCompiled)
        do {
            for batch in [1, 3, 15, 29] {
                let x = smoothInput(rows: batch, features: 784, seed: UInt64(batch))
                let reference = Tensor(shape: [batch, 10])
                _ = reference.buffer.update(fromContentsOf: model.forward(x, training: false).buffer)
                let difference = Self.difference(plan.forward(x), reference)
                #expect(difference < 1e-4, "\(name), batch \(batch), \(workers) workers: logits differ by \(difference)")
            }
        }
    }

    /// The 3×3 convolutions with 16 or more input channels run as Winograd's F(2×2, 3×3) (the
    /// match above holds for them), the first convolution of each net (one input channel) and
    /// the made-up model's padded, strided ones (below) the direct kernel.
    @Test func winogradRunsTheThreeByThreeConvolutionsWithManyChannels() throws {
        let expected = ["cnn": [false, true, true, true], "cnn-basic": [false, true], "fast": [false, true]]
        for (name, stages) in expected {
            let plan = InferencePlan(try Self.model(Recipe.named(name)!.architecture(), seed: 5))
            #expect(plan.winogradStages == stages, "\(name)")
        }
    }

    /// Each sample's logits are the same bits whatever batch holds it and wherever in the batch:
    /// the blocks of samples (12 or 14 rows, by the kernels) and the register tiles they are cut
    /// into (rows of 6, 5 or 4, or whole panels for 1 or 2) sum each row in the same order.
    @Test(arguments: ["mlp", "cnn-basic", "cnn"], [1, 2])
    func aSamplesLogitsDoNotDependOnItsBatch(name: String, workers: Int) throws {
        let model = try Self.model(Recipe.named(name)!.architecture(), seed: 7)
        // Biases away from zero, where the order of adding them shows.
        let random = RandomGenerator(seed: 8)
        for case let linear as Linear in model.layers {
            for o in 0..<linear.bias.value.count { linear.bias.value[o] = random.nextUnitFloat() - 0.5 }
        }
        let plan = InferencePlan(model, compute: ComputeContext(threads: workers))
        let count = 31
        let x = smoothInput(rows: count, features: 784, seed: 11)
        let whole = Array(plan.forward(x).buffer)
        for batch in [4, 5, 13, 14, 15] {
            for start in stride(from: 0, to: count, by: batch) {
                let rows = min(batch, count - start)
                let part = Tensor(shape: [rows, 784])
                for i in 0..<rows * 784 { part[i] = x[start * 784 + i] }
                let same = Array(plan.forward(part).buffer) == Array(whole[start * 10..<(start + rows) * 10])
                #expect(same,
                        "\(name), \(workers) workers: samples \(start)..<\(start + rows) in a batch of \(rows) differ from the batch of \(count)")
            }
        }
    }

    @Test(arguments: ["mlp", "cnn-basic"])
    func bytesAreNormalizedAsTheAssemblerDoes(name: String) throws {
        let model = try Self.model(Recipe.named(name)!.architecture(), seed: 6)
        let plan = InferencePlan(model)
        let count = 20
        let random = RandomGenerator(seed: 9)
        let pixels = (0..<(count * 784)).map { _ in UInt8(random.nextUnitFloat() * 255) }
        let labels = [UInt8](repeating: 3, count: count)
        let dataset = try DigitDataset(images: IDXArray(shape: [count, 28, 28], values: .ubyte(pixels)), imagesPath: "images",
                                       labels: IDXArray(shape: [count], values: .ubyte(labels)), labelsPath: "labels")
        let assembler = BatchAssembler(dataset: dataset, normalization: model.architecture.normalization, batchSize: count)
        assembler.assemble(Array(0..<count)[...])
        let fromFloats = Tensor(shape: [count, 10])
        _ = fromFloats.buffer.update(fromContentsOf: plan.forward(assembler.inputs).buffer)
        let fromBytes = pixels.withUnsafeBufferPointer { plan.forward(pixels: $0.baseAddress!, count: count) }
        #expect(Self.difference(fromBytes, fromFloats) < 1e-5)
    }

    /// Winograd's stages read a padded input, write without a pool (ReLU after BatchNorm) and
    /// pool an odd-sized output whose last row and column no window covers (11×11 → 5×5, after
    /// a 2×2 kernel made the size odd).
    @Test(arguments: [1, 2])
    func winogradStagesWithPaddingAndOddOutputsMatchSequential(workers: Int) throws {
        let architecture = Architecture(model: "custom", input: [1, 12, 12], classes: 10, activation: "relu", dropout: 0,
                                        normalization: .mnist, layers: [
            .conv2d("conv1", 1, 16, kernel: 3, stride: 1, padding: 1), .activation(.relu),
            .conv2d("conv2", 16, 24, kernel: 3, stride: 1, padding: 1), .batchnorm("bn2", 24), .activation(.relu),
            .conv2d("conv3", 24, 24, kernel: 2, stride: 1, padding: 0), .activation(.relu),
            .conv2d("conv4", 24, 16, kernel: 3, stride: 1, padding: 1), .activation(.relu), .maxpool2d(2),
            .flatten, .linear("fc1", 16 * 5 * 5, 10),
        ])
        let model = try Self.model(architecture, seed: 12)
        let plan = InferencePlan(model, compute: ComputeContext(threads: workers))
        #expect(plan.winogradStages == [false, true, false, true])
        for batch in [1, 9] {
            let x = smoothInput(rows: batch, features: 144, seed: 6)
            let reference = Tensor(shape: [batch, 10])
            _ = reference.buffer.update(fromContentsOf: model.forward(x, training: false).buffer)
            #expect(Self.difference(plan.forward(x), reference) < 1e-4, "batch \(batch), \(workers) workers")
        }
    }

    /// Padding, strides, an overlapping 3×3 pool with stride 2, 20 and 24 channels, BatchNorm
    /// after a convolution and after a dense layer.
    @Test(arguments: [1, 2])
    func unusualShapesMatchSequential(workers: Int) throws {
        let architecture = Architecture(model: "custom", input: [1, 12, 12], classes: 10, activation: "relu", dropout: 0,
                                        normalization: .mnist, layers: [
            .conv2d("conv1", 1, 20, kernel: 3, stride: 1, padding: 1), .activation(.relu), .maxpool2d(3, stride: 2),
            .conv2d("conv2", 20, 24, kernel: 3, stride: 2, padding: 1), .batchnorm("bn2", 24), .activation(.relu),
            .flatten, .linear("fc1", 24 * 3 * 3, 40), .batchnorm("bn3", 40), .activation(.relu), .dropout(0.3),
            .linear("fc2", 40, 10),
        ])
        let model = try Self.model(architecture, seed: 11)
        let plan = InferencePlan(model, compute: ComputeContext(threads: workers))
        #expect(plan.isCompiled)
        do {
            for batch in [1, 17] {
                let x = smoothInput(rows: batch, features: 144, seed: 4)
                let reference = Tensor(shape: [batch, 10])
                _ = reference.buffer.update(fromContentsOf: model.forward(x, training: false).buffer)
                #expect(Self.difference(plan.forward(x), reference) < 1e-4)
            }
        }
    }

    /// A model the plan does not compile runs through the same entry point on a copy of its
    /// layers: the same logits as Sequential, from floats and from bytes, and its own buffers
    /// (the model's forward between two calls does not disturb the plan's result).
    @Test func activationsOtherThanReLURunThroughTheFallback() throws {
        let architecture = Architecture.mlp(hidden: [32], activation: .tanh, dropout: 0)
        let model = try Sequential(architecture, random: RandomGenerator(seed: 1), dropoutRandom: RandomGenerator(seed: 2))
        let plan = InferencePlan(model, compute: ComputeContext(threads: 2))
        #expect(!plan.isCompiled)
        let x = smoothInput(rows: 5, features: 784, seed: 3)
        let reference = model.forward(x, training: false).array
        let fromPlan = plan.forward(x)
        _ = model.forward(smoothInput(rows: 5, features: 784, seed: 4), training: false)
        #expect(fromPlan.array == reference)
        let pixels = (0..<(5 * 784)).map { UInt8(($0 * 37) % 256) }
        let normalization = architecture.normalization!
        let floats = Tensor(shape: [5, 784])
        for i in 0..<floats.count { floats[i] = Float(pixels[i]) * (1 / (255 * normalization.std)) + (-normalization.mean / normalization.std) }
        let expected = model.forward(floats, training: false).array
        let fromBytes = pixels.withUnsafeBufferPointer { plan.forward(pixels: $0.baseAddress!, count: 5) }.array
        #expect(zip(fromBytes, expected).allSatisfy { abs($0 - $1) < 1e-5 })
    }

    /// A BatchNorm after a max-pool folds into the convolution only while every γ ≥ 0 (max
    /// commutes with a non-negative scale); one negative γ sends the model to the fallback,
    /// which still gives Sequential's logits.
    @Test func batchNormAfterAPoolFoldsOnlyWithNonNegativeScales() throws {
        let model = try Self.model(Architecture.fast(), seed: 7)
        let x = smoothInput(rows: 3, features: 784, seed: 8)
        let norm = try #require(model.layers.compactMap { $0 as? BatchNorm }.first)
        for flipped in [false, true] {
            if flipped { norm.weight.value[5] = -0.7 }
            let plan = InferencePlan(model, compute: ComputeContext(threads: 2))
            #expect(plan.isCompiled == !flipped)
            let reference = Tensor(shape: [3, 10])
            _ = reference.buffer.update(fromContentsOf: model.forward(x, training: false).buffer)
            #expect(Self.difference(plan.forward(x), reference) < 1e-4)
        }
    }

    /// The plan is made from the weights as they are: a later change to the model is not seen,
    /// and a new plan sees it.
    @Test func planCopiesTheWeights() throws {
        let model = try Self.model(Recipe.named("mlp")!.architecture(), seed: 3)
        let x = smoothInput(rows: 2, features: 784, seed: 1)
        let plan = InferencePlan(model)
        let before = plan.forward(x).array
        model.parameter(named: "fc3.bias")!.value[0] += 1
        #expect(plan.forward(x).array == before)
        let after = InferencePlan(model).forward(x).array
        #expect(abs(after[0] - before[0] - 1) < 1e-5 && after[1] == before[1])
    }

    /// A plan that reads another's packed weights gives its logits bit for bit, on buffers of
    /// its own, and keeps the weights alive after the plan they came from is let go.
    @Test func aPlanSharingWeightsGivesTheSameBits() throws {
        let model = try Self.model(Recipe.named("cnn")!.architecture(), seed: 7)
        let x = smoothInput(rows: 5, features: 784, seed: 2)
        var owner: InferencePlan? = InferencePlan(model)
        let expected = owner!.forward(x).array
        let sharing = InferencePlan(sharingWeightsOf: owner!)
        let other = InferencePlan(sharingWeightsOf: sharing)  // shares the first plan's, not a copy
        #expect(sharing.forward(smoothInput(rows: 3, features: 784, seed: 9)).count == 3 * sharing.classes)
        #expect(owner!.forward(x).array == expected, "the sharing plan wrote into the owner's buffers")
        weak let released = owner
        owner = nil
        #expect(released != nil, "the plans sharing its weights let their owner go")
        #expect(sharing.forward(x).array == expected && other.forward(x).array == expected)
    }

    /// The many candidates of a number go through a reader of one thread in two halves at once
    /// (`DigitReader.predict`): each image gets the bits it gets alone, in its place.
    @Test func aReaderSplittingABatchGivesEachImageItsOwnBits() throws {
        let model = try Self.model(Recipe.named("cnn")!.architecture(), seed: 8)
        let reader = try DigitReader(model: model, path: "random.safetensors")
        let random = RandomGenerator(seed: 4)
        let images = (0..<DigitReader.splitCount + 5).map { _ in
            GrayImage(width: 28, height: 28, pixels: (0..<784).map { _ in UInt8(random.nextUnitFloat() * 255) })
        }
        let together = reader.predict(images)
        #expect(together.count == images.count)
        for (index, image) in images.enumerated() {
            let alone = reader.predict([image])
            #expect(Array(together.probabilities(at: index)) == Array(alone.probabilities(at: 0)) && together.predicted[index] == alone.predicted[0],
                    "image \(index)")
        }
    }
}
