// Flatten: from the NHWC images the convolutions work on to PyTorch's flat order (C, H, W),
// so that the Linear layer after it has PyTorch's weight layout: a checkpoint's fc1.weight
// means the same in both programs.

/// Reorders NHWC images, (B, H·W·C), into PyTorch's flat (C, H, W) order, (B, C·H·W), so that the
/// Linear layer after it has PyTorch's weight layout. For one-channel images the two orders are
/// the same and it passes its input through.
public final class Flatten: Layer {
    /// The per-sample image shape it flattens.
    public let input: ImageShape
    private var output: Tensor?         // (B, C·H·W), PyTorch's order
    private var inputGradient: Tensor?  // (B, H·W·C)

    /// A layer flattening images of shape `input`.
    public init(input: ImageShape) { self.input = input }

    public var description: String { "Flatten(\(input))" }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        if input.channels == 1 { return x }  // the two orders coincide
        let y = ensure(&output, rows: x.rows, features: input.count)
        let channels = input.channels, plane = input.height * input.width
        for n in 0..<x.rows {
            let source = x.data + n * input.count, destination = y.data + n * input.count
            for pixel in 0..<plane {
                for c in 0..<channels { destination[c * plane + pixel] = source[pixel * channels + c] }
            }
        }
        return y
    }

    public func backward(_ outputGradient: Tensor) -> Tensor {
        if input.channels == 1 { return outputGradient }
        let dx = ensure(&inputGradient, rows: outputGradient.rows, features: input.count)
        let channels = input.channels, plane = input.height * input.width
        for n in 0..<outputGradient.rows {
            let source = outputGradient.data + n * input.count, destination = dx.data + n * input.count
            for pixel in 0..<plane {
                for c in 0..<channels { destination[pixel * channels + c] = source[c * plane + pixel] }
            }
        }
        return dx
    }
}
