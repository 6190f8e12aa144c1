// Augmentations: the spec grammar, exactness of the identity, shifts that move the centre of
// mass by exactly the shift, rotation's direction, and the statistics of the noise.
import Testing
@_spi(Tools) @testable import DigitsKit
@testable import DigitsPresentation

@Suite struct AugmentationTests {
    static let rows = 28, columns = 28

    /// A digit-like blob well away from the border (rows and columns 8–19), with varied values.
    static let blob: [UInt8] = (0..<rows * columns).map { index in
        let x = index % columns, y = index / columns
        guard (8...19).contains(x), (8...19).contains(y) else { return 0 }
        return UInt8(40 + (x * 7 + y * 13) % 200)
    }

    static func run(_ augmenter: Augmenter, _ input: [UInt8], affine: AffineParameters, alpha: Float = 0) -> [Float] {
        var output = [Float](repeating: -1, count: input.count)
        input.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { augmenter.transform(source.baseAddress!, into: $0.baseAddress!, affine: affine, elasticAlpha: alpha) }
        }
        return output
    }

    static func augment(_ augmenter: Augmenter, _ input: [UInt8], random: RandomGenerator) -> [Float] {
        var output = [Float](repeating: -1, count: input.count)
        input.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { augmenter.augment(source.baseAddress!, into: $0.baseAddress!, random: random) }
        }
        return output
    }

    static func centreOfMass(_ image: [Float]) -> (x: Double, y: Double) {
        var total = 0.0, sx = 0.0, sy = 0.0
        for (index, value) in image.enumerated() {
            total += Double(value); sx += Double(value) * Double(index % columns); sy += Double(value) * Double(index / columns)
        }
        return (sx / total, sy / total)
    }

    // MARK: Grammar

    @Test func parsesTheIssueExample() throws {
        let spec = try AugmentationSpec.parse("shift=2,noise=0.1,rotate=10,scale=0.1,elastic=34:4")
        #expect(spec.shift == 2 && spec.noise == 0.1 && spec.rotate == 10 && spec.scale == 0.1)
        #expect(spec.elasticAlpha == 34 && spec.elasticSigma == 4)
        #expect(spec.description == "shift=2,rotate=10,scale=0.1,elastic=34:4,noise=0.1")
        #expect(try AugmentationSpec.parse(spec.description) == spec)
        #expect(try AugmentationSpec.parse("none").isNone)
        #expect(try AugmentationSpec.parse(" shift = 1 , salt=0.05 ").salt == 0.05)
    }

    @Test(arguments: ["shift=-1", "shift=1.5", "shift=15", "rotate=abc", "rotate=200", "elastic=34", "elastic=34:0",
                      "noise=2", "shift=1,shift=2", "shift", "=3", "shift=1,,noise=0.1", "blur=2", "scale=nan"])
    func refusesBadSpecs(text: String) {
        #expect(throws: AugmentationError.self) { try AugmentationSpec.parse(text) }
    }

    // MARK: Geometry

    @Test func identityIsExact() {
        let random = RandomGenerator(seed: 3)
        let input = (0..<Self.rows * Self.columns).map { _ in UInt8(random.nextInt(below: 256)) }
        let augmenter = Augmenter(spec: .none, rows: Self.rows, columns: Self.columns)
        #expect(Self.run(augmenter, input, affine: .identity) == input.map(Float.init))
        // A spec of zeros is the identity too, whatever the random draws.
        #expect(Self.augment(augmenter, input, random: random) == input.map(Float.init))
    }

    @Test func elasticWithZeroAlphaIsExact() throws {
        let input = Self.blob
        let spec = try AugmentationSpec.parse("elastic=0:4")
        let augmenter = Augmenter(spec: spec, rows: Self.rows, columns: Self.columns)
        #expect(Self.augment(augmenter, input, random: RandomGenerator(seed: 5)) == input.map(Float.init))
        // And a drawn field scaled by zero leaves the image unchanged.
        let elastic = Augmenter(spec: try AugmentationSpec.parse("elastic=34:4"), rows: Self.rows, columns: Self.columns)
        _ = Self.augment(elastic, input, random: RandomGenerator(seed: 6))
        #expect(Self.run(elastic, input, affine: .identity, alpha: 0) == input.map(Float.init))
        // While a real distortion moves pixels.
        #expect(Self.augment(elastic, input, random: RandomGenerator(seed: 6)) != input.map(Float.init))
    }

    @Test(arguments: [(1, 0), (0, -1), (3, 2), (-4, 4), (-2, -3)])
    func shiftMovesTheCentreOfMassExactly(dx: Int, dy: Int) {
        let augmenter = Augmenter(spec: .none, rows: Self.rows, columns: Self.columns)
        let before = Self.centreOfMass(Self.blob.map(Float.init))
        let shifted = Self.run(augmenter, Self.blob, affine: AffineParameters(shiftX: Float(dx), shiftY: Float(dy)))
        let after = Self.centreOfMass(shifted)
        let errorX = abs(after.x - before.x - Double(dx)), errorY = abs(after.y - before.y - Double(dy))
        #expect(errorX < 1e-9 && errorY < 1e-9)
        // Whole-pixel shifts only move pixels: the same values, none invented.
        #expect(shifted.reduce(0, +) == Self.blob.map(Float.init).reduce(0, +))
        // Pixel by pixel: output(x, y) = input(x − dx, y − dy), background outside.
        var mismatches = 0
        for y in 0..<Self.rows {
            for x in 0..<Self.columns {
                let sx = x - dx, sy = y - dy
                let expected: Float = sx >= 0 && sy >= 0 && sx < Self.columns && sy < Self.rows ? Float(Self.blob[sy * Self.columns + sx]) : 0
                if shifted[y * Self.columns + x] != expected { mismatches += 1 }
            }
        }
        #expect(mismatches == 0)
    }

    /// A shift of a whole image edge falls off it: nothing is left when |shift| ≥ the size.
    @Test func shiftBeyondTheImageLeavesBackground() {
        let augmenter = Augmenter(spec: .none, rows: Self.rows, columns: Self.columns)
        let gone = Self.run(augmenter, [UInt8](repeating: 9, count: 784), affine: AffineParameters(shiftX: 30, shiftY: 0))
        #expect(gone.allSatisfy { $0 == 0 })
        let half = Self.run(augmenter, [UInt8](repeating: 9, count: 784), affine: AffineParameters(shiftX: -14, shiftY: 14))
        #expect(half.filter { $0 == 9 }.count == 14 * 14)
    }

    @Test func randomShiftsStayWithinTheLimit() throws {
        let augmenter = Augmenter(spec: try AugmentationSpec.parse("shift=2"), rows: Self.rows, columns: Self.columns)
        let before = Self.centreOfMass(Self.blob.map(Float.init))
        let random = RandomGenerator(seed: 9)
        var seen = Set<[Int]>()
        for _ in 0..<300 {
            let after = Self.centreOfMass(Self.augment(augmenter, Self.blob, random: random))
            let dx = after.x - before.x, dy = after.y - before.y
            let whole = abs(dx - dx.rounded()) < 1e-9 && abs(dy - dy.rounded()) < 1e-9
            #expect(whole && abs(dx) <= 2 && abs(dy) <= 2)
            seen.insert([Int(dx.rounded()), Int(dy.rounded())])
        }
        #expect(seen.count == 25)  // every shift in ±2 × ±2 occurs
    }

    /// +90°: output(x, y) = input(y, 27 − x) for a 28×28 image (x right, y down).
    @Test func rotationByNinetyDegrees() {
        let augmenter = Augmenter(spec: .none, rows: Self.rows, columns: Self.columns)
        let rotated = Self.run(augmenter, Self.blob, affine: AffineParameters(rotationDegrees: 90))
        var worst: Float = 0
        for y in 0..<Self.rows {
            for x in 0..<Self.columns {
                let expected = Float(Self.blob[(Self.columns - 1 - x) * Self.columns + y])
                worst = max(worst, abs(rotated[y * Self.columns + x] - expected))
            }
        }
        #expect(worst < 1e-3)  // cos 90° is −4e−8 in Float, so samples land a hair off the grid
    }

    @Test func scalingAboutTheCentreKeepsTheCentreOfMass() {
        // A symmetric blob scaled about the image centre keeps its centre of mass at the centre.
        let square: [UInt8] = (0..<Self.rows * Self.columns).map { (i: Int) -> UInt8 in
            (10...17).contains(i % 28) && (10...17).contains(i / 28) ? 200 : 0
        }
        let augmenter = Augmenter(spec: .none, rows: Self.rows, columns: Self.columns)
        let bigger = Self.run(augmenter, square, affine: AffineParameters(scale: 1.5))
        let centre = Self.centreOfMass(bigger)
        let offCentre = max(abs(centre.x - 13.5), abs(centre.y - 13.5))
        #expect(offCentre < 1e-4)
        let inkBefore: Float = square.map(Float.init).reduce(0, +)
        let inkAfter: Float = bigger.reduce(0, +)
        #expect(inkAfter > 2 * inkBefore)  // area grows by 1.5² = 2.25
    }

    // MARK: Noise

    @Test func gaussianNoiseHasTheRequestedMeanAndDeviation() throws {
        let augmenter = Augmenter(spec: try AugmentationSpec.parse("noise=0.1"), rows: Self.rows, columns: Self.columns)
        let grey = [UInt8](repeating: 128, count: Self.rows * Self.columns)
        let random = RandomGenerator(seed: 12)
        var values: [Double] = []
        for _ in 0..<40 { values += Self.augment(augmenter, grey, random: random).map { (Double($0) - 128) / 255 } }
        let mean = values.reduce(0, +) / Double(values.count)
        let deviation = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)).squareRoot()
        // 31,360 samples: the standard error of the mean is 0.1/√31360 ≈ 0.0006.
        #expect(abs(mean) < 0.003)
        #expect(abs(deviation - 0.1) < 0.003)
    }

    @Test func noiseIsClipped() throws {
        let augmenter = Augmenter(spec: try AugmentationSpec.parse("noise=0.5"), rows: Self.rows, columns: Self.columns)
        let output = Self.augment(augmenter, [UInt8](repeating: 250, count: 784), random: RandomGenerator(seed: 1))
        #expect(output.allSatisfy { $0 >= 0 && $0 <= 255 } && output.contains(255))
    }

    @Test func saltAndPepperRate() throws {
        let augmenter = Augmenter(spec: try AugmentationSpec.parse("salt=0.1"), rows: Self.rows, columns: Self.columns)
        let grey = [UInt8](repeating: 100, count: 784)
        let random = RandomGenerator(seed: 2)
        var changed = 0
        for _ in 0..<20 { changed += Self.augment(augmenter, grey, random: random).filter { $0 != 100 }.count }
        #expect(abs(Double(changed) / (784 * 20) - 0.1) < 0.01)  // σ of the rate ≈ 0.0024
    }

    @Test func sameStreamSameResult() throws {
        let augmenter = Augmenter(spec: try AugmentationSpec.parse("shift=2,rotate=10,scale=0.1,elastic=34:4,noise=0.05"),
                                  rows: Self.rows, columns: Self.columns)
        let random = RandomGenerator(seed: 1)
        random.reseed(seed: 7, stream: 42)
        let first = Self.augment(augmenter, Self.blob, random: random)
        random.reseed(seed: 7, stream: 42)
        #expect(Self.augment(augmenter, Self.blob, random: random) == first)
        random.reseed(seed: 7, stream: 43)
        #expect(Self.augment(augmenter, Self.blob, random: random) != first)
    }

    /// The pipeline asks for normalized output. Whether it comes from the shift table or from
    /// sampling then normalizing, it must equal the batch assembler's (x/255 − mean)/std of the
    /// same draw's 0–255 values, bit for bit.
    @Test(arguments: ["shift=1", "shift=3", "rotate=10,scale=0.1", "shift=2,noise=0.1", "elastic=20:4"])
    func normalizedOutputMatchesTheAssemblersFormula(recipe: String) throws {
        let spec = try AugmentationSpec.parse(recipe)
        let raw = Augmenter(spec: spec, rows: Self.rows, columns: Self.columns)
        let normalized = Augmenter(spec: spec, rows: Self.rows, columns: Self.columns, normalization: .mnist)
        let dataset = try SyntheticDigits.dataset(count: 1)
        let assembler = BatchAssembler(dataset: dataset, normalization: .mnist, batchSize: 1)
        let random = RandomGenerator(seed: 3)
        for stream in 0..<10 as Range<UInt64> {
            random.reseed(seed: 3, stream: stream)
            let values = Self.augment(raw, Self.blob, random: random)
            random.reseed(seed: 3, stream: stream)
            let inputs = Self.augment(normalized, Self.blob, random: random)
            let expected = values.map { (($0 / 255) - Normalization.mnist.mean) / Normalization.mnist.std }
            let same = inputs == expected
            #expect(same, "stream \(stream)")
            // Where the value is a whole pixel value, it is exactly what plain batches hold.
            let pixels = values.enumerated().filter { $0.element == $0.element.rounded() }
            let asAssembled = pixels.allSatisfy { inputs[$0.offset] == assembler.normalize(UInt8($0.element)) }
            #expect(asAssembled, "stream \(stream)")
        }
    }

    @Test func previewHasARowPerDigit() throws {
        let dataset = try SyntheticDigits.dataset(count: 5)
        let canvas = try AugmentationPreview.render(dataset, indices: [0, 1, 2], spec: try AugmentationSpec.parse("shift=1"),
                                                    variants: 4, seed: 1, scale: 2, path: "p.png")
        // 8×8 digits at scale 2 are 16 px: a 28 px title, a 10 px border, then 3 rows of 16 + 4;
        // across, 10 px borders, 1 + 4 cells of 16 + 4, and 8 px between original and variants.
        let expectedHeight = 28 + 10 + 3 * 20
        let expectedWidth = 20 + 5 * 20 + 8
        #expect(canvas.height == expectedHeight)
        #expect(canvas.width == expectedWidth)
    }
}
