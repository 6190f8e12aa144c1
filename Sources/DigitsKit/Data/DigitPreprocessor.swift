// Turns any picture of a digit into what the models were trained on, the way MNIST itself
// was made (LeCun et al.): ink as bright pixels on black, the digit scaled with anti-aliasing
// so that its longer side is 20 pixels, then placed in 28×28 by its centre of mass.
//
// The steps, in order:
//  1. grayscale (the PNG reader composites alpha onto white paper);
//  2. a smooth background is fitted (a quadratic surface through block medians, refitted
//     without outliers), so uneven lighting and gray paper are measured, not guessed;
//  3. polarity: whichever side of that background holds more mass is the ink, and it is made
//     bright; ink fainter than 30% of the strongest (ruled lines, paper texture) and noise are
//     suppressed, and the rest stretched to full strength;
//  4. specks (connected pieces under 8% of the largest piece's mass) are dropped, and the
//     picture is cropped to the ink;
//  5. stroke width: at 64 pixels a side the width is measured (2·area / perimeter) and brought
//     into MNIST's range (widths 6.5–16% of the digit's longer side) by dilating or eroding;
//  6. the longer side is scaled to 20 pixels by area averaging, keeping the aspect ratio;
//  7. the result is placed in 28×28 with its centre of mass on the centre (14, 14), as MNIST's
//     digits are (their centres of mass are within 0.52 pixels of it).
// The models' own normalization ((x/255 − mean)/std) is applied when a batch is assembled.
//
// A 28×28 image that already looks like an MNIST digit (a clean black background once the
// polarity is fixed, ink inside a 20×20 box, centre of mass within a pixel of the centre)
// passes through unchanged, so MNIST digits saved as PNG classify exactly as their IDX originals.
import Foundation

public enum PreprocessError: DigitsError, Equatable {
    case noInk(path: String, width: Int, height: Int)
    case tooSmall(path: String, width: Int, height: Int, minimum: Int)

    public var message: String {
        switch self {
        case .noInk(let path, let width, let height):
            return "\(path): no ink found: the \(width)×\(height) image is all background (or its strokes are too faint to tell from noise)"
        case .tooSmall(let path, let width, let height, let minimum):
            return "\(path): the image is \(width)×\(height) pixels; a digit needs at least \(minimum)×\(minimum)"
        }
    }

    public var hint: String? {
        switch self {
        case .noInk: return "draw the digit darker or thicker, or check that this is the right picture"
        case .tooSmall: return "use a larger picture of the digit"
        }
    }
}

/// A digit ready for the model, and what was done to get it there.
public struct PreparedDigit: Sendable {
    /// (side, side) bright ink on black: exactly what the model reads.
    public var image: GrayImage
    /// The image was already MNIST-style and is used as it is (polarity aside).
    public var passedThrough: Bool
    /// The ink was dark on a light background and has been turned bright.
    public var inverted: Bool
    /// Where the ink was found, in the source image's pixels.
    public var inkBox: (x: Int, y: Int, width: Int, height: Int)
    /// Stroke width change at the normalization size: > 0 thickened, < 0 thinned, 0 as drawn.
    public var strokeAdjustment: Float
    /// The ink's stroke width over its longer side, as found (before adjustment): about 0.1
    /// for pen strokes (MNIST: 0.064–0.15), 0.3 and more for solid blobs such as a sheet of paper.
    public var strokeRatio: Float = 0
    /// Another reading of the same picture, when it seems to show a sheet of paper on a table:
    /// the digit on the sheet alone. `digits classify` uses it when the model is surer of it.
    public var alternative: PreparedDigit? {
        get { alternatives.first }
        set { alternatives = newValue.map { [$0] } ?? [] }
    }
    private var alternatives: [PreparedDigit] = []

    /// The alternative reading is clearly the better one when it finds pen strokes where the
    /// first reading found a blob: a sheet of paper taken for ink, with the digit as its holes.
    public var alternativeLooksRight: Bool {
        guard let alternative else { return false }
        return alternative.strokeRatio < 0.25 && strokeRatio > 1.8 * alternative.strokeRatio
    }

    public init(image: GrayImage, passedThrough: Bool, inverted: Bool, inkBox: (x: Int, y: Int, width: Int, height: Int),
                strokeAdjustment: Float) {
        self.image = image
        self.passedThrough = passedThrough
        self.inverted = inverted
        self.inkBox = inkBox
        self.strokeAdjustment = strokeAdjustment
    }
}

public struct DigitPreprocessor: Sendable {
    /// Output side (MNIST: 28) and the box the digit's longer side is scaled to (MNIST: 20).
    public var side = 28
    public var box = 20
    /// Pictures larger than this (longer side) are first reduced by area averaging.
    public var workingSize = 512
    /// The size at which stroke width is measured and adjusted.
    public var strokeSize = 64
    public static let minimumSide = 5

    /// Stroke width as a share of the digit's longer side: MNIST's 5th–95th percentiles are
    /// 0.064–0.15 (median 0.098); widths outside the band are brought to `strokeTarget`.
    public var strokeBand: ClosedRange<Float> = 0.065...0.16
    public var thinTarget: Float = 0.09
    public var thickTarget: Float = 0.13

    public init() {}

    public func prepare(_ source: GrayImage, path: String) throws -> PreparedDigit {
        guard source.width >= Self.minimumSide, source.height >= Self.minimumSide else {
            throw PreprocessError.tooSmall(path: path, width: source.width, height: source.height, minimum: Self.minimumSide)
        }
        if source.width == side, source.height == side, let ready = passThrough(source) { return ready }

        // 1. Work in 0–1 floats at a bounded size.
        let scaleDown = max(1, Double(max(source.width, source.height)) / Double(workingSize))
        var work = FloatImage(source)
        if scaleDown > 1 {
            work = work.resized(width: max(1, Int((Double(source.width) / scaleDown).rounded())),
                                height: max(1, Int((Double(source.height) / scaleDown).rounded())))
        }
        let noInk = PreprocessError.noInk(path: path, width: source.width, height: source.height)
        var prepared = try prepare(working: work, origin: (0, 0), scale: scaleDown, noInk: noInk, lookForSheet: true)
        if let sheet = prepared.sheet {
            prepared.digit.alternative = try? prepare(working: sheet.image, origin: sheet.origin, scale: scaleDown,
                                                      noInk: noInk, lookForSheet: false).digit
        }
        return prepared.digit
    }

    /// Steps 2–7 on the working image. `origin` and `scale` map its pixels back to the source's.
    /// With `lookForSheet`, a picture that holds a sheet of paper also yields that sheet alone.
    func prepare(working work: FloatImage, origin: (x: Int, y: Int), scale: Double, noInk: PreprocessError,
                 lookForSheet: Bool) throws -> (digit: PreparedDigit, sheet: (image: FloatImage, origin: (x: Int, y: Int))?) {
        // 2. The paper.
        let background = Background.fit(work)
        // 3. Polarity, then ink as a 0–1 strength.
        var paper = work, residual = work
        for y in 0..<work.height {
            for x in 0..<work.width {
                let index = y * work.width + x
                paper.values[index] = background.value(atX: x, y: y, width: work.width, height: work.height)
                residual.values[index] -= paper.values[index]
            }
        }
        let noise = background.noise
        let margin = 3 * noise + 2 / 255
        var darkMass: Float = 0, brightMass: Float = 0
        for r in residual.values {
            if r > margin { brightMass += r - margin } else if r < -margin { darkMass += -r - margin }
        }
        let inverted = darkMass > brightMass
        // Contrast relative to the paper: under uneven light, ink and paper dim together
        // (both are reflectances times the light), so dark ink is (b − v)/b wherever it is;
        // light ink on a dark ground is (v − b)/(1 − b).
        var ink = residual
        var strongContrast: [Float] = [], strongRelative: [Float] = []
        for index in ink.values.indices {
            let contrast = inverted ? -residual.values[index] : residual.values[index]
            guard contrast > margin else { ink.values[index] = 0; continue }
            let relative = contrast / max(inverted ? paper.values[index] : 1 - paper.values[index], 0.1)
            ink.values[index] = relative
            strongContrast.append(contrast)
            strongRelative.append(relative)
        }
        guard strongContrast.count >= 3, Self.percentile(strongContrast, 0.995) >= max(4.5 * noise, 20 / 255) else {
            throw noInk
        }
        let peak = Self.percentile(strongRelative, 0.995)
        let floor = 0.3 * peak
        for index in ink.values.indices { ink.values[index] = min(1, max(0, (ink.values[index] - floor) / (peak - floor))) }

        // 4. Drop specks, crop to the ink. A piece of "ink" that fills a quarter of the picture is
        // more likely a sheet of paper photographed on a table: keep that reading in reserve.
        let sheet = lookForSheet ? Self.sheet(in: ink, gray: work) : nil
        Self.removeRuledLines(&ink)
        guard let crop = Self.keepMainInk(&ink) else {
            throw noInk
        }
        var digit = ink.cropped(x: crop.x, y: crop.y, width: crop.width, height: crop.height)

        // 5. Stroke width at a fixed size.
        let longer = max(digit.width, digit.height)
        let normalScale = Double(strokeSize) / Double(longer)
        digit = digit.resized(width: max(1, Int((Double(digit.width) * normalScale).rounded())),
                              height: max(1, Int((Double(digit.height) * normalScale).rounded())))
        // Shrinking turns a hairline into a faint line: its core is made full strength again so
        // that it reads as a thin stroke, not as weak ink.
        digit.stretch()
        let strokeRatio = (digit.strokeWidth() ?? 0) / Float(max(digit.width, digit.height))
        let adjustment = adjustStroke(&digit)

        // 6. Longer side to `box` pixels, by area averaging.
        let boxScale = Double(box) / Double(max(digit.width, digit.height))
        digit = digit.resized(width: max(1, Int((Double(digit.width) * boxScale).rounded())),
                              height: max(1, Int((Double(digit.height) * boxScale).rounded())))
        let maximum = digit.values.max() ?? 0
        guard maximum > 0 else { throw noInk }
        for index in digit.values.indices { digit.values[index] /= maximum }

        // 7. Centre of mass to the centre.
        let placed = place(digit)
        let box = (x: Int(Double(origin.x + crop.x) * scale), y: Int(Double(origin.y + crop.y) * scale),
                   width: max(1, Int((Double(crop.width) * scale).rounded())), height: max(1, Int((Double(crop.height) * scale).rounded())))
        var prepared = PreparedDigit(image: placed, passedThrough: false, inverted: inverted, inkBox: box, strokeAdjustment: adjustment)
        prepared.strokeRatio = strokeRatio
        return (prepared, sheet.map { ($0.image, (origin.x + $0.origin.x, origin.y + $0.origin.y)) })
    }

    /// When the largest piece of ink covers a quarter of the picture or more, it may be a sheet
    /// of paper: on a darker table the sheet is the "ink" and the digit its holes; on a lighter
    /// one the sheet and the digit are ink together. Returns the sheet
    /// alone: its holes filled to find its outline, the outline shrunk by 2% to lose the edge,
    /// everything outside painted with the sheet's median brightness, cropped to the sheet.
    static func sheet(in ink: FloatImage, gray: FloatImage) -> (image: FloatImage, origin: (x: Int, y: Int))? {
        let width = ink.width, height = ink.height, count = width * height
        let pieces = components(of: ink)
        guard let largest = pieces.areas.indices.max(by: { pieces.areas[$0] < pieces.areas[$1] }),
              pieces.areas[largest] * 4 >= count else { return nil }
        // Outside = reachable from the border without crossing the sheet.
        var outside = [Bool](repeating: false, count: count)
        var stack: [Int] = []
        func visit(_ index: Int) {
            if !outside[index] && pieces.labels[index] != Int32(largest) { outside[index] = true; stack.append(index) }
        }
        for x in 0..<width { visit(x); visit((height - 1) * width + x) }
        for y in 0..<height { visit(y * width); visit(y * width + width - 1) }
        while let index = stack.popLast() {
            let x = index % width, y = index / width
            if x > 0 { visit(index - 1) }
            if x + 1 < width { visit(index + 1) }
            if y > 0 { visit(index - width) }
            if y + 1 < height { visit(index + width) }
        }
        let inset = max(2, Int((0.02 * Double(count - outside.filter { $0 }.count).squareRoot()).rounded()))
        let region = FloatImage(width: width, height: height, values: outside.map { $0 ? 0 : 1 }).eroded(square: inset)
        var inside: [Float] = []
        var minX = width, minY = height, maxX = -1, maxY = -1
        for y in 0..<height {
            for x in 0..<width where region.values[y * width + x] > 0 {
                inside.append(gray.values[y * width + x])
                minX = min(minX, x); maxX = max(maxX, x); minY = min(minY, y); maxY = max(maxY, y)
            }
        }
        guard maxX - minX >= 8, maxY - minY >= 8 else { return nil }
        let fill = DigitPreprocessor.percentile(inside, 0.5)
        var image = gray.cropped(x: minX, y: minY, width: maxX - minX + 1, height: maxY - minY + 1)
        for y in 0..<image.height {
            for x in 0..<image.width where region.values[(y + minY) * width + x + minX] == 0 { image.values[y * image.width + x] = fill }
        }
        return (image, (minX, minY))
    }


    /// The image unchanged (inverted if its background is light) when it is already an
    /// MNIST-style digit; nil otherwise.
    func passThrough(_ source: GrayImage) -> PreparedDigit? {
        var border: [UInt8] = []
        for x in 0..<source.width { border.append(source[x, 0]); border.append(source[x, source.height - 1]) }
        for y in 1..<source.height - 1 { border.append(source[0, y]); border.append(source[source.width - 1, y]) }
        let inverted = border.sorted()[border.count / 2] > 127
        let pixels = inverted ? source.pixels.map { 255 - $0 } : source.pixels
        guard pixels.filter({ $0 == 0 }).count * 2 >= pixels.count else { return nil }
        var minX = side, minY = side, maxX = -1, maxY = -1
        var mass = 0.0, sumX = 0.0, sumY = 0.0
        for y in 0..<side {
            for x in 0..<side where pixels[y * side + x] > 0 {
                let value = Double(pixels[y * side + x])
                minX = min(minX, x); maxX = max(maxX, x); minY = min(minY, y); maxY = max(maxY, y)
                mass += value; sumX += value * Double(x); sumY += value * Double(y)
            }
        }
        guard mass > 0, maxX - minX + 1 <= box, maxY - minY + 1 <= box else { return nil }
        let centre = Double(side) / 2
        guard abs(sumX / mass - centre) <= 1, abs(sumY / mass - centre) <= 1 else { return nil }
        return PreparedDigit(image: GrayImage(width: side, height: side, pixels: pixels), passedThrough: true, inverted: inverted,
                             inkBox: (minX, minY, maxX - minX + 1, maxY - minY + 1), strokeAdjustment: 0)
    }

    /// Brings the stroke width into MNIST's band. Returns the radius applied (+ dilate, − erode).
    func adjustStroke(_ digit: inout FloatImage) -> Float {
        let longer = Float(max(digit.width, digit.height))
        guard let width = digit.strokeWidth() else { return 0 }
        let ratio = width / longer
        if ratio < strokeBand.lowerBound {
            // A max filter widens a faint or uneven line by less than its diameter, so measure
            // again and widen the rest of the way (three rounds at most).
            var total: Float = 0, current = width
            for _ in 0..<3 where current < 0.9 * thinTarget * longer {
                let radius = max(0.5, (thinTarget * longer - current) / 2)
                digit = digit.filtered(radius: radius, keepMaximum: true)
                digit.stretch()
                total += radius
                current = digit.strokeWidth() ?? current
            }
            return total
        }
        if ratio > strokeBand.upperBound {
            var radius = (width - thickTarget * longer) / 2
            let mass = digit.values.reduce(0, +)
            // Thinning must not erase the digit: back off while too much ink would vanish.
            while radius >= 0.75 {
                let thinned = digit.filtered(radius: radius, keepMaximum: false)
                if thinned.values.reduce(0, +) >= 0.4 * mass { digit = thinned; return -radius }
                radius /= 2
            }
        }
        return 0
    }

    /// Pads the `box`-sized digit into side×side with its centre of mass at the centre.
    func place(_ digit: FloatImage) -> GrayImage {
        var mass: Float = 0, sumX: Float = 0, sumY: Float = 0
        for y in 0..<digit.height {
            for x in 0..<digit.width {
                let v = digit.values[y * digit.width + x]
                mass += v; sumX += v * Float(x); sumY += v * Float(y)
            }
        }
        let centre = Float(side) / 2
        let offsetX = min(max(Int((centre - sumX / max(mass, 1e-12)).rounded()), 0), side - digit.width)
        let offsetY = min(max(Int((centre - sumY / max(mass, 1e-12)).rounded()), 0), side - digit.height)
        var pixels = [UInt8](repeating: 0, count: side * side)
        for y in 0..<digit.height {
            for x in 0..<digit.width {
                pixels[(y + offsetY) * side + x + offsetX] = UInt8((min(max(digit.values[y * digit.width + x], 0), 1) * 255).rounded())
            }
        }
        return GrayImage(width: side, height: side, pixels: pixels)
    }

    /// Pixel noise: 1.4826 × the median absolute residual (the MAD), which the ink, being a
    /// minority of the pixels, barely moves. Computed on a 1/1024 grid of 0–1 values.
    static func noiseLevel(_ residuals: [Float]) -> Float {
        var histogram = [Int](repeating: 0, count: 1025)
        for r in residuals { histogram[min(1024, Int(abs(r) * 1024))] += 1 }
        var seen = 0
        for (bin, count) in histogram.enumerated() {
            seen += count
            if seen * 2 >= residuals.count { return 1.4826 * (Float(bin) + 0.5) / 1024 }
        }
        return 0
    }

    /// The q-quantile of `values`, to 1/4096 of their range: a histogram, not a sort, since a
    /// photo has hundreds of thousands of values and a threshold needs no more precision.
    static func percentile(_ values: [Float], _ q: Double) -> Float {
        guard let low = values.min(), let high = values.max() else { return 0 }
        guard high > low else { return low }
        let bins = 4096
        let scale = Float(bins - 1) / (high - low)
        var histogram = [Int](repeating: 0, count: bins)
        for value in values { histogram[Int((value - low) * scale)] += 1 }
        let rank = Int(Double(values.count - 1) * q)
        var seen = 0
        for (bin, count) in histogram.enumerated() {
            seen += count
            if seen > rank { return min(high, low + (Float(bin) + 0.5) / scale) }
        }
        return high
    }

    /// Ruled lines: rows (or columns) whose ink crosses 85% of the picture, in bands at most 3%
    /// of it thick, as on lined or squared paper, a notebook's margin or a form. They are taken
    /// out when there are two or more, or when one reaches 1.8 times as far as the ink left
    /// without it (a digit's own bar never does). Where a stroke crosses a line (ink just above
    /// and below it), the pixels are kept, so the digit stays in one piece.
    static func removeRuledLines(_ ink: inout FloatImage) {
        let width = ink.width, height = ink.height
        func bands(count: Int, span: Int, inked: (Int, Int) -> Bool) -> [Range<Int>] {
            var result: [Range<Int>] = []
            var start: Int?
            for line in 0...count {
                let full = line < count && (0..<span).reduce(0) { $0 + (inked(line, $1) ? 1 : 0) } * 100 >= span * 85
                if full, start == nil { start = line }
                if !full, let begin = start {
                    if (line - begin) * 100 <= max(3 * count, 300) { result.append(begin..<line) }
                    start = nil
                }
            }
            return result
        }
        let rows = bands(count: height, span: width) { y, x in ink.values[y * width + x] > 0 }
        let columns = bands(count: width, span: height) { x, y in ink.values[y * width + x] > 0 }
        guard !rows.isEmpty || !columns.isEmpty else { return }

        /// The picture without the bands: pixels kept where ink continues on both sides.
        func without(_ rows: [Range<Int>], _ columns: [Range<Int>]) -> FloatImage {
            var cleaned = ink
            for band in rows {
                for x in 0..<width {
                    let above = band.lowerBound > 0 && ink.values[(band.lowerBound - 1) * width + x] > 0
                    let below = band.upperBound < height && ink.values[band.upperBound * width + x] > 0
                    if !(above && below) { for y in band { cleaned.values[y * width + x] = 0 } }
                }
            }
            for band in columns {
                for y in 0..<height {
                    let left = band.lowerBound > 0 && ink.values[y * width + band.lowerBound - 1] > 0
                    let right = band.upperBound < width && ink.values[y * width + band.upperBound] > 0
                    if !(left && right) { for x in band { cleaned.values[y * width + x] = 0 } }
                }
            }
            return cleaned
        }
        var trial = without(rows, columns)
        guard let rest = keepMainInk(&trial) else { return }  // nothing but lines: leave them
        let takeRows = rows.count >= 2 || (rows.count == 1 && width * 85 >= rest.width * 180)
        let takeColumns = columns.count >= 2 || (columns.count == 1 && height * 85 >= rest.height * 180)
        if takeRows || takeColumns { ink = without(takeRows ? rows : [], takeColumns ? columns : []) }
    }

    /// Connected pieces of ink (8-connected pixels above 0): a label per pixel (−1 for none),
    /// and each piece's mass (sum of values) and area (pixels).
    static func components(of ink: FloatImage) -> (labels: [Int32], masses: [Float], areas: [Int]) {
        let width = ink.width, height = ink.height
        var labels = [Int32](repeating: -1, count: width * height)
        var masses: [Float] = [], areas: [Int] = []
        var stack: [Int] = []
        for start in 0..<labels.count where ink.values[start] > 0 && labels[start] < 0 {
            let label = Int32(masses.count)
            var mass: Float = 0, area = 0
            labels[start] = label
            stack.append(start)
            while let index = stack.popLast() {
                mass += ink.values[index]
                area += 1
                let x = index % width, y = index / width
                for dy in -1...1 {
                    for dx in -1...1 {
                        let nx = x + dx, ny = y + dy
                        guard nx >= 0, ny >= 0, nx < width, ny < height else { continue }
                        let neighbour = ny * width + nx
                        if labels[neighbour] < 0 && ink.values[neighbour] > 0 {
                            labels[neighbour] = label
                            stack.append(neighbour)
                        }
                    }
                }
            }
            masses.append(mass)
            areas.append(area)
        }
        return (labels, masses, areas)
    }

    /// Zeroes pieces of ink with less than 8% of the largest piece's mass, and lines that frame
    /// the rest (see `framingLine`); returns the bounding box of what is left, or nil when
    /// there is no ink.
    static func keepMainInk(_ ink: inout FloatImage) -> (x: Int, y: Int, width: Int, height: Int)? {
        let (labels, masses, areas) = components(of: ink)
        guard let largest = masses.max(), largest > 0 else { return nil }
        let width = ink.width, height = ink.height
        var boxes = [(minX: Int, minY: Int, maxX: Int, maxY: Int)](repeating: (width, height, -1, -1), count: masses.count)
        for index in labels.indices where labels[index] >= 0 {
            let piece = Int(labels[index]), x = index % width, y = index / width
            boxes[piece] = (min(boxes[piece].minX, x), min(boxes[piece].minY, y), max(boxes[piece].maxX, x), max(boxes[piece].maxY, y))
        }
        var kept = Set(masses.indices.filter { masses[$0] >= 0.08 * largest })
        while kept.count > 1, let line = framingLine(among: kept, boxes: boxes, areas: areas, labels: labels, width: width) {
            kept.remove(line)
        }
        for index in labels.indices where labels[index] >= 0 && !kept.contains(Int(labels[index])) { ink.values[index] = 0 }
        guard !kept.isEmpty else { return nil }
        let box = kept.map { boxes[$0] }.reduce((minX: width, minY: height, maxX: -1, maxY: -1)) {
            (min($0.minX, $1.minX), min($0.minY, $1.minY), max($0.maxX, $1.maxX), max($0.maxY, $1.maxY))
        }
        return (box.minX, box.minY, box.maxX - box.minX + 1, box.maxY - box.minY + 1)
    }

    /// A piece that is a line around the digit rather than part of it: the edge of a sheet of
    /// paper and its shadow, a table's edge, an underline. It is thin (its area under a tenth
    /// of its longer side squared), at least 1.2 times as long as everything else together is
    /// wide or tall, and it keeps 8% of that size away from it (a digit's own strokes touch or
    /// nearly touch each other). Returns the longest such piece.
    static func framingLine(among kept: Set<Int>, boxes: [(minX: Int, minY: Int, maxX: Int, maxY: Int)], areas: [Int],
                            labels: [Int32], width: Int) -> Int? {
        var best: (piece: Int, length: Int)?
        for piece in kept {
            let box = boxes[piece]
            let length = max(box.maxX - box.minX, box.maxY - box.minY) + 1
            guard areas[piece] * 10 < length * length else { continue }
            let others = kept.subtracting([piece]).map { boxes[$0] }
            let rest = others.reduce((minX: Int.max, minY: Int.max, maxX: Int.min, maxY: Int.min)) {
                (min($0.minX, $1.minX), min($0.minY, $1.minY), max($0.maxX, $1.maxX), max($0.maxY, $1.maxY))
            }
            let extent = max(rest.maxX - rest.minX, rest.maxY - rest.minY) + 1
            guard length * 10 >= extent * 12, length > best?.length ?? 0 else { continue }
            // The nearest pixel of the piece to the others' box.
            var nearest = Int.max
            for y in box.minY...box.maxY {
                for x in box.minX...box.maxX where labels[y * width + x] == Int32(piece) {
                    let dx = max(rest.minX - x, 0, x - rest.maxX), dy = max(rest.minY - y, 0, y - rest.maxY)
                    nearest = min(nearest, max(dx, dy))
                }
            }
            if nearest * 100 >= extent * 8 { best = (piece, length) }
        }
        return best?.piece
    }
}

/// A grayscale picture as 0–1 floats, row-major: the preprocessor's working form.
struct FloatImage: Sendable {
    var width: Int
    var height: Int
    /// (height, width)
    var values: [Float]

    init(width: Int, height: Int, values: [Float]) {
        self.width = width; self.height = height; self.values = values
    }

    init(_ image: GrayImage) {
        self.init(width: image.width, height: image.height, values: image.pixels.map { Float($0) / 255 })
    }

    func cropped(x: Int, y: Int, width w: Int, height h: Int) -> FloatImage {
        var values = [Float](repeating: 0, count: w * h)
        for row in 0..<h {
            for column in 0..<w { values[row * w + column] = self.values[(y + row) * width + x + column] }
        }
        return FloatImage(width: w, height: h, values: values)
    }

    /// Resampled to `w`×`h`, one axis at a time. Shrinking averages each output pixel's
    /// footprint exactly (area averaging: fractional overlaps weighted by their length), which
    /// is the anti-aliasing MNIST used; enlarging interpolates linearly.
    func resized(width w: Int, height h: Int) -> FloatImage {
        if w == width && h == height { return self }
        let horizontal = Self.weights(from: width, to: w)
        var across = [Float](repeating: 0, count: w * height)
        for row in 0..<height {
            for (column, taps) in horizontal.enumerated() {
                var sum: Float = 0
                for tap in taps { sum += values[row * width + tap.index] * tap.weight }
                across[row * w + column] = sum
            }
        }
        let vertical = Self.weights(from: height, to: h)
        var result = [Float](repeating: 0, count: w * h)
        for (row, taps) in vertical.enumerated() {
            for tap in taps {
                for column in 0..<w { result[row * w + column] += across[tap.index * w + column] * tap.weight }
            }
        }
        return FloatImage(width: w, height: h, values: result)
    }

    /// For each output pixel along an axis, the input pixels it reads and their weights
    /// (summing to 1).
    static func weights(from input: Int, to output: Int) -> [[(index: Int, weight: Float)]] {
        let scale = Double(input) / Double(output)
        return (0..<output).map { o in
            if scale >= 1 {
                let start = Double(o) * scale, end = start + scale
                var taps: [(index: Int, weight: Float)] = []
                var i = Int(start)
                while Double(i) < end && i < input {
                    let overlap = min(end, Double(i + 1)) - max(start, Double(i))
                    if overlap > 1e-9 { taps.append((i, Float(overlap / scale))) }
                    i += 1
                }
                return taps
            }
            let position = min(max((Double(o) + 0.5) * scale - 0.5, 0), Double(input - 1))
            let low = Int(position), high = min(low + 1, input - 1)
            let t = Float(position - Double(low))
            return high == low ? [(index: low, weight: Float(1))] : [(index: low, weight: 1 - t), (index: high, weight: t)]
        }
    }

    /// Divides by the median of the inked values (clamping at 1), so that the cores
    /// of strokes are full strength however faint they were.
    mutating func stretch() {
        let inked = values.filter { $0 > 0.05 }
        guard !inked.isEmpty else { return }
        let strength = DigitPreprocessor.percentile(inked, 0.5)
        for index in values.indices { values[index] = min(1, values[index] / strength) }
    }

    /// Stroke width: 2·mass / perimeter, which is exact for a long stroke of constant width.
    /// The mass is the sum of the values (anti-aliased edges count by their strength); the
    /// perimeter is that of the pixels with any ink. nil when there is no ink.
    func strokeWidth() -> Float? {
        var area: Float = 0, perimeter = 0
        func inked(_ x: Int, _ y: Int) -> Bool {
            x >= 0 && y >= 0 && x < width && y < height && values[y * width + x] > 0.05
        }
        for y in 0..<height {
            for x in 0..<width where inked(x, y) {
                area += values[y * width + x]
                if !inked(x - 1, y) { perimeter += 1 }
                if !inked(x + 1, y) { perimeter += 1 }
                if !inked(x, y - 1) { perimeter += 1 }
                if !inked(x, y + 1) { perimeter += 1 }
            }
        }
        return perimeter == 0 ? nil : 2 * area / Float(perimeter)
    }

    /// Minimum over a (2r+1)² square, separably (rows, then columns); outside counts as 0.
    func eroded(square r: Int) -> FloatImage {
        var across = values
        for y in 0..<height {
            for x in 0..<width {
                var low: Float = 1
                for nx in (x - r)...(x + r) { low = min(low, nx >= 0 && nx < width ? values[y * width + nx] : 0) }
                across[y * width + x] = low
            }
        }
        var result = across
        for y in 0..<height {
            for x in 0..<width {
                var low: Float = 1
                for ny in (y - r)...(y + r) { low = min(low, ny >= 0 && ny < height ? across[ny * width + x] : 0) }
                result[y * width + x] = low
            }
        }
        return FloatImage(width: width, height: height, values: result)
    }

    /// Grayscale dilation (maximum) or erosion (minimum) over a disc of `radius` pixels. The
    /// image is padded with background, so erosion eats strokes at the border too.
    func filtered(radius: Float, keepMaximum: Bool) -> FloatImage {
        let reach = Int(radius.rounded(.up))
        var offsets: [(Int, Int)] = []
        for dy in -reach...reach {
            for dx in -reach...reach where Float(dx * dx + dy * dy) <= radius * radius + 0.5 { offsets.append((dx, dy)) }
        }
        var result = values
        for y in 0..<height {
            for x in 0..<width {
                var value: Float = keepMaximum ? 0 : 1
                for (dx, dy) in offsets {
                    let nx = x + dx, ny = y + dy
                    let sample: Float = nx >= 0 && ny >= 0 && nx < width && ny < height ? values[ny * width + nx] : 0
                    value = keepMaximum ? max(value, sample) : min(value, sample)
                }
                result[y * width + x] = value
            }
        }
        return FloatImage(width: width, height: height, values: result)
    }
}

/// The paper's brightness as a smooth surface b(x, y) = c0 + c1·x + c2·y + c3·x² + c4·xy + c5·y²
/// (x, y in −1…1), which follows uneven lighting and vignetting. It is fitted to the medians
/// of a grid of blocks (a median ignores strokes thinner than half a block). The fit starts
/// from the outermost ring of pixels, which is paper around almost any digit, and keeps only
/// the blocks within 2.5 robust deviations of the surface (sigma clipping), so blocks full of
/// ink never pull the surface towards the ink, however many of them there are.
struct Background {
    var coefficients: [Double]
    /// Pixel noise on the paper: 1.4826 × the median absolute residual of the paper's pixels.
    var noise: Float

    func value(atX x: Int, y: Int, width: Int, height: Int) -> Float {
        Float(surface(width > 1 ? 2 * Double(x) / Double(width - 1) - 1 : 0,
                      height > 1 ? 2 * Double(y) / Double(height - 1) - 1 : 0))
    }

    func surface(_ x: Double, _ y: Double) -> Double {
        let c = coefficients
        return c[0] + c[1] * x + c[2] * y + c[3] * x * x + c[4] * x * y + c[5] * y * y
    }

    static func fit(_ image: FloatImage) -> Background {
        let grid = max(2, min(32, min(image.width, image.height) / 4))
        var blocks: [(x0: Int, x1: Int, y0: Int, y1: Int)] = []
        var points: [(x: Double, y: Double, value: Double)] = []
        var histogram = [Int](repeating: 0, count: 256)
        for gy in 0..<grid {
            let y0 = gy * image.height / grid, y1 = (gy + 1) * image.height / grid
            for gx in 0..<grid {
                let x0 = gx * image.width / grid, x1 = (gx + 1) * image.width / grid
                guard x1 > x0, y1 > y0 else { continue }
                for bin in histogram.indices { histogram[bin] = 0 }
                for y in y0..<y1 {
                    for x in x0..<x1 { histogram[min(255, Int(image.values[y * image.width + x] * 255 + 0.5))] += 1 }
                }
                let half = (x1 - x0) * (y1 - y0) / 2
                var seen = 0, median = 0
                for (bin, count) in histogram.enumerated() {
                    seen += count
                    if seen > half { median = bin; break }
                }
                let cx = Double(x0 + x1 - 1) / 2, cy = Double(y0 + y1 - 1) / 2
                blocks.append((x0, x1, y0, y1))
                points.append((image.width > 1 ? 2 * cx / Double(image.width - 1) - 1 : 0,
                               image.height > 1 ? 2 * cy / Double(image.height - 1) - 1 : 0, Double(median) / 255))
            }
        }
        var ring: [Double] = []
        for x in 0..<image.width { ring.append(Double(image.values[x])); ring.append(Double(image.values[(image.height - 1) * image.width + x])) }
        for y in 1..<max(1, image.height - 1) { ring.append(Double(image.values[y * image.width])); ring.append(Double(image.values[y * image.width + image.width - 1])) }
        let level = median(ring)
        var background = Background(coefficients: [level, 0, 0, 0, 0, 0], noise: 0)
        var limit = 2.5 * 1.4826 * median(ring.map { abs($0 - level) }) + 6.0 / 255
        var inliers = [Bool](repeating: true, count: points.count)
        for _ in 0..<5 {
            inliers = points.map { abs($0.value - background.surface($0.x, $0.y)) <= limit }
            guard inliers.filter({ $0 }).count >= 12,
                  let solved = solve(points, inliers.map { $0 ? 1 : 0 }) else { break }
            background.coefficients = solved
            let residuals = zip(points, inliers).filter(\.1).map { abs($0.0.value - background.surface($0.0.x, $0.0.y)) }
            limit = 2.5 * 1.4826 * median(residuals) + 6.0 / 255
        }
        inliers = points.map { abs($0.value - background.surface($0.x, $0.y)) <= limit }
        var residuals: [Float] = []
        for (block, inlier) in zip(blocks, inliers) where inlier {
            for y in block.y0..<block.y1 {
                for x in block.x0..<block.x1 {
                    residuals.append(image.values[y * image.width + x] - background.value(atX: x, y: y, width: image.width, height: image.height))
                }
            }
        }
        background.noise = residuals.isEmpty ? 0 : DigitPreprocessor.noiseLevel(residuals)
        return background
    }

    static func median(_ values: [Double]) -> Double {
        values.isEmpty ? 0 : values.sorted()[values.count / 2]
    }

    /// Weighted least squares for the six coefficients (normal equations, Gaussian elimination
    /// with partial pivoting). nil when the system is singular.
    static func solve(_ points: [(x: Double, y: Double, value: Double)], _ weights: [Double]) -> [Double]? {
        var matrix = [[Double]](repeating: [Double](repeating: 0, count: 7), count: 6)
        for (point, weight) in zip(points, weights) where weight > 0 {
            let basis = [1, point.x, point.y, point.x * point.x, point.x * point.y, point.y * point.y]
            for i in 0..<6 {
                for j in 0..<6 { matrix[i][j] += weight * basis[i] * basis[j] }
                matrix[i][6] += weight * basis[i] * point.value
            }
        }
        for column in 0..<6 {
            guard let pivot = (column..<6).max(by: { abs(matrix[$0][column]) < abs(matrix[$1][column]) }),
                  abs(matrix[pivot][column]) > 1e-9 else { return nil }
            matrix.swapAt(column, pivot)
            for row in 0..<6 where row != column {
                let factor = matrix[row][column] / matrix[column][column]
                for k in column..<7 { matrix[row][k] -= factor * matrix[column][k] }
            }
        }
        return (0..<6).map { matrix[$0][6] / matrix[$0][$0] }
    }
}
