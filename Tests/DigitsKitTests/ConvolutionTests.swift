// The convolutional layers: gradient checks against central differences (Conv2D with several
// kernels, strides and paddings; MaxPool2D; Flatten; BatchNorm in training and inference), a
// direct reference convolution in PyTorch's layout, deterministic max-pool ties, and the CNN
// models built, saved and reloaded.
import Foundation
import Testing
@_spi(Tools) @testable import DigitsKit

/// Values spaced at least 0.05 apart, shuffled: no two within a max-pool window come closer
/// than the check's 2h = 0.02, so the winner never changes during the check. None is within
/// 0.0125 of zero, so a ReLU's kink is never crossed either.
func distinctInput(rows: Int, features: Int, seed: UInt64) -> Tensor {
    var order = Array(0..<rows * features)
    RandomGenerator(seed: seed).shuffle(&order)
    return Tensor(shape: [rows, features], values: order.map { Float($0) * 0.05 - Float(rows * features) * 0.025 + 0.0125 })
}

/// out[n, oy, ox, o] = b[o] + Σ_c,ky,kx w[o, c, ky, kx] · x[n, oy·s + ky − p, ox·s + kx − p, c]
/// (NHWC activations, PyTorch's weight layout, zero padding), the slow obvious way.
func referenceConvolution(_ conv: Conv2D, _ x: Tensor) -> [Float] {
    let input = conv.input, output = conv.output
    var result: [Float] = []
    for n in 0..<x.rows {
        for oy in 0..<output.height {
            for ox in 0..<output.width {
                for o in 0..<output.channels {
                    var sum = Double(conv.bias.value[o])
                    for c in 0..<input.channels {
                        for ky in 0..<conv.kernelHeight {
                            for kx in 0..<conv.kernelWidth {
                                let iy = oy * conv.stride + ky - conv.padding, ix = ox * conv.stride + kx - conv.padding
                                guard iy >= 0, iy < input.height, ix >= 0, ix < input.width else { continue }
                                let w = conv.weight.value[((o * input.channels + c) * conv.kernelHeight + ky) * conv.kernelWidth + kx]
                                sum += Double(w) * Double(x[n * input.count + (iy * input.width + ix) * input.channels + c])
                            }
                        }
                    }
                    result.append(Float(sum))
                }
            }
        }
    }
    return result
}

@Suite struct ConvolutionTests {
    static let geometries: [(kernelHeight: Int, kernelWidth: Int, stride: Int, padding: Int)] = [
        (3, 3, 1, 0), (3, 3, 2, 1), (2, 3, 1, 2), (3, 3, 2, 0), (1, 1, 1, 0),
        (5, 5, 1, 1),  // the fast model's first layer is 5×5
    ]

    static func conv(_ geometry: (kernelHeight: Int, kernelWidth: Int, stride: Int, padding: Int), seed: UInt64) -> Conv2D {
        let conv = Conv2D(name: "conv", input: ImageShape(channels: 2, height: 5, width: 6), outputChannels: 3,
                          kernelHeight: geometry.kernelHeight, kernelWidth: geometry.kernelWidth,
                          stride: geometry.stride, padding: geometry.padding)
        conv.initialize(.he, using: RandomGenerator(seed: seed))
        for o in 0..<3 { conv.bias.value[o] = Float(o) * 0.2 - 0.2 }
        return conv
    }

    @Test(arguments: 0..<6)
    func convolutionGradients(geometry index: Int) {
        let layer = Self.conv(Self.geometries[index], seed: UInt64(index))
        checkGradients(of: layer, input: smoothInput(rows: 2, features: layer.input.count, seed: 10 + UInt64(index)))
    }

    @Test(arguments: 0..<6)
    func convolutionMatchesTheReference(geometry index: Int) {
        let layer = Self.conv(Self.geometries[index], seed: 20 + UInt64(index))
        let x = smoothInput(rows: 3, features: layer.input.count, seed: 30)
        let y = layer.forward(x, training: false).array
        let expected = referenceConvolution(layer, x)
        #expect(y.count == expected.count)
        let worst = zip(y, expected).map { abs($0 - $1) }.max() ?? 0
        #expect(worst < 1e-5, "largest difference \(worst)")
    }

    /// One-channel first layers (cnn-basic's 3×3, fast's 5×5, and 2×2), whose im2col rows are
    /// short runs, split over two workers: against the reference and finite differences.
    @Test(arguments: [(3, 0), (5, 0), (5, 2), (2, 1)])
    func oneChannelLayersMatchTheReference(kernel: Int, padding: Int) {
        let conv = Conv2D(name: "c", input: ImageShape(channels: 1, height: 11, width: 9), outputChannels: 24,
                          kernelHeight: kernel, kernelWidth: kernel, padding: padding)
        conv.initialize(.he, using: RandomGenerator(seed: 5))
        conv.use(ComputeContext(threads: 2))
        let x = smoothInput(rows: 7, features: conv.input.count, seed: 6)
        let y = conv.forward(x, training: true).array
        let worst = zip(y, referenceConvolution(conv, x)).map { abs($0 - $1) }.max() ?? 0
        #expect(worst < 1e-5, "largest difference \(worst)")
        checkGradients(of: conv, input: smoothInput(rows: 2, features: conv.input.count, seed: 7))
    }

    /// The input gradient of stride-1 layers is a convolution of the padded output gradient with
    /// the turned kernel, in panels of 32 input channels: here with partial and several panels,
    /// against the definition dX[n, iy, ix, c] = Σ dY[n, oy, ox, o] · W[o, c, iy − oy + p, ix − ox + p].
    @Test(arguments: [(40, 24, 3, 1), (33, 17, 3, 0), (16, 32, 5, 2), (64, 64, 3, 1)])
    func inputGradientMatchesTheDefinition(channels: Int, outputChannels: Int, kernel: Int, padding: Int) {
        // 17: a tile of 14 pixels and a short one
        checkInputGradient(ImageShape(channels: channels, height: 9, width: 17), outputChannels: outputChannels, kernel: kernel,
                           padding: padding)
    }

    /// dX against its definition, for a layer of any path.
    private func checkInputGradient(_ input: ImageShape, outputChannels: Int, kernel: Int, padding: Int, winograd: Bool = false) {
        let channels = input.channels
        let conv = Conv2D(name: "c", input: input, outputChannels: outputChannels, kernelHeight: kernel, kernelWidth: kernel,
                          padding: padding)
        #expect(conv.usesWinograd == winograd)
        conv.initialize(.he, using: RandomGenerator(seed: 8))
        conv.use(ComputeContext(threads: 2))
        let x = smoothInput(rows: 3, features: input.count, seed: 9)
        let out = conv.output
        _ = conv.forward(x, training: true)
        let dy = smoothInput(rows: 3, features: out.count, seed: 10)
        let dx = conv.backward(dy).array
        var worst: Double = 0, scale: Double = 0
        for n in 0..<3 {
            for iy in 0..<input.height {
                for ix in 0..<input.width {
                    for c in 0..<channels {
                        var sum = 0.0
                        for ky in 0..<kernel {
                            for kx in 0..<kernel {
                                let oy = iy + padding - ky, ox = ix + padding - kx
                                guard oy >= 0, oy < out.height, ox >= 0, ox < out.width else { continue }
                                for o in 0..<outputChannels {
                                    let w = conv.weight.value[((o * channels + c) * kernel + ky) * kernel + kx]
                                    sum += Double(w) * Double(dy[n * out.count + (oy * out.width + ox) * outputChannels + o])
                                }
                            }
                        }
                        let got = Double(dx[n * input.count + (iy * input.width + ix) * channels + c])
                        worst = max(worst, abs(got - sum))
                        scale = max(scale, abs(sum))
                    }
                }
            }
        }
        #expect(worst <= 1e-5 * max(scale, 1), "largest difference \(worst) (scale \(scale))")
    }

    /// Padding-free layers of 16 or more input channels read their input in place: forward by
    /// the tiled kernel with one segment per tap, the weight gradient by dk_conv_weight_gradient,
    /// with no im2col. Shapes with channel counts that leave a partial vector (20, 40, 33), output
    /// counts that leave blocks of 2 and 1 (11, 9, 17), stride 2, and a 5×5 kernel, on two workers:
    /// against the reference convolution and the definitions of dW and db.
    @Test(arguments: [(16, 32, 3, 1), (20, 11, 3, 2), (40, 9, 2, 1), (33, 17, 5, 1)])
    func inPlaceLayersMatchTheDefinitions(channels: Int, outputChannels: Int, kernel: Int, stride: Int) {
        checkAgainstTheDefinitions(channels: channels, outputChannels: outputChannels, kernel: kernel, stride: stride, first: false)
    }

    /// First layers (no input gradient) with few channels read their input in place too, their
    /// weight gradient vectorized over the outputs: the fast model's 5×5 1→24 layer, more than
    /// 32 outputs (a second, partial block), and 3 channels with an even kernel.
    @Test(arguments: [(1, 24, 5, 1), (1, 40, 3, 2), (3, 7, 4, 1)])
    func firstLayersMatchTheDefinitions(channels: Int, outputChannels: Int, kernel: Int, stride: Int) {
        checkAgainstTheDefinitions(channels: channels, outputChannels: outputChannels, kernel: kernel, stride: stride, first: true)
    }

    /// Forward against the reference convolution, and dW and db against their definitions
    /// dW[o, c, ky, kx] = Σ dY[n, oy, ox, o] · x[n, oy·s + ky, ox·s + kx, c], db[o] = Σ dY[n, oy, ox, o].
    private func checkAgainstTheDefinitions(channels: Int, outputChannels: Int, kernel: Int, stride: Int, first: Bool,
                                            height: Int = 9, width: Int = 17, winograd: Bool = false) {
        let input = ImageShape(channels: channels, height: height, width: width)
        let conv = Conv2D(name: "c", input: input, outputChannels: outputChannels, kernelHeight: kernel, kernelWidth: kernel,
                          stride: stride)
        #expect(conv.usesWinograd == winograd)
        conv.computesInputGradient = !first
        conv.initialize(.he, using: RandomGenerator(seed: 11))
        for o in 0..<outputChannels { conv.bias.value[o] = Float(o % 5) * 0.1 - 0.2 }
        conv.use(ComputeContext(threads: 2))
        let batch = 5, out = conv.output
        let x = smoothInput(rows: batch, features: input.count, seed: 12)
        let y = conv.forward(x, training: true).array
        let forwardError = zip(y, referenceConvolution(conv, x)).map { abs($0 - $1) }.max() ?? 0
        #expect(forwardError < 1e-5, "forward differs from the reference by \(forwardError)")
        let dy = smoothInput(rows: batch, features: out.count, seed: 13)
        _ = conv.backward(dy)
        var weightError = 0.0, weightScale = 0.0, biasError = 0.0, biasScale = 0.0
        for o in 0..<outputChannels {
            var biasSum = 0.0
            for n in 0..<batch {
                for p in 0..<(out.height * out.width) { biasSum += Double(dy[n * out.count + p * outputChannels + o]) }
            }
            biasError = max(biasError, abs(Double(conv.bias.gradient[o]) - biasSum))
            biasScale = max(biasScale, abs(biasSum))
            for c in 0..<channels {
                for ky in 0..<kernel {
                    for kx in 0..<kernel {
                        var sum = 0.0
                        for n in 0..<batch {
                            for oy in 0..<out.height {
                                for ox in 0..<out.width {
                                    let iy = oy * stride + ky, ix = ox * stride + kx
                                    sum += Double(dy[n * out.count + (oy * out.width + ox) * outputChannels + o])
                                        * Double(x[n * input.count + (iy * input.width + ix) * channels + c])
                                }
                            }
                        }
                        let got = Double(conv.weight.gradient[((o * channels + c) * kernel + ky) * kernel + kx])
                        weightError = max(weightError, abs(got - sum))
                        weightScale = max(weightScale, abs(sum))
                    }
                }
            }
        }
        #expect(weightError <= 1e-5 * max(weightScale, 1), "dW differs from the definition by \(weightError) (scale \(weightScale))")
        // Float sums of up to 3,000 values each (the 26×26 Winograd case): relative to the largest.
        #expect(biasError <= 1e-4 * max(biasScale, 1), "db differs from the definition by \(biasError) (scale \(biasScale))")
    }

    /// Winograd's F(2×2, 3×3) (padding-free 3×3 layers of 16 or more channels in whole vectors of
    /// 8, even outputs): the `cnn`'s second layer at 26×26 (a row of 12 blocks), the fast model's
    /// 24 → 32, channels past one panel of 32 with a half vector pair left (40), outputs past one
    /// panel (72), a non-square image, and a batch of 5 on two workers. Forward against the
    /// reference convolution, dW and db against their definitions, dX against its definition.
    @Test(arguments: [(32, 32, 26, 26), (24, 32, 12, 12), (40, 16, 6, 10), (16, 72, 10, 8)])
    func winogradLayersMatchTheDefinitions(channels: Int, outputChannels: Int, height: Int, width: Int) {
        checkAgainstTheDefinitions(channels: channels, outputChannels: outputChannels, kernel: 3, stride: 1, first: false,
                                   height: height, width: width, winograd: true)
        checkInputGradient(ImageShape(channels: channels, height: height, width: width), outputChannels: outputChannels, kernel: 3,
                           padding: 0, winograd: true)
    }

    /// The `cnn`'s conv2 and conv4 on both paths, with the same weights, input and output
    /// gradient: Winograd's y, dX, dW and db equal the direct convolution's to within rounding.
    @Test(arguments: [(32, 32, 26), (64, 64, 10)])
    func winogradEqualsTheDirectPath(channels: Int, outputChannels: Int, side: Int) {
        let shape = ImageShape(channels: channels, height: side, width: side)
        let make = { (allowsWinograd: Bool) -> Conv2D in
            let conv = Conv2D(name: "c", input: shape, outputChannels: outputChannels, kernelHeight: 3, kernelWidth: 3,
                              allowsWinograd: allowsWinograd)
            conv.initialize(.he, using: RandomGenerator(seed: 26))
            for o in 0..<outputChannels { conv.bias.value[o] = Float(o % 7) * 0.1 - 0.3 }
            return conv
        }
        let winograd = make(true), direct = make(false)
        #expect(winograd.usesWinograd && !direct.usesWinograd)
        let x = smoothInput(rows: 6, features: shape.count, seed: 27)
        let dy = smoothInput(rows: 6, features: winograd.output.count, seed: 28)
        let fast = Self.passes(winograd, x, dy, workers: 2) + [winograd.bias.gradient.array]
        let reference = Self.passes(direct, x, dy, workers: 2) + [direct.bias.gradient.array]
        for (name, (a, b)) in zip(["y", "dX", "dW", "db"], zip(fast, reference)) {
            let scale = b.map(abs).max() ?? 1
            let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
            #expect(worst <= 1e-5 * max(scale, 1), "\(name) differs by \(worst) (scale \(scale))")
        }
    }

    /// Winograd's path against central differences (weights, bias and input), and the shapes it
    /// leaves to the tiled kernel: an odd output, channels not in vectors of 8, padding.
    @Test func winogradLayerGradients() {
        let conv = Conv2D(name: "w", input: ImageShape(channels: 16, height: 6, width: 8), outputChannels: 8,
                          kernelHeight: 3, kernelWidth: 3)
        #expect(conv.usesWinograd)
        conv.initialize(.he, using: RandomGenerator(seed: 21))
        for o in 0..<8 { conv.bias.value[o] = Float(o) * 0.1 - 0.3 }
        conv.use(ComputeContext(threads: 2))
        checkGradients(of: conv, input: smoothInput(rows: 3, features: conv.input.count, seed: 22))
        for (channels, outputs, side, padding) in [(16, 8, 7, 0), (20, 8, 6, 0), (16, 12, 6, 0), (16, 8, 6, 1)] {
            let other = Conv2D(name: "d", input: ImageShape(channels: channels, height: side, width: side), outputChannels: outputs,
                               kernelHeight: 3, kernelWidth: 3, padding: padding)
            #expect(!other.usesWinograd, "\(channels) → \(outputs), \(side)×\(side), padding \(padding)")
        }
    }

    /// y, dX and dW of one forward and backward pass on `workers` threads.
    static func passes(_ conv: Conv2D, _ x: Tensor, _ dy: Tensor, workers: Int) -> [[Float]] {
        conv.use(ComputeContext(threads: workers))
        let y = conv.forward(x, training: true).array
        let dx = conv.backward(dy).array
        return [y, dx, conv.weight.gradient.array]
    }

    /// The same batch on one and two workers: forward and dX are computed sample by sample, so
    /// they are the same bits; dW adds each worker's sums in order, so it agrees to rounding,
    /// and at one worker count it is the same bit for bit, run after run.
    @Test func winogradIsTheSameOnTwoWorkers() {
        let x = smoothInput(rows: 9, features: 32 * 12 * 12, seed: 23)
        let dy = smoothInput(rows: 9, features: 32 * 10 * 10, seed: 24)
        let make = { () -> Conv2D in
            let conv = Conv2D(name: "c", input: ImageShape(channels: 32, height: 12, width: 12), outputChannels: 32,
                              kernelHeight: 3, kernelWidth: 3)
            conv.initialize(.he, using: RandomGenerator(seed: 25))
            return conv
        }
        let one = Self.passes(make(), x, dy, workers: 1), two = Self.passes(make(), x, dy, workers: 2)
        let again = Self.passes(make(), x, dy, workers: 2)
        #expect(two == again)
        #expect(one[0] == two[0] && one[1] == two[1])
        let scale = one[2].map(abs).max() ?? 1
        let worst = zip(one[2], two[2]).map { abs($0 - $1) }.max() ?? 0
        #expect(worst <= 1e-5 * scale, "dW on one and two workers differ by \(worst) (scale \(scale))")
    }

    /// The in-place paths against central differences: weights, bias and input at strides 1
    /// and 2, and a first layer's weights and bias.
    @Test func inPlaceLayerGradients() {
        let conv = Conv2D(name: "c", input: ImageShape(channels: 18, height: 5, width: 6), outputChannels: 5,
                          kernelHeight: 3, kernelWidth: 3)
        conv.initialize(.he, using: RandomGenerator(seed: 14))
        for o in 0..<5 { conv.bias.value[o] = Float(o) * 0.2 - 0.4 }
        conv.use(ComputeContext(threads: 2))
        checkGradients(of: conv, input: smoothInput(rows: 4, features: conv.input.count, seed: 15))
        // Stride 2, as a residual block's 1×1 projection: the in-place forward and weight
        // gradient with the col2im input gradient.
        let strided = Conv2D(name: "s", input: ImageShape(channels: 16, height: 6, width: 6), outputChannels: 6,
                             kernelHeight: 1, kernelWidth: 1, stride: 2)
        strided.initialize(.he, using: RandomGenerator(seed: 18))
        strided.use(ComputeContext(threads: 2))
        checkGradients(of: strided, input: smoothInput(rows: 3, features: strided.input.count, seed: 19))
        // A first layer on one channel, 5×5 (the fast model's), weights and bias only.
        let first = Conv2D(name: "f", input: ImageShape(channels: 1, height: 8, width: 9), outputChannels: 20,
                           kernelHeight: 5, kernelWidth: 5)
        first.computesInputGradient = false
        first.initialize(.he, using: RandomGenerator(seed: 16))
        first.use(ComputeContext(threads: 2))
        checkGradients(of: first, input: smoothInput(rows: 4, features: first.input.count, seed: 17))
    }

    /// Larger than one im2col chunk and more than one worker. The split loops (im2col, col2im)
    /// must give exactly what one worker gives; the products are split into one sgemm per
    /// worker, which may round differently, so across worker counts they agree to rounding,
    /// and at one worker count they are the same bit for bit, run after run.
    @Test func convolutionIsTheSameOnTwoWorkers() {
        let make = { () -> Conv2D in
            let conv = Conv2D(name: "c", input: ImageShape(channels: 8, height: 12, width: 12), outputChannels: 16,
                              kernelHeight: 3, kernelWidth: 3, padding: 1)
            conv.initialize(.he, using: RandomGenerator(seed: 4))
            return conv
        }
        let x = smoothInput(rows: 70, features: 8 * 12 * 12, seed: 5)
        let dy = smoothInput(rows: 70, features: 16 * 12 * 12, seed: 6)
        let one = Self.passes(make(), x, dy, workers: 1), two = Self.passes(make(), x, dy, workers: 2)
        let again = Self.passes(make(), x, dy, workers: 2)
        #expect(two == again)
        for (a, b) in zip(one, two) {
            let scale = a.map(abs).max() ?? 1
            let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
            #expect(worst <= 1e-5 * scale, "one and two workers differ by \(worst) (scale \(scale))")
        }
    }

    /// The first layer of cnn-basic, fused: conv 3×3 → ReLU → max-pool 2, as one layer. It must
    /// compute what the three layers compute, each of which is checked against finite
    /// differences above. (A finite-difference check of the fused layer itself would move
    /// window maxima past each other: perturbing a weight moves all of a window's values.)
    @Test(arguments: [(0, 2), (1, 2), (0, 3)])
    func fusedConvolutionPoolEqualsTheThreeLayers(padding: Int, pool: Int) {
        let image = ImageShape(channels: 1, height: 9, width: 8)
        let fused = Conv2D(name: "c", input: image, outputChannels: 32, kernelHeight: 3, kernelWidth: 3, padding: padding, fusedPool: pool)
        let plain = Conv2D(name: "c", input: image, outputChannels: 32, kernelHeight: 3, kernelWidth: 3, padding: padding)
        fused.computesInputGradient = false
        plain.computesInputGradient = false
        fused.initialize(.he, using: RandomGenerator(seed: 3))
        plain.initialize(.he, using: RandomGenerator(seed: 3))
        for o in 0..<32 { fused.bias.value[o] = Float(o % 5) * 0.1 - 0.2; plain.bias.value[o] = fused.bias.value[o] }
        let relu = Activation(.relu), maxPool = MaxPool2D(input: plain.output, kernel: pool)
        #expect(fused.output == maxPool.output)
        let x = smoothInput(rows: 3, features: image.count, seed: 14)
        let expected = maxPool.forward(relu.forward(plain.forward(x, training: true), training: true), training: true).array
        #expect(fused.forward(x, training: true).array == expected)
        let dy = smoothInput(rows: 3, features: fused.output.count, seed: 15)
        _ = plain.backward(relu.backward(maxPool.backward(dy)))
        _ = fused.backward(dy)
        for (a, b) in zip(fused.parameters, plain.parameters) {
            let worst = zip(a.gradient.array, b.gradient.array).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
            #expect(worst < 1e-5, "\(a.name): largest difference \(worst)")
        }
        #expect(fused.weight.gradient.squaredNorm > 0)
    }

    @Test func maxPoolGradients() {
        let pool = MaxPool2D(input: ImageShape(channels: 3, height: 6, width: 6), kernel: 2)
        checkGradients(of: pool, input: distinctInput(rows: 2, features: 3 * 36, seed: 1))
        // Overlapping windows (3×3, stride 2), and 17 channels: the 16-wide path and the rest.
        let overlapping = MaxPool2D(input: ImageShape(channels: 17, height: 7, width: 7), kernel: 3, stride: 2)
        checkGradients(of: overlapping, input: distinctInput(rows: 1, features: 17 * 49, seed: 2))
    }

    /// Non-overlapping windows take the C kernels without indices, 16 channels a vector and a
    /// masked rest (3, 16, 24 for fast's first layer, 40). 5 rows leave a last row outside every
    /// window, which must get no gradient.
    @Test(arguments: [(16, false), (16, true), (3, false), (24, true), (24, false), (40, true), (12, true)])
    func tiledMaxPoolGradients(channels: Int, rectifies: Bool) {
        let pool = MaxPool2D(input: ImageShape(channels: channels, height: 5, width: 4), kernel: 2, rectifies: rectifies)
        checkGradients(of: pool, input: distinctInput(rows: 2, features: channels * 20, seed: 9))
    }

    /// The fused layer computes exactly what ReLU followed by max-pooling computes.
    @Test(arguments: [3, 16, 24])
    func rectifiedPoolEqualsReLUThenPool(channels: Int) {
        let shape = ImageShape(channels: channels, height: 6, width: 6)
        let x = smoothInput(rows: 3, features: shape.count, seed: 12)
        let dy = smoothInput(rows: 3, features: shape.count / 4, seed: 13)
        let relu = Activation(.relu), pool = MaxPool2D(input: shape, kernel: 2)
        let fused = MaxPool2D(input: shape, kernel: 2, rectifies: true)
        let expected = pool.forward(relu.forward(x, training: true), training: true).array
        let expectedGradient = relu.backward(pool.backward(dy)).array
        #expect(fused.forward(x, training: true).array == expected)
        #expect(fused.backward(dy).array == expectedGradient)
    }

    @Test func maxPoolPicksTheMaximum() {
        let pool = MaxPool2D(input: ImageShape(channels: 1, height: 2, width: 4), kernel: 2)
        let y = pool.forward(Tensor(shape: [1, 8], values: [1, 5, -3, -1, 2, 0, -2, -4]), training: true)
        #expect(y.array == [5, -1])
    }

    /// Equal values: the first in row-major window order wins, in both code paths (stride 1 over
    /// a 2×2 image is one window too, but takes the indexed path of overlapping windows).
    @Test(arguments: [1, 16, 19, 24], [1, 2])
    func maxPoolTiesGoToTheFirst(channels: Int, stride: Int) {
        let pool = MaxPool2D(input: ImageShape(channels: channels, height: 2, width: 2), kernel: 2, stride: stride)
        _ = pool.forward(Tensor(shape: [1, 4 * channels], values: Array(repeating: 7, count: 4 * channels)), training: true)
        let dx = pool.backward(Tensor(shape: [1, channels], values: Array(repeating: 1, count: channels))).array
        #expect(Array(dx[0..<channels]) == Array(repeating: 1, count: channels))
        #expect(dx[channels...].allSatisfy { $0 == 0 })
    }

    @Test func flattenGivesPyTorchsOrder() {
        let flatten = Flatten(input: ImageShape(channels: 2, height: 2, width: 3))
        // NHWC: value = 100·c + 10·y + x, so PyTorch's (C, H, W) order reads them sorted.
        var nhwc: [Float] = []
        for y in 0..<2 { for x in 0..<3 { for c in 0..<2 { nhwc.append(Float(100 * c + 10 * y + x)) } } }
        let out = flatten.forward(Tensor(shape: [1, 12], values: nhwc), training: true).array
        #expect(out == [0, 1, 2, 10, 11, 12, 100, 101, 102, 110, 111, 112])
        checkGradients(of: flatten, input: smoothInput(rows: 2, features: 12, seed: 3))
    }

    @Test func batchNormGradientsInTraining() {
        let norm = BatchNorm(name: "bn", channels: 3)
        for c in 0..<3 { norm.weight.value[c] = 0.5 + Float(c) * 0.4; norm.bias.value[c] = Float(c) * 0.1 }
        // Images: 2 samples × 2×2 pixels × 3 channels, statistics over 8 values per channel.
        checkGradients(of: norm, input: smoothInput(rows: 2, features: 12, seed: 4))
        // Flat features: statistics over the 5 samples.
        let flat = BatchNorm(name: "bn", channels: 4)
        checkGradients(of: flat, input: smoothInput(rows: 5, features: 4, seed: 5))
    }

    @Test func batchNormGradientsInInference() {
        let norm = BatchNorm(name: "bn", channels: 3)
        for c in 0..<3 {
            norm.weight.value[c] = 1.5 - Float(c) * 0.3
            norm.runningMean.value[c] = Float(c) * 0.2 - 0.1
            norm.runningVariance.value[c] = 0.5 + Float(c)
        }
        checkGradients(of: norm, input: smoothInput(rows: 3, features: 6, seed: 6), training: false)
    }

    @Test func batchNormStatistics() {
        let norm = BatchNorm(name: "bn", channels: 2)
        // Channel 0 holds 1, 2, 3, 4; channel 1 holds 10, 10, 10, 14.
        let x = Tensor(shape: [2, 4], values: [1, 10, 2, 10, 3, 10, 4, 14])
        let y = norm.forward(x, training: true).array
        let channel0 = [y[0], y[2], y[4], y[6]]
        let mean0 = channel0.reduce(0, +) / 4
        let variance0 = channel0.map { ($0 - mean0) * ($0 - mean0) }.reduce(0, +) / 4
        #expect(abs(mean0) < 1e-6 && abs(variance0 - 1.25 / (1.25 + 1e-5)) < 1e-4)
        // Running estimates move 10% of the way, with the unbiased variance (5/3 and 4).
        #expect(abs(norm.runningMean.value[0] - 0.25) < 1e-6 && abs(norm.runningMean.value[1] - 1.1) < 1e-5)
        #expect(abs(norm.runningVariance.value[0] - (0.9 + 0.1 * 5 / 3)) < 1e-6)
        #expect(abs(norm.runningVariance.value[1] - (0.9 + 0.1 * 4)) < 1e-5)
        #expect(norm.batchesTracked.value[0] == 1)
        // Inference uses the running estimates, not the batch.
        let inference = norm.forward(x, training: false).array
        #expect(abs(inference[0] - (1 - 0.25) / (0.9 + 0.1 * 5 / 3 + 1e-5).squareRoot()) < 1e-5)
    }

    @Test(arguments: ["cnn", "cnn-basic"])
    func modelsBuildSaveAndReload(name: String) throws {
        let architecture = Recipe.named(name)!.architecture()
        let model = try Sequential(architecture, random: RandomGenerator(seed: 1), dropoutRandom: RandomGenerator(seed: 2))
        let names = Set(model.savedTensors.map(\.name))
        #expect(names.isSuperset(of: ["conv1.weight", "conv2.bias", "fc1.weight", "fc2.bias"]))
        #expect(model.parameter(named: "conv2.weight")?.value.shape == [name == "cnn" ? 32 : 64, 32, 3, 3])
        if name == "cnn" {
            #expect(names.isSuperset(of: ["bn1.running_mean", "bn4.running_var", "bn5.num_batches_tracked"]))
            #expect(model.parameters.count == model.savedTensors.count - 15)  // 5 BatchNorms × 3 buffers
        }
        let x = smoothInput(rows: 4, features: 784, seed: 8)
        _ = model.forward(x, training: true)  // moves the running statistics
        let before = model.forward(x, training: false).array
        let path = "/tmp/digits-test-\(name)-\(UInt32.random(in: 0...UInt32.max)).safetensors"
        defer { unlink(path) }
        try Checkpoint.save(model, metadata: [:], to: path)
        let (reloaded, _) = try Checkpoint.loadModel(from: path)
        #expect(reloaded.architecture == architecture)
        // Every saved tensor comes back bit for bit.
        #expect(reloaded.savedTensors.map(\.name) == model.savedTensors.map(\.name))
        #expect(reloaded.savedTensors.map(\.value.array) == model.savedTensors.map(\.value.array))
        // The same outputs. Not compared bit for bit: other suites change the global worker
        // count while this one runs (issue 16), and a product split differently sums in
        // another order.
        let after = reloaded.forward(x, training: false).array
        #expect(zip(after, before).allSatisfy { abs($0 - $1) <= 1e-4 * max(1, abs($1)) })
    }

    @Test func invalidConvolutionalArchitecturesAreRefused() {
        var architecture = Architecture.cnnBasic()
        architecture.layers.remove(at: 6)  // the flatten before fc1
        #expect(throws: ModelError.self) { _ = try Sequential(architecture, random: RandomGenerator(seed: 1), dropoutRandom: RandomGenerator(seed: 1)) }
        architecture = Architecture.cnnBasic()
        architecture.layers[3].inChannels = 16  // conv2 after 32 channels
        #expect(throws: ModelError.self) { _ = try Sequential(architecture, random: RandomGenerator(seed: 1), dropoutRandom: RandomGenerator(seed: 1)) }
        architecture = Architecture.cnn()
        architecture.layers[1].numFeatures = 64  // bn1 after 32 channels
        #expect(throws: ModelError.self) { _ = try Sequential(architecture, random: RandomGenerator(seed: 1), dropoutRandom: RandomGenerator(seed: 1)) }
        architecture = Architecture.cnnBasic(input: [1, 4, 4])  // too small for two 3×3 + pool stages
        #expect(throws: ModelError.self) { _ = try Sequential(architecture, random: RandomGenerator(seed: 1), dropoutRandom: RandomGenerator(seed: 1)) }
    }
}

/// A small CNN with every convolutional layer kind, trained on the 8×8 synthetic digits.
@Suite struct ConvolutionalTrainingTests {
    static let architecture = Architecture(
        model: "tiny-cnn", input: [1, 8, 8], classes: 10, activation: "relu", dropout: 0.2, normalization: .mnist,
        layers: [.conv2d("conv1", 1, 8, kernel: 3, padding: 1), .batchnorm("bn1", 8), .activation(.relu), .maxpool2d(2),
                 .conv2d("conv2", 8, 16, kernel: 3), .activation(.relu), .flatten,
                 .linear("fc1", 64, 10)])

    /// It learns, two runs are identical to the bit (BatchNorm statistics included), and one
    /// epoch plus a resume equals the straight run.
    @Test func learnsDeterministicallyAndResumes() throws {
        let dataset = try SyntheticDigits.dataset(count: 600)
        var options = SyntheticDigits.options(epochs: 4)
        options.augment = "noise=0.05"  // the classes are rows of pixels: shifts would blur them
        let straight = try Trainer(architecture: Self.architecture, options: options, dataset: dataset)
        while !straight.isFinished { _ = try straight.runEpoch() }
        #expect(straight.bestValidationAccuracy > 0.9)
        let again = try Trainer(architecture: Self.architecture, options: options, dataset: dataset)
        while !again.isFinished { _ = try again.runEpoch() }
        let identical = again.checkpointFile().encoded() == straight.checkpointFile().encoded()
        #expect(identical)
        #expect(straight.checkpointFile()["bn1.num_batches_tracked"]?.values.first ?? 0 > 0)

        let first = try Trainer(architecture: Self.architecture, options: options, dataset: dataset)
        _ = try first.runEpoch()
        let saved = first.stateFile().encoded()
        let resumed = try Trainer(resumingFrom: SafeTensorsFile.decode(saved, path: "s"), path: "s", dataset: dataset)
        while !resumed.isFinished { _ = try resumed.runEpoch() }
        let resumedMatches = resumed.checkpointFile().encoded() == straight.checkpointFile().encoded()
        #expect(resumedMatches)
    }
}
