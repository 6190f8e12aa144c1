// A fully connected layer, y = x·Wᵀ + b, with PyTorch's layout: weight (O, I), bias (O).
// Both products go through cblas_sgemm with transposes passed as flags.
import Foundation

/// A fully connected layer, y = x·Wᵀ + b: (B, I) → (B, O), with PyTorch's layout (weight (O, I),
/// bias (O)). Forward and backward are OpenBLAS GEMMs on the compute context's threads.
public final class Linear: Layer, WeightedLayer {
    /// The threads its passes run on (see `use`).
    private(set) var compute = ComputeContext.serial
    public func use(_ compute: ComputeContext) { self.compute = compute }

    /// Features per sample in (I).
    public let inputSize: Int
    /// Features per sample out (O).
    public let outputSize: Int
    /// The weight, shape (O, I) as PyTorch's `Linear.weight`; saved as `NAME.weight`.
    public let weight: Parameter  // (O, I)
    /// The bias, shape (O); saved as `NAME.bias`.
    public let bias: Parameter    // (O)
    /// The first layer's input gradient is never used; skipping it saves a GEMM per step.
    public package(set) var computesInputGradient = true

    private var input: Tensor?           // (B, I), the previous layer's output
    private var output: Tensor?          // (B, O)
    private var inputGradient: Tensor?   // (B, I)

    /// A layer from `inputSize` to `outputSize` features whose tensors are named `name.weight` and
    /// `name.bias`. The weights start at zero (`initialize(_:using:)` or a checkpoint fills them).
    public init(name: String, inputSize: Int, outputSize: Int) {
        self.inputSize = inputSize
        self.outputSize = outputSize
        weight = Parameter(name: "\(name).weight", shape: [outputSize, inputSize])
        bias = Parameter(name: "\(name).bias", shape: [outputSize])
    }

    public var parameters: [Parameter] { [weight, bias] }
    public var fanIn: Int { inputSize }
    public func outputFeatures(inputFeatures: Int) -> Int { outputSize }
    public var description: String { "Linear(\(inputSize) → \(outputSize))" }

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        precondition(input.rowSize == inputSize, "\(self) got \(input.rowSize) features per sample")
        let batch = input.rows
        let output = ensure(&output, rows: batch, features: outputSize)
        // Start from the bias in every row, then add x·Wᵀ (beta = 1).
        let y = output.data, b = bias.value.data
        for row in 0..<batch { (y + row * outputSize).update(from: b, count: outputSize) }
        compute.sgemm(transposeB: true, m: batch, n: outputSize, k: inputSize,
                   a: input.data, lda: inputSize, b: weight.value.data, ldb: inputSize,
                   beta: 1, c: y, ldc: outputSize)
        self.input = input
        return output
    }

    public func backward(_ outputGradient: Tensor) -> Tensor {
        guard let input else { preconditionFailure("\(self).backward before forward") }
        let batch = outputGradient.rows
        let dy = outputGradient.data
        // dW (O, I) += dYᵀ (O, B) · X (B, I)
        compute.sgemm(transposeA: true, m: outputSize, n: inputSize, k: batch,
                   a: dy, lda: outputSize, b: input.data, ldb: inputSize,
                   beta: 1, c: weight.gradient.data, ldc: inputSize)
        // db (O) += column sums of dY
        let db = bias.gradient.data
        for row in 0..<batch {
            let dyRow = dy + row * outputSize
            for column in 0..<outputSize { db[column] += dyRow[column] }
        }
        let inputGradient = ensure(&inputGradient, rows: batch, features: inputSize)
        if computesInputGradient {
            // dX (B, I) = dY (B, O) · W (O, I)
            compute.sgemm(m: batch, n: inputSize, k: outputSize,
                       a: dy, lda: outputSize, b: weight.value.data, ldb: inputSize,
                       beta: 0, c: inputGradient.data, ldc: inputSize)
        }
        return inputGradient
    }
}
