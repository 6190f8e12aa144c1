// Microbenchmarks: each layer's forward and backward, the augmentations, IDX parsing, PNG
// decoding, and whole training and inference steps of every model. Every benchmark counts
// mallocs: a training or inference step in steady state (after the warm-up that sizes the
// buffers) must allocate nothing.
import Benchmark
@_spi(Tools) import DigitsKit
import Foundation

/// Benchmarks run from Benchmarks/; MNIST is fetched into the repository's datasets/.
let mnistDirectory = "../datasets/mnist"

var configuration: Benchmark.Configuration {
    .init(metrics: [.wallClock, .throughput, .mallocCountTotal], warmupIterations: 3, scalingFactor: .one,
          maxDuration: .seconds(2), maxIterations: 1_000)
}

/// A tensor of made-up values in −0.5…0.5.
func filled(_ shape: [Int], seed: UInt64) -> Tensor {
    let tensor = Tensor(shape: shape)
    let random = RandomGenerator(seed: seed)
    for index in 0..<tensor.count { tensor[index] = random.nextUnitFloat() - 0.5 }
    return tensor
}

/// Registers forward and backward benchmarks for a layer fed `input`.
func layerBenchmarks(_ name: String, _ layer: any Layer, input: Tensor) {
    Benchmark("\(name) forward", configuration: configuration) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(layer.forward(input, training: true)) }
    }
    let output = layer.forward(input, training: true)
    let gradient = filled(output.shape, seed: 9)
    Benchmark("\(name) backward", configuration: configuration) { benchmark in
        _ = layer.forward(input, training: true)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(layer.backward(gradient)) }
    }
}

let benchmarks: @Sendable () -> Void = {
    let compute = ComputeContext(threads: ComputeContext.processorCount)

    Benchmark("sgemm 128×784 · 784×128, one thread", configuration: configuration) { benchmark in
        let a = filled([128, 784], seed: 1), b = filled([784, 128], seed: 2), c = Tensor(shape: [128, 128])
        for _ in benchmark.scaledIterations { ComputeContext.serial.sgemm(m: 128, n: 128, k: 784, a: a.data, lda: 784, b: b.data, ldb: 128, c: c.data, ldc: 128) }
    }
    let openBLASThreads = ComputeContext(threads: ComputeContext.processorCount, splitsProducts: false)
    Benchmark("sgemm 128×784 · 784×128, OpenBLAS threads", configuration: configuration) { benchmark in
        let a = filled([128, 784], seed: 1), b = filled([784, 128], seed: 2), c = Tensor(shape: [128, 128])
        for _ in benchmark.scaledIterations { openBLASThreads.sgemm(m: 128, n: 128, k: 784, a: a.data, lda: 784, b: b.data, ldb: 128, c: c.data, ldc: 128) }
    }
    Benchmark("sgemm 128×784 · 784×128, split on the worker pool", configuration: configuration) { benchmark in
        let a = filled([128, 784], seed: 1), b = filled([784, 128], seed: 2), c = Tensor(shape: [128, 128])
        for _ in benchmark.scaledIterations { compute.sgemm(m: 128, n: 128, k: 784, a: a.data, lda: 784, b: b.data, ldb: 128, c: c.data, ldc: 128) }
    }

    // Layers at the shapes the models use, batch 128 (images are NHWC inside).
    layerBenchmarks("Linear 784→128 (batch 128)", Linear(name: "fc1", inputSize: 784, outputSize: 128),
                    input: filled([128, 784], seed: 1))
    let conv = Conv2D(name: "conv2", input: ImageShape(channels: 32, height: 26, width: 26), outputChannels: 32,
                      kernelHeight: 3, kernelWidth: 3)
    layerBenchmarks("Conv2D 3×3 32→32 on 26×26 (batch 32)", conv, input: filled([32, 26 * 26 * 32], seed: 2))
    // The same layer on the direct convolution: the ratio is what Winograd's F(2×2, 3×3) saves.
    layerBenchmarks("Conv2D 3×3 32→32 on 26×26, direct (batch 32)",
                    Conv2D(name: "conv2", input: ImageShape(channels: 32, height: 26, width: 26), outputChannels: 32,
                           kernelHeight: 3, kernelWidth: 3, allowsWinograd: false),
                    input: filled([32, 26 * 26 * 32], seed: 2))
    Benchmark("im2col 3×3 over 32×26×26 (batch 32)", configuration: configuration) { benchmark in
        let input = filled([32, 26 * 26 * 32], seed: 3)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { conv.lowerToColumns(input) }
    }
    layerBenchmarks("MaxPool2D 2×2 on 32×24×24 (batch 128)", MaxPool2D(input: ImageShape(channels: 32, height: 24, width: 24), kernel: 2, stride: 2),
                    input: filled([128, 24 * 24 * 32], seed: 4))
    // fast's first pool: 24 channels, a whole vector and a masked half (the C kernels); the
    // same pool with overlapping windows takes the indexed path.
    layerBenchmarks("MaxPool2D 2×2 on 24×24×24 (batch 256)", MaxPool2D(input: ImageShape(channels: 24, height: 24, width: 24), kernel: 2),
                    input: filled([256, 24 * 24 * 24], seed: 8))
    layerBenchmarks("MaxPool2D 3×3 stride 2 on 24×24×24 (batch 256)",
                    MaxPool2D(input: ImageShape(channels: 24, height: 24, width: 24), kernel: 3, stride: 2),
                    input: filled([256, 24 * 24 * 24], seed: 8))
    layerBenchmarks("BatchNorm 32 channels of 24×24 (batch 128)", BatchNorm(name: "bn2", channels: 32),
                    input: filled([128, 24 * 24 * 32], seed: 5))
    layerBenchmarks("ReLU 128×128", Activation(.relu), input: filled([128, 128], seed: 6))
    layerBenchmarks("Dropout 0.4 128×256", Dropout(probability: 0.4, random: RandomGenerator(seed: 7)),
                    input: filled([128, 256], seed: 7))

    guard let test = try? MNIST.load(from: mnistDirectory, split: .test) else {
        fatalError("MNIST not found in \(mnistDirectory): run scripts/fetch-mnist in the repository first")
    }

    // Augmentation of one image, as the batch pipeline does it.
    for recipe in ["shift=2", "shift=2,rotate=10,scale=0.1", "elastic=34:4", "noise=0.1"] {
        Benchmark("augment \(recipe) (one image)", configuration: configuration) { benchmark in
            let augmenter = Augmenter(spec: try AugmentationSpec.parse(recipe), rows: 28, columns: 28)
            let random = RandomGenerator(seed: 11)
            var output = [Float](repeating: 0, count: 784)
            let image = test.image(at: 0).pixels
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                image.withUnsafeBufferPointer { pixels in
                    output.withUnsafeMutableBufferPointer { augmenter.augment(pixels.baseAddress!, into: $0.baseAddress!, random: random) }
                }
            }
            blackHole(output)
        }
    }

    // Parsing: the 10,000 test images, raw and gzip.
    let gzipped = try! Files.read("\(mnistDirectory)/t10k-images-idx3-ubyte.gz", limit: 1 << 30)
    let raw = try! Gzip.decompress(gzipped, path: "t10k", limit: 1 << 30)
    Benchmark("IDX parse 10,000 images (raw)", configuration: configuration) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try IDXArray.decode(raw, path: "raw")) }
    }
    Benchmark("IDX parse 10,000 images (gzip)", configuration: configuration) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try IDXArray.decode(gzipped, path: "gzip")) }
    }

    // PNG decoding: an MNIST digit and a 512×512 drawing.
    let small = try! PNG.encode(width: 28, height: 28, layout: .gray, samples: test.image(at: 0).pixels)
    let large = try! PNG.encode(width: 512, height: 512, layout: .rgb,
                                samples: (0..<512 * 512 * 3).map { UInt8(truncatingIfNeeded: ($0 / 3 % 512) ^ ($0 / 1536)) })
    Benchmark("PNG decode 28×28 gray", configuration: configuration) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try PNG.decodeGray(small, path: "small")) }
    }
    Benchmark("PNG decode 512×512 RGB", configuration: configuration) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try PNG.decodeGray(large, path: "large")) }
    }

    // Whole steps of every model. The warm-up sizes every buffer; after it, none may allocate.
    for name in Recipe.modelNames {
        let architecture = Recipe.named(name)!.architecture()
        Benchmark("train step \(name) (batch 128)", configuration: configuration) { benchmark in
            // The trainer's own step, as `digits train` runs it (without augmentation).
            var options = TrainingOptions()
            options.augment = "none"
            options.validationCount = 1
            let trainer = try Trainer(architecture: architecture, options: options, dataset: test, compute: compute)
            let indices = Array(0..<128)
            for _ in 0..<3 { trainer.step(indices: indices[...], learningRate: 1e-3) }
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations { trainer.step(indices: indices[...], learningRate: 1e-3) }
            benchmark.stopMeasurement()  // before the trainer is freed
        }
        // Inference as evaluate and classify run it: the model's InferencePlan on raw pixels.
        for batch in [1, 1000] {
            Benchmark("inference \(name) (batch \(batch))", configuration: configuration) { benchmark in
                let model = try Sequential(architecture, random: RandomGenerator(seed: 1), dropoutRandom: RandomGenerator(seed: 2),
                                           compute: compute)
                let plan = InferencePlan(model)
                test.pixels.withUnsafeBufferPointer { pixels in
                    for _ in 0..<3 { blackHole(plan.forward(pixels: pixels.baseAddress!, count: batch)) }
                    benchmark.startMeasurement()
                    for _ in benchmark.scaledIterations { blackHole(plan.forward(pixels: pixels.baseAddress!, count: batch)) }
                    benchmark.stopMeasurement()  // before the plan is freed
                }
            }
        }
    }
}
