// Data augmentation for digit images: random shifts, affine transforms (rotation, scale, shear)
// with bilinear interpolation, elastic distortion (Simard, Steinkraus and Platt 2003, "Best
// practices for convolutional neural networks applied to visual document analysis") and pixel
// noise. All geometry is one inverse mapping per image: each output pixel samples the input at
//   p = A⁻¹·(p′ − c − t) + c + α·(G_σ ∗ u)(p′)
// with c the image centre, t the shift, A = rotation·scale·shear, u a uniform random field in
// [−1, 1]² and G_σ a normalized Gaussian. Pixels from outside the image are background (0).
import Foundation

/// The error `AugmentationSpec.parse(_:)` throws for an `--augment` value it cannot read.
public enum AugmentationError: DigitsError, Equatable {
    /// The `--augment` value `spec`, exactly as given, could not be read; `reason` names the
    /// offending item and what was expected, such as `shift=20: expected whole pixels in 0...14`.
    case invalid(spec: String, reason: String)

    public var message: String {
        switch self {
        case .invalid(let spec, let reason): return "invalid --augment \"\(spec)\": \(reason)"
        }
    }
    public var hint: String? {
        "write comma-separated KEY=VALUE items (shift=2,rotate=10,scale=0.1,shear=0.1,elastic=34:4,noise=0.1,salt=0.01,fill=0.2) or none"
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
///     fill=P         with probability P, the digit as a box-normalized 1-bit scan: its ink is
///                    stretched to fill the 20×20 box in both directions (a 1 becomes a bar
///                    as wide as it is tall), sampled at 12–20 pixels a side, thresholded and
///                    scaled back up, as Semeion and other form readers stored their digits
public struct AugmentationSpec: Equatable, Sendable, CustomStringConvertible {
    /// Largest random shift in whole pixels, drawn separately for x and y from `-shift...shift`;
    /// 0 to 14, 0 for none. The vacated border is filled with background.
    public var shift = 0
    /// Largest rotation about the image centre, in degrees either way; 0 to 180, 0 for none.
    public var rotate: Float = 0
    /// Largest relative change of size: the scale factor is drawn from [1 − `scale`, 1 + `scale`];
    /// 0 to 0.9, 0 for none.
    public var scale: Float = 0
    /// Largest horizontal shear factor h (x += h·y, h drawn from [−`shear`, `shear`]); 0 to 1,
    /// 0 for none.
    public var shear: Float = 0
    /// Strength α of the elastic distortion, in pixels: the smoothed random displacement field
    /// (values in about [−1, 1]) is multiplied by it. 0 to 100; 0 turns the distortion off, and
    /// `elasticSigma` is then 0 as well.
    public var elasticAlpha: Float = 0
    /// Standard deviation σ, in pixels, of the Gaussian that smooths the elastic displacement
    /// field: small σ gives local jitter, large σ smooth, global warps. In (0, 20] when
    /// `elasticAlpha` is set, otherwise 0.
    public var elasticSigma: Float = 0
    /// Standard deviation of the additive pixel noise, as a fraction of full ink (0–1: 0.1 is
    /// about 25 of 255). The noise is approximately normal (Irwin–Hall) and the result is clipped
    /// to 0...255. 0 for none.
    public var noise: Float = 0
    /// Per-pixel probability of salt-and-pepper noise: a hit pixel becomes background or full
    /// ink with equal odds. 0–1, 0 for none.
    public var salt: Float = 0
    /// Per-image probability of replacing the digit by a box-normalized 1-bit scan of itself, as
    /// described on the type. 0–1, 0 for none.
    public var fill: Float = 0

    /// A spec that changes nothing, equal to `AugmentationSpec.none`; set properties to turn
    /// augmentations on.
    public init() {}

    /// No augmentation: every amount zero. Parsed from `none` or an empty string and described
    /// as `none`.
    public static let none = AugmentationSpec()

    /// Whether the spec leaves images unchanged: every amount is zero.
    public var isNone: Bool { self == .none }
    var isGeometric: Bool { shift != 0 || rotate != 0 || scale != 0 || shear != 0 || elasticAlpha != 0 || fill != 0 }

    /// Reads the `--augment` grammar described on the type: `none` (or an empty string), or
    /// comma-separated `KEY=VALUE` items, each key at most once, in any order. Items left out stay
    /// zero; `elastic=0:S` is the same as no elastic item, whatever S. Numbers are plain decimals
    /// (`0.1`, `1e-3`); `shift` takes whole pixels only.
    ///
    /// - Returns: The spec; its `description` writes it back in canonical form.
    /// - Throws: `AugmentationError.invalid` for an item that is not `KEY=VALUE`, an unknown or
    ///   repeated key, or a value out of its key's range: shift 0...14, rotate 0...180 degrees,
    ///   scale 0...0.9, shear, noise, salt and fill 0...1, elastic α in 0...100 and σ in (0, 20].
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
                guard let x = Self.decimal(value), range.contains(x) else {
                    throw fail("\(key)=\(value): expected \(what) in \(range.lowerBound)...\(range.upperBound)")
                }
                return x
            }
            switch key {
            case "shift":
                guard value.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let k = Int(value), (0...14).contains(k) else {
                    throw fail("shift=\(value): expected whole pixels in 0...14")
                }
                spec.shift = k
            case "rotate": spec.rotate = try number(0...180, "degrees")
            case "scale": spec.scale = try number(0...0.9, "a fraction")
            case "shear": spec.shear = try number(0...1, "a shear factor")
            case "noise": spec.noise = try number(0...1, "a standard deviation")
            case "salt": spec.salt = try number(0...1, "a probability")
            case "fill": spec.fill = try number(0...1, "a probability")
            case "elastic":
                let pair = value.split(separator: ":", omittingEmptySubsequences: false).map { Self.decimal(String($0)) }
                guard pair.count == 2, let alpha = pair[0], let sigma = pair[1],
                      (0...100).contains(alpha), sigma > 0, sigma <= 20 else {
                    throw fail("elastic=\(value): expected ALPHA:SIGMA, α in 0...100 and σ in (0, 20] pixels")
                }
                // α = 0 is no distortion, whatever σ: the same spec as leaving elastic out.
                (spec.elasticAlpha, spec.elasticSigma) = alpha == 0 ? (0, 0) : (alpha, sigma)
            default:
                throw fail("unknown key \(key)")
            }
        }
        return spec
    }

    /// A plain decimal number ("0.1", "-5", "1e-3"), finite. Float(_:) alone stops at a NUL
    /// character and would read "0\0junk" as 0 (found by fuzzing).
    static func decimal(_ text: String) -> Float? {
        guard !text.isEmpty, text.utf8.allSatisfy({ (0x30...0x39).contains($0) || $0 == 0x2E || $0 == 0x2D || $0 == 0x2B || $0 == 0x65 || $0 == 0x45 }),
              let x = Float(text), x.isFinite else { return nil }
        return x
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
        if fill != 0 { items.append("fill=\(text(fill))") }
        return items.isEmpty ? "none" : items.joined(separator: ",")
    }
}

/// One draw of the geometric parameters.
@_spi(Tools) public struct AffineParameters: Equatable, Sendable {
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

    /// A shift by whole pixels and nothing else, which needs no interpolation.
    var isWholePixelShift: Bool {
        rotationDegrees == 0 && scale == 1 && shear == 0 && shiftX == shiftX.rounded() && shiftY == shiftY.rounded()
    }
}

/// Applies a spec to images of one size, with scratch buffers allocated once (raw storage, so
/// no image ever allocates: arrays would be copied whenever their storage looked shared).
///
/// Output values are 0...255 by default. Given a normalization, `augment` writes the model's
/// input, (x/255 − mean)/std, directly: whole-pixel shifts then go through a 256-entry table
/// and never touch a float twice.
@_spi(Tools) public final class Augmenter {
    public let spec: AugmentationSpec
    public let rows: Int
    public let columns: Int
    private let padding = 2
    private let padded: UnsafeMutablePointer<Float>     // (rows + 4, columns + 4): the input as floats, zero border
    private let fieldX: UnsafeMutablePointer<Float>     // (rows, columns): elastic displacement in x
    private let fieldY: UnsafeMutablePointer<Float>     // (rows, columns)
    private let smoothing: UnsafeMutablePointer<Float>  // (rows, columns): scratch for the separable blur
    private let filled: UnsafeMutablePointer<UInt8>     // (rows, columns): the box-filled digit (fill=P)
    private let lowResolution: UnsafeMutablePointer<UInt8>  // (rows, columns): its 1-bit scan, L×L used
    private let kernel: [Float]      // Gaussian taps, normalized, radius ⌈3σ⌉
    private let normalization: Normalization?
    private let table: [Float]       // (256): a pixel's output value, as the batch assembler computes it

    public init(spec: AugmentationSpec, rows: Int, columns: Int, normalization: Normalization? = nil) {
        self.spec = spec
        self.rows = rows
        self.columns = columns
        self.normalization = normalization
        func zeros(_ count: Int) -> UnsafeMutablePointer<Float> {
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
            buffer.initialize(repeating: 0, count: max(count, 1))
            return buffer
        }
        padded = zeros((rows + 2 * padding) * (columns + 2 * padding))
        fieldX = zeros(rows * columns)
        fieldY = zeros(rows * columns)
        smoothing = zeros(rows * columns)
        filled = .allocate(capacity: max(rows * columns, 1))
        filled.initialize(repeating: 0, count: max(rows * columns, 1))
        lowResolution = .allocate(capacity: max(rows * columns, 1))
        lowResolution.initialize(repeating: 0, count: max(rows * columns, 1))
        if spec.elasticAlpha > 0 {
            let radius = Int((3 * spec.elasticSigma).rounded(.up))
            let taps = (-radius...radius).map { expf(-Float($0 * $0) / (2 * spec.elasticSigma * spec.elasticSigma)) }
            let total = taps.reduce(0, +)
            kernel = taps.map { $0 / total }
        } else {
            kernel = []
        }
        table = (0...255).map { value in
            normalization.map { (Float(value) / 255 - $0.mean) / $0.std } ?? Float(value)
        }
    }

    deinit {
        for buffer in [padded, fieldX, fieldY, smoothing] { buffer.deallocate() }
        filled.deallocate()
        lowResolution.deallocate()
    }

    /// Draws parameters from `random` and writes the augmented image to `output`: values
    /// 0...255, or normalized if the augmenter was given a normalization.
    public func augment(_ input: UnsafePointer<UInt8>, into output: UnsafeMutablePointer<Float>, random: RandomGenerator) {
        var input = input
        if spec.fill > 0, random.nextUnitFloat() < spec.fill {
            let side = min(rows, columns) * 5 / 7
            fillBox(input, side: side, scanSide: max(1, side * 3 / 5 + random.nextInt(below: side - side * 3 / 5 + 1)))
            input = UnsafePointer(filled)
        }
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
        let pixelNoise = spec.noise > 0 || spec.salt > 0
        if !pixelNoise && !elastic && affine.isWholePixelShift {
            shiftWholePixels(input, into: output, dx: Int(affine.shiftX), dy: Int(affine.shiftY), table: table)
            return
        }
        transform(input, into: output, affine: affine, elasticAlpha: elastic ? spec.elasticAlpha : 0)
        addNoise(output, random: random)
        if let normalization { normalize(output, normalization) }
    }

    /// The geometric part with given parameters, values 0...255. With the identity and α = 0 it
    /// copies the input exactly. `elasticAlpha` scales the field drawn last by `augment` (or zero).
    public func transform(_ input: UnsafePointer<UInt8>, into output: UnsafeMutablePointer<Float>,
                          affine: AffineParameters, elasticAlpha: Float = 0) {
        let elastic = elasticAlpha != 0
        // Pure whole-pixel shifts (the common, cheap case) copy rows instead of sampling.
        if !elastic && affine.isWholePixelShift {
            shiftWholePixels(input, into: output, dx: Int(affine.shiftX), dy: Int(affine.shiftY), table: nil)
            return
        }
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

        // The input as floats inside a zero border of 2 pixels: any sample point strictly inside
        // (−1, size) reads its 4 neighbours without bounds checks; points outside read 0.
        let stride = columns + 2 * padding
        let padded = self.padded, fieldX = self.fieldX, fieldY = self.fieldY
        for y in 0..<rows {
            let row = padded + (y + padding) * stride + padding
            for x in 0..<columns { row[x] = Float(input[y * columns + x]) }
        }
        let origin = padded + padding * stride + padding
        let width = Float(columns), height = Float(rows)
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
                guard sourceX > -1, sourceY > -1, sourceX < width, sourceY < height else {
                    output[y * columns + x] = 0
                    continue
                }
                // Bilinear: exact at whole-pixel points, where the weights are 1 and 0.
                // floor(s) as Int(s + 1) − 1, exact for s > −1: a libm call otherwise.
                let floorX = Int(sourceX + 1) - 1, floorY = Int(sourceY + 1) - 1
                let fx = sourceX - Float(floorX), fy = sourceY - Float(floorY)
                let corner = origin + floorY * stride + floorX
                let top = corner[0] + (corner[1] - corner[0]) * fx
                let bottom = corner[stride] + (corner[stride + 1] - corner[stride]) * fx
                output[y * columns + x] = top + (bottom - top) * fy
            }
        }
    }

    /// output(x, y) = input(x − dx, y − dy), background outside, each pixel mapped through
    /// `table` (or converted as is): the values `transform` gives at whole-pixel shifts.
    private func shiftWholePixels(_ input: UnsafePointer<UInt8>, into output: UnsafeMutablePointer<Float>,
                                  dx: Int, dy: Int, table: [Float]?) {
        let background = table?[0] ?? 0
        output.update(repeating: background, count: rows * columns)
        let firstColumn = max(0, dx), lastColumn = min(columns, columns + dx)  // destination columns
        guard firstColumn < lastColumn else { return }
        for y in max(0, dy)..<max(min(rows, rows + dy), max(0, dy)) {
            let source = input + (y - dy) * columns - dx, destination = output + y * columns
            if let table {
                table.withUnsafeBufferPointer { table in
                    for x in firstColumn..<lastColumn { destination[x] = table[Int(source[x])] }
                }
            } else {
                for x in firstColumn..<lastColumn { destination[x] = Float(source[x]) }
            }
        }
    }

    /// (x/255 − mean)/std in place, the batch assembler's formula.
    private func normalize(_ output: UnsafeMutablePointer<Float>, _ normalization: Normalization) {
        let (mean, std) = (normalization.mean, normalization.std)
        for index in 0..<rows * columns { output[index] = (output[index] / 255 - mean) / std }
    }

    /// Writes `filled`: the ink's bounding box stretched to a side×side box in the middle,
    /// via a scanSide×scanSide two-level scan (bilinear samples thresholded at half strength)
    /// scaled back up by area averaging, which is what the reader makes of such a scan.
    private func fillBox(_ input: UnsafePointer<UInt8>, side: Int, scanSide: Int) {
        var minX = columns, minY = rows, maxX = -1, maxY = -1
        for y in 0..<rows {
            for x in 0..<columns where input[y * columns + x] > 0 {
                minX = min(minX, x); maxX = max(maxX, x); minY = min(minY, y); maxY = max(maxY, y)
            }
        }
        filled.update(repeating: 0, count: rows * columns)
        guard maxX >= minX, side > 0 else { return }
        // The scan: cell centres spread over the box [min − ½, max + ½].
        let width = Float(maxX - minX + 1) / Float(scanSide), height = Float(maxY - minY + 1) / Float(scanSide)
        func sample(_ x: Float, _ y: Float) -> Float {
            let x0 = min(max(Int(x.rounded(.down)), 0), columns - 1), y0 = min(max(Int(y.rounded(.down)), 0), rows - 1)
            let x1 = min(x0 + 1, columns - 1), y1 = min(y0 + 1, rows - 1)
            let fx = min(max(x - Float(x0), 0), 1), fy = min(max(y - Float(y0), 0), 1)
            let top = Float(input[y0 * columns + x0]) * (1 - fx) + Float(input[y0 * columns + x1]) * fx
            let bottom = Float(input[y1 * columns + x0]) * (1 - fx) + Float(input[y1 * columns + x1]) * fx
            return top * (1 - fy) + bottom * fy
        }
        for v in 0..<scanSide {
            for u in 0..<scanSide {
                let x = Float(minX) - 0.5 + (Float(u) + 0.5) * width, y = Float(minY) - 0.5 + (Float(v) + 0.5) * height
                lowResolution[v * scanSide + u] = sample(x, y) >= 127.5 ? 255 : 0
            }
        }
        // Area averaging from scanSide to side: output pixel i covers [i, i + 1)·scanSide/side.
        let ratio = Float(scanSide) / Float(side)
        func overlap(_ i: Int, _ cell: Int) -> Float {
            max(0, min(Float(i + 1) * ratio, Float(cell + 1)) - max(Float(i) * ratio, Float(cell)))
        }
        let offsetX = (columns - side) / 2, offsetY = (rows - side) / 2
        for y in 0..<side {
            let firstV = Int(Float(y) * ratio), lastV = min(scanSide - 1, Int((Float(y + 1) * ratio).rounded(.up)) - 1)
            for x in 0..<side {
                let firstU = Int(Float(x) * ratio), lastU = min(scanSide - 1, Int((Float(x + 1) * ratio).rounded(.up)) - 1)
                var sum: Float = 0
                for v in firstV...max(firstV, lastV) {
                    let wy = overlap(y, v)
                    for u in firstU...max(firstU, lastU) { sum += wy * overlap(x, u) * Float(lowResolution[v * scanSide + u]) }
                }
                filled[(y + offsetY) * columns + x + offsetX] = UInt8(min(255, (sum / (ratio * ratio)).rounded()))
            }
        }
    }

    /// Uniform [−1, 1] fields, each smoothed by the Gaussian (separably, zero beyond the edge).
    private func drawElasticField(random: RandomGenerator) {
        for index in 0..<(rows * columns) {
            fieldX[index] = 2 * random.nextUnitFloat() - 1
            fieldY[index] = 2 * random.nextUnitFloat() - 1
        }
        blur(fieldX)
        blur(fieldY)
    }

    /// Separable Gaussian blur, zero beyond the edge, as whole-row multiply-adds that vectorize.
    private func blur(_ field: UnsafeMutablePointer<Float>) {
        let radius = kernel.count / 2
        let smoothing = self.smoothing
        smoothing.update(repeating: 0, count: rows * columns)
        for (tap, weight) in kernel.enumerated() {
            let k = tap - radius
            let first = max(0, -k), last = min(columns, columns - k)
            guard first < last else { continue }
            for y in 0..<rows {
                let destination = smoothing + y * columns, source = field + y * columns + k
                for x in first..<last { destination[x] += weight * source[x] }
            }
        }
        field.update(repeating: 0, count: rows * columns)
        for y in 0..<rows {
            let destination = field + y * columns
            for (tap, weight) in kernel.enumerated() where (0..<rows).contains(y + tap - radius) {
                let source = smoothing + (y + tap - radius) * columns
                for x in 0..<columns { destination[x] += weight * source[x] }
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

/// What a recipe costs: the time to augment every image of a dataset once, on one thread, as
/// the batch pipeline does (its own random stream per image, normalized output).
package enum AugmentationCost {
    /// Seconds per pass over `dataset`: the median of `repetitions` passes, after one warm-up.
    package static func secondsPerPass(_ dataset: DigitDataset, spec: AugmentationSpec, repetitions: Int = 3) -> [Double] {
        let augmenter = Augmenter(spec: spec, rows: dataset.rows, columns: dataset.columns, normalization: .mnist)
        let random = RandomGenerator(seed: 0)
        let size = dataset.pixelsPerImage
        let output = UnsafeMutablePointer<Float>.allocate(capacity: size)
        defer { output.deallocate() }
        var times: [Double] = []
        for pass in 0...repetitions {
            let start = DispatchTime.now().uptimeNanoseconds
            dataset.pixels.withUnsafeBufferPointer { pixels in
                for index in 0..<dataset.count {
                    random.reseed(seed: 1, stream: UInt64(pass) << 32 | UInt64(index))
                    augmenter.augment(pixels.baseAddress! + index * size, into: output, random: random)
                }
            }
            if pass > 0 { times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9) }
        }
        return times.sorted()
    }
}
