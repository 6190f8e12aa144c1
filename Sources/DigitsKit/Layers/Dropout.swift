// Inverted dropout (Srivastava et al. 2014): in training each unit is zeroed with probability
// p and the survivors scaled by 1/(1−p), so inference is the identity and needs no rescaling.

/// Inverted dropout: in training, zeroes each value with probability `probability` and scales
/// the survivors by 1/(1 − p), so that inference is the identity (forward then returns its input
/// as is). Keeps the shape; no parameters.
public final class Dropout: Layer {
    /// The drop probability p, in [0, 1); 0 makes the layer the identity. Each decision takes 16
    /// random bits, so p is applied rounded to a multiple of 1/65536.
    public let probability: Float
    /// Shared with the trainer, so every random choice flows from the one --seed.
    package var random: RandomGenerator
    private var mask: Tensor?           // (B, F): 0 or 1/(1−p)
    private var output: Tensor?         // (B, F)
    private var inputGradient: Tensor?  // (B, F)
    private var maskIsIdentity = true   // the last forward did not drop (inference, or p = 0)

    /// A dropout layer dropping with `probability`, drawing its masks from `random` (shared with the
    /// trainer, so the seed decides them). Traps unless the probability is in [0, 1).
    public init(probability: Float, random: RandomGenerator) {
        precondition(probability >= 0 && probability < 1, "dropout probability \(probability) must be in [0, 1)")
        self.probability = probability
        self.random = random
    }

    public var description: String { "Dropout(p=\(probability))" }

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        guard training && probability > 0 else {
            maskIsIdentity = true
            return input
        }
        maskIsIdentity = false
        let rows = input.rows, features = input.rowSize
        let m = ensure(&mask, rows: rows, features: features).data
        let y = ensure(&output, rows: rows, features: features).data
        let x = input.data, keep = 1 / (1 - probability), count = input.count
        // Four decisions per 64-bit random number, each from 16 bits: the drop probability is
        // p rounded to a multiple of 1/65536.
        let threshold = UInt64((Double(probability) * 65536).rounded())
        var i = 0
        while i < count {
            var bits = random.next()
            for lane in 0..<min(4, count - i) {
                m[i + lane] = bits & 0xFFFF < threshold ? 0 : keep
                bits >>= 16
            }
            i += 4
        }
        i = 0
        while i + 16 <= count { store16(load16(x + i) * load16(m + i), y + i); i += 16 }
        while i < count { y[i] = x[i] * m[i]; i += 1 }
        return output!
    }

    public func backward(_ outputGradient: Tensor) -> Tensor {
        if maskIsIdentity { return outputGradient }
        let dx = ensure(&inputGradient, rows: outputGradient.rows, features: outputGradient.rowSize).data
        let dy = outputGradient.data, m = mask!.data, count = outputGradient.count
        var i = 0
        while i + 16 <= count { store16(load16(dy + i) * load16(m + i), dx + i); i += 16 }
        while i < count { dx[i] = dy[i] * m[i]; i += 1 }
        return inputGradient!
    }
}
