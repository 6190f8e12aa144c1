// Data augmentation for digit images: random shifts, affine transforms (rotation, scale, shear)
// with bilinear interpolation, elastic distortion (Simard, Steinkraus and Platt 2003, "Best
// practices for convolutional neural networks applied to visual document analysis") and pixel
// noise. All geometry is one inverse mapping per image: each output pixel samples the input at
//   p = A⁻¹·(p′ − c − t) + c + α·(G_σ ∗ u)(p′)
// with c the image centre, t the shift, A = rotation·scale·shear, u a uniform random field in
// [−1, 1]² and G_σ a normalized Gaussian. Pixels from outside the image are background (0).
import Foundation

public enum AugmentationError: DigitsError, Equatable {
    case invalid(spec: String, reason: String)

    public var message: String {
        switch self {
        case .invalid(let spec, let reason): return "invalid --augment \"\(spec)\": \(reason)"
        }
    }
    public var hint: String? {
        "write comma-separated KEY=VALUE items (shift=2,rotate=10,scale=0.1,shear=0.1,elastic=34:4,noise=0.1,salt=0.01) or none"
    }
}

/// What to randomize, and by how much. Parsed from the `--augment` grammar:
///
///     none | ITEM[,ITEM...]
///     shift=K        random shift of up to ±K pixels in x and y (whole pixels, zero fill)
///     rotate=D       random rotation of up to ±D degrees
///     scale=S        random scale factor in [1 − S, 1 + S]
///     shear=H        random horizontal shear in [−H, H] (x += H·y)
///     elastic=A:S    elastic distortion of strength α = A pixels, smoothed by σ = S pixels
///     noise=N        near-Gaussian pixel noise with σ = N (0–1 units), clipped (Irwin–Hall)
///     salt=P         salt-and-pepper: each pixel becomes 0 or 1 with probability P
public struct AugmentationSpec: Equatable, Sendable, CustomStringConvertible {
    public var shift = 0
    public var rotate: Float = 0
    public var scale: Float = 0
    public var shear: Float = 0
    public var elasticAlpha: Float = 0
    public var elasticSigma: Float = 0
    public var noise: Float = 0
    public var salt: Float = 0

    public init() {}

    public static let none = AugmentationSpec()

    public var isNone: Bool { self == .none }
    var isGeometric: Bool { shift != 0 || rotate != 0 || scale != 0 || shear != 0 || elasticAlpha != 0 }

    public static func parse(_ text: String) throws -> AugmentationSpec {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed == "none" || trimmed.isEmpty { return .none }
        var spec = AugmentationSpec()
        var seen = Set<String>()
        func fail(_ reason: String) -> AugmentationError { .invalid(spec: text, reason: reason) }
        for item in trimmed.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { throw fail("\"\(item)\" is not KEY=VALUE") }
            let (key, value) = (parts[0], parts[1])
            guard seen.insert(key).inserted else { throw fail("\(key) is given twice") }
            func number(_ range: ClosedRange<Float>, _ what: String) throws -> Float {
                guard let x = Float(value), x.isFinite, range.contains(x) else {
                    throw fail("\(key)=\(value): expected \(what) in \(range.lowerBound)...\(range.upperBound)")
                }
                return x
            }
            switch key {
            case "shift":
                guard let k = Int(value), (0...14).contains(k) else { throw fail("shift=\(value): expected whole pixels in 0...14") }
                spec.shift = k
            case "rotate": spec.rotate = try number(0...180, "degrees")
            case "scale": spec.scale = try number(0...0.9, "a fraction")
            case "shear": spec.shear = try number(0...1, "a shear factor")
            case "noise": spec.noise = try number(0...1, "a standard deviation")
            case "salt": spec.salt = try number(0...1, "a probability")
            case "elastic":
                let pair = value.split(separator: ":").map { Float($0) }
                guard pair.count == 2, let alpha = pair[0], let sigma = pair[1], alpha.isFinite, sigma.isFinite,
                      (0...100).contains(alpha), sigma > 0, sigma <= 20 else {
                    throw fail("elastic=\(value): expected ALPHA:SIGMA, α in 0...100 and σ in (0, 20] pixels")
                }
                (spec.elasticAlpha, spec.elasticSigma) = (alpha, sigma)
            default:
                throw fail("unknown key \(key)")
            }
        }
        return spec
    }

    /// The canonical spelling, which `parse` reads back: "shift=2,rotate=10,elastic=34:4".
    public var description: String {
        var items: [String] = []
        func text(_ x: Float) -> String { x == x.rounded() && abs(x) < 1e6 ? String(Int(x)) : String(x) }
        if shift != 0 { items.append("shift=\(shift)") }
        if rotate != 0 { items.append("rotate=\(text(rotate))") }
        if scale != 0 { items.append("scale=\(text(scale))") }
        if shear != 0 { items.append("shear=\(text(shear))") }
        if elasticAlpha != 0 { items.append("elastic=\(text(elasticAlpha)):\(text(elasticSigma))") }
        if noise != 0 { items.append("noise=\(text(noise))") }
        if salt != 0 { items.append("salt=\(text(salt))") }
        return items.isEmpty ? "none" : items.joined(separator: ",")
    }
}

/// One draw of the geometric parameters.
public struct AffineParameters: Equatable, Sendable {
    public var rotationDegrees: Float = 0
    public var scale: Float = 1
    public var shear: Float = 0
    public var shiftX: Float = 0
    public var shiftY: Float = 0

    public init(rotationDegrees: Float = 0, scale: Float = 1, shear: Float = 0, shiftX: Float = 0, shiftY: Float = 0) {
        self.rotationDegrees = rotationDegrees
        self.scale = scale
        self.shear = shear
        self.shiftX = shiftX
        self.shiftY = shiftY
    }

    public static let identity = AffineParameters()
}

/// Applies a spec to images of one size, with scratch buffers allocated once.
public final class Augmenter {
    public let spec: AugmentationSpec
    public let rows: Int
    public let columns: Int
    private var fieldX: [Float]      // (rows, columns): elastic displacement in x
    private var fieldY: [Float]      // (rows, columns)
    private var smoothing: [Float]   // (rows, columns): scratch for the separable blur
    private let kernel: [Float]      // Gaussian taps, normalized, radius ⌈3σ⌉

    public init(spec: AugmentationSpec, rows: Int, columns: Int) {
        self.spec = spec
        self.rows = rows
        self.columns = columns
        fieldX = [Float](repeating: 0, count: rows * columns)
        fieldY = fieldX
        smoothing = fieldX
        if spec.elasticAlpha > 0 {
            let radius = Int((3 * spec.elasticSigma).rounded(.up))
            let taps = (-radius...radius).map { expf(-Float($0 * $0) / (2 * spec.elasticSigma * spec.elasticSigma)) }
            let total = taps.reduce(0, +)
            kernel = taps.map { $0 / total }
        } else {
            kernel = []
        }
    }

    /// Draws parameters from `random` and writes the augmented image, values 0...255, to `output`.
    public func augment(_ input: UnsafePointer<UInt8>, into output: UnsafeMutablePointer<Float>, random: RandomGenerator) {
        var affine = AffineParameters.identity
        if spec.shift > 0 {
            affine.shiftX = Float(random.nextInt(below: 2 * spec.shift + 1) - spec.shift)
            affine.shiftY = Float(random.nextInt(below: 2 * spec.shift + 1) - spec.shift)
        }
        if spec.rotate > 0 { affine.rotationDegrees = (2 * random.nextUnitFloat() - 1) * spec.rotate }
        if spec.scale > 0 { affine.scale = 1 + (2 * random.nextUnitFloat() - 1) * spec.scale }
        if spec.shear > 0 { affine.shear = (2 * random.nextUnitFloat() - 1) * spec.shear }
        let elastic = spec.elasticAlpha > 0
        if elastic { drawElasticField(random: random) }
        transform(input, into: output, affine: affine, elasticAlpha: elastic ? spec.elasticAlpha : 0)
        addNoise(output, random: random)
    }

    /// The geometric part with given parameters. With the identity and α = 0 it copies the input
    /// exactly. `elasticAlpha` scales the field drawn last by `augment` (or zero).
    public func transform(_ input: UnsafePointer<UInt8>, into output: UnsafeMutablePointer<Float>,
                          affine: AffineParameters, elasticAlpha: Float = 0) {
        let cx = Float(columns - 1) / 2, cy = Float(rows - 1) / 2
        // Forward: A = R(θ)·S(s)·H(h), H = [[1, h], [0, 1]]. Inverse: H⁻¹·S⁻¹·R⁻¹.
        let theta = affine.rotationDegrees * .pi / 180
        let (cosine, sine) = affine.rotationDegrees == 0 ? (Float(1), Float(0)) : (cosf(theta), sinf(theta))
        let inverseScale = 1 / affine.scale
        // R⁻¹ = [[c, s], [−s, c]]; then S⁻¹; then H⁻¹ = [[1, −h], [0, 1]].
        let r00 = cosine * inverseScale, r01 = sine * inverseScale
        let r10 = -sine * inverseScale, r11 = cosine * inverseScale
        let m00 = r00 - affine.shear * r10, m01 = r01 - affine.shear * r11
        let m10 = r10, m11 = r11
        let elastic = elasticAlpha != 0

        // Pure whole-pixel shifts (the common, cheap case) copy rows instead of sampling.
        if !elastic && affine.rotationDegrees == 0 && affine.scale == 1 && affine.shear == 0
            && affine.shiftX == affine.shiftX.rounded() && affine.shiftY == affine.shiftY.rounded() {
            shiftWholePixels(input, into: output, dx: Int(affine.shiftX), dy: Int(affine.shiftY))
            return
        }
        for y in 0..<rows {
            let v = Float(y) - cy - affine.shiftY
            for x in 0..<columns {
                let u = Float(x) - cx - affine.shiftX
                var sourceX = m00 * u + m01 * v + cx
                var sourceY = m10 * u + m11 * v + cy
                if elastic {
                    sourceX += elasticAlpha * fieldX[y * columns + x]
                    sourceY += elasticAlpha * fieldY[y * columns + x]
                }
                output[y * columns + x] = sample(input, sourceX, sourceY)
            }
        }
    }

    /// output(x, y) = input(x − dx, y − dy), background outside: the same values `sample`
    /// gives at whole-pixel coordinates, without interpolating.
    private func shiftWholePixels(_ input: UnsafePointer<UInt8>, into output: UnsafeMutablePointer<Float>, dx: Int, dy: Int) {
        output.update(repeating: 0, count: rows * columns)
        let firstColumn = max(0, dx), lastColumn = min(columns, columns + dx)  // destination columns
        guard firstColumn < lastColumn else { return }
        for y in max(0, dy)..<max(min(rows, rows + dy), max(0, dy)) {
            let source = input + (y - dy) * columns - dx, destination = output + y * columns
            for x in firstColumn..<lastColumn { destination[x] = Float(source[x]) }
        }
    }

    /// Bilinear interpolation; outside the image reads 0. At integer coordinates it returns the
    /// pixel itself, exactly.
    @inline(__always)
    private func sample(_ input: UnsafePointer<UInt8>, _ x: Float, _ y: Float) -> Float {
        let x0 = Int(x.rounded(.down)), y0 = Int(y.rounded(.down))
        let fx = x - Float(x0), fy = y - Float(y0)
        func pixel(_ px: Int, _ py: Int) -> Float {
            px >= 0 && py >= 0 && px < columns && py < rows ? Float(input[py * columns + px]) : 0
        }
        if fx == 0 && fy == 0 { return pixel(x0, y0) }
        let top = pixel(x0, y0) * (1 - fx) + pixel(x0 + 1, y0) * fx
        let bottom = pixel(x0, y0 + 1) * (1 - fx) + pixel(x0 + 1, y0 + 1) * fx
        return top * (1 - fy) + bottom * fy
    }

    /// Uniform [−1, 1] fields, each smoothed by the Gaussian (separably, zero beyond the edge).
    private func drawElasticField(random: RandomGenerator) {
        for index in 0..<fieldX.count {
            fieldX[index] = 2 * random.nextUnitFloat() - 1
            fieldY[index] = 2 * random.nextUnitFloat() - 1
        }
        blur(&fieldX)
        blur(&fieldY)
    }

    private func blur(_ field: inout [Float]) {
        let radius = kernel.count / 2
        for y in 0..<rows {
            for x in 0..<columns {
                var sum: Float = 0
                for k in -radius...radius where x + k >= 0 && x + k < columns { sum += kernel[k + radius] * field[y * columns + x + k] }
                smoothing[y * columns + x] = sum
            }
        }
        for y in 0..<rows {
            for x in 0..<columns {
                var sum: Float = 0
                for k in -radius...radius where y + k >= 0 && y + k < rows { sum += kernel[k + radius] * smoothing[(y + k) * columns + x] }
                field[y * columns + x] = sum
            }
        }
    }

    private func addNoise(_ output: UnsafeMutablePointer<Float>, random: RandomGenerator) {
        let count = rows * columns
        if spec.noise > 0 {
            let deviation = spec.noise * 255
            for index in 0..<count {
                output[index] = min(max(output[index] + deviation * random.nextApproximateNormal(), 0), 255)
            }
        }
        if spec.salt > 0 {
            for index in 0..<count where random.nextUnitFloat() < spec.salt {
                output[index] = random.nextUnitFloat() < 0.5 ? 0 : 255
            }
        }
    }
}
