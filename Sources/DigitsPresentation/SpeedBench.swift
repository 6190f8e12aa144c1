// The measurements behind `digits bench`: training and inference throughput of each model,
// GEMM speed at the models' own shapes, and IDX loading. Each figure is the median of several
// timed repetitions after a warm-up, with the fastest and slowest kept, because this kind of
// machine wanders by tens of percent from one second to the next.
@_spi(Tools) import DigitsKit
import Foundation

/// Seconds per repetition: the median, and the range seen.
package struct Timing: Sendable {
    package var median: Double
    package var minimum: Double
    package var maximum: Double

    /// Times `body` `repetitions` times after `warmup` untimed calls.
    package static func measure(repetitions: Int, warmup: Int = 1, _ body: () -> Void) -> Timing {
        for _ in 0..<warmup { body() }
        var seconds: [Double] = []
        for _ in 0..<max(repetitions, 1) {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        seconds.sort()
        let middle = seconds.count / 2
        let median = seconds.count % 2 == 1 ? seconds[middle] : (seconds[middle - 1] + seconds[middle]) / 2
        return Timing(median: median, minimum: seconds.first!, maximum: seconds.last!)
    }

    /// `work` units per second at the median, the slowest and the fastest repetition.
    package func rate(_ work: Double) -> (median: Double, minimum: Double, maximum: Double) {
        (work / median, work / maximum, work / minimum)
    }
}

/// One throughput figure: units per second at the median repetition, and the range.
package struct Throughput: Sendable {
    package var median: Double
    package var minimum: Double
    package var maximum: Double

    init(_ timing: Timing, work: Double) {
        (median, minimum, maximum) = timing.rate(work)
    }
}

package struct GEMMSpeed: Sendable {
    package var name: String
    package var m: Int, n: Int, k: Int
    /// GFLOP/s, counting a multiply-add as two operations.
    package var gflops: Throughput
}

package enum SpeedBench {
    /// Training images per second: the trainer's own step (forward, fused loss, backward,
    /// Adam) on batches of `batchSize` real images, without augmentation (which runs on its own
    /// thread anyway).
    package static func training(_ architecture: Architecture, dataset: DigitDataset, steps: Int, repetitions: Int,
                                batchSize: Int = 128, compute: ComputeContext) throws -> Throughput {
        var options = TrainingOptions()
        options.batchSize = batchSize
        options.augment = "none"
        options.validationCount = 1  // nothing is validated; the batches may use every image
        let trainer = try Trainer(architecture: architecture, options: options, dataset: dataset, compute: compute)
        let batches = (0..<steps).map { step in
            Array((step * batchSize..<(step + 1) * batchSize).map { $0 % dataset.count })
        }
        let timing = Timing.measure(repetitions: repetitions) {
            for batch in batches { trainer.step(indices: batch[...], learningRate: options.learningRate) }
        }
        return Throughput(timing, work: Double(steps * batchSize))
    }

    /// Inference images per second at a batch size: forward passes over `images` images,
    /// `batchSize` at a time, normalization of the raw pixels included, through the model's
    /// InferencePlan (made once, outside the timing), as evaluate and classify run it.
    package static func inference(_ model: Sequential, dataset: DigitDataset, batchSize: Int, images: Int,
                                 repetitions: Int) -> Throughput {
        let images = min(images, dataset.count)
        let plan = InferencePlan(model)
        let timing = dataset.pixels.withUnsafeBufferPointer { pixels in
            Timing.measure(repetitions: repetitions) {
                for start in stride(from: 0, to: images, by: batchSize) {
                    _ = plan.forward(pixels: pixels.baseAddress! + start * plan.inputCount, count: min(batchSize, images - start))
                }
            }
        }
        return Throughput(timing, work: Double(images))
    }

    /// The products the models spend their time in, at batch 128.
    package static let gemmShapes: [(name: String, m: Int, n: Int, k: Int)] = [
        ("mlp fc1 forward (128×784 · 784×128)", 128, 128, 784),
        ("mlp fc1 weight gradient (128×128 · 128×784)", 128, 784, 128),
        ("cnn-basic conv2 (im2col 15488×288 · 288×64)", 128 * 11 * 11, 64, 288),
        ("cnn conv2 (im2col 73728×288 · 288×32)", 128 * 24 * 24, 32, 288),
        ("cnn conv4 (im2col 8192×576 · 576×64)", 128 * 8 * 8, 64, 576),
    ]

    /// GFLOP/s of `compute.sgemm` at each of `gemmShapes`, on made-up data.
    package static func gemm(repetitions: Int, compute: ComputeContext) -> [GEMMSpeed] {
        let random = RandomGenerator(seed: 7)
        return gemmShapes.map { shape in
            let a = Tensor(shape: [shape.m, shape.k]), b = Tensor(shape: [shape.k, shape.n]), c = Tensor(shape: [shape.m, shape.n])
            for index in 0..<a.count { a[index] = random.nextUnitFloat() - 0.5 }
            for index in 0..<b.count { b[index] = random.nextUnitFloat() - 0.5 }
            // Enough calls per repetition for about 50 million multiply-adds.
            let calls = max(1, 50_000_000 / (shape.m * shape.n * shape.k))
            let timing = Timing.measure(repetitions: repetitions) {
                for _ in 0..<calls {
                    compute.sgemm(m: shape.m, n: shape.n, k: shape.k, a: a.data, lda: shape.k, b: b.data, ldb: shape.n,
                               c: c.data, ldc: shape.n)
                }
            }
            let flops = 2 * Double(shape.m * shape.n * shape.k * calls) / 1e9
            return GEMMSpeed(name: shape.name, m: shape.m, n: shape.n, k: shape.k, gflops: Throughput(timing, work: flops))
        }
    }
}
