// Residual connections (He et al. 2016): torchvision's BasicBlock, and the global average pool
// that ends a ResNet.
//
//   y = ReLU( BN2(conv2(ReLU(BN1(conv1(x))))) + skip(x) )
//
// conv1 is 3×3 with the block's stride, conv2 3×3 with stride 1, both padded by 1 and without a
// bias (the BatchNorm after each has one). The skip is the identity when the shape is kept,
// otherwise a projection: a 1×1 convolution with the stride, then BatchNorm (torchvision's
// `downsample.0` and `downsample.1`). The sum's gradient flows to both branches unchanged,
// which is why deep stacks of these blocks keep their early gradients.

/// A residual basic block, checkpoint names as torchvision's: `layer1.0.conv1.weight`,
/// `layer1.0.bn1.running_mean`, `layer2.0.downsample.0.weight` and so on.
public final class ResidualBlock: Layer {
    /// The block's input image shape (NHWC in memory, described as C×H×W).
    public let input: ImageShape
    /// The block's output shape: the output channels, the input's size divided by the stride.
    public let output: ImageShape
    /// The stride of `conv1` and of the projection: 2 halves the image.
    public let stride: Int
    /// The first 3×3 convolution, with the block's stride.
    public let conv1: Conv2D
    /// BatchNorm after `conv1`.
    public let norm1: BatchNorm
    /// ReLU between the two convolutions.
    public let relu: Activation
    /// The second 3×3 convolution, stride 1.
    public let conv2: Conv2D
    /// BatchNorm after `conv2`, before the sum.
    public let norm2: BatchNorm
    /// The projection skip (1×1 convolution and BatchNorm), or nil for the identity.
    public let projection: (convolution: Conv2D, norm: BatchNorm)?

    private var sum: Tensor?            // (B, OH·OW·O): the branch plus the skip, then rectified in place
    private var sumGradient: Tensor?    // (B, OH·OW·O): dLoss/d(sum), the ReLU's mask applied
    private var inputGradient: Tensor?  // (B, H·W·C): both paths' gradients added

    /// A block from `input` to `outputChannels` channels; a projection skip is made when the
    /// stride is not 1 or the channels change.
    public init(name: String, input: ImageShape, outputChannels: Int, stride: Int = 1) {
        self.input = input
        self.stride = stride
        conv1 = Conv2D(name: "\(name).conv1", input: input, outputChannels: outputChannels, kernelHeight: 3, kernelWidth: 3,
                       stride: stride, padding: 1, hasBias: false)
        norm1 = BatchNorm(name: "\(name).bn1", channels: outputChannels)
        relu = Activation(.relu)
        conv2 = Conv2D(name: "\(name).conv2", input: conv1.output, outputChannels: outputChannels, kernelHeight: 3, kernelWidth: 3,
                       padding: 1, hasBias: false)
        norm2 = BatchNorm(name: "\(name).bn2", channels: outputChannels)
        output = conv2.output
        if stride != 1 || input.channels != outputChannels {
            let convolution = Conv2D(name: "\(name).downsample.0", input: input, outputChannels: outputChannels,
                                     kernelHeight: 1, kernelWidth: 1, stride: stride, hasBias: false)
            precondition(convolution.output == output, "the projection of \(name) does not match its branch")
            projection = (convolution, BatchNorm(name: "\(name).downsample.1", channels: outputChannels))
        } else {
            projection = nil
        }
    }

    /// The block's layers in the order they run: the branch, then the projection if any.
    private var sublayers: [any Layer] {
        [conv1, norm1, relu, conv2, norm2] + (projection.map { [$0.convolution, $0.norm] } ?? [])
    }

    /// The convolutions, which `Sequential` initializes (He, for the ReLU after the sum).
    public var convolutions: [Conv2D] { [conv1, conv2] + (projection.map { [$0.convolution] } ?? []) }

    /// conv1, bn1, conv2, bn2, then the projection's, as PyTorch's state_dict lists them.
    public var parameters: [Parameter] { sublayers.flatMap(\.parameters) }
    /// The BatchNorms' running statistics (two, or three with a projection).
    public var buffers: [Parameter] { sublayers.flatMap(\.buffers) }
    public func outputFeatures(inputFeatures: Int) -> Int { output.count }
    public func use(_ compute: ComputeContext) { for layer in sublayers { layer.use(compute) } }
    public var description: String {
        "ResidualBlock(\(input.channels) → \(output.channels)\(stride != 1 ? ", stride \(stride)" : "")\(projection != nil ? ", projection" : ""))"
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        precondition(x.rowSize == input.count, "\(self) got \(x.rowSize) features per sample, expected \(input)")
        var branch = conv1.forward(x, training: training)
        branch = norm1.forward(branch, training: training)
        branch = relu.forward(branch, training: training)
        branch = conv2.forward(branch, training: training)
        branch = norm2.forward(branch, training: training)
        let skip = projection.map { $0.norm.forward($0.convolution.forward(x, training: training), training: training) } ?? x
        let y = ensure(&sum, rows: x.rows, features: output.count)
        let a = branch.data, b = skip.data, out = y.data
        for index in 0..<y.count { out[index] = max(a[index] + b[index], 0) }
        return y
    }

    public func backward(_ outputGradient: Tensor) -> Tensor {
        guard let y = sum else { preconditionFailure("\(self).backward before forward") }
        let d = ensure(&sumGradient, rows: outputGradient.rows, features: output.count)
        let dy = outputGradient.data, out = y.data, dSum = d.data
        for index in 0..<d.count { dSum[index] = out[index] > 0 ? dy[index] : 0 }
        var branch = norm2.backward(d)
        branch = conv2.backward(branch)
        branch = relu.backward(branch)
        branch = norm1.backward(branch)
        branch = conv1.backward(branch)
        let skip = projection.map { $0.convolution.backward($0.norm.backward(d)) } ?? d
        let dx = ensure(&inputGradient, rows: outputGradient.rows, features: input.count)
        let a = branch.data, b = skip.data, result = dx.data
        for index in 0..<dx.count { result[index] = a[index] + b[index] }
        return dx
    }
}

/// The mean of every channel over the image: (B, H·W·C) NHWC → (B, C), as PyTorch's
/// `AdaptiveAvgPool2d(1)` followed by `flatten(1)`.
public final class GlobalAveragePool: Layer {
    /// The image it averages.
    public let input: ImageShape
    private var output: Tensor?         // (B, C)
    private var inputGradient: Tensor?  // (B, H·W·C)

    /// A pool over images of shape `input`.
    public init(input: ImageShape) { self.input = input }

    public func outputFeatures(inputFeatures: Int) -> Int { input.channels }
    public var description: String { "GlobalAveragePool(\(input.height)×\(input.width))" }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        precondition(x.rowSize == input.count, "\(self) got \(x.rowSize) features per sample, expected \(input)")
        let channels = input.channels, positions = input.height * input.width
        let y = ensure(&output, rows: x.rows, features: channels)
        let scale = 1 / Float(positions)
        y.zero()
        for sample in 0..<x.rows {
            let image = x.data + sample * input.count, means = y.data + sample * channels
            for position in 0..<positions {
                let pixel = image + position * channels
                for c in 0..<channels { means[c] += pixel[c] }
            }
            for c in 0..<channels { means[c] *= scale }
        }
        return y
    }

    public func backward(_ outputGradient: Tensor) -> Tensor {
        let channels = input.channels, positions = input.height * input.width
        let dx = ensure(&inputGradient, rows: outputGradient.rows, features: input.count)
        let scale = 1 / Float(positions)
        for sample in 0..<outputGradient.rows {
            let dy = outputGradient.data + sample * channels, image = dx.data + sample * input.count
            for position in 0..<positions {
                let pixel = image + position * channels
                for c in 0..<channels { pixel[c] = dy[c] * scale }
            }
        }
        return dx
    }
}
