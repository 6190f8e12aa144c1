// xoshiro256** (Blackman and Vigna, 2018), seeded through splitmix64: fast, good statistics,
// and a 256-bit state that can be saved in a checkpoint and restored exactly for --resume.
import Foundation

/// The project's random number generator: xoshiro256** (Blackman and Vigna, 2018) seeded through
/// splitmix64, with a 256-bit state that a checkpoint saves and `--resume` restores exactly.
///
/// A class: everyone holding it draws from one shared state. It is not safe to use from several
/// threads at once.
public final class RandomGenerator: RandomNumberGenerator {
    /// The generator's four 64-bit state words (xoshiro needs them not all zero); every draw
    /// changes them.
    public private(set) var state: (UInt64, UInt64, UInt64, UInt64)

    /// Independent streams from one seed: `stream` separates weight init, shuffling and
    /// dropout, so that a change in one does not shift the others.
    public init(seed: UInt64, stream: UInt64 = 0) {
        state = Self.seeded(seed: seed, stream: stream)
    }

    /// Restarts the generator as `RandomGenerator(seed:stream:)` would, without allocating:
    /// per-sample streams (augmentation) reuse one generator.
    public func reseed(seed: UInt64, stream: UInt64) {
        state = Self.seeded(seed: seed, stream: stream)
    }

    private static func seeded(seed: UInt64, stream: UInt64) -> (UInt64, UInt64, UInt64, UInt64) {
        var mix = seed ^ (stream &* 0x9E37_79B9_7F4A_7C15)
        func splitmix() -> UInt64 {
            mix &+= 0x9E37_79B9_7F4A_7C15
            var z = mix
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        return (splitmix(), splitmix(), splitmix(), splitmix())
    }

    /// Resumes a generator from four state words saved from `stateWords`. Traps unless there are
    /// exactly four words and at least one is non-zero.
    public init(state: [UInt64]) {
        precondition(state.count == 4 && state.contains { $0 != 0 }, "xoshiro256** needs 4 words, not all zero")
        self.state = (state[0], state[1], state[2], state[3])
    }

    /// The four state words as an array, for a checkpoint; `init(state:)` or `restore(_:)` brings
    /// the generator back to this point.
    public var stateWords: [UInt64] { [state.0, state.1, state.2, state.3] }

    /// Goes back to a state saved from `stateWords`.
    public func restore(_ words: [UInt64]) {
        precondition(words.count == 4 && words.contains { $0 != 0 }, "xoshiro256** needs 4 words, not all zero")
        state = (words[0], words[1], words[2], words[3])
    }

    public func next() -> UInt64 {
        let result = rotate(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotate(state.3, 45)
        return result
    }

    /// Uniform in [0, 1), 24 random bits.
    @inline(__always)
    public func nextUnitFloat() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// Standard normal (Box–Muller; one of the pair is dropped to keep the state simple).
    public func nextNormal() -> Float {
        let u1 = max(Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0), .leastNormalMagnitude)
        let u2 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        return Float((-2 * log(u1)).squareRoot() * cos(2 * .pi * u2))
    }

    /// Approximately standard normal, cheaply: the sum of four uniform 16-bit draws from one
    /// 64-bit number (Irwin–Hall), centred and scaled to σ = 1. Its tails stop at ±3.46σ,
    /// which is fine for pixel noise and about 20× cheaper than Box–Muller's log and cosine.
    @inline(__always)
    public func nextApproximateNormal() -> Float {
        let bits = next()
        let sum = (bits & 0xFFFF) + (bits >> 16 & 0xFFFF) + (bits >> 32 & 0xFFFF) + (bits >> 48)
        // Each draw is uniform on [0, 1) after dividing by 65536: mean 1/2, variance 1/12.
        return (Float(sum) * (1.0 / 65536.0) - 2) * 1.732_050_8
    }

    /// Uniform integer in 0..<bound, without modulo bias (Lemire's method).
    public func nextInt(below bound: Int) -> Int {
        precondition(bound > 0, "nextInt(below: \(bound)) needs a positive bound")
        let range = UInt64(bound)
        var product = next().multipliedFullWidth(by: range)
        if product.low < range {
            let threshold = (0 &- range) % range
            while product.low < threshold { product = next().multipliedFullWidth(by: range) }
        }
        return Int(product.high)
    }

    /// Fisher–Yates, in place.
    public func shuffle(_ values: inout [Int]) {
        guard values.count > 1 else { return }
        for index in stride(from: values.count - 1, to: 0, by: -1) {
            values.swapAt(index, nextInt(below: index + 1))
        }
    }

    @inline(__always)
    private func rotate(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}

