// The classify preprocessing on pictures drawn here with known geometry: MNIST digits pass
// through untouched; any size, polarity, background and stroke comes out as a 20-pixel digit
// centred by mass in 28×28; blank and tiny pictures are refused.
import Foundation
import Testing
@_spi(Tools) @testable import DigitsKit

@Suite struct PreprocessorTests {
    /// A "7"-like stroke path (a top bar and a slanted leg) in a unit box.
    static let sevenPath: [(Double, Double)] = [(0.1, 0.05), (0.9, 0.05), (0.45, 0.95)]

    /// Paints `path` (unit coordinates mapped into the box at x, y of size w×h) with a round
    /// brush of `stroke` pixels, ink `ink` on `paper`.
    static func draw(width: Int, height: Int, box: (x: Double, y: Double, w: Double, h: Double), path: [(Double, Double)],
                     stroke: Double, ink: (UInt8) -> UInt8 = { _ in 0 }, paper: (Int, Int) -> UInt8 = { _, _ in 255 }) -> GrayImage {
        var pixels = [UInt8](repeating: 0, count: width * height)
        for y in 0..<height { for x in 0..<width { pixels[y * width + x] = paper(x, y) } }
        let points = path.map { (box.x + $0.0 * box.w, box.y + $0.1 * box.h) }
        let radius = stroke / 2
        for y in 0..<height {
            for x in 0..<width {
                let px = Double(x) + 0.5, py = Double(y) + 0.5
                var nearest = Double.infinity
                for (a, b) in zip(points, points.dropFirst()) {
                    let (dx, dy) = (b.0 - a.0, b.1 - a.1)
                    let t = max(0, min(1, ((px - a.0) * dx + (py - a.1) * dy) / (dx * dx + dy * dy)))
                    nearest = min(nearest, hypot(px - a.0 - t * dx, py - a.1 - t * dy))
                }
                if nearest <= radius { pixels[y * width + x] = ink(pixels[y * width + x]) }
            }
        }
        return GrayImage(width: width, height: height, pixels: pixels)
    }

    static func inkBox(_ image: GrayImage) -> (width: Int, height: Int) {
        var minX = image.width, maxX = -1, minY = image.height, maxY = -1
        for y in 0..<image.height { for x in 0..<image.width where image[x, y] > 0 {
            minX = min(minX, x); maxX = max(maxX, x); minY = min(minY, y); maxY = max(maxY, y)
        } }
        return (maxX - minX + 1, maxY - minY + 1)
    }

    static func centreOfMass(_ image: GrayImage) -> (x: Double, y: Double) {
        var mass = 0.0, sx = 0.0, sy = 0.0
        for y in 0..<image.height { for x in 0..<image.width {
            let v = Double(image[x, y]); mass += v; sx += v * Double(x); sy += v * Double(y)
        } }
        return (sx / mass, sy / mass)
    }

    static func meanAbsoluteDifference(_ a: GrayImage, _ b: GrayImage) -> Double {
        zip(a.pixels, b.pixels).reduce(0.0) { $0 + abs(Double($1.0) - Double($1.1)) } / Double(a.pixels.count)
    }

    @Test func mnistDigitsPassThroughUnchanged() throws {
        guard let directory = TestFiles.mnist else {
            Issue.record("MNIST not found: run scripts/fetch-mnist, or set DIGITS_MNIST_DIR")
            return
        }
        let test = try MNIST.load(from: directory, split: .test)
        let preprocessor = DigitPreprocessor()
        for index in 0..<test.count {
            let image = test.image(at: index)
            let prepared = try preprocessor.prepare(image, path: "#\(index)")
            #expect(prepared.passedThrough && !prepared.inverted && prepared.image == image, "test image \(index) was changed")
            if !prepared.passedThrough { return }
        }
        // Saved the other way round (black on white), they come back as the original.
        let inverted = GrayImage(width: 28, height: 28, pixels: test.image(at: 0).pixels.map { 255 - $0 })
        let prepared = try preprocessor.prepare(inverted, path: "inverted")
        #expect(prepared.passedThrough && prepared.inverted && prepared.image == test.image(at: 0))
    }

    /// The share of a digit's ink (pixels over 25) that is firm (over 127).
    static func firmShare(_ pixels: [UInt8]) -> Double {
        let ink = pixels.filter { $0 > 25 }
        return Double(ink.filter { $0 > 127 }.count) / Double(max(ink.count, 1))
    }

    /// A ring drawn all in soft edges (strength 0.1–0.55, as an 8×8 scan scaled up gives) is
    /// brightened until MNIST's 5th-percentile share of firm ink; its shape is kept: the same
    /// pixels are ink, in the same order of brightness.
    @Test func faintStrokesAreFirmedUp() {
        var ring = FloatImage(width: 20, height: 20, values: [Float](repeating: 0, count: 400))
        for y in 0..<20 { for x in 0..<20 {
            let r = hypot(Double(x) - 9.5, Double(y) - 9.5)
            ring.values[y * 20 + x] = Float(max(0, 0.55 - 0.15 * abs(r - 7)))
        } }
        let before = ring.values.map { UInt8((min(max($0, 0), 1) * 255).rounded()) }
        #expect(Self.firmShare(before) < 0.3)
        let placed = DigitPreprocessor().place(ring).pixels
        #expect(Self.firmShare(placed) >= DigitPreprocessor.firmShareFloor && Self.firmShare(placed) < DigitPreprocessor.firmShareFloor + 0.08)
        var unchanged = placed
        DigitPreprocessor.firmUpFaintStrokes(&unchanged)
        #expect(unchanged == placed, "a digit at the floor is left alone")
        let inked = placed.filter { $0 > 0 }.count
        #expect(inked == before.filter { $0 > 0 }.count)
        #expect(placed.max() == 255)
    }

    /// The floor is MNIST's own 5th percentile: about one test digit in twenty is under it,
    /// and the rest are left exactly as they are.
    @Test func mostMNISTDigitsAreFirmAlready() throws {
        guard let directory = TestFiles.mnist else {
            Issue.record("MNIST not found: run scripts/fetch-mnist, or set DIGITS_MNIST_DIR")
            return
        }
        let test = try MNIST.load(from: directory, split: .test)
        var changed = 0
        for index in 0..<2000 {
            var pixels = test.image(at: index).pixels
            DigitPreprocessor.firmUpFaintStrokes(&pixels)
            if pixels != test.image(at: index).pixels { changed += 1 }
        }
        #expect(changed >= 40 && changed <= 200, "\(changed) of 2,000 changed")
    }

    /// A big off-centre drawing: cropped, longer side 20, centred by mass within half a pixel.
    @Test func largeOffCentreDrawingIsScaledAndCentred() throws {
        let picture = Self.draw(width: 640, height: 480, box: (40, 30, 160, 220), path: Self.sevenPath, stroke: 22)
        let prepared = try DigitPreprocessor().prepare(picture, path: "seven.png")
        #expect(!prepared.passedThrough && prepared.inverted)
        let box = Self.inkBox(prepared.image)
        #expect(box.height == 20 && box.width >= 12 && box.width <= 15, "ink box \(box)")  // 151×221 drawn
        let centre = Self.centreOfMass(prepared.image)
        #expect(abs(centre.x - 14) <= 0.5 && abs(centre.y - 14) <= 0.5, "centre of mass \(centre)")
        #expect(prepared.image.pixels.max() == 255)
        #expect(abs(prepared.inkBox.x - 45) <= 3 && abs(prepared.inkBox.y - 30) <= 3 && abs(prepared.inkBox.height - 221) <= 4,
                "ink found at \(prepared.inkBox)")
    }

    @Test func polarityDoesNotMatter() throws {
        let dark = Self.draw(width: 300, height: 300, box: (60, 50, 150, 200), path: Self.sevenPath, stroke: 18)
        let light = GrayImage(width: 300, height: 300, pixels: dark.pixels.map { 255 - $0 })
        let a = try DigitPreprocessor().prepare(dark, path: "dark")
        let b = try DigitPreprocessor().prepare(light, path: "light")
        #expect(a.inverted && !b.inverted)
        #expect(a.image == b.image)
    }

    /// Gray paper lit unevenly (a ramp of 80 levels plus a vignette), with ink a third as
    /// bright as the paper under the same light, gives nearly the same digit as clean black on white.
    @Test func unevenGrayBackgroundIsRemoved() throws {
        let clean = try DigitPreprocessor().prepare(
            Self.draw(width: 400, height: 400, box: (100, 80, 170, 240), path: Self.sevenPath, stroke: 20), path: "clean")
        let random = RandomGenerator(seed: 5)
        let lit = Self.draw(width: 400, height: 400, box: (100, 80, 170, 240), path: Self.sevenPath, stroke: 20, ink: { $0 / 3 }) { x, y in
            let ramp = 150 + 80 * Double(x) / 400
            let vignette = 25 * (pow(Double(x - 200) / 200, 2) + pow(Double(y - 200) / 200, 2))
            return UInt8(max(0, min(255, ramp - vignette + Double(random.nextNormal()) * 4)))
        }
        let prepared = try DigitPreprocessor().prepare(lit, path: "lit")
        #expect(prepared.inverted)
        let difference = Self.meanAbsoluteDifference(prepared.image, clean.image)
        #expect(difference < 8, "mean difference \(difference) from the clean drawing")
    }

    /// Ink drawn as 1-pixel dots along straight segments and arcs, on a width×height canvas.
    static func hairline(width: Int, height: Int, segments: [(Double, Double, Double, Double)],
                         arcs: [(cx: Double, cy: Double, r: Double, from: Double, to: Double)]) -> FloatImage {
        var ink = FloatImage(width: width, height: height, values: [Float](repeating: 0, count: width * height))
        func dot(_ x: Double, _ y: Double) { ink.values[Int(y.rounded()) * width + Int(x.rounded())] = 1 }
        for (x0, y0, x1, y1) in segments {
            let steps = Int(max(abs(x1 - x0), abs(y1 - y0)) * 2) + 1
            for i in 0...steps { let t = Double(i) / Double(steps); dot(x0 + t * (x1 - x0), y0 + t * (y1 - y0)) }
        }
        for arc in arcs {
            for i in 0...720 {
                let angle = (arc.from + (arc.to - arc.from) * Double(i) / 720) * .pi / 180
                dot(arc.cx + arc.r * cos(angle), arc.cy + arc.r * sin(angle))
            }
        }
        return ink
    }

    /// A hairline 5 whose bar stands apart: its body, a stroke as thin as a sheet's edge and
    /// longer than the bar, is curved, so it is kept (it used to be dropped as a framing line,
    /// leaving the bar to be read). A straight edge and a tilted corner beside a digit are
    /// still dropped.
    @Test func aHairlineDigitIsNotTakenForAFrame() {
        let five = Self.hairline(width: 200, height: 200, segments: [(66, 40, 120, 40), (60, 52, 60, 104)],
                                 arcs: [(cx: 84, cy: 125, r: 32, from: -139, to: 150)])
        var kept = five
        let box = DigitPreprocessor.keepMainInk(&kept)
        #expect(box.map { $0.y + $0.height } ?? 0 >= 150, "the body (down to y 157) is kept: \(String(describing: box))")
        #expect(zip(kept.values, five.values).filter { $0.0 != $0.1 }.count == 0, "no ink of the 5 is dropped")

        // A ring of a digit, with a sheet's straight edge below it and a tilted corner beside it.
        let framed = Self.hairline(width: 300, height: 300, segments: [(10, 280, 290, 280), (250, 20, 285, 26), (250, 20, 244, 150)],
                                   arcs: [(cx: 120, cy: 120, r: 30, from: 0, to: 360), (cx: 120, cy: 120, r: 31, from: 0, to: 360)])
        var dropped = framed
        let ring = DigitPreprocessor.keepMainInk(&dropped)
        #expect(ring.map { [$0.x, $0.y, $0.width, $0.height] } == [89, 89, 63, 63])

        // Both sides of a sheet, each as long as the other (each used to make the other look like
        // part of the picture), and the sides of a corner.
        let sides = Self.hairline(width: 300, height: 300, segments: [(20, 10, 24, 290), (280, 12, 276, 288)],
                                  arcs: [(cx: 150, cy: 150, r: 30, from: 0, to: 360), (cx: 150, cy: 150, r: 31, from: 0, to: 360)])
        var between = sides
        #expect(DigitPreprocessor.keepMainInk(&between).map { [$0.x, $0.y, $0.width, $0.height] } == [119, 119, 63, 63])
        let corner = Self.hairline(width: 300, height: 300, segments: [(30, 250, 280, 250), (280, 20, 280, 248)],
                                   arcs: [(cx: 120, cy: 120, r: 30, from: 0, to: 360), (cx: 120, cy: 120, r: 31, from: 0, to: 360)])
        var inside = corner
        #expect(DigitPreprocessor.keepMainInk(&inside).map { [$0.x, $0.y, $0.width, $0.height] } == [89, 89, 63, 63])
    }

    /// A clean picture of a digit inside a box drawn around it (a form's cell, a frame in a
    /// drawing app) is prepared as the digit alone: the box would make it "not a digit".
    @Test func aBoxDrawnAroundACleanDigitIsNoInk() throws {
        let seven = Self.draw(width: 160, height: 160, box: (50, 30, 60, 100), path: Self.sevenPath, stroke: 8)
        let frame = Self.draw(width: 160, height: 160, box: (20, 10, 120, 140),
                              path: [(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)], stroke: 3)
        let boxed = GrayImage(width: 160, height: 160, pixels: zip(seven.pixels, frame.pixels).map { min($0, $1) })
        let preprocessor = DigitPreprocessor()
        let alone = try preprocessor.prepare(seven, path: "seven"), framed = try preprocessor.prepare(boxed, path: "boxed")
        // The box changes the picture's levels a little, so the strokes' soft edges may differ.
        let difference = Self.meanAbsoluteDifference(framed.image, alone.image)
        #expect(difference < 6, "mean difference \(difference) of 255")
        #expect(framed.inkBox == alone.inkBox)
    }

    /// On a clean picture only a box around the rest, rules above and below it, or a row of
    /// boxes around it, go: long straight strokes beside a ring (which the paper path takes for
    /// a sheet's edges) may be part of what was written.
    @Test func onlyABoxAroundTheRestLeavesACleanPicture() {
        let ring: [(cx: Double, cy: Double, r: Double, from: Double, to: Double)] = [(150, 150, 30, 0, 360), (150, 150, 31, 0, 360)]
        let sides = Self.hairline(width: 300, height: 300, segments: [(20, 10, 24, 290), (280, 12, 276, 288)], arcs: ring)
        var kept = sides
        DigitPreprocessor.removeBoxesAroundInk(&kept)
        #expect(kept.values == sides.values ? true : false, "the strokes beside the ring stay")
        var paper = sides
        DigitPreprocessor.removeFramingLines(&paper)
        #expect(paper.values != sides.values ? true : false, "the paper path drops them")
        let boxed = Self.hairline(width: 300, height: 300,
                                  segments: [(60, 60, 240, 60), (240, 60, 240, 240), (240, 240, 60, 240), (60, 240, 60, 60)], arcs: ring)
        let inside = Self.hairline(width: 300, height: 300, segments: [], arcs: ring)
        var unboxed = boxed
        DigitPreprocessor.removeBoxesAroundInk(&unboxed)
        #expect(unboxed.values == inside.values ? true : false, "the box around the ring goes, the ring stays")
        // Two rules above and below it (a table's row) go too; a stroke beside it stays.
        let rows = Self.hairline(width: 300, height: 300, segments: [(30, 90, 270, 92), (30, 210, 270, 208), (250, 100, 250, 200)],
                                 arcs: ring)
        let rest = Self.hairline(width: 300, height: 300, segments: [(250, 100, 250, 200)], arcs: ring)
        var between = rows
        DigitPreprocessor.removeBoxesAroundInk(&between)
        #expect(between.values == rest.values ? true : false, "the rules above and below go, the ring and the stroke stay")
        // A row of two boxes with a ring in each (a form's comb): its middle wall runs between
        // the rings, so it is no framing line, but the whole comb goes.
        let rings: [(cx: Double, cy: Double, r: Double, from: Double, to: Double)] = [
            (100, 150, 30, 0, 360), (100, 150, 31, 0, 360), (200, 150, 30, 0, 360), (200, 150, 31, 0, 360)]
        let comb = Self.hairline(width: 300, height: 300, segments: [(40, 90, 260, 90), (40, 210, 260, 210), (40, 90, 40, 210),
                                                                     (150, 90, 150, 210), (260, 90, 260, 210)], arcs: rings)
        let alone = Self.hairline(width: 300, height: 300, segments: [], arcs: rings)
        var cells = comb
        DigitPreprocessor.removeBoxesAroundInk(&cells)
        #expect(cells.values == alone.values ? true : false, "the comb goes, the rings stay")
    }

    /// What a number is segmented from loses the lines that frame it (here a sheet's edge
    /// beside two digits) and nothing else: the digits and a small dot stay as they were.
    @Test func framingLinesLeaveANumbersInk() {
        let digits = Self.hairline(width: 300, height: 240, segments: [(40, 80, 40, 140), (41, 80, 41, 140), (20, 200, 21, 201)],
                                   arcs: [(cx: 110, cy: 110, r: 28, from: 0, to: 360), (cx: 110, cy: 110, r: 29, from: 0, to: 360)])
        let edge = Self.hairline(width: 300, height: 240, segments: [(262, 20, 270, 225), (263, 20, 271, 225)], arcs: [])
        var ink = digits
        for index in ink.values.indices { ink.values[index] = max(ink.values[index], edge.values[index]) }
        DigitPreprocessor.removeFramingLines(&ink)
        #expect(ink.values == digits.values ? true : false, "\(zip(ink.values, digits.values).filter { $0.0 != $0.1 }.count) pixels differ from the digits alone")
        var alone = digits
        DigitPreprocessor.removeFramingLines(&alone)
        #expect(alone.values == digits.values ? true : false, "the digits alone are left as they are")
    }

    /// The square erosion (a running minimum along rows, then columns) equals the minimum over
    /// the whole (2r+1)² square, samples outside the picture counting as 0, for reaches shorter
    /// and longer than the picture.
    @Test func squareErosionIsTheMinimumOverTheSquare() {
        let random = RandomGenerator(seed: 11)
        for (width, height) in [(1, 1), (7, 3), (40, 25)] {
            let image = FloatImage(width: width, height: height, values: (0..<width * height).map { _ in 0.1 + random.nextUnitFloat() })
            for reach in [0, 1, 2, 5, 12] {
                let eroded = image.eroded(square: reach)
                var differing = 0
                for y in 0..<height {
                    for x in 0..<width {
                        var low = Float.infinity
                        for dy in -reach...reach {
                            for dx in -reach...reach {
                                let nx = x + dx, ny = y + dy
                                low = min(low, nx >= 0 && ny >= 0 && nx < width && ny < height ? image.values[ny * width + nx] : 0)
                            }
                        }
                        if eroded.values[y * width + x] != low { differing += 1 }
                    }
                }
                #expect(differing == 0, "\(width)×\(height), reach \(reach): \(differing) pixels differ")
            }
        }
    }

    /// `dilated(square:)` on a mask is the maximum over the square, the outside counting as 0
    /// (no ink grows in from the picture's edges).
    @Test func squareDilationIsTheMaximumOverTheSquare() {
        let random = RandomGenerator(seed: 12)
        for (width, height) in [(1, 1), (7, 3), (40, 25)] {
            let mask = FloatImage(width: width, height: height, values: (0..<width * height).map { _ in random.nextUnitFloat() < 0.05 ? 1 : 0 })
            for reach in [0, 1, 2, 5] {
                let dilated = mask.dilated(square: reach)
                var differing = 0
                for y in 0..<height {
                    for x in 0..<width {
                        var high: Float = 0
                        for dy in -reach...reach {
                            for dx in -reach...reach {
                                let nx = x + dx, ny = y + dy
                                if nx >= 0 && ny >= 0 && nx < width && ny < height { high = max(high, mask.values[ny * width + nx]) }
                            }
                        }
                        if dilated.values[y * width + x] != high { differing += 1 }
                    }
                }
                #expect(differing == 0, "\(width)×\(height), reach \(reach): \(differing) pixels differ")
            }
        }
    }

    @Test func specksAreIgnored() throws {
        var specked = Self.draw(width: 400, height: 400, box: (120, 100, 150, 200), path: Self.sevenPath, stroke: 18)
        let clean = try DigitPreprocessor().prepare(specked, path: "clean")
        var pixels = specked.pixels
        for (x, y) in [(10, 10), (380, 30), (20, 390), (390, 390), (300, 350)] {
            for dy in 0..<3 { for dx in 0..<3 { pixels[(y + dy) * 400 + x + dx] = 0 } }
        }
        specked = GrayImage(width: 400, height: 400, pixels: pixels)
        let prepared = try DigitPreprocessor().prepare(specked, path: "specked")
        #expect(prepared.image == clean.image)
    }

    /// Hairline strokes are thickened and fat ones thinned into MNIST's range; ordinary ones are
    /// left alone.
    /// Hairlines are widened on any picture; thick strokes are thinned on a picture of paper
    /// (here a gray sheet lit unevenly) and kept as drawn on a clean one, where a tight crop
    /// of a bold digit must not be eroded away.
    @Test func strokeWidthIsNormalized() throws {
        let unevenPaper: (Int, Int) -> UInt8 = { x, y in UInt8(150 + 60 * x / 900 + 20 * y / 900 + (x * 7 + y * 13) % 9) }
        let thin = try DigitPreprocessor().prepare(
            Self.draw(width: 900, height: 900, box: (200, 100, 400, 700), path: Self.sevenPath, stroke: 3), path: "thin")
        let normal = try DigitPreprocessor().prepare(
            Self.draw(width: 900, height: 900, box: (200, 100, 400, 700), path: Self.sevenPath, stroke: 70), path: "normal")
        let fat = try DigitPreprocessor().prepare(
            Self.draw(width: 900, height: 900, box: (200, 100, 400, 700), path: Self.sevenPath, stroke: 190, ink: { _ in 20 }, paper: unevenPaper),
            path: "fat")
        let boldClean = try DigitPreprocessor().prepare(
            Self.draw(width: 900, height: 900, box: (200, 100, 400, 700), path: Self.sevenPath, stroke: 190), path: "bold")
        #expect(thin.strokeAdjustment > 0 && normal.strokeAdjustment == 0 && fat.strokeAdjustment < 0)
        #expect(thin.clean && normal.clean && !fat.clean && boldClean.clean && boldClean.strokeAdjustment == 0)
        func inkMass(_ image: GrayImage) -> Double { image.pixels.reduce(0.0) { $0 + Double($1) } / 255 }
        // Ink mass in 28×28 is a proxy for stroke width: all three end near MNIST's typical 100.
        for (name, prepared) in [("thin", thin), ("normal", normal), ("fat", fat)] {
            let mass = inkMass(prepared.image)
            #expect(mass > 45 && mass < 150, "\(name): ink mass \(mass)")
        }
        #expect(inkMass(boldClean.image) > inkMass(fat.image))
    }

    /// A photographed sheet of paper on a darker table: the sheet is one bright, solid piece
    /// with the digit as its hole (`DigitPreprocessor.inkOnSheet`), so the digit is read on the
    /// sheet alone, in its place, as a clean drawing of it would give; no second reading is
    /// needed. (Before, the first reading took the sheet for ink, and a number's ink map, or a
    /// small digit, never got past it.)
    @Test func aDigitOnASheetOnATableIsReadOnTheSheet() throws {
        let clean = try DigitPreprocessor().prepare(
            Self.draw(width: 500, height: 500, box: (150, 120, 200, 260), path: Self.sevenPath, stroke: 24), path: "clean")
        let photo = Self.draw(width: 900, height: 700, box: (350, 220, 200, 260), path: Self.sevenPath, stroke: 24,
                              ink: { _ in 40 }) { x, y in
            (200..<700).contains(x) && (100..<600).contains(y) ? 230 : 70  // the sheet, and the table around it
        }
        let prepared = try DigitPreprocessor().prepare(photo, path: "photo")
        #expect(prepared.inverted && prepared.alternative == nil)
        let difference = Self.meanAbsoluteDifference(prepared.image, clean.image)
        #expect(difference < 6, "mean difference \(difference) from the clean drawing")
        #expect(abs(prepared.inkBox.x - 355) <= 4 && abs(prepared.inkBox.height - 261) <= 6, "ink at \(prepared.inkBox)")
        // An ordinary drawing has no second reading.
        #expect(clean.alternative == nil)
    }

    /// A digit written small on a sheet photographed whole (a 7 of 2-pixel strokes, 14 pixels
    /// tall, on a sheet of 500×500 on a darker table): its strokes are holes of 0.02% of the
    /// sheet's area, and the sheet is still taken for paper with the digit on it
    /// (`inkOnSheet`), not for ink.
    @Test func aSmallDigitOnASheetIsReadOnTheSheet() throws {
        let width = 900, height = 700
        var gray = [Float](repeating: 70 / 255, count: width * height)
        for y in 100..<600 { for x in 200..<700 { gray[y * width + x] = 230 / 255 } }
        for (xs, ys) in [(400..<412, 300..<302), (410..<412, 300..<314)] { for y in ys { for x in xs { gray[y * width + x] = 40 / 255 } } }
        let picture = FloatImage(width: width, height: height, values: gray)
        let sheetAsInk = FloatImage(width: width, height: height, values: gray.map { min(1, max(0, ($0 - 70 / 255) / (160 / 255))) })
        let onSheet = try #require(DigitPreprocessor.inkOnSheet(sheetAsInk, gray: picture), "the sheet was not found")
        #expect(onSheet.values[301 * width + 405] > 0.5 && onSheet.values[310 * width + 411] > 0.5, "the digit is no ink")
        #expect(onSheet.values[50 * width + 50] == 0 && onSheet.values[350 * width + 300] == 0, "the table or the sheet is ink")
    }

    /// A 7 in gray pen (110) on a sheet whose light falls off from 235 to 145 across it, the
    /// table darker than the pen (40) along the left and bottom edges: the table is painted
    /// over with the sheet as it is lit beside it (`tableAsPaper`), and the 7 reads as the clean
    /// drawing does. A bold 7 cut to its ink has no table.
    @Test func aTableDarkerThanThePenIsPaintedOver() throws {
        let clean = try DigitPreprocessor().prepare(
            Self.draw(width: 500, height: 500, box: (150, 120, 200, 260), path: Self.sevenPath, stroke: 24), path: "clean")
        let photo = Self.draw(width: 900, height: 700, box: (350, 220, 200, 260), path: Self.sevenPath, stroke: 24,
                              ink: { _ in 110 }) { x, y in
            x < 60 || y >= 640 ? 40 : UInt8(235 - x / 10)
        }
        let painted = try #require(DigitPreprocessor.tableAsPaper(FloatImage(photo)), "no table found")
        for (x, y) in [(5, 300), (30, 100), (450, 690), (880, 660)] {
            let sheet = Float(235 - min(max(x, 80), 899) / 10) / 255
            #expect(abs(painted.values[y * 900 + x] - sheet) < 0.05, "(\(x), \(y)): \(painted.values[y * 900 + x]) against the sheet's \(sheet)")
        }
        #expect(painted.values[300 * 900 + 450] == FloatImage(photo).values[300 * 900 + 450], "the sheet was painted")
        let prepared = try DigitPreprocessor().prepare(photo, path: "photo")
        let difference = Self.meanAbsoluteDifference(prepared.image, clean.image)
        #expect(difference < 8, "mean difference \(difference) from the clean drawing")
        #expect(abs(prepared.inkBox.x - 355) <= 6 && abs(prepared.inkBox.height - 261) <= 8, "ink at \(prepared.inkBox)")
        let bold = Self.draw(width: 200, height: 260, box: (0, 0, 200, 260), path: Self.sevenPath, stroke: 40)
        #expect(DigitPreprocessor.tableAsPaper(FloatImage(bold)) == nil, "a bold 7 cut to its ink was taken for a table")
    }

    /// A 7 in dark pen on paper with a soft-edged shadow over its left third, and the same 7
    /// under a spot of light that falls off steeply to a dim rim. The paper's fitted surface
    /// follows neither: the first reading takes the shadow for a solid blob of ink, and the
    /// spot's lit middle for a sheet on a table. The ink against the paper's level nearby
    /// (`localInk`) is the 7: the reader takes it for the shadow (`alternativeLooksRight`) and
    /// at once for the spot; the 7 on even paper gets no such reading.
    @Test func aShadowOrASpotOfLightIsNotTakenForInk() throws {
        let width = 1200, height = 900
        // Grain of ±3 gray levels, the same in every run.
        func grain(_ x: Int, _ y: Int) -> Double { Double((x &* 73_856_093 ^ y &* 19_349_663) & 0x7FFF_FFFF % 7) - 3 }
        let shadow: (Int, Int) -> UInt8 = { x, y in
            let edge = Double(x) + 0.3 * Double(y - height / 2) - 509
            return UInt8(225 * (0.6 + 0.4 / (1 + exp(-edge / 12))) + grain(x, y))
        }
        let spot: (Int, Int) -> UInt8 = { x, y in
            let fromMiddle = (pow(Double(x - width / 2) / Double(width), 2) + pow(Double(y - height / 2) / Double(height), 2)).squareRoot() / 0.7
            return UInt8(225 * (1 - 0.35 * min(1, max(0, (fromMiddle - 0.35) / 0.35))) + grain(x, y))
        }
        // Under the spot, the lit middle with the 7 as its hole looks like a sheet on a darker
        // table, but its outline is no edge (`sheetEdgeSharpness`): the 7 is read against the
        // paper's level nearby at once, by the one-digit reader and in the number reader's map.
        let spotPhoto = Self.draw(width: width, height: height, box: (700, 200, 80, 120), path: Self.sevenPath, stroke: 14,
                                  ink: { UInt8(Double($0) * 0.25) }, paper: spot)
        let underSpot = try DigitPreprocessor().prepare(spotPhoto, path: "spot")
        #expect(underSpot.inverted && underSpot.strokeRatio < PreparedDigit.penStrokeRatio, "spot: read as a blob (\(underSpot.strokeRatio))")
        let spotInk = underSpot.inkBox
        #expect(abs(spotInk.x - 700) <= 20 && abs(spotInk.y - 200) <= 20 && abs(spotInk.height - 120) <= 28, "spot: ink at \(spotInk), not the 7's")
        let spotMap = try #require(DigitPreprocessor().inkMap(spotPhoto))
        let spotBounds = try #require(DigitReader.inkBounds(spotMap.ink))
        #expect(abs(Double(spotBounds.minX) * spotMap.scale - 700) <= 20 && abs(Double(spotBounds.maxY - spotBounds.minY + 1) * spotMap.scale - 120) <= 28,
                "spot: the ink map's ink spans \(spotBounds), not the 7")
        for (name, paper, box) in [("shadow", shadow, (648.0, 494.0, 100.0, 150.0))] {
            let photo = Self.draw(width: width, height: height, box: box, path: Self.sevenPath, stroke: 14,
                                  ink: { UInt8(Double($0) * 0.25) }, paper: paper)
            let prepared = try DigitPreprocessor().prepare(photo, path: name)
            #expect(prepared.strokeRatio > PreparedDigit.penStrokeRatio, "\(name): the first reading is no blob (\(prepared.strokeRatio))")
            let alternative = try #require(prepared.alternative, "\(name): no reading against the local paper")
            #expect(prepared.alternativeLooksRight, "\(name): the local reading is not taken")
            #expect(alternative.inverted, "\(name): the ink was taken for light ink")
            let ink = alternative.inkBox
            #expect(abs(Double(ink.x) - box.0) <= 20 && abs(Double(ink.y) - box.1) <= 20 && abs(Double(ink.height) - box.3) <= 28,
                    "\(name): ink at \(ink), not the 7's")
            // The number reader segments the ink found the same way.
            #expect(prepared.readsLocalPaper, "\(name): a number would be segmented from the blob")
            let map = try #require(DigitPreprocessor().localInkMap(photo))
            let bounds = try #require(DigitReader.inkBounds(map.ink))
            #expect(abs(Double(bounds.minX) * map.scale - box.0) <= 20 && abs(Double(bounds.maxY - bounds.minY + 1) * map.scale - box.3) <= 28,
                    "\(name): the local ink map's ink spans \(bounds), not the 7")
        }
        let even = try DigitPreprocessor().prepare(Self.draw(width: width, height: height, box: (648, 494, 100, 150), path: Self.sevenPath,
                                                             stroke: 14, ink: { UInt8(Double($0) * 0.25) }, paper: { _, _ in 225 }), path: "even")
        #expect(even.alternative == nil && even.strokeRatio < PreparedDigit.penStrokeRatio && !even.readsLocalPaper,
                "the 7 on even paper read as a blob")
    }

    /// A sheet's outline is an edge: the brightness steps there (sharpness near 1). The outline
    /// that the ink's level draws around a spot of light has the same brightness on both sides
    /// (under `sheetEdgeFloor`), and `sheet(in:gray:)` finds no sheet in it.
    @Test func aSheetHasAnEdgeAndASpotOfLightHasNone() {
        let width = 400, height = 300
        func picture(_ value: (Int, Int) -> Float) -> FloatImage {
            FloatImage(width: width, height: height, values: (0..<width * height).map { value($0 % width, $0 / width) })
        }
        let sheet = picture { x, y in (60..<340).contains(x) && (40..<260).contains(y) ? 0.85 - 0.1 * Float(x) / 400 : 0.3 }
        let spot = picture { x, y in
            let fromMiddle = (pow(Float(x - 200) / 400, 2) + pow(Float(y - 150) / 300, 2)).squareRoot() / 0.7
            return 0.88 * (1 - 0.35 * min(1, max(0, (fromMiddle - 0.35) / 0.35)))
        }
        for (name, gray, sharp) in [("sheet", sheet, true), ("spot", spot, false)] {
            // The ink as the paper path finds a bright region: over the middle of the range.
            let ink = FloatImage(width: width, height: height, values: gray.values.map { $0 > 0.6 ? 1 : 0 })
            guard let outside = DigitPreprocessor.outsideOfSheet(ink) else { Issue.record("\(name): no sheet-sized piece"); continue }
            let sharpness = DigitPreprocessor.sheetEdgeSharpness(outside: outside, gray: gray)
            #expect((sharpness >= DigitPreprocessor.sheetEdgeFloor) == sharp, "\(name): sharpness \(sharpness)")
            #expect((DigitPreprocessor.sheet(in: ink, gray: gray) != nil) == sharp, "\(name)")
        }
        #expect(DigitPreprocessor.sheetEdgeSharpness(outside: DigitPreprocessor.outsideOfSheet(
            FloatImage(width: width, height: height, values: sheet.values.map { $0 > 0.6 ? 1 : 0 }))!, gray: sheet) > 0.8)
    }

    /// A sheet lit evenly in its middle, the light falling off steeply to a dim rim, on a darker
    /// table along the left edge, with a small 7 in dark pen: Otsu's threshold parts the lit
    /// middle from the rim, so the rim reads as strokes at every edge and the painted picture
    /// passes for a crop cut to its ink (`isTightCrop`), whose clean path then takes the rim
    /// for ink. A picture with a table in it is a photo of a sheet, never such a crop: the ink
    /// map the number reader segments holds the 7, not the rim around the light. (The paper
    /// path's quadratic surface does not follow light that falls off this steeply: read as
    /// one digit, the picture is still "not a digit", with the change and without it.)
    @Test func aPhotoWithATableIsNoTightCrop() throws {
        let width = 900, height = 700
        let photo = Self.draw(width: width, height: height, box: (420, 300, 50, 80), path: Self.sevenPath, stroke: 7,
                              ink: { _ in 60 }) { x, y in
            let dx = Double(x - 480) / 480, dy = Double(y - 350) / 350
            let fromMiddle = ((dx * dx + dy * dy) / 2).squareRoot()
            return x < 50 ? 40 : UInt8(235 - 65 * min(1, max(0, (fromMiddle - 0.45) / 0.3)))
        }
        let (painted, _, onTable) = DigitPreprocessor().workingPicture(photo)
        #expect(onTable, "no table found")
        let threshold = try #require(DigitPreprocessor.otsuThreshold(painted))
        #expect(DigitPreprocessor.isTightCrop(painted, threshold: threshold), "the dim rim no longer passes for strokes at the edges")
        let map = try #require(DigitPreprocessor().inkMap(photo))
        let bounds = try #require(DigitReader.inkBounds(map.ink))
        let box = (x: Double(bounds.minX) * map.scale, y: Double(bounds.minY) * map.scale,
                   width: Double(bounds.maxX - bounds.minX + 1) * map.scale, height: Double(bounds.maxY - bounds.minY + 1) * map.scale)
        #expect(abs(box.x - 420) <= 10 && abs(box.y - 300) <= 10 && abs(box.width - 50) <= 15 && abs(box.height - 80) <= 15,
                "the ink map's ink spans \(box), not the 7")
    }

    /// Paper that darkens from one corner (light falling off in a photo) with a 7 in the
    /// middle is no tight crop: paper of other shades reaches every edge, but no stroke does. The
    /// 7 cut to its ink is one, and so is the same 7 scaled up 10 times with a blurred rim.
    @Test func paperDarkeningTowardsTheEdgesIsNoTightCrop() throws {
        let lit = Self.draw(width: 300, height: 200, box: (120, 50, 60, 90), path: Self.sevenPath, stroke: 10, ink: { _ in 40 }) { x, y in
            let fromCorner = (Double(x) / 300 + Double(y) / 200) / 2
            return UInt8(235 - 40 * fromCorner * fromCorner)
        }
        let litImage = FloatImage(lit)
        #expect(!DigitPreprocessor.isTightCrop(litImage, threshold: try #require(DigitPreprocessor.otsuThreshold(litImage))))
        // A 7 whose bar reaches both sides and whose stem reaches the bottom: four edges.
        let seven = Self.draw(width: 60, height: 90, box: (0, 0, 60, 90), path: [(0.08, 0.05), (0.92, 0.05), (0.45, 0.95)], stroke: 12,
                              ink: { _ in 40 }) { _, _ in 235 }
        let cut = FloatImage(seven)
        #expect(DigitPreprocessor.isTightCrop(cut, threshold: try #require(DigitPreprocessor.otsuThreshold(cut))))
        // Scaled up 10 times, with a rim: each pixel the mean of the 5×5 around it.
        let scaled = (0..<600 * 900).map { Float(seven.pixels[($0 / 600 / 10) * 60 + $0 % 600 / 10]) }
        let rimmed = FloatImage(GrayImage(width: 600, height: 900, pixels: (0..<600 * 900).map { index in
            let x = index % 600, y = index / 600
            var sum: Float = 0, count: Float = 0
            for dy in -2...2 { for dx in -2...2 where (0..<600).contains(x + dx) && (0..<900).contains(y + dy) {
                sum += scaled[(y + dy) * 600 + x + dx]; count += 1
            } }
            return UInt8(sum / count)
        }))
        #expect(DigitPreprocessor.isTightCrop(rimmed, threshold: try #require(DigitPreprocessor.otsuThreshold(rimmed))))
    }

    /// French-ruled (Seyès) paper: faint rules every 8 pixels, a darker one every 32, faint
    /// columns every 32 and a margin line. Its lines run into every edge, but a digit in the
    /// middle of the page is no tight crop (as one, an 8 there was read on the clean path with
    /// every line taken for ink, and refused). A 7 cut to its ink with rules across it still is.
    @Test func ruledPaperIsNoTightCrop() throws {
        func seyes(_ x: Int, _ y: Int) -> UInt8 { x == 60 || x == 61 ? 160 : y % 32 == 3 ? 150 : y % 8 == 3 || x % 32 == 3 ? 205 : 250 }
        let page = FloatImage(Self.draw(width: 420, height: 420, box: (150, 110, 130, 200), path: Self.sevenPath, stroke: 30,
                                         ink: { _ in 40 }, paper: seyes))
        #expect(!DigitPreprocessor.isTightCrop(page, threshold: try #require(DigitPreprocessor.otsuThreshold(page))))
        let cut = FloatImage(Self.draw(width: 120, height: 180, box: (0, 0, 120, 180), path: [(0.08, 0.05), (0.92, 0.05), (0.45, 0.95)],
                                       stroke: 24, ink: { _ in 40 }, paper: seyes))
        #expect(DigitPreprocessor.isTightCrop(cut, threshold: try #require(DigitPreprocessor.otsuThreshold(cut))))
    }

    /// A number cut from lined paper, the ruled line faint (a third of the pen's contrast)
    /// and running through the tops of three 7s: the picture is clean, and the line, which
    /// reaches past the number on both sides, is no ink, while the 7s keep their bars. In a
    /// thin 7 cut to its ink, the bar spans the picture as a line would, but ends at the
    /// digit: it stays.
    @Test func aFaintRuledLineThroughACleanNumberIsNoInk() throws {
        let width = 340, height = 190
        var picture = GrayImage(width: width, height: height, pixels: (0..<width * height).map { $0 / width >= 68 && $0 / width < 72 ? 203 : 236 })
        for left in [75.0, 140, 205] {
            let seven = Self.draw(width: width, height: height, box: (left, 60, 55, 80), path: Self.sevenPath, stroke: 9)
            for index in picture.pixels.indices where seven.pixels[index] == 0 { picture.pixels[index] = 40 }
        }
        let map = try #require(DigitPreprocessor().inkMap(picture)).ink
        #expect((0..<60).allSatisfy { map.values[70 * width + $0] == 0 } && (290..<width).allSatisfy { map.values[70 * width + $0] == 0 },
                "the ruled line beside the number is ink")
        for left in [75, 140, 205] {
            #expect(map.values[65 * width + left + 27] > 0.5, "the bar of the 7 at \(left) was dropped")
        }
        let thin = Self.draw(width: 200, height: 260, box: (0, 0, 200, 260), path: [(0, 0.05), (1, 0.05), (0.45, 0.95)], stroke: 6,
                             ink: { _ in 40 }) { _, _ in 236 }
        let cut = try #require(DigitPreprocessor().inkMap(thin)).ink
        #expect(cut.values[13 * 200 + 60] > 0.5, "the bar of a thin 7 cut to its ink was taken for a ruled line")
    }

    /// The table's edge blurred into the sheet over 60 pixels, wider than the rim painted
    /// with the table: the blurred fringe darker than halfway from Otsu's threshold to the
    /// sheet is painted too (left, it read as faint ink along the edge), and the 7 is left.
    @Test func theTablesBlurredFringeIsPaintedOver() throws {
        let photo = Self.draw(width: 600, height: 400, box: (300, 100, 100, 150), path: Self.sevenPath, stroke: 14,
                              ink: { _ in 110 }) { x, _ in
            x < 60 ? 40 : x < 120 ? UInt8(40 + (x - 60) * 3) : 230
        }
        let original = FloatImage(photo)
        let painted = try #require(DigitPreprocessor.tableAsPaper(original), "no table found")
        let threshold = try #require(DigitPreprocessor.otsuThreshold(original))
        let fringe = threshold + 0.5 * (230 / 255 - threshold)
        let darker = (0..<250).filter { painted.values[200 * 600 + $0] < fringe }
        #expect(darker.isEmpty, "left of the 7, \(darker.count) pixels darker than \(fringe), from x = \(darker.first ?? -1)")
        let stroke = (0..<original.values.count).filter { original.values[$0] < 0.5 && $0 % 600 >= 250 }
        #expect(!stroke.isEmpty && stroke.allSatisfy { painted.values[$0] == original.values[$0] }, "the 7 was painted over")
    }

    /// A number written small on a sheet photographed from afar, at the working size: the
    /// table along the top and right edges, and three digits 11 pixels tall whose strokes are
    /// dotted (a pixel of ink every other pixel, each dot a speck under Otsu's threshold). The
    /// dots grown by a pixel make a line of three pieces (`smallWriting`), so the table is
    /// painted over and the dots are left. The same pieces scattered down the sheet, or one
    /// alone, are no line (specks of noise grown): no table is painted.
    @Test func aNumberWrittenSmallBesideTheTableIsWriting() throws {
        let width = 512, height = 360
        func picture(dots: [(Int, Int)]) -> FloatImage {
            var values = (0..<width * height).map { $0 / width < 40 || $0 % width >= 472 ? Float(0.2) : 0.85 }
            for (x, y) in dots { values[y * width + x] = 0.3 }
            return FloatImage(width: width, height: height, values: values)
        }
        // Each digit the outline of a box 7 wide and 11 tall, dotted.
        func digit(left: Int, top: Int) -> [(Int, Int)] {
            (0...10).flatMap { dy in (0...6).map { dx in (left + dx, top + dy) } }
                .filter { x, y in (x == left || x == left + 6 || y == top || y == top + 10) && (x + y) % 2 == 0 }
        }
        let digits = [200, 212, 224].flatMap { digit(left: $0, top: 200) }
        let number = picture(dots: digits)
        let painted = try #require(DigitPreprocessor.tableAsPaper(number), "the table beside a small number was not found")
        for (x, y) in [(100, 10), (490, 200), (505, 350)] {
            #expect(abs(painted.values[y * width + x] - 0.85) < 0.01, "(\(x), \(y)) is \(painted.values[y * width + x]), not the sheet")
        }
        #expect(digits.allSatisfy { painted.values[$1 * width + $0] == 0.3 }, "a dot of the number was painted over")
        // The same three pieces at heights 30 pixels apart are no line (which would stand under
        // half the picture's height and beside a table more than twice as long), nor is one alone.
        let scattered = digit(left: 150, top: 100) + digit(left: 300, top: 130) + digit(left: 420, top: 160)
        let scatteredTable = DigitPreprocessor.tableAsPaper(picture(dots: scattered)) != nil
        #expect(!scatteredTable, "scattered specks were taken for writing")
        let loneTable = DigitPreprocessor.tableAsPaper(picture(dots: digit(left: 200, top: 200))) != nil
        #expect(!loneTable, "a lone speck was taken for writing")
    }

    /// An ink map of a photographed sheet with the table in view: a strip of "ink" 30 pixels
    /// wide along the left edge, a pen stroke in the middle, and a pen stroke that runs into
    /// the bottom edge. The strip is no ink (`removeTableAtEdges`); both strokes stay, the one at
    /// the edge too (a digit cut by the picture's edge is not a table). Beside ink that spans
    /// most of the picture (a digit cut to its ink, one stroke of it along the edge) the strip
    /// stays.
    @Test func theTableAlongAnEdgeIsNoInk() {
        let width = 400, height = 300
        func map(strokes: [(Range<Int>, Range<Int>)]) -> FloatImage {
            var ink = FloatImage(width: width, height: height, values: [Float](repeating: 0, count: width * height))
            for (xs, ys) in [(0..<30, 0..<height)] + strokes { for y in ys { for x in xs { ink.values[y * width + x] = 1 } } }
            return ink
        }
        var ink = map(strokes: [(180..<186, 170..<230), (260..<266, 240..<height)])
        DigitPreprocessor.removeTableAtEdges(&ink, thick: true)
        #expect(ink.values[150 * width + 10] == 0 && ink.values[5] == 0, "the table stays")
        #expect(ink.values[200 * width + 183] == 1 && ink.values[(height - 1) * width + 263] == 1, "a stroke was dropped")
        #expect(ink.values.reduce(0, +) == Float(6 * 60 + 6 * 60))
        var whole = map(strokes: [(180..<186, 20..<280)])
        DigitPreprocessor.removeTableAtEdges(&whole, thick: true)
        #expect(whole.values.reduce(0, +) == Float(30 * height + 6 * 260), "beside a tall stroke, the strip was dropped")
    }

    /// The paper path's ink map of a sheet photographed with the table in view along its right
    /// and bottom edges: the table is "ink" of about half strength (its contrast with the
    /// paper against the pen's), in one L-shaped strip whose pixels lie on both sides of ½.
    /// The strip is no ink; a small number in the middle stays. Over ½ alone the strip falls
    /// apart into specks, each too small to be a table. So do slivers of its rim along the
    /// left edge.
    @Test func theTableAlongTwoEdgesAtHalfStrengthIsNoInk() {
        let width = 360, height = 500
        var ink = FloatImage(width: width, height: height, values: [Float](repeating: 0, count: width * height))
        for y in 0..<height {
            for x in 0..<width where x >= width - 14 || y >= height - 12 {
                ink.values[y * width + x] = x % 3 == 0 && y % 3 == 0 ? 0.56 : 0.44
            }
        }
        let strokes = [(150..<154, 230..<262), (170..<190, 230..<234), (186..<190, 230..<262)]
        for (xs, ys) in strokes { for y in ys { for x in xs { ink.values[y * width + x] = 1 } } }
        let strokeMass = ink.values.reduce(Float(0)) { $0 + ($1 == 1 ? 1 : 0) }
        // Slivers of the table's rim along the left edge, 3 pixels wide, where the rest of it
        // went under ¼ (a fortieth of 360 is 9 pixels).
        for top in [100, 180, 300] { for y in top..<(top + 8) { for x in 0..<3 { ink.values[y * width + x] = 0.4 } } }
        DigitPreprocessor.removeTableAtEdges(&ink, thick: true)
        #expect(ink.values[200 * width + width - 5] == 0 && ink.values[(height - 4) * width + 100] == 0, "the table stays")
        #expect(ink.values[104 * width + 1] == 0 && ink.values[304 * width + 1] == 0, "a sliver of the table's rim stays")
        #expect(ink.values.reduce(0, +) == strokeMass, "a stroke of the number was dropped")
    }

    /// A ruled line of a photographed sheet that ends at the sheet's edge, 70% across the
    /// picture, far below a small number: no ink (`removeShorterRuledLines`). A bar as long
    /// that touches the digit (a 7's), or one above it that does not reach past it on both
    /// sides (a 5's detached bar), stays.
    @Test func aRuledLineShortOfTheEdgesApartFromTheNumberIsNoInk() {
        let width = 400, height = 300
        func map(line: (Range<Int>, Int), stroke: (Range<Int>, Range<Int>) = (200..<204, 40..<70)) -> FloatImage {
            var ink = FloatImage(width: width, height: height, values: [Float](repeating: 0, count: width * height))
            for x in line.0 { ink.values[line.1 * width + x] = 0.8 }
            for y in stroke.1 { for x in stroke.0 { ink.values[y * width + x] = 1 } }
            for y in 40..<70 { for x in 230..<234 { ink.values[y * width + x] = 1 } }
            return ink
        }
        var apart = map(line: (100..<380, 250))
        DigitPreprocessor.removeShorterRuledLines(&apart)
        #expect(apart.values[250 * width + 200] == 0, "the ruled line far from the number stays")
        #expect(apart.values.reduce(0, +) == Float(2 * 4 * 30), "a stroke of the number was dropped")
        var bar = map(line: (100..<380, 69))
        DigitPreprocessor.removeShorterRuledLines(&bar)
        #expect(bar.values[69 * width + 300] > 0, "a bar touching the digit was taken for a ruled line")
        // A bar over a body 120 pixels wide, 9 pixels above it, reaching past it on one side only.
        var detached = map(line: (130..<380, 30), stroke: (120..<240, 40..<44))
        DigitPreprocessor.removeShorterRuledLines(&detached)
        #expect(detached.values[30 * width + 300] > 0, "a detached bar over the digit was taken for a ruled line")
    }

    /// A number written across most of a photographed sheet's width (five strokes 60 pixels
    /// tall from x = 60 to 380), the table along the left edge: the strip, five times as long
    /// as the line is tall, is no ink. Beside a line 160 pixels tall (over half the picture:
    /// a picture cut to its writing) it stays.
    @Test func theTableBesideAWideNumberIsNoInk() {
        let width = 400, height = 300
        func map(lineTop: Int, lineHeight: Int) -> FloatImage {
            var ink = FloatImage(width: width, height: height, values: [Float](repeating: 0, count: width * height))
            let strokes = [(0..<30, 0..<height)] + stride(from: 60, to: 380, by: 70).map { ($0..<($0 + 8), lineTop..<(lineTop + lineHeight)) }
            for (xs, ys) in strokes { for y in ys { for x in xs { ink.values[y * width + x] = 1 } } }
            return ink
        }
        var line = map(lineTop: 120, lineHeight: 60)
        DigitPreprocessor.removeTableAtEdges(&line, thick: false)
        #expect(line.values[150 * width + 10] == 0, "the table stays beside a wide number")
        #expect(line.values.reduce(0, +) == Float(5 * 8 * 60), "a stroke of the number was dropped")
        var tall = map(lineTop: 70, lineHeight: 160)
        DigitPreprocessor.removeTableAtEdges(&tall, thick: false)
        #expect(tall.values.reduce(0, +) == Float(30 * height + 5 * 8 * 160), "beside writing over half the picture's height, the strip was dropped")
    }

    /// Lined notebook paper: faint full-width rules every 60 pixels and a margin line. The
    /// rules and the margin go; the digit, crossed by them, stays whole.
    @Test func ruledLinesAreRemoved() throws {
        let clean = try DigitPreprocessor().prepare(
            Self.draw(width: 600, height: 700, box: (220, 150, 220, 300), path: Self.sevenPath, stroke: 24), path: "clean")
        let lined = Self.draw(width: 600, height: 700, box: (220, 150, 220, 300), path: Self.sevenPath, stroke: 24,
                              paper: { x, y in y % 60 == 30 || y % 60 == 31 ? 160 : x == 80 || x == 81 ? 150 : 250 })
        let prepared = try DigitPreprocessor().prepare(lined, path: "lined")
        let difference = Self.meanAbsoluteDifference(prepared.image, clean.image)
        #expect(difference < 6, "mean difference \(difference) from the clean drawing")
        #expect(abs(prepared.inkBox.height - clean.inkBox.height) <= 4, "ink box \(prepared.inkBox) against \(clean.inkBox)")
    }

    /// Squared paper cut along two of its lines (the top row and the left column are grid lines,
    /// as a crop of a scan often is): the paper is still the paper. Fitted from the picture's
    /// outermost ring of pixels, half of which were then line, the surface sat at the lines'
    /// gray, the paper read as bright ink and the 7 as "not a digit".
    @Test func squaredPaperCutAlongItsLines() throws {
        let clean = try DigitPreprocessor().prepare(
            Self.draw(width: 400, height: 400, box: (130, 90, 140, 220), path: Self.sevenPath, stroke: 22), path: "clean")
        let squared = Self.draw(width: 400, height: 400, box: (130, 90, 140, 220), path: Self.sevenPath, stroke: 22,
                                paper: { x, y in x % 20 == 0 || y % 20 == 0 ? 195 : 250 })
        let background = Background.fit(FloatImage(squared))
        let centre = background.value(atX: 200, y: 200, width: 400, height: 400)
        #expect(abs(centre - 250 / 255) < 0.03, "the paper fitted at \(centre), the paper is \(250.0 / 255)")
        let prepared = try DigitPreprocessor().prepare(squared, path: "squared")
        let difference = Self.meanAbsoluteDifference(prepared.image, clean.image)
        #expect(difference < 6, "mean difference \(difference) from the clean drawing")
    }

    /// A digit whose own bar crosses most of a tight picture keeps it: one line that reaches no
    /// further than the rest of the ink is not a rule.
    @Test func aDigitsOwnBarIsNotARule() throws {
        let tight = Self.draw(width: 100, height: 120, box: (-5, 5, 110, 110), path: Self.sevenPath, stroke: 10)
        let prepared = try DigitPreprocessor().prepare(tight, path: "tight")
        // The bar is the top rows of the digit: the top fifth of its box holds much ink.
        let box = Self.inkBox(prepared.image)
        #expect(box.height == 20)
        let top = (0..<28).map { y in (0..<28).reduce(0) { $0 + Int(prepared.image[$1, y]) } }
        let firstInked = top.firstIndex { $0 > 0 }!
        #expect(top[firstInked...(firstInked + 3)].reduce(0, +) > 255 * 20, "bar rows \(Array(top[firstInked...(firstInked + 3)]))")
    }

    @Test func blankAndTinyPicturesAreRefused() {
        let blank = GrayImage(width: 200, height: 100, pixels: [UInt8](repeating: 255, count: 20_000))
        #expect(throws: PreprocessError.noInk(path: "blank.png", width: 200, height: 100)) {
            try DigitPreprocessor().prepare(blank, path: "blank.png")
        }
        let random = RandomGenerator(seed: 9)
        let noisy = GrayImage(width: 300, height: 300, pixels: (0..<90_000).map { _ in UInt8(200 + random.nextInt(below: 9)) })
        #expect(throws: PreprocessError.noInk(path: "noise.png", width: 300, height: 300)) {
            try DigitPreprocessor().prepare(noisy, path: "noise.png")
        }
        #expect(throws: PreprocessError.tooSmall(path: "dot.png", width: 1, height: 1, minimum: 5)) {
            try DigitPreprocessor().prepare(GrayImage(width: 1, height: 1, pixels: [0]), path: "dot.png")
        }
    }

    /// Area averaging: each output pixel is the mean of its exact footprint.
    @Test func areaAveragingIsExact() {
        let image = FloatImage(width: 3, height: 1, values: [0.3, 0.6, 0.9])
        let halved = image.resized(width: 2, height: 1)
        #expect(abs(halved.values[0] - (0.3 + 0.3) / 1.5) < 1e-6)  // 0.3·1 + 0.6·0.5 over 1.5
        #expect(abs(halved.values[1] - (0.3 + 0.9) / 1.5) < 1e-6)  // 0.6·0.5 + 0.9·1 over 1.5
        let square = FloatImage(width: 4, height: 4, values: (0..<16).map(Float.init))
        let quarter = square.resized(width: 2, height: 2)
        #expect(quarter.values == [2.5, 4.5, 10.5, 12.5])
        #expect(abs(square.resized(width: 1, height: 1).values[0] - 7.5) < 1e-6)
    }
}
