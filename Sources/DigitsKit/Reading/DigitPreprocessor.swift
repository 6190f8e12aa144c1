// Turns any picture of a digit into what the models were trained on, the way MNIST itself
// was made (LeCun et al.): ink as bright pixels on black, the digit scaled with anti-aliasing
// so that its longer side is 20 pixels, then placed in 28×28 by its centre of mass.
//
// Two paths, chosen from the picture itself:
//
// **A clean picture** (a drawing-app export, a scan cut out of a form, a 16×16 bitmap, a tight
// crop whose ink touches every edge) gets the plain textbook preparation. It is clean when its
// gray levels split in two (Otsu's threshold) and the background side is flat: no lighting
// gradient, little noise, not two or more ruled lines. Then:
//  1. polarity: the background is the side that holds most of the border, the area and the
//     corners (when they disagree, as for a thick digit that fills its frame, both readings
//     are kept and the model's surer one is used: `PreparedDigit.alternative`);
//  2. ink strength relative to the two levels, 0–1, counted from 12% up (paper may vary by a
//     tenth of the contrast); dust under 1% of the ink's mass dropped;
//  3. crop to the ink, hairlines (under 4.5% of the digit's size) widened, nothing thinned;
//  4. steps 6 and 7 below.
// A picture cut to its digit (ink on three or four edges) skips the tests that need paper to
// judge; and when the paper path finds no ink in a two-level picture, this path reads it.
//
// **A picture of paper** (a photo or a scan with uneven light, ruled lines, a sheet on a
// table) gets the full treatment:
//  1. grayscale (the PNG reader composites alpha onto white paper);
//  2. a smooth background is fitted (a quadratic surface through block medians, refitted
//     without outliers), so uneven lighting and gray paper are measured, not guessed;
//  3. polarity: whichever side of that background holds more mass is the ink, and it is made
//     bright, measured relative to the paper under it; ink fainter than 30% of the strongest
//     (faint rules, paper texture) and noise are suppressed, the rest stretched to full strength;
//  4. ruled lines (lined or squared paper, a margin), specks (pieces under 8% of the largest
//     piece's mass) and lines that frame the digit (a sheet's edge, an underline) are dropped,
//     and the picture is cropped to the ink;
//  5. stroke width: at 64 pixels a side the width is measured (2·area / perimeter) and brought
//     into MNIST's range (widths 6.5–16% of the digit's longer side) by dilating or eroding;
//  6. the longer side is scaled to 20 pixels by area averaging, keeping the aspect ratio;
//  7. the result is placed in 28×28 with its centre of mass on the centre (14, 14), as MNIST's
//     digits are (their centres of mass are within 0.52 pixels of it), and a digit whose ink
//     is fainter than nearly all of MNIST's (a small or blurred picture's soft strokes) is
//     brightened to MNIST's range (`firmUpFaintStrokes`).
// The models' own normalization ((x/255 − mean)/std) is applied when a batch is assembled.
//
// A 28×28 image that already looks like an MNIST digit (a clean black background once the
// polarity is fixed, ink inside a 20×20 box, centre of mass within a pixel of the centre)
// passes through unchanged, so MNIST digits saved as PNG classify exactly as their IDX originals.
// Before step 2, a photographed sheet's darker table, thick and running into the picture's
// edge, is painted over with the sheet (`tableAsPaper`). A picture whose bright "ink" is one solid piece over a quarter of it, with holes, is a sheet
// photographed on a darker table: the digits are read on the sheet alone (`inkOnSheet`). The
// table in view along the edges is no ink (`removeTableAtEdges`). Another picture of paper
// whose "ink" covers a quarter of it may be a sheet on a lighter table; it gets a second
// reading, of the sheet alone (`PreparedDigit.alternative`).
//
// The working image type is in FloatImage.swift, the paper's surface in PaperBackground.swift.
import Foundation

/// Why a picture could not be prepared as a digit.
public enum PreprocessError: DigitsError, Equatable {
    /// The `width`×`height` picture at `path` holds no ink: it is all background, or its strokes are
    /// too faint to tell from noise.
    case noInk(path: String, width: Int, height: Int)
    /// The picture at `path` is `width`×`height` pixels, and its longer side is under `minimum`
    /// pixels (5), too small to hold a digit.
    case tooSmall(path: String, width: Int, height: Int, minimum: Int)

    public var message: String {
        switch self {
        case .noInk(let path, let width, let height):
            return "\(path): no ink found: the \(width)×\(height) image is all background (or its strokes are too faint to tell from noise)"
        case .tooSmall(let path, let width, let height, let minimum):
            return "\(path): the image is \(width)×\(height) pixels; a digit needs at least \(minimum) pixels on its longer side"
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
    /// The picture was judged clean (two levels on a flat background) and got the textbook
    /// preparation; false for a picture of paper.
    public var clean = false
    /// The polarity was ambiguous: `alternative` holds the other one, and neither is preferred.
    public var polarityAmbiguous = false
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
        return alternative.strokeRatio < Self.penStrokeRatio && strokeRatio > 1.8 * alternative.strokeRatio
    }

    /// The stroke ratio under which ink is pen strokes (`strokeRatio`), over which a blob.
    public static let penStrokeRatio: Float = 0.25

    /// This reading found the ink against the paper's level nearby (`DigitPreprocessor.localInk`).
    var againstLocalPaper = false

    /// The reader takes the alternative, found against the paper's level nearby, for a blob:
    /// a number is then segmented from that ink too (`DigitPreprocessor.localInkMap`).
    var readsLocalPaper: Bool { alternativeLooksRight && alternative?.againstLocalPaper == true }

    /// A prepared digit with the flags that describe it; `clean`, `polarityAmbiguous` and
    /// `strokeRatio` start at false, false and 0, and there is no `alternative`.
    public init(image: GrayImage, passedThrough: Bool, inverted: Bool, inkBox: (x: Int, y: Int, width: Int, height: Int),
                strokeAdjustment: Float) {
        self.image = image
        self.passedThrough = passedThrough
        self.inverted = inverted
        self.inkBox = inkBox
        self.strokeAdjustment = strokeAdjustment
    }
}

@_spi(Tools) public struct DigitPreprocessor: Sendable {
    /// Output side (MNIST: 28) and the box the digit's longer side is scaled to (MNIST: 20).
    public var side = 28
    public var box = 20
    /// Pictures larger than this (longer side) are first reduced by area averaging.
    public var workingSize = 512
    /// The size at which stroke width is measured and adjusted.
    public var strokeSize = 64
    public static let minimumSide = 5

    /// Stroke width as a share of the digit's longer side: MNIST's 5th–95th percentiles are
    /// 0.064–0.15 (median 0.098); thinner strokes are widened to `thinTarget`, thicker ones
    /// thinned to `thickTarget`.
    public var strokeBand: ClosedRange<Float> = 0.065...0.16
    public var thinTarget: Float = 0.09
    public var thickTarget: Float = 0.13

    public init() {}

    public func prepare(_ source: GrayImage, path: String) throws -> PreparedDigit {
        try prepare(source, path: path, pictures: nil)
    }

    /// `prepare`, taking the working picture from `pictures` when one reading has made it
    /// already (the number reader's ink map of the same picture).
    func prepare(_ source: GrayImage, path: String, pictures: WorkingPictures?) throws -> PreparedDigit {
        let digit = try prepareAtWorkingSize(source, path: path, pictures: pictures)
        return closerLook(source, at: digit, path: path) ?? digit
    }

    /// A digit small in a large picture (a 28-pixel digit in a corner of a photo), found at
    /// the working size in a dozen pixels, prepared again from the region around it at the
    /// picture's own resolution: its ink box and half its height on every side. Only for a
    /// plain reading (no sheet or polarity alternative), ink under `closerLookHeight` pixels
    /// tall at the working size, a region seen at least 1.1× sharper, and when the closer
    /// look finds the same ink (its box's centre in the first box). Nil otherwise.
    func closerLook(_ source: GrayImage, at digit: PreparedDigit, path: String) -> PreparedDigit? {
        let scaleDown = max(1, Double(max(source.width, source.height)) / Double(workingSize))
        let box = digit.inkBox
        guard scaleDown > 1, digit.alternative == nil, !digit.polarityAmbiguous,
              Double(box.height) / scaleDown < Double(Self.closerLookHeight) else { return nil }
        guard let region = closerRegion(x: Double(box.x)..<Double(box.x + box.width), y: Double(box.y)..<Double(box.y + box.height),
                                        margin: Double(box.height / 2 + Int(2 * scaleDown)), scale: 1, scaleDown: scaleDown,
                                        in: source),
              var closer = try? prepareAtWorkingSize(source.region(x: region.x, y: region.y), path: path),
              closer.alternative == nil, !closer.polarityAmbiguous else { return nil }
        closer.inkBox.x += region.x.lowerBound
        closer.inkBox.y += region.y.lowerBound
        let centre = (x: closer.inkBox.x + closer.inkBox.width / 2, y: closer.inkBox.y + closer.inkBox.height / 2)
        guard centre.x >= box.x, centre.x < box.x + box.width, centre.y >= box.y, centre.y < box.y + box.height else { return nil }
        return closer
    }

    /// The region of `source` a closer look maps: the box `x` × `y`, in units of `scale` source
    /// pixels, with `margin` of them on every side, clipped to the picture; nil when it is too
    /// small, or when mapping it at up to the working size would not sharpen it, against the
    /// picture reduced by `scaleDown`, by at least `closerLookGain`.
    func closerRegion(x: Range<Double>, y: Range<Double>, margin: Double, scale: Double, scaleDown: Double,
                      in source: GrayImage) -> (x: Range<Int>, y: Range<Int>)? {
        let left = max(0, Int((x.lowerBound - margin) * scale)), top = max(0, Int((y.lowerBound - margin) * scale))
        let right = min(source.width, Int(((x.upperBound + margin) * scale).rounded(.up)))
        let bottom = min(source.height, Int(((y.upperBound + margin) * scale).rounded(.up)))
        guard right - left >= Self.minimumSide, bottom - top >= Self.minimumSide else { return nil }
        let gain = scaleDown / max(1, Double(max(right - left, bottom - top)) / Double(workingSize))
        return gain >= Self.closerLookGain ? (left..<right, top..<bottom) : nil
    }

    /// Ink at least this many pixels tall at the working size is sharp enough as it is: the
    /// model reads digits 20 pixels tall (`closerLook`, and the number reader's).
    static let closerLookHeight = 64
    /// How much sharper a closer look must see the region to be taken: less would only cost
    /// time (`closerLook`, and the number reader's). 1.1 was chosen on numbers embedded in
    /// larger pictures (docs/commands.md, "Numbers").
    static let closerLookGain = 1.1

    private func prepareAtWorkingSize(_ source: GrayImage, path: String, pictures: WorkingPictures? = nil) throws -> PreparedDigit {
        // A tight crop of a 1 may be a single pixel wide: the longer side is what counts.
        guard max(source.width, source.height) >= Self.minimumSide else {
            throw PreprocessError.tooSmall(path: path, width: source.width, height: source.height, minimum: Self.minimumSide)
        }
        if source.width == side, source.height == side, let ready = passThrough(source) { return ready }

        // 1. Work in 0–1 floats at a bounded size.
        let (work, scaleDown, onTable) = pictures?.working(source, self) ?? workingPicture(source)
        let noInk = PreprocessError.noInk(path: path, width: source.width, height: source.height)
        var digit = try firstReading(work, scaleDown: scaleDown, onTable: onTable, noInk: noInk)
        // A solid blob where a digit's strokes were looked for: light the paper's fitted
        // surface does not follow (a shadow's edge, a spot of light) may have been taken for
        // ink. The ink against the paper's level nearby is the other reading (`localInk`).
        if digit.alternative == nil, digit.strokeRatio > PreparedDigit.penStrokeRatio,
           let (ink, inverted) = pictures.map({ $0.localInk(source, self) }) ?? Self.localInk(work),
           let local = try? prepare(ink: ink, inverted: inverted, origin: (0, 0), scale: scaleDown, noInk: noInk),
           local.strokeRatio < PreparedDigit.penStrokeRatio {
            digit.alternative = local
            digit.alternative?.againstLocalPaper = true
        }
        return digit
    }

    /// The first reading of a working picture: the clean path or the paper path, with the
    /// other polarity or the sheet alone as its alternative.
    private func firstReading(_ work: FloatImage, scaleDown: Double, onTable: Bool, noInk: PreprocessError) throws -> PreparedDigit {
        let threshold = Self.otsuThreshold(work)
        if let threshold, let clean = Self.cleanInk(work, threshold: threshold, tight: !onTable && Self.isTightCrop(work, threshold: threshold),
                                                    softEdges: true) {
            let (ink, onSheet) = Self.offTheTable(clean.ink, inverted: clean.inverted, gray: work)
            // A sheet of paper on a darker table, the digit its hole: the digit on the sheet.
            if onSheet { return try prepare(ink: ink, inverted: true, origin: (0, 0), scale: scaleDown, noInk: noInk) }
            let first = try prepareClean(ink, inverted: clean.inverted, scale: scaleDown, noInk: noInk)
            guard clean.ambiguous else { return first }
            var other = clean.ink
            for index in other.values.indices { other.values[index] = 1 - other.values[index] }
            var digit = first
            digit.polarityAmbiguous = true
            digit.alternative = try? prepareClean(other, inverted: !clean.inverted, scale: scaleDown, noInk: noInk)
            return digit
        }
        var prepared: (digit: PreparedDigit, sheet: (image: FloatImage, origin: (x: Int, y: Int))?)
        do {
            prepared = try prepare(working: work, origin: (0, 0), scale: scaleDown, noInk: noInk, lookForSheet: true)
        } catch PreprocessError.noInk {
            // The paper path found nothing, but the picture has two levels: read them plainly
            // rather than call a legible digit blank.
            guard let threshold, let clean = Self.cleanInk(work, threshold: threshold, strict: false) else { throw noInk }
            return try prepareClean(clean.ink, inverted: clean.inverted, scale: scaleDown, noInk: noInk)
        }
        if let sheet = prepared.sheet {
            prepared.digit.alternative = try? prepare(working: sheet.image, origin: sheet.origin, scale: scaleDown,
                                                      noInk: noInk, lookForSheet: false).digit
        }
        return prepared.digit
    }

    /// The picture's ink as 0–1 strength at the working size, bright whatever its polarity,
    /// after the same decisions as `prepare` (the clean path or the paper path, ruled lines
    /// dropped) but nothing cropped or dropped: what a number is segmented from. `scale` maps
    /// its pixels back to the source's. Nil when there is no ink.
    func inkMap(_ source: GrayImage, pictures: WorkingPictures? = nil) -> (ink: FloatImage, scale: Double)? {
        guard max(source.width, source.height) >= Self.minimumSide else { return nil }
        let (work, scaleDown, onTable) = pictures?.working(source, self) ?? workingPicture(source)
        let threshold = Self.otsuThreshold(work)
        if let threshold, let clean = Self.cleanInk(work, threshold: threshold, tight: !onTable && Self.isTightCrop(work, threshold: threshold)) {
            return (Self.offTheTable(clean.ink, inverted: clean.inverted, gray: work).ink, scaleDown)
        }
        if let (found, inverted) = Self.paperInk(work) {
            var ink = !inverted ? Self.inkOnSheet(found, gray: work) ?? found : found
            Self.removePaperMarks(&ink)
            Self.removeFramingLines(&ink)
            return (ink, scaleDown)
        }
        if let threshold, let clean = Self.cleanInk(work, threshold: threshold, strict: false) { return (clean.ink, scaleDown) }
        return nil
    }

    /// The ink map against the paper's level nearby (`localInk`), with the paper's marks and
    /// framing lines dropped: what a number is segmented from when the picture read as one
    /// digit was a blob and this reading is its pen strokes (`PreparedDigit.readsLocalPaper`).
    func localInkMap(_ source: GrayImage, pictures: WorkingPictures? = nil) -> (ink: FloatImage, scale: Double)? {
        guard max(source.width, source.height) >= Self.minimumSide else { return nil }
        let (work, scaleDown, _) = pictures?.working(source, self) ?? workingPicture(source)
        guard var (ink, _) = pictures.map({ $0.localInk(source, self) }) ?? Self.localInk(work) else { return nil }
        Self.removePaperMarks(&ink)
        Self.removeFramingLines(&ink)
        return (ink, scaleDown)
    }

    /// The picture as the preparation works on it: 0–1 floats, reduced by `scaleDown` to at
    /// most the working size, with a photographed table painted over (`tableAsPaper`).
    /// `onTable`: a table was found, so the picture is a photo of a sheet, never a crop cut to
    /// its ink (`isTightCrop`), however far its lines and shading reach the edges.
    func workingPicture(_ source: GrayImage) -> (picture: FloatImage, scaleDown: Double, onTable: Bool) {
        let scaleDown = max(1, Double(max(source.width, source.height)) / Double(workingSize))
        let picture = scaleDown > 1 ? FloatImage(source, scaledBy: 1 / scaleDown) : FloatImage(source)
        let sheet = Self.tableAsPaper(picture)
        return (sheet ?? picture, scaleDown, sheet != nil)
    }

    /// A sheet of paper photographed on a darker table, told from the gray picture before any
    /// ink is looked for: the table painted over with the sheet as it is lit at its edge, or
    /// nil when no table is found. The table is dark, thick and runs into the picture's edge:
    /// pieces of the dark (under Otsu's threshold) that outlast an opening by a square 2.4% of
    /// the shorter side (the edge counting as dark, the table running on beyond it; pen strokes
    /// and ruled lines do not outlast it), touch the edge and cover 1% of the picture. Only on
    /// a light sheet (one light piece over 60% of the picture), beside writing (or a line of
    /// specks, `smallWriting`) that keeps off the edge and is at most half the picture tall;
    /// only pieces at least twice as long as that writing is tall; and only with next to nothing
    /// of the dark attached to them beyond their rim (a bold digit's thinner strokes would be):
    /// a digit or number cut to its ink is never a table. Without this, a table darker than the
    /// pen made the writing too faint to count as ink, and under light falling off across the
    /// sheet the table's edge read as a 1.
    static func tableAsPaper(_ gray: FloatImage) -> FloatImage? {
        let width = gray.width, height = gray.height, count = width * height
        guard min(width, height) >= 64, let threshold = otsuThreshold(gray) else { return nil }
        var dark = FloatImage(width: width, height: height, values: gray.values.map { $0 <= threshold ? 1 : 0 })
        // Lines of lined paper join the table to the writing.
        removeRuledLines(&dark)
        // The sheet: light, in one piece over 60% of the picture (not dark paper or a board
        // with light writing, whose background would pass for a table, nor a bold light digit
        // cut to its ink, whose dark corners would).
        let light = components(of: FloatImage(width: width, height: height, values: dark.values.map { 1 - $0 }))
        guard let sheetArea = light.areas.max(), sheetArea * 10 >= count * 6 else { return nil }
        // The opening below only shrinks the dark: without a piece of it at the edge over 1% of
        // the picture there is no table (and most pictures are spared the opening's cost).
        let darkPieces = components(of: dark)
        let darkBoxes = pieceBoxes(labels: darkPieces.labels, count: darkPieces.areas.count, width: width, height: height)
        guard darkPieces.areas.indices.contains(where: { piece in
            let box = darkBoxes[piece]
            return darkPieces.areas[piece] * 100 >= count && touchesEdge(box, width: width, height: height)
        }) else { return nil }
        // The opening, on the dark framed by `reach` pixels of dark.
        let reach = max(2, Int((0.012 * Double(min(width, height))).rounded()))
        let framedWidth = width + 2 * reach, framedHeight = height + 2 * reach
        var framed = FloatImage(width: framedWidth, height: framedHeight, values: [Float](repeating: 1, count: framedWidth * framedHeight))
        for y in 0..<height {
            for x in 0..<width { framed.values[(y + reach) * framedWidth + x + reach] = dark.values[y * width + x] }
        }
        var grown = framed.eroded(square: reach)
        for index in grown.values.indices { grown.values[index] = 1 - grown.values[index] }
        grown = grown.eroded(square: reach)
        var thick = FloatImage(width: width, height: height, values: [Float](repeating: 0, count: count))
        for y in 0..<height {
            for x in 0..<width { thick.values[y * width + x] = 1 - grown.values[(y + reach) * framedWidth + x + reach] }
        }
        let pieces = components(of: thick)
        let boxes = pieceBoxes(labels: pieces.labels, count: pieces.areas.count, width: width, height: height)
        let candidates = Set(pieces.areas.indices.filter { piece in
            let box = boxes[piece]
            return pieces.areas[piece] * 100 >= count && touchesEdge(box, width: width, height: height)
        })
        guard !candidates.isEmpty else { return nil }
        // Each candidate with a rim, and what of the dark lies beyond the rims: the writing, and
        // strokes attached to a candidate (which make it ink).
        let rim = reach + 2
        var grownPieces = FloatImage(width: width, height: height,
                                     values: pieces.labels.map { $0 >= 0 && candidates.contains(Int($0)) ? 1 : 0 })
        grownPieces = grownPieces.dilated(square: rim)
        var beyond = dark
        for index in beyond.values.indices where grownPieces.values[index] > 0 { beyond.values[index] = 0 }
        let rest = components(of: beyond)
        let restBoxes = pieceBoxes(labels: rest.labels, count: rest.areas.count, width: width, height: height)
        // A piece of the dark beyond the rims that touches a rim is attached to a candidate.
        var attachedPieces = Set<Int32>()
        for index in rest.labels.indices where rest.labels[index] >= 0 {
            let x = index % width, y = index / width
            if (x > 0 && grownPieces.values[index - 1] > 0) || (x + 1 < width && grownPieces.values[index + 1] > 0)
                || (y > 0 && grownPieces.values[index - width] > 0) || (y + 1 < height && grownPieces.values[index + width] > 0) {
                attachedPieces.insert(rest.labels[index])
            }
        }
        // The writing: pieces beyond the rims, not attached, not specks.
        let speck = max(4, count / 10_000)
        let writing = rest.areas.indices.filter { rest.areas[$0] >= speck && !attachedPieces.contains(Int32($0)) }
        let attachedArea = rest.areas.indices.filter { attachedPieces.contains(Int32($0)) }.reduce(0) { $0 + rest.areas[$1] }
        var writingBoxes = writing.map { restBoxes[$0] }
        if writingBoxes.isEmpty {
            writingBoxes = smallWriting(beyond, rims: grownPieces, attached: { rest.labels[$0] >= 0 && attachedPieces.contains(rest.labels[$0]) }, speck: speck)
        }
        guard !writingBoxes.isEmpty else { return nil }
        let line = union(writingBoxes)
        let lineHeight = line.maxY - line.minY + 1
        guard line.minX > 0, line.minY > 0, line.maxX < width - 1, line.maxY < height - 1, 2 * lineHeight <= height else { return nil }
        let candidateArea = candidates.reduce(0) { $0 + pieces.areas[$1] }
        guard attachedArea * 20 <= candidateArea else { return nil }
        let table = Set(candidates.filter { max(boxes[$0].maxX - boxes[$0].minX + 1, boxes[$0].maxY - boxes[$0].minY + 1) >= 2 * lineHeight })
        guard !table.isEmpty else { return nil }
        var painted = FloatImage(width: width, height: height,
                                 values: pieces.labels.map { $0 >= 0 && table.contains(Int($0)) ? 1 : 0 })
        painted = painted.dilated(square: rim)
        // With the slivers of table attached beyond the rims that run into the edge (the thin
        // end of a slanted strip), which would otherwise be left as short strokes.
        for index in rest.labels.indices where rest.labels[index] >= 0 && attachedPieces.contains(rest.labels[index]) {
            let box = restBoxes[Int(rest.labels[index])]
            if Self.touchesEdge(box, width: width, height: height) { painted.values[index] = 1 }
        }
        // With the table's blurred fringe: pixels joined to it that are darker than halfway
        // from Otsu's threshold to the sheet's median (left, they read as faint ink along the
        // edge, beside a number too small to outweigh them).
        let sheetLevel = percentile(gray.values.filter { $0 > threshold }, 0.5)
        let fringe = threshold + 0.5 * (sheetLevel - threshold)
        // At most `rim` pixels out, so that the fringe never runs on into writing.
        var reached = painted.values.indices.filter { painted.values[$0] > 0 }, further: [Int] = []
        for _ in 0..<rim where !reached.isEmpty {
            further.removeAll(keepingCapacity: true)
            for index in reached {
                func reach(_ neighbour: Int) {
                    guard painted.values[neighbour] == 0, gray.values[neighbour] < fringe else { return }
                    painted.values[neighbour] = 1
                    further.append(neighbour)
                }
                let x = index % width
                if x > 0 { reach(index - 1) }
                if x + 1 < width { reach(index + 1) }
                if index >= width { reach(index - width) }
                if index + width < count { reach(index + width) }
            }
            swap(&reached, &further)
        }
        // Each painted pixel takes the brightness of the nearest sheet pixel (breadth first
        // from the sheet's edge): the paper runs on as it is lit, with no step for the paper
        // path to take for ink.
        var result = gray
        var known = painted.values.map { $0 == 0 }
        var frontier = result.values.indices.filter { index in
            guard known[index] else { return false }
            let x = index % width, y = index / width
            return (x > 0 && !known[index - 1]) || (x + 1 < width && !known[index + 1])
                || (y > 0 && !known[index - width]) || (y + 1 < height && !known[index + width])
        }
        guard !frontier.isEmpty else { return nil }
        var next: [Int] = []
        while !frontier.isEmpty {
            next.removeAll(keepingCapacity: true)
            for index in frontier {
                let x = index % width, value = result.values[index]
                func reach(_ neighbour: Int) {
                    guard !known[neighbour] else { return }
                    known[neighbour] = true
                    result.values[neighbour] = value
                    next.append(neighbour)
                }
                if x > 0 { reach(index - 1) }
                if x + 1 < width { reach(index + 1) }
                if index >= width { reach(index - width) }
                if index + width < count { reach(index + width) }
            }
            swap(&frontier, &next)
        }
        return result
    }

    /// The writing beside a table when each of its strokes is a speck at the working size: a
    /// number written small and photographed from afar (3% of the frame tall, strokes a pixel
    /// wide, broken where they are lighter than Otsu's threshold). Its strokes grown by a pixel
    /// join into pieces that are no specks; the boxes of those that touch no rim (`rims`) and no
    /// dark attached to one (`attached`), when they make a line: two or more pieces side by side,
    /// the line at most 1.5 times as tall as the tallest, or one piece wider than tall (digits
    /// joined). Specks of noise in a dim corner, grown, pass for pieces too, but lie scattered
    /// or alone. Empty when there is no such line. Of 400 photographed numbers
    /// (`make-numbers.py --photo`), 321 are read right with it and 297 without (seed 2: 303 and
    /// 281); no other set of numbers or of single digits changed its figure.
    static func smallWriting(_ dark: FloatImage, rims: FloatImage, attached: (Int) -> Bool, speck: Int) -> [Box] {
        let width = dark.width, height = dark.height
        let joined = components(of: dark.dilated(square: 1))
        let boxes = pieceBoxes(labels: joined.labels, count: joined.areas.count, width: width, height: height)
        var touching = Set<Int32>()
        for index in joined.labels.indices where joined.labels[index] >= 0 && (rims.values[index] > 0 || attached(index)) {
            touching.insert(joined.labels[index])
        }
        let pieces = joined.areas.indices.filter { joined.areas[$0] >= speck && !touching.contains(Int32($0)) }.map { boxes[$0] }
        guard let tallest = pieces.map({ $0.maxY - $0.minY + 1 }).max() else { return [] }
        let line = union(pieces)
        let lineWidth = line.maxX - line.minX + 1, lineHeight = line.maxY - line.minY + 1
        let isLine = pieces.count >= 2 ? 2 * lineHeight <= 3 * tallest : 5 * lineWidth >= 6 * lineHeight
        return isLine ? pieces : []
    }

    /// A clean picture's ink with a photographed table taken out: the ink on the sheet alone
    /// when bright ink is a sheet (`inkOnSheet`, `onSheet` true), else the ink less the strips
    /// of table along its edges (`removeTableAtEdges`, without the test of thickness: a
    /// picture cut to a bold digit is clean).
    static func offTheTable(_ ink: FloatImage, inverted: Bool, gray: FloatImage) -> (ink: FloatImage, onSheet: Bool) {
        if !inverted, let onSheet = inkOnSheet(ink, gray: gray) { return (onSheet, true) }
        var rest = ink
        removeTableAtEdges(&rest, thick: false)
        return (rest, false)
    }

    /// The ink of a number written on a sheet of paper photographed on a darker table, when
    /// `ink` (bright ink, as the clean or the paper path found it) is that sheet: one solid
    /// piece of "ink" covering a quarter of the picture, with holes (`looksLikeSheet`; here
    /// holes of at least 0.01% of its area, the strokes of a number written small, 3% of the
    /// frame tall, on a page photographed whole (at 0.05%, some such pages were taken for
    /// ink); and from 0.05% to 10%
    /// when the ink reaches all four edges, as a bold 0 or 8 cut to its ink does, its holes
    /// a tenth to a third of it, where a sheet leaves the table in view along one edge or
    /// more: a bold 6 cut to its ink, its loop's hole 0.01–0.05% of it, read as an 8 on its
    /// outline). The sheet alone is read as
    /// paper with dark ink, and put back in its place in a map the size of `ink`, blank
    /// elsewhere. Nil when `ink` is no sheet, or under 64 pixels (a bold 0 or 8 that fills a
    /// small crop is solid and has holes too). (The callers ask only of bright ink: a dark solid
    /// piece with holes is ink, a hatched blot or a grid drawn in marker.)
    static func inkOnSheet(_ ink: FloatImage, gray: FloatImage) -> FloatImage? {
        guard max(ink.width, ink.height) >= 64 else { return nil }
        // The sheet is found in the ink over ½, as `looksLikeSheet` judged it: a table under
        // uneven light keeps faint "ink" that would join the sheet and wall off part of it.
        let solid = ink.solid
        let width = ink.width, height = ink.height
        let onAllEdges = (0..<width).contains { ink.values[$0] > 0.12 } && (0..<width).contains { ink.values[(height - 1) * width + $0] > 0.12 }
            && (0..<height).contains { ink.values[$0 * width] > 0.12 } && (0..<height).contains { ink.values[$0 * width + width - 1] > 0.12 }
        guard looksLikeSheet(ink, holeShare: onAllEdges ? 0.0005...0.1 : 0.0001...Double.infinity) else { return nil }
        guard let sheet = sheet(in: solid, gray: gray) else {
            // A bright region with the digit as its holes, whose outline is no edge: a spot of
            // light on the paper. The digit is the dark ink against the paper's level nearby.
            return localInk(gray, darkInk: true)?.ink
        }
        guard let (onSheet, _) = paperInk(sheet.image, darkInk: true) else { return nil }
        var map = FloatImage(width: ink.width, height: ink.height, values: [Float](repeating: 0, count: ink.values.count))
        for y in 0..<onSheet.height {
            let row = (y + sheet.origin.y) * ink.width + sheet.origin.x
            for x in 0..<onSheet.width { map.values[row + x] = onSheet.values[y * onSheet.width + x] }
        }
        return map
    }

    /// Zeroes the table around a photographed sheet of paper, when other ink is left: pieces of
    /// "ink" that run along half of one edge of the picture and reach no further into it than
    /// 15% of its width or height (a strip of table; a 7's bar along the top of a tight crop
    /// belongs to its stem, which reaches across); and with `thick`, pieces that touch an edge
    /// and are somewhere far thicker than a pen stroke, holding a square a twentieth of the
    /// picture's shorter side wide (the edge counting as ink, so that a strip along it counts
    /// whole), or that keep within a fortieth of it from the edge they touch (slivers of the
    /// table's rim). A digit on a sheet that leaves the table in view along one or two edges is
    /// otherwise a small piece beside a large one: dropped as a speck, and the table's edge
    /// read as a 1. Only beside other ink within half the picture's width and height (a small
    /// number or digit, not a digit cut to its ink), or beside a line of writing at most half
    /// the picture tall, for a piece at least twice as long as the line is tall (a number
    /// written across the sheet). `thick` is for the paper path.
    static func removeTableAtEdges(_ ink: inout FloatImage, thick: Bool) {
        let width = ink.width, height = ink.height
        let reach = max(3, Int((0.025 * Double(min(width, height))).rounded()))
        guard width > 4 * reach, height > 4 * reach else { return }
        // Pieces of the ink over ½ on a clean picture: under uneven light its faint background
        // strength would join everything into one piece. Over ¼ on the paper path (`thick`),
        // whose map is 0 off the ink: there a table lighter than the pen is ink of about half
        // strength, over and under ½ by turns, and over ½ alone fell apart into specks.
        let solid = FloatImage(width: width, height: height, values: ink.values.map { $0 > (thick ? 0.25 : 0.5) ? 1 : 0 })
        let (labels, masses, _) = components(of: solid)
        let boxes = pieceBoxes(labels: labels, count: masses.count, width: width, height: height)
        var table = Set<Int32>()
        // Strips along half of an edge: each edge's pixels counted by piece, and how far the
        // piece reaches in from that edge.
        let edges: [(pixels: [Int], reach: (Box) -> Int, across: Int)] = [
            ((0..<width).map { $0 }, { $0.maxY + 1 }, height),
            ((0..<width).map { (height - 1) * width + $0 }, { height - $0.minY }, height),
            ((0..<height).map { $0 * width }, { $0.maxX + 1 }, width),
            ((0..<height).map { $0 * width + width - 1 }, { width - $0.minX }, width),
        ]
        for edge in edges {
            var counts: [Int32: Int] = [:]
            for index in edge.pixels where labels[index] >= 0 { counts[labels[index], default: 0] += 1 }
            for (label, count) in counts
            where 2 * count >= edge.pixels.count && Double(edge.reach(boxes[Int(label)])) <= 0.15 * Double(edge.across) {
                table.insert(label)
            }
        }
        if thick {
            // Slivers of the table's rim, left along an edge where the rest went under ¼: pieces
            // on an edge that keep within `reach` of it.
            for (label, box) in boxes.enumerated() where box.maxX >= 0
                && ((box.minX == 0 && box.maxX < reach) || (box.maxX == width - 1 && box.minX >= width - reach)
                    || (box.minY == 0 && box.maxY < reach) || (box.maxY == height - 1 && box.minY >= height - reach)) {
                table.insert(Int32(label))
            }
            // The ink over ½, framed by `reach` pixels of ink, eroded by a square of 2·reach + 1.
            let framedWidth = width + 2 * reach
            var framed = FloatImage(width: framedWidth, height: height + 2 * reach,
                                    values: [Float](repeating: 1, count: framedWidth * (height + 2 * reach)))
            for y in 0..<height {
                for x in 0..<width { framed.values[(y + reach) * framedWidth + x + reach] = solid.values[y * width + x] }
            }
            let core = framed.eroded(square: reach)
            for index in labels.indices where labels[index] >= 0 && core.values[(index / width + reach) * framedWidth + index % width + reach] > 0 {
                let box = boxes[Int(labels[index])]
                if Self.touchesEdge(box, width: width, height: height) { table.insert(labels[index]) }
            }
        }
        // Table only beside a small number or digit (the rest of the ink within half the
        // picture's width and height), or, piece by piece, beside a line of writing at most
        // half the picture tall when the piece is at least twice as long as that line is tall
        // (a sheet's edge beside a number written across it). In a picture cut to its digit, a
        // stroke along the edge or a bold one, parted from the rest where it is faint, is the
        // digit's: no longer than the digit is tall (a 5's bar, a 4's stem, the 1 of "71").
        guard !table.isEmpty, masses.indices.contains(where: { !table.contains(Int32($0)) }) else { return }
        let rest = union(boxes.indices.filter { !table.contains(Int32($0)) }.map { boxes[$0] })
        let restHeight = rest.maxY - rest.minY + 1
        if rest.maxX - rest.minX + 1 > width / 2 || restHeight > height / 2 {
            table = table.filter { label in
                let box = boxes[Int(label)]
                return 2 * restHeight <= height && max(box.maxX - box.minX + 1, box.maxY - box.minY + 1) >= 2 * restHeight
            }
            guard !table.isEmpty else { return }
        }
        // The table's pieces, with the fainter rim around them (two pixels).
        var removed = FloatImage(width: width, height: height, values: labels.map { $0 >= 0 && table.contains($0) ? 1 : 0 })
        removed = removed.filtered(radius: 2, keepMaximum: true)
        for index in ink.values.indices where removed.values[index] > 0 { ink.values[index] = 0 }
    }

    /// Steps 2–7 on the working image. `origin` and `scale` map its pixels back to the source's.
    /// With `lookForSheet`, a picture that holds a sheet of paper also yields that sheet alone.
    func prepare(working work: FloatImage, origin: (x: Int, y: Int), scale: Double, noInk: PreprocessError,
                 lookForSheet: Bool) throws -> (digit: PreparedDigit, sheet: (image: FloatImage, origin: (x: Int, y: Int))?) {
        // 2–3. The paper, the polarity, the ink's strength.
        guard let (found, inverted) = Self.paperInk(work) else { throw noInk }
        // A bright sheet of paper on a darker table, the digit its hole (`inkOnSheet`).
        if !inverted, let onSheet = Self.inkOnSheet(found, gray: work) {
            return (try prepare(ink: onSheet, inverted: true, origin: origin, scale: scale, noInk: noInk), nil)
        }
        // 4. A piece of "ink" that fills a quarter of the picture is more likely a sheet of
        // paper photographed on a table: keep that reading in reserve.
        let sheet = lookForSheet ? Self.sheet(in: found, gray: work) : nil
        return (try prepare(ink: found, inverted: inverted, origin: origin, scale: scale, noInk: noInk),
                sheet.map { ($0.image, (origin.x + $0.origin.x, origin.y + $0.origin.y)) })
    }

    /// Steps 4–7 of the paper path on the ink found: the table at the edges, ruled lines,
    /// specks and framing lines dropped, the rest cropped, its stroke width, size and centre of
    /// mass set.
    func prepare(ink found: FloatImage, inverted: Bool, origin: (x: Int, y: Int), scale: Double,
                 noInk: PreprocessError) throws -> PreparedDigit {
        var ink = found
        Self.removePaperMarks(&ink)
        guard let crop = Self.keepMainInk(&ink) else {
            throw noInk
        }
        // 5–7. Stroke width, size, centre of mass.
        let (placed, strokeRatio, adjustment) = try normalized(ink.cropped(x: crop.x, y: crop.y, width: crop.width, height: crop.height),
                                                               noInk: noInk)
        let box = (x: Int(Double(origin.x + crop.x) * scale), y: Int(Double(origin.y + crop.y) * scale),
                   width: max(1, Int((Double(crop.width) * scale).rounded())), height: max(1, Int((Double(crop.height) * scale).rounded())))
        var prepared = PreparedDigit(image: placed, passedThrough: false, inverted: inverted, inkBox: box, strokeAdjustment: adjustment)
        prepared.strokeRatio = strokeRatio
        return prepared
    }

    /// Steps 2–3 of the paper path: the paper's surface fitted and taken away, the polarity,
    /// and the ink as 0–1 strength relative to the paper under it (faint ink and noise
    /// suppressed, the rest stretched to full strength). Nil when there is no ink.
    /// `darkInk`: the polarity when it is known (the ink on a sheet of paper is darker than the
    /// sheet), else decided by which side of the paper holds more ink.
    static func paperInk(_ work: FloatImage, darkInk: Bool? = nil) -> (ink: FloatImage, inverted: Bool)? {
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
        let inverted = darkInk ?? (darkMass > brightMass)
        return inkStrength(work, paper: paper, inverted: inverted, margin: margin, noise: noise).map { ($0, inverted) }
    }

    /// The ink as 0–1 strength against `paper` (the paper's level under each pixel): contrast
    /// relative to the paper, faint ink and noise (under `margin`) suppressed, the rest
    /// stretched to full strength. Nil when nothing stands out from the `noise`.
    static func inkStrength(_ work: FloatImage, paper: FloatImage, inverted: Bool, margin: Float, noise: Float) -> FloatImage? {
        // Contrast relative to the paper: under uneven light, ink and paper dim together
        // (both are reflectances times the light), so dark ink is (b − v)/b wherever it is;
        // light ink on a dark ground is (v − b)/(1 − b).
        var ink = work
        var strongContrast: [Float] = [], strongRelative: [Float] = []
        for index in ink.values.indices {
            let contrast = inverted ? paper.values[index] - work.values[index] : work.values[index] - paper.values[index]
            guard contrast > margin else { ink.values[index] = 0; continue }
            let relative = contrast / max(inverted ? paper.values[index] : 1 - paper.values[index], 0.1)
            ink.values[index] = relative
            strongContrast.append(contrast)
            strongRelative.append(relative)
        }
        guard strongContrast.count >= 3, Self.percentile(strongContrast, 0.995) >= max(4.5 * noise, 20 / 255) else {
            return nil
        }
        let peak = Self.percentile(strongRelative, 0.995)
        let floor = 0.3 * peak
        for index in ink.values.indices { ink.values[index] = min(1, max(0, (ink.values[index] - floor) / (peak - floor))) }
        return ink
    }

    /// The ink against the paper's own level nearby (`localPaper`) rather than a fitted
    /// surface: for a picture whose first reading found a blob (the lit middle of a spot of
    /// light, the edge of a shadow), not pen strokes. The polarity is the side whose narrow
    /// features hold more ink (a spot's bright middle is wide, the digit's dark strokes are
    /// not, and a bold digit's strokes are narrower than the gaps between them are light).
    /// Where the local level lies beyond `deepestShade` of the
    /// fitted surface, it is a stroke too wide for the square, and the surface stays the paper.
    /// Then as `paperInk`: contrast relative to the paper, faint ink and noise suppressed.
    /// `darkInk`: the polarity when the caller knows it (the holes of a lit region are dark).
    static func localInk(_ work: FloatImage, darkInk: Bool? = nil) -> (ink: FloatImage, inverted: Bool)? {
        let background = Background.fit(work)
        let margin = 3 * background.noise + 2 / 255
        // The polarity: the side whose narrow features hold more ink, in a square a twelfth of
        // the shorter side (a spot's lit middle is wider, a digit's strokes are not) or in one a
        // quarter of it (a bold digit's strokes fit in that, where its light gaps are what fits
        // in the smaller one). Dark when either says so: in the larger square, the lit paper
        // between a digit and a shadow's edge fits too, and passes for light strokes.
        let side = min(work.width, work.height)
        let smooth = work.boxSmoothed()
        func darkSideHoldsMore(_ underDark: FloatImage, _ underLight: FloatImage) -> Bool {
            var darkMass: Float = 0, lightMass: Float = 0
            for index in work.values.indices {
                darkMass += max(0, underDark.values[index] - work.values[index] - margin)
                lightMass += max(0, work.values[index] - underLight.values[index] - margin)
            }
            return darkMass > lightMass
        }
        let near = max(2, side / 24), wide = max(2, side / 8)
        let underDark = localPaper(smooth, darkInk: true, reach: near)
        let underLight = darkInk == true ? underDark : localPaper(smooth, darkInk: false, reach: near)  // unused when dark is known
        let inverted = darkInk ?? (darkSideHoldsMore(underDark, underLight)
            || darkSideHoldsMore(localPaper(smooth, darkInk: true, reach: wide), localPaper(smooth, darkInk: false, reach: wide)))
        // The paper: closer to the light's changes, in the square a twelfth of the shorter side.
        var paper = inverted ? underDark : underLight
        for y in 0..<work.height {
            for x in 0..<work.width {
                let index = y * work.width + x
                let fitted = background.value(atX: x, y: y, width: work.width, height: work.height), local = paper.values[index]
                let shaded = inverted ? local >= deepestShade * fitted : 1 - local >= deepestShade * (1 - fitted)
                if !shaded { paper.values[index] = fitted }
            }
        }
        return inkStrength(work, paper: paper, inverted: inverted, margin: margin, noise: background.noise).map { ($0, inverted) }
    }

    /// The paper's level around each pixel of a picture of paper (`smooth`: smoothed against
    /// pixel noise): the picture closed (for dark ink: the maximum, then the minimum, over a
    /// square `2·reach + 1` pixels wide) or opened (light ink), which takes away strokes
    /// narrower than the square and keeps light that changes over a wider span: a shadow's edge
    /// stays where it is, where a quadratic surface smooths it into a band of "ink" (a 1 beside
    /// the digit) and a spot of light into a ring (a 0 around it).
    static func localPaper(_ smooth: FloatImage, darkInk: Bool, reach: Int) -> FloatImage {
        darkInk ? smooth.dilated(square: reach).erodedWithin(square: reach) : smooth.erodedWithin(square: reach).dilated(square: reach)
    }

    /// How far a shadow or the fall of light may take the paper below the fitted surface (for
    /// dark ink; for light ink on a dark ground, above it): to half its level. Where the local
    /// level lies farther off, it is a stroke wider than `localPaper`'s square, and the fitted
    /// surface stays the paper.
    static let deepestShade: Float = 0.5

    /// The ink of a clean picture (two gray levels, a flat background, no ruled paper) as 0–1
    /// strength, or nil when the picture is not clean. `ambiguous`: the border and the area
    /// disagree about which level is the background.
    /// `strict: false` skips the tests of flatness: the fallback for a picture the paper path
    /// found no ink in.
    /// `tight`: the picture is cut to its digit (`isTightCrop`), so the ink may be thick and
    /// faint-edged and reach the edges: only the paper's flatness is tested.
    /// `softEdges`: a blurred or smoothly scaled-up picture on a flat background is clean too
    /// (`cleanLevels`). Only for reading a picture as one digit: the number reader cuts digits
    /// apart on the paper path's ink, whose faint fringes are gone (soft fringes join touching
    /// digits: 193 of the 295 touching numbers of `make-numbers.py` seed 1 read right without
    /// them, 181 with).
    static func cleanInk(_ work: FloatImage, threshold: Float, strict: Bool = true, tight: Bool = false,
                         softEdges: Bool = false) -> (ink: FloatImage, inverted: Bool, ambiguous: Bool)? {
        let width = work.width, height = work.height, count = width * height
        let total = Double(count)
        // Which side is the background: three votes, the border's majority, the area's and
        // the corners' (a digit seldom fills the corners of even a tight crop).
        var borderHigh = 0, borderCount = 0
        func border(_ v: Float) { borderCount += 1; if v > threshold { borderHigh += 1 } }
        for x in 0..<width { border(work.values[x]); border(work.values[(height - 1) * width + x]) }
        for y in 1..<max(1, height - 1) { border(work.values[y * width]); border(work.values[y * width + width - 1]) }
        let areaHigh = work.values.reduce(0) { $0 + ($1 > threshold ? 1 : 0) }
        let corners = [0, width - 1, (height - 1) * width, count - 1].map { work.values[$0] > threshold ? 1 : 0 }.reduce(0, +)
        let votes = [Double(borderHigh) / Double(max(borderCount, 1)), Double(areaHigh) / total, Double(corners) / 4]
        let high = votes.filter { $0 > 0.5 }.count, low = votes.filter { $0 < 0.5 }.count
        let ambiguous = high > 0 && low > 0
        let likely = high > low || (high == low && votes[1] > 0.5)
        for backgroundHigh in ambiguous ? [likely, !likely] : [likely] {
            if let levels = cleanLevels(work, threshold: threshold, backgroundHigh: backgroundHigh, strict: strict, tight: tight,
                                        softEdges: softEdges) {
                var strength = work
                for index in strength.values.indices {
                    strength.values[index] = min(1, max(0, (work.values[index] - levels.paper) / (levels.full - levels.paper)))
                }
                if strict { removeBoxesAroundInk(&strength) }
                // Ruled paper: two or more thin full-width (or full-height) bands of ink, even
                // faint ones.
                if strict, !tight, ruledBands(strength) >= 2 { return nil }
                // A faint ruled line through a clean picture (a number written on it, cut from
                // a sheet) is no part of the ink, if it reaches past the ink on both sides
                // (a digit cut to its ink has none). Counted from 0.08: the paper's grain is
                // at most 0.06 (`cleanLevels`).
                if strict { removeRuledLines(&strength, floor: 0.08, onePastTheInkOnly: true) }
                // A solid piece of "ink" covering a quarter of the picture is more likely a sheet
                // of paper on a table: the paper path looks for sheets.
                if strict, max(width, height) >= 64, looksLikeSheet(strength) { return nil }
                return (strength, backgroundHigh, ambiguous)
            }
        }
        return nil
    }

    /// The paper and full-ink levels of a clean picture whose background is on the
    /// `backgroundHigh` side of `threshold`; nil when that background is not flat. With
    /// `softEdges`, a wide soft fringe around the ink (a small picture scaled up smoothly, a
    /// blurred one) is allowed: the background is also judged farther from the ink, and faint
    /// ink next to full-strength ink counts as full.
    static func cleanLevels(_ work: FloatImage, threshold: Float, backgroundHigh: Bool, strict: Bool, tight: Bool,
                            softEdges: Bool = false) -> (paper: Float, full: Float)? {
        let width = work.width, height = work.height, count = width * height
        // The background: pixels on its side of the threshold. Its pure part leaves out
        // anti-aliased edges, which in a tight crop of a thick digit can outnumber the paper.
        var isBackground = [Bool](repeating: false, count: count)
        var background: [Float] = [], ink: [Float] = []
        for index in 0..<count {
            let v = work.values[index]
            isBackground[index] = (v > threshold) == backgroundHigh
            if isBackground[index] { background.append(v) } else { ink.append(v) }
        }
        guard background.count >= 3, ink.count >= 3 else { return nil }
        // Pure: more than one source pixel of a digit that fills the picture (1/16 of its
        // longer side; MNIST's digits are 20 pixels) away from any ink, clear of the fringe
        // that scaling up spreads. A small picture scaled up smoothly (an 8×8 or 16×16 scan
        // stored at 28×28) spreads a wider fringe: when the background of a picture too small
        // to be a photo (64 pixels a side at most) is not one flat level at that distance, it
        // is looked at again two and three times as far from the ink (the picture's edges do
        // not count there; with at least 64 pixels left). Uneven light is as uneven there; a
        // fringe is gone.
        let reach = max(1, max(width, height) / 16)
        let mask = FloatImage(width: width, height: height, values: isBackground.map { $0 ? 1 : 0 })
        let inkMask = FloatImage(width: width, height: height, values: isBackground.map { $0 ? 0 : 1 })
        let full = percentile(ink, backgroundHigh ? 0.01 : 0.99)
        var paper: Float = 0, contrast: Float = 0
        var flat = false
        for depth in 1...(softEdges && max(width, height) <= 64 ? 3 : 1) {
            let pure = depth == 1 ? mask.eroded(square: reach).values.map { $0 > 0.5 }
                                  : inkMask.dilated(square: reach * depth).values.map { $0 < 0.5 }
            var pureValues: [Float] = []
            for index in 0..<count where pure[index] { pureValues.append(work.values[index]) }
            if depth > 1, pureValues.count < 64 { break }
            // The two levels: the paper's commonest value (a smooth anti-aliased fringe moves a
            // median, not the mode) and the ink's 99th percentile from it.
            var levels = [Int](repeating: 0, count: 256)
            for v in pureValues.count >= 16 ? pureValues : background { levels[min(255, max(0, Int(v * 255 + 0.5)))] += 1 }
            paper = Float(levels.indices.max { levels[$0] < levels[$1] } ?? 0) / 255
            contrast = abs(full - paper)
            guard contrast >= 0.2 else { return nil }
            // Flat: little noise around the paper, and no gradient between blocks (4×4 grid), on
            // the pure background. A picture with too little of it to tell, such as a tight crop
            // of a few pixels, is small enough not to be a photo.
            guard strict else { return (paper, full) }
            if pureValues.count < 64 { flat = true; break }
            // Grain, not gradient: the spread of differences between horizontal neighbours.
            var steps: [Float] = []
            for y in 0..<height {
                for x in 0..<(width - 1) where pure[y * width + x] && pure[y * width + x + 1] {
                    steps.append(abs(work.values[y * width + x + 1] - work.values[y * width + x]))
                }
            }
            let noise = steps.count >= 32 ? 1.4826 * percentile(steps, 0.5) / Float(2).squareRoot() : 0
            // One paper level: 97% of the pure background within a tenth of the contrast of
            // it (uneven light, vignetting, texture and the lines of graph paper spread it).
            let tolerance = max(0.1 * contrast, 3 / 255)
            let near = pureValues.reduce(0) { $0 + (abs($1 - paper) <= tolerance ? 1 : 0) }
            if noise <= 0.06 * contrast, near * 100 >= pureValues.count * 97 { flat = true; break }
        }
        guard flat else { return nil }
        // Most of the ink near full strength: the dark corners of a vignette are not. With
        // `softEdges`, fainter ink within a stroke's width of full-strength ink (and within one
        // source pixel of a digit that fills the picture) is the soft edge of a blurred or
        // smoothly scaled-up stroke, and counts with it.
        guard ink.count >= 256 else { return (paper, full) }
        var strong = FloatImage(width: width, height: height, values: [Float](repeating: 0, count: count))
        for index in 0..<count where !isBackground[index] && abs(work.values[index] - full) <= 0.4 * contrast {
            strong.values[index] = 1
        }
        let edge = softEdges ? min(reach, max(1, Int((strong.strokeWidth() ?? 1).rounded()))) : 0
        let nearStrong = strong.dilated(square: edge)
        var held = 0
        for index in 0..<count where !isBackground[index] && nearStrong.values[index] > 0.5 { held += 1 }
        guard held * 100 >= ink.count * (tight ? 60 : 85) else { return nil }
        return (paper, full)
    }

    /// A picture cut to its digit: its ink reaches three or four of its edges. Ink here is
    /// any pixel 4% of the way from the border's commonest level to Otsu's threshold, so the
    /// faint anti-aliased rim of a scaled-up crop counts, with ink past the threshold near it.
    static func isTightCrop(_ work: FloatImage, threshold: Float) -> Bool {
        let width = work.width, height = work.height
        var histogram = [Int](repeating: 0, count: 64)
        func level(_ v: Float) { histogram[min(63, max(0, Int(v * 63 + 0.5)))] += 1 }
        for x in 0..<width { level(work.values[x]); level(work.values[(height - 1) * width + x]) }
        for y in 0..<height { level(work.values[y * width]); level(work.values[y * width + width - 1]) }
        let paper = Float(histogram.indices.max { histogram[$0] < histogram[$1] } ?? 0) / 63
        let cut = max(2 / 255, 0.04 * abs(threshold - paper))
        // Ruled or squared paper runs into the edges too: when two or more thin bands cross
        // the picture (`ruledLines`), they are paper, not strokes cut by the crop.
        let lines = ruledLines(width: width, height: height) { abs(work.values[$0] - paper) > cut }
        var onRow = [Bool](repeating: false, count: height), onColumn = [Bool](repeating: false, count: width)
        if lines.rows.count + lines.columns.count >= 2 {
            for band in lines.rows { for y in band { onRow[y] = true } }
            for band in lines.columns { for x in band { onColumn[x] = true } }
        }
        func onLine(_ index: Int) -> Bool { onRow[index / width] || onColumn[index % width] }
        func inked(_ index: Int) -> Bool { abs(work.values[index] - paper) > cut && !onLine(index) }
        // The ink at an edge is a stroke's when ink past Otsu's threshold lies within a twelfth
        // of the picture's longer side (the rim of a stroke scaled up is a few source pixels):
        // paper that darkens towards the edges (light falling off, a shadow) has none.
        let depth = max(2, max(width, height) / 12)
        func solid(_ x: Int, _ y: Int) -> Bool {
            abs(work.values[y * width + x] - paper) > abs(threshold - paper) && !onLine(y * width + x)
        }
        func near(_ xs: Range<Int>, _ ys: Range<Int>) -> Bool { ys.contains { y in xs.contains { x in solid(x, y) } } }
        let top = (0..<width).contains { inked($0) } && near(0..<width, 0..<min(depth, height))
        let bottom = (0..<width).contains { inked((height - 1) * width + $0) } && near(0..<width, max(0, height - depth)..<height)
        let left = (0..<height).contains { inked($0 * width) } && near(0..<min(depth, width), 0..<height)
        let right = (0..<height).contains { inked($0 * width + width - 1) } && near(max(0, width - depth)..<width, 0..<height)
        return [top, bottom, left, right].filter { $0 }.count >= 3
    }

    /// Otsu's threshold between the picture's two gray levels (nil for a uniform picture).
    static func otsuThreshold(_ work: FloatImage) -> Float? {
        var histogram = [Int](repeating: 0, count: 256)
        for v in work.values { histogram[min(255, max(0, Int(v * 255 + 0.5)))] += 1 }
        let total = Double(work.values.count)
        let sumAll = histogram.enumerated().reduce(0.0) { $0 + Double($1.offset * $1.element) }
        var best = (score: -1.0, threshold: 0)
        var weightLow = 0.0, sumLow = 0.0
        for level in 0..<255 {
            weightLow += Double(histogram[level]); sumLow += Double(level * histogram[level])
            let weightHigh = total - weightLow
            guard weightLow > 0, weightHigh > 0 else { continue }
            let meanLow = sumLow / weightLow, meanHigh = (sumAll - sumLow) / weightHigh
            let score = weightLow * weightHigh * (meanLow - meanHigh) * (meanLow - meanHigh)
            if score > best.score { best = (score, level) }
        }
        guard best.score > 0 else { return nil }
        return (Float(best.threshold) + 0.5) / 255
    }

    /// The largest piece of ink (strength over ½) covers a quarter of the picture, is solid
    /// (60% of its bounding box) and has holes (a share of its area in `holeShare`, at least
    /// 0.5% unless told): a sheet of paper with the digit on it, not pen strokes.
    static func looksLikeSheet(_ ink: FloatImage, holeShare: ClosedRange<Double> = 0.005...Double.infinity) -> Bool {
        let mask = ink.solid
        let pieces = components(of: mask)
        guard let largest = pieces.areas.indices.max(by: { pieces.areas[$0] < pieces.areas[$1] }),
              pieces.areas[largest] * 4 >= mask.values.count else { return false }
        let width = mask.width, label = Int32(largest)
        var minX = width, minY = mask.height, maxX = -1, maxY = -1
        for index in pieces.labels.indices where pieces.labels[index] == label {
            minX = min(minX, index % width); maxX = max(maxX, index % width)
            minY = min(minY, index / width); maxY = max(maxY, index / width)
        }
        let boxWidth = maxX - minX + 1, boxHeight = maxY - minY + 1
        guard pieces.areas[largest] * 10 >= boxWidth * boxHeight * 6 else { return false }
        // A sheet holds the digit as holes: pixels inside its outline that are not part of it.
        var outside = [Bool](repeating: false, count: boxWidth * boxHeight)
        var stack: [Int] = []
        func inPiece(_ x: Int, _ y: Int) -> Bool { pieces.labels[(y + minY) * width + x + minX] == label }
        func visit(_ x: Int, _ y: Int) {
            let index = y * boxWidth + x
            if !outside[index] && !inPiece(x, y) { outside[index] = true; stack.append(index) }
        }
        for x in 0..<boxWidth { visit(x, 0); visit(x, boxHeight - 1) }
        for y in 0..<boxHeight { visit(0, y); visit(boxWidth - 1, y) }
        while let index = stack.popLast() {
            let x = index % boxWidth, y = index / boxWidth
            if x > 0 { visit(x - 1, y) }
            if x + 1 < boxWidth { visit(x + 1, y) }
            if y > 0 { visit(x, y - 1) }
            if y + 1 < boxHeight { visit(x, y + 1) }
        }
        var holes = 0
        for y in 0..<boxHeight { for x in 0..<boxWidth where !outside[y * boxWidth + x] && !inPiece(x, y) { holes += 1 } }
        return holeShare.contains(Double(holes) / Double(pieces.areas[largest]))
    }

    /// Thin bands of rows or columns whose ink crosses 85% of the picture (lines of lined or
    /// squared paper), at most 3% of the picture thick.
    static func ruledBands(_ ink: FloatImage) -> Int {
        let lines = ruledLines(width: ink.width, height: ink.height) { ink.values[$0] > 0.15 }
        return lines.rows.count + lines.columns.count
    }

    /// The thin bands that `ruledBands` counts, in a picture whose pixel `index` is ink when
    /// `inked(index)`: the bands of rows and of columns. None in pictures under 32 pixels a side.
    static func ruledLines(width: Int, height: Int, inked: (Int) -> Bool) -> (rows: [Range<Int>], columns: [Range<Int>]) {
        guard width >= 32, height >= 32 else { return ([], []) }
        return (fullBands(count: height, span: width, thickest: 3 * height) { y, x in inked(y * width + x) },
                fullBands(count: width, span: height, thickest: 3 * width) { x, y in inked(y * width + x) })
    }

    /// The bands of consecutive lines (rows or columns: `count` of them, each `span` pixels
    /// long) whose ink, `inked(line, position)`, crosses `share` percent of the line, and that
    /// are at most `thickest` hundredths of a line thick.
    static func fullBands(count: Int, span: Int, thickest: Int, share: Int = 85, inked: (Int, Int) -> Bool) -> [Range<Int>] {
        var found: [Range<Int>] = [], start: Int?
        for line in 0...count {
            let full = line < count && (0..<span).reduce(0) { $0 + (inked(line, $1) ? 1 : 0) } * 100 >= span * share
            if full, start == nil { start = line }
            if !full, let begin = start {
                if (line - begin) * 100 <= thickest { found.append(begin..<line) }
                start = nil
            }
        }
        return found
    }

    /// The textbook preparation of a clean picture's ink: dust dropped, cropped, hairlines
    /// widened, the longer side scaled to `box`, placed by the centre of mass.
    func prepareClean(_ strength: FloatImage, inverted: Bool, scale: Double, noInk: PreprocessError) throws -> PreparedDigit {
        var ink = Self.aboveCleanFloor(strength)
        let pieces = Self.components(of: ink)
        let totalMass = pieces.masses.reduce(0, +)
        guard totalMass > 0 else { throw noInk }
        for index in ink.values.indices where pieces.labels[index] >= 0 && pieces.masses[Int(pieces.labels[index])] < 0.01 * totalMass {
            ink.values[index] = 0
        }
        var minX = ink.width, minY = ink.height, maxX = -1, maxY = -1
        for y in 0..<ink.height {
            for x in 0..<ink.width where ink.values[y * ink.width + x] > 0 {
                minX = min(minX, x); maxX = max(maxX, x); minY = min(minY, y); maxY = max(maxY, y)
            }
        }
        guard maxX >= minX else { throw noInk }
        var digit = ink.cropped(x: minX, y: minY, width: maxX - minX + 1, height: maxY - minY + 1)
        // Hairlines (a one-pixel pen on a large canvas) would fade away when scaled down.
        var adjustment: Float = 0
        var strokeRatio: Float = 0
        if max(digit.width, digit.height) > strokeSize {
            var measured = digit.scaled(by: Double(strokeSize) / Double(max(digit.width, digit.height)))
            measured.stretch()
            strokeRatio = (measured.strokeWidth() ?? 0) / Float(max(measured.width, measured.height))
            if strokeRatio > 0, strokeRatio < 0.045 {
                digit = measured
                adjustment = adjustStroke(&digit)
            }
        }
        digit = digit.scaled(by: Double(box) / Double(max(digit.width, digit.height)))
        let maximum = digit.values.max() ?? 0
        guard maximum > 0 else { throw noInk }
        for index in digit.values.indices { digit.values[index] /= maximum }
        let inkBox = (x: Int(Double(minX) * scale), y: Int(Double(minY) * scale),
                      width: max(1, Int((Double(maxX - minX + 1) * scale).rounded())), height: max(1, Int((Double(maxY - minY + 1) * scale).rounded())))
        var prepared = PreparedDigit(image: place(digit), passedThrough: false, inverted: inverted, inkBox: inkBox, strokeAdjustment: adjustment)
        prepared.clean = true
        prepared.strokeRatio = strokeRatio
        return prepared
    }

    /// Steps 5–7 on ink cropped to the digit: the stroke width measured at `strokeSize` and
    /// brought into MNIST's range, the longer side scaled to `box` by area averaging, the
    /// result placed by its centre of mass.
    func normalized(_ cropped: FloatImage, noInk: PreprocessError) throws -> (image: GrayImage, strokeRatio: Float, adjustment: Float) {
        var digit = cropped.scaled(by: Double(strokeSize) / Double(max(cropped.width, cropped.height)))
        // Shrinking turns a hairline into a faint line: its core is made full strength again so
        // that it reads as a thin stroke, not as weak ink.
        digit.stretch()
        let strokeRatio = (digit.strokeWidth() ?? 0) / Float(max(digit.width, digit.height))
        let adjustment = adjustStroke(&digit)
        digit = digit.scaled(by: Double(box) / Double(max(digit.width, digit.height)))
        let maximum = digit.values.max() ?? 0
        guard maximum > 0 else { throw noInk }
        for index in digit.values.indices { digit.values[index] /= maximum }
        return (place(digit), strokeRatio, adjustment)
    }

    /// One digit cut out of a number's ink (0–1 strength, nothing else in the picture): dust
    /// dropped and cropped as on the clean path, then the paper path's steps 5–7, since a
    /// number's digits come from photos and scans as often as from drawings: the stroke width
    /// brought into MNIST's range, the longer side scaled to `box`, placed by the centre of mass.
    func prepareSegment(_ strength: FloatImage, noInk: PreprocessError) throws -> PreparedDigit {
        var ink = strength
        for index in ink.values.indices { ink.values[index] = max(0, (ink.values[index] - 0.12) / 0.88) }
        let pieces = Self.components(of: ink)
        let totalMass = pieces.masses.reduce(0, +)
        guard totalMass > 0 else { throw noInk }
        var minX = ink.width, minY = ink.height, maxX = -1, maxY = -1
        for index in ink.values.indices {
            if pieces.labels[index] >= 0 && pieces.masses[Int(pieces.labels[index])] < 0.01 * totalMass { ink.values[index] = 0 }
            guard ink.values[index] > 0 else { continue }
            let x = index % ink.width, y = index / ink.width
            minX = min(minX, x); maxX = max(maxX, x); minY = min(minY, y); maxY = max(maxY, y)
        }
        guard maxX >= minX else { throw noInk }
        let (placed, strokeRatio, adjustment) = try normalized(ink.cropped(x: minX, y: minY, width: maxX - minX + 1, height: maxY - minY + 1),
                                                               noInk: noInk)
        var prepared = PreparedDigit(image: placed, passedThrough: false, inverted: false,
                                     inkBox: (minX, minY, maxX - minX + 1, maxY - minY + 1), strokeAdjustment: adjustment)
        prepared.strokeRatio = strokeRatio
        return prepared
    }

    /// When the largest piece of ink covers a quarter of the picture or more, it may be a sheet
    /// of paper: on a darker table the sheet is the "ink" and the digit its holes; on a lighter
    /// one the sheet and the digit are ink together. Returns the sheet
    /// alone: its holes filled to find its outline, the outline shrunk by 2% to lose the edge,
    /// everything outside painted with the sheet's median brightness, cropped to the sheet.
    /// Nil when the outline is no edge (`sheetEdgeSharpness`): a spot of light is no sheet.
    static func sheet(in ink: FloatImage, gray: FloatImage) -> (image: FloatImage, origin: (x: Int, y: Int))? {
        let width = ink.width, height = ink.height, count = width * height
        guard let outside = outsideOfSheet(ink), sheetEdgeSharpness(outside: outside, gray: gray) >= sheetEdgeFloor else { return nil }
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

    /// (height, width) true off the sheet: what can be reached from the picture's border
    /// without crossing the largest piece of `ink`. Nil when that piece covers under a quarter
    /// of the picture.
    static func outsideOfSheet(_ ink: FloatImage) -> [Bool]? {
        let width = ink.width, height = ink.height, count = width * height
        let pieces = components(of: ink)
        guard let largest = pieces.areas.indices.max(by: { pieces.areas[$0] < pieces.areas[$1] }),
              pieces.areas[largest] * 4 >= count else { return nil }
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
        return outside
    }

    /// How sharp a sheet's edge must be (`sheetEdgeSharpness`). The outline of the lit middle
    /// measured 0.065–0.095 on `make-lit-pages.py --light spot` pages (seeds 7 and 8) and on
    /// numbers set on such pages, and that of a bold MNIST 0 or 8 cut to its ink and scaled up
    /// to 200 pixels (soft edges ten pixels wide; `scripts/check-tight-crops`) 0.115–0.136:
    /// neither is a sheet. Sheets photographed on a table (`make-numbers.py --photo`, with and
    /// without `--close`, seeds 1 and 2) measured 0.262–1.03. The floor is the geometric mean
    /// of 0.136 and 0.262, 1.4 times from each.
    static let sheetEdgeFloor: Float = 0.19

    /// How sharply a sheet's outline parts it from what lies around it: the median brightness
    /// of a band just inside the outline less that of a band just outside (each `band` pixels
    /// wide, a seventieth of the picture's shorter side), over the median of the whole sheet
    /// less that of everything outside it. A sheet on a table changes brightness at its edge
    /// (near 1); a spot of light fades over a fifth of the picture, and the outline that the
    /// ink's level draws across that fade has about the same brightness on both sides (near 0).
    static func sheetEdgeSharpness(outside: [Bool], gray: FloatImage) -> Float {
        let width = gray.width, height = gray.height
        // The bands: the pixels within a disc of `band` of a pixel on the other side, found by
        // stamping the disc around each pixel that has a neighbour on the other side.
        let band = max(2, min(width, height) / 70)
        var disc: [(Int, Int)] = []
        for dy in -band...band { for dx in -band...band where dx * dx + dy * dy <= band * band { disc.append((dx, dy)) } }
        var nearOff = [Bool](repeating: false, count: outside.count), nearOn = nearOff
        for y in 0..<height {
            for x in 0..<width {
                let side = outside[y * width + x]
                let onEdge = (x > 0 && outside[y * width + x - 1] != side) || (x + 1 < width && outside[y * width + x + 1] != side)
                    || (y > 0 && outside[(y - 1) * width + x] != side) || (y + 1 < height && outside[(y + 1) * width + x] != side)
                guard onEdge else { continue }
                for (dx, dy) in disc {
                    let nx = x + dx, ny = y + dy
                    guard nx >= 0, ny >= 0, nx < width, ny < height else { continue }
                    if side { nearOff[ny * width + nx] = true } else { nearOn[ny * width + nx] = true }
                }
            }
        }
        var innerBand: [Float] = [], outerBand: [Float] = [], sheet: [Float] = [], around: [Float] = []
        for index in outside.indices {
            if outside[index] {
                around.append(gray.values[index])
                if nearOn[index] { outerBand.append(gray.values[index]) }
            } else {
                sheet.append(gray.values[index])
                if nearOff[index] { innerBand.append(gray.values[index]) }
            }
        }
        guard !innerBand.isEmpty, !outerBand.isEmpty, !around.isEmpty else { return 1 }
        let whole = percentile(sheet, 0.5) - percentile(around, 0.5)
        guard whole > 0 else { return 0 }
        return (percentile(innerBand, 0.5) - percentile(outerBand, 0.5)) / whole
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
        Self.firmUpFaintStrokes(&pixels)
        return GrayImage(width: side, height: side, pixels: pixels)
    }

    /// In MNIST's digits most of the ink is firm: of the pixels over 25, the share over 127 is
    /// 0.753 in the median training digit and under 0.646 in only 5% of them (the 60,000
    /// training images). A digit prepared from a small or blurred picture (an 8×8 scan scaled
    /// up, a soft pencil) can be all soft edges, a share of 0.4–0.6, and the model calls such
    /// faint strokes "not a digit". Below MNIST's 5th percentile, the ink is brightened (every
    /// pixel times one factor, capped at 255) until the share reaches it: the stroke keeps its
    /// shape and its profile, only firmer.
    static let firmShareFloor = 0.646

    static func firmUpFaintStrokes(_ pixels: inout [UInt8]) {
        var ink: [UInt8] = []
        ink.reserveCapacity(pixels.count)
        // Brightening lifts the faintest rim over 25 too, so one pass falls a little short of
        // the floor: a few more, each from the share it left.
        for _ in 0..<4 {
            ink.removeAll(keepingCapacity: true)
            for pixel in pixels where pixel > 25 { ink.append(pixel) }
            guard ink.count >= 8 else { return }
            let firm = ink.reduce(0) { $0 + ($1 > 127 ? 1 : 0) }
            guard Double(firm) < firmShareFloor * Double(ink.count) else { return }
            // The ink value with the floor's share above it (linear between order statistics),
            // brought to 128.
            ink.sort()
            let position = (1 - firmShareFloor) * Double(ink.count - 1)
            let low = Int(position), high = min(low + 1, ink.count - 1)
            let level = Double(ink[low]) + (position - Double(low)) * (Double(ink[high]) - Double(ink[low]))
            let factor = 128 / max(level, 1)
            for index in pixels.indices where pixels[index] > 0 {
                pixels[index] = UInt8(min(255, (Double(pixels[index]) * factor).rounded()))
            }
        }
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

    /// What the paper path takes out of the ink found before it looks for the writing: ruled
    /// lines (`removeRuledLines`), the ones cut short by the sheet's edge
    /// (`removeShorterRuledLines`), then the table in view along the edges
    /// (`removeTableAtEdges`). Ruled lines first: they join a strip of table to the rest.
    static func removePaperMarks(_ ink: inout FloatImage) {
        removeRuledLines(&ink)
        removeShorterRuledLines(&ink)
        removeTableAtEdges(&ink, thick: true)
    }

    /// Ruled lines: rows (or columns) whose ink crosses 85% of the picture, in bands at most 3%
    /// of it thick, as on lined or squared paper, a notebook's margin or a form. They are taken
    /// out when there are two or more, or when one reaches 1.8 times as far as the ink left
    /// without it, or past it by a quarter of its height on both sides (a digit's own bar
    /// does neither). Where a stroke crosses a line (ink just above
    /// and below it), the pixels are kept, so the digit stays in one piece.
    /// `floor`: what counts as ink (0 on the paper path, whose map is 0 off the ink; more on
    /// a clean picture's strength, where the paper's grain is faintly above 0).
    /// `onePastTheInkOnly`: lines are taken out only when they reach past the ink on both
    /// sides and keep off the picture's edges, in pictures 32 pixels a side or more (on a
    /// clean picture, which may be a large digit drawn on a canvas).
    static func removeRuledLines(_ ink: inout FloatImage, floor: Float = 0, onePastTheInkOnly: Bool = false) {
        let width = ink.width, height = ink.height
        // Up to 3% of the picture thick, and 3 pixels in a small one.
        var rows = fullBands(count: height, span: width, thickest: max(3 * height, 300)) { y, x in ink.values[y * width + x] > floor }
        var columns = fullBands(count: width, span: height, thickest: max(3 * width, 300)) { x, y in ink.values[y * width + x] > floor }
        if onePastTheInkOnly {
            // A strip along the edge is a table's or a frame's, no ruled line; a small
            // picture (Semeion's 16×16) is a digit cut to its ink.
            guard min(width, height) >= 32 else { return }
            rows.removeAll { $0.lowerBound == 0 || $0.upperBound == height }
            columns.removeAll { $0.lowerBound == 0 || $0.upperBound == width }
        }
        guard !rows.isEmpty || !columns.isEmpty else { return }

        /// The picture without the bands: pixels kept where ink continues on both sides.
        func without(_ rows: [Range<Int>], _ columns: [Range<Int>]) -> FloatImage {
            var cleaned = ink
            for band in rows {
                for x in 0..<width {
                    let above = band.lowerBound > 0 && ink.values[(band.lowerBound - 1) * width + x] > floor
                    let below = band.upperBound < height && ink.values[band.upperBound * width + x] > floor
                    if !(above && below) { for y in band { cleaned.values[y * width + x] = 0 } }
                }
            }
            for band in columns {
                for y in 0..<height {
                    let left = band.lowerBound > 0 && ink.values[y * width + band.lowerBound - 1] > floor
                    let right = band.upperBound < width && ink.values[y * width + band.upperBound] > floor
                    if !(left && right) { for x in band { cleaned.values[y * width + x] = 0 } }
                }
            }
            return cleaned
        }
        var trial = without(rows, columns)
        if floor > 0 { for index in trial.values.indices where trial.values[index] <= floor { trial.values[index] = 0 } }
        guard let rest = keepMainInk(&trial) else { return }  // nothing but lines: leave them
        // One line reaching past the rest of the ink, by a quarter of the ink's height on both
        // sides, is ruled too: a number written across it fills more than half the picture,
        // but a digit's bar ends at the digit on one side at least.
        let clearAcross = min(rest.x, width - rest.x - rest.width) >= max(2, rest.height / 4)
        let clearDown = min(rest.y, height - rest.y - rest.height) >= max(2, rest.width / 4)
        let takeRows = onePastTheInkOnly ? !rows.isEmpty && clearAcross
            : rows.count >= 2 || (rows.count == 1 && (width * 85 >= rest.width * 180 || clearAcross))
        let takeColumns = onePastTheInkOnly ? !columns.isEmpty && clearDown
            : columns.count >= 2 || (columns.count == 1 && (height * 85 >= rest.height * 180 || clearDown))
        if takeRows || takeColumns { ink = without(takeRows ? rows : [], takeColumns ? columns : []) }
    }

    /// Ruled lines that end at the edge of a photographed sheet, short of the picture's edges:
    /// bands crossing 60% of the picture, at most 3% of it thick, that lie apart from the rest
    /// of the ink (a quarter of its height or width away) and reach past it on both sides by
    /// as much. A digit's bar touches the digit, and a 5's detached bar does not reach past
    /// its body on both sides; on a sheet that leaves the table in view, a line 80% across
    /// beside a small number made the number's ink as tall as the sheet. For the paper path's
    /// map, 0 off the ink.
    static func removeShorterRuledLines(_ ink: inout FloatImage) {
        let width = ink.width, height = ink.height
        guard min(width, height) >= 32 else { return }
        let rows = fullBands(count: height, span: width, thickest: max(3 * height, 300), share: 60) { y, x in ink.values[y * width + x] > 0 }
        let columns = fullBands(count: width, span: height, thickest: max(3 * width, 300), share: 60) { x, y in ink.values[y * width + x] > 0 }
        guard !rows.isEmpty || !columns.isEmpty else { return }
        var trial = ink
        for band in rows { for y in band { for x in 0..<width { trial.values[y * width + x] = 0 } } }
        for band in columns { for x in band { for y in 0..<height { trial.values[y * width + x] = 0 } } }
        guard let rest = keepMainInk(&trial) else { return }
        /// The first and last position along a band where it is inked.
        func extent(_ band: Range<Int>, across: Int, _ inked: (Int, Int) -> Bool) -> (first: Int, last: Int)? {
            var first = Int.max, last = -1
            for line in band { for position in 0..<across where inked(line, position) { first = min(first, position); last = max(last, position) } }
            return last >= 0 ? (first, last) : nil
        }
        let awayDown = max(2, rest.height / 4), awayAcross = max(2, rest.width / 4)
        // Every band is judged on the ink as it came, then the ruled ones are taken out.
        let ruledRows = rows.filter { band in
            guard band.upperBound + awayDown <= rest.y || band.lowerBound >= rest.y + rest.height + awayDown,
                  let (first, last) = extent(band, across: width, { ink.values[$0 * width + $1] > 0 }) else { return false }
            return first + awayDown <= rest.x && last >= rest.x + rest.width - 1 + awayDown
        }
        let ruledColumns = columns.filter { band in
            guard band.upperBound + awayAcross <= rest.x || band.lowerBound >= rest.x + rest.width + awayAcross,
                  let (first, last) = extent(band, across: height, { ink.values[$1 * width + $0] > 0 }) else { return false }
            return first + awayAcross <= rest.y && last >= rest.y + rest.height - 1 + awayAcross
        }
        for band in ruledRows { for y in band { for x in 0..<width { ink.values[y * width + x] = 0 } } }
        for band in ruledColumns { for x in band { for y in 0..<height { ink.values[y * width + x] = 0 } } }
    }

    /// Connected pieces of ink (8-connected pixels above 0): a label per pixel (−1 for none),
    /// and each piece's mass (sum of values) and area (pixels).
    static func components(of ink: FloatImage) -> (labels: [Int32], masses: [Float], areas: [Int]) {
        let width = ink.width, height = ink.height
        var labels = [Int32](repeating: -1, count: width * height)
        var masses: [Float] = [], areas: [Int] = []
        var stack: [Int] = []
        stack.reserveCapacity(1024)
        labels.withUnsafeMutableBufferPointer { labels in
            ink.values.withUnsafeBufferPointer { values in
                for start in 0..<labels.count where values[start] > 0 && labels[start] < 0 {
                    let label = Int32(masses.count)
                    var mass: Float = 0, area = 0
                    labels[start] = label
                    stack.append(start)
                    while let index = stack.popLast() {
                        mass += values[index]
                        area += 1
                        let x = index % width, y = index / width
                        // The 8 neighbours, row by row, in the order the mass is summed.
                        for ny in max(0, y - 1)...min(height - 1, y + 1) {
                            for nx in max(0, x - 1)...min(width - 1, x + 1) {
                                let neighbour = ny * width + nx
                                if labels[neighbour] < 0 && values[neighbour] > 0 {
                                    labels[neighbour] = label
                                    stack.append(neighbour)
                                }
                            }
                        }
                    }
                    masses.append(mass)
                    areas.append(area)
                }
            }
        }
        return (labels, masses, areas)
    }

    /// Zeroes pieces of ink with less than 8% of the largest piece's mass, and lines that frame
    /// the rest (see `framingLine`); returns the bounding box of what is left, or nil when
    /// there is no ink.
    static func keepMainInk(_ ink: inout FloatImage) -> (x: Int, y: Int, width: Int, height: Int)? {
        let (labels, masses, areas) = components(of: ink)
        guard let largest = masses.max(), largest > 0 else { return nil }
        let width = ink.width
        let boxes = pieceBoxes(labels: labels, count: masses.count, width: width, height: ink.height)
        let kept = withoutFramingLines(Set(masses.indices.filter { masses[$0] >= 0.08 * largest }),
                                       boxes: boxes, areas: areas, labels: labels, width: width)
        for index in labels.indices where labels[index] >= 0 && !kept.contains(Int(labels[index])) { ink.values[index] = 0 }
        guard !kept.isEmpty else { return nil }
        let box = union(kept.map { boxes[$0] })
        return (box.minX, box.minY, box.maxX - box.minX + 1, box.maxY - box.minY + 1)
    }

    /// Zeroes the lines that frame the rest of the ink (see `framingLine`: a sheet's edge, a
    /// table's, an underline), judged among the pieces with 8% of the largest one's mass, and
    /// leaves everything else, specks included: what a number is segmented from.
    static func removeFramingLines(_ ink: inout FloatImage) {
        let (labels, masses, areas) = components(of: ink)
        guard let largest = masses.max(), largest > 0 else { return }
        let boxes = pieceBoxes(labels: labels, count: masses.count, width: ink.width, height: ink.height)
        let substantial = Set(masses.indices.filter { masses[$0] >= 0.08 * largest })
        let lines = substantial.subtracting(withoutFramingLines(substantial, boxes: boxes, areas: areas, labels: labels, width: ink.width))
        guard !lines.isEmpty else { return }
        for index in labels.indices where labels[index] >= 0 && lines.contains(Int(labels[index])) { ink.values[index] = 0 }
    }

    /// `pieces` less its framing lines, the longest first, as long as more than one piece is left.
    /// Two edges of a sheet (its two sides, or the sides of a corner) each widen the other's
    /// surroundings so that neither looks long enough beside the rest: the thin, frame-shaped
    /// pieces are then also judged against the pieces that are neither, the digit.
    static func withoutFramingLines(_ pieces: Set<Int>, boxes: [Box], areas: [Int], labels: [Int32], width: Int) -> Set<Int> {
        var kept = pieces
        while kept.count > 1, let line = framingLine(among: kept, boxes: boxes, areas: areas, labels: labels, width: width) {
            kept.remove(line)
        }
        let lines = kept.filter { piece in
            isThin(piece, boxes: boxes, areas: areas) && isFrameShaped(piece, box: boxes[piece], labels: labels, width: width)
        }
        let digit = kept.subtracting(lines)
        for line in lines.sorted(by: { length(of: boxes[$0]) > length(of: boxes[$1]) })
        where frames(line, around: digit, boxes: boxes, areas: areas, labels: labels, width: width) {
            kept.remove(line)
        }
        return kept
    }

    /// Each labelled piece's bounding box.
    /// Whether `box` reaches an edge of a `width`×`height` picture.
    static func touchesEdge(_ box: Box, width: Int, height: Int) -> Bool {
        box.minX == 0 || box.minY == 0 || box.maxX == width - 1 || box.maxY == height - 1
    }

    static func pieceBoxes(labels: [Int32], count: Int, width: Int, height: Int) -> [Box] {
        var boxes = [Box](repeating: (width, height, -1, -1), count: count)
        for index in labels.indices where labels[index] >= 0 {
            let piece = Int(labels[index]), x = index % width, y = index / width
            boxes[piece] = (min(boxes[piece].minX, x), min(boxes[piece].minY, y), max(boxes[piece].maxX, x), max(boxes[piece].maxY, y))
        }
        return boxes
    }

    typealias Box = (minX: Int, minY: Int, maxX: Int, maxY: Int)

    /// The smallest box holding all of `boxes` (inverted, minX > maxX, when there are none).
    static func union(_ boxes: [Box]) -> Box {
        boxes.reduce((minX: Int.max, minY: Int.max, maxX: Int.min, maxY: Int.min)) {
            (min($0.minX, $1.minX), min($0.minY, $1.minY), max($0.maxX, $1.maxX), max($0.maxY, $1.maxY))
        }
    }

    /// A piece that is a line around the digit rather than part of it: the edge of a sheet of
    /// paper and its shadow, a table's edge, an underline. It is thin (its area under a tenth
    /// of its longer side squared), shaped like a frame (`isFrameShaped`: a hairline digit's
    /// curved stroke is just as thin), at least 1.2 times as long as everything else together
    /// is wide or tall, and it keeps 8% of that size away from it (a digit's own strokes touch
    /// or nearly touch each other). Returns the longest such piece.
    static func framingLine(among kept: Set<Int>, boxes: [Box], areas: [Int],
                            labels: [Int32], width: Int) -> Int? {
        kept.filter { piece in frames(piece, around: kept.subtracting([piece]), boxes: boxes, areas: areas, labels: labels, width: width) }
            .max { (length(of: boxes[$0]), $1) < (length(of: boxes[$1]), $0) }
    }

    /// Whether `piece` is a framing line around the pieces `rest` (see `framingLine`).
    static func frames(_ piece: Int, around others: Set<Int>, boxes: [Box], areas: [Int], labels: [Int32], width: Int) -> Bool {
        let box = boxes[piece]
        let length = length(of: box)
        guard !others.isEmpty, isThin(piece, boxes: boxes, areas: areas) else { return false }
        let rest = union(others.map { boxes[$0] })
        let extent = max(rest.maxX - rest.minX, rest.maxY - rest.minY) + 1
        guard length * 10 >= extent * 12 else { return false }
        // The nearest pixel of the piece to the others' box.
        var nearest = Int.max
        for y in box.minY...box.maxY {
            for x in box.minX...box.maxX where labels[y * width + x] == Int32(piece) {
                let dx = max(rest.minX - x, 0, x - rest.maxX), dy = max(rest.minY - y, 0, y - rest.maxY)
                nearest = min(nearest, max(dx, dy))
            }
        }
        return nearest * 100 >= extent * 8 && isFrameShaped(piece, box: box, labels: labels, width: width)
    }

    /// A clean picture's ink strength counted from 0.12 up: the paper may vary by a tenth of
    /// the contrast (cleanLevels allows it), and JPEG rings around strokes.
    static func aboveCleanFloor(_ strength: FloatImage) -> FloatImage {
        var ink = strength
        for index in ink.values.indices { ink.values[index] = max(0, (ink.values[index] - 0.12) / 0.88) }
        return ink
    }

    /// Zeroes, with their soft edges, the lines drawn around the rest of a clean picture's ink:
    /// a box (a form's cell, a frame in a drawing app: `isBoxAround`), two rules above and
    /// below it (a table's row: `linesAcross`), or a row of boxes with a digit in each (a
    /// form's comb: `isGridAround`). Boxes and rules are framing lines (`frames`) among the
    /// pieces above the clean floor (`aboveCleanFloor`) with 8% of the largest one's mass. No
    /// other framing line goes: on a clean picture a separate straight stroke beside the rest,
    /// which the paper path takes for a sheet's edge, is more likely part of what was written
    /// (our pictures that are not digits are full of them). Before this, a boxed digit was
    /// "not a digit", and a box's top and bottom made a clean picture look like ruled paper.
    static func removeBoxesAroundInk(_ strength: inout FloatImage) {
        let (labels, masses, areas) = components(of: aboveCleanFloor(strength))
        guard let largest = masses.max(), largest > 0 else { return }
        let width = strength.width, height = strength.height
        let boxes = pieceBoxes(labels: labels, count: masses.count, width: width, height: height)
        let substantial = Set(masses.indices.filter { masses[$0] >= 0.08 * largest })
        let lines = substantial.subtracting(withoutFramingLines(substantial, boxes: boxes, areas: areas, labels: labels, width: width))
        let rest = substantial.subtracting(lines)
        var frames = lines.filter { isBoxAround($0, rest: rest, boxes: boxes, labels: labels, width: width) }
        if frames.isEmpty, let pair = linesAcross(lines, rest: rest, boxes: boxes) { frames = pair }
        if frames.isEmpty, let comb = gridAround(substantial, boxes: boxes, labels: labels, width: width) { frames = [comb] }
        guard !frames.isEmpty else { return }
        for index in labels.indices where labels[index] >= 0 && frames.contains(Int(labels[index])) {
            let x = index % width, y = index / width
            strength.values[index] = 0
            // The soft edge under the floor, where no other piece is.
            for ny in max(0, y - 1)...min(height - 1, y + 1) {
                for nx in max(0, x - 1)...min(width - 1, x + 1) where labels[ny * width + nx] < 0 { strength.values[ny * width + nx] = 0 }
            }
        }
    }

    /// Two framing lines, one above and one below the pieces `rest`, each reaching across all
    /// of them: a table's row, a digit written between two rules. Nil when there are none.
    /// Not a pair of upright lines on either side: "|0|" is no 0.
    static func linesAcross(_ lines: Set<Int>, rest: Set<Int>, boxes: [Box]) -> Set<Int>? {
        guard !rest.isEmpty else { return nil }
        let inside = union(rest.map { boxes[$0] })
        let across = lines.filter { boxes[$0].minX <= inside.minX && boxes[$0].maxX >= inside.maxX }
        guard let above = across.first(where: { boxes[$0].maxY < inside.minY }),
              let below = across.first(where: { boxes[$0].minY > inside.maxY }) else { return nil }
        return [above, below]
    }

    /// The piece among `pieces` that is a row of boxes around the others (`isGridAround`), if any.
    static func gridAround(_ pieces: Set<Int>, boxes: [Box], labels: [Int32], width: Int) -> Int? {
        pieces.sorted().first { isGridAround($0, rest: pieces.subtracting([$0]), boxes: boxes, labels: labels, width: width) }
    }

    /// Whether `piece` is a row (or column, or grid) of boxes around the pieces `rest`, as a
    /// form's comb holds one digit in each cell: its bounding box holds theirs, and 95% of its
    /// pixels lie in rows or columns it fills across 80% of that box, with such rows at its top
    /// and bottom and such columns at its left and right. A framing line it is not (its walls
    /// run between the digits), so without this its walls read as 1s ("53" as "15131"). Only on
    /// the clean path: on the paper path, which a wide comb takes (its background is too close
    /// to the ink everywhere to be judged flat), the rows go first as ruled lines and the walls
    /// still read as 1s.
    static func isGridAround(_ piece: Int, rest: Set<Int>, boxes: [Box], labels: [Int32], width: Int) -> Bool {
        guard !rest.isEmpty else { return false }
        let box = boxes[piece], inside = union(rest.map { boxes[$0] })
        guard box.minX < inside.minX, box.minY < inside.minY, box.maxX > inside.maxX, box.maxY > inside.maxY else { return false }
        let boxWidth = box.maxX - box.minX + 1, boxHeight = box.maxY - box.minY + 1
        var columns = [Int](repeating: 0, count: boxWidth), rows = [Int](repeating: 0, count: boxHeight)
        for y in box.minY...box.maxY {
            for x in box.minX...box.maxX where labels[y * width + x] == Int32(piece) {
                columns[x - box.minX] += 1
                rows[y - box.minY] += 1
            }
        }
        let fullColumns = columns.map { $0 * 10 >= boxHeight * 8 }, fullRows = rows.map { $0 * 10 >= boxWidth * 8 }
        // The outer lines: a full row above the rest and one below, a full column on either side.
        guard fullRows[..<(inside.minY - box.minY)].contains(true), fullRows[(inside.maxY - box.minY + 1)...].contains(true),
              fullColumns[..<(inside.minX - box.minX)].contains(true), fullColumns[(inside.maxX - box.minX + 1)...].contains(true)
        else { return false }
        var onLines = 0, total = 0
        for y in box.minY...box.maxY {
            for x in box.minX...box.maxX where labels[y * width + x] == Int32(piece) {
                total += 1
                if fullColumns[x - box.minX] || fullRows[y - box.minY] { onLines += 1 }
            }
        }
        return onLines * 100 >= total * 95
    }

    /// Whether `piece` is a box drawn around the pieces `rest`: its bounding box holds theirs,
    /// and it runs along at least three of that box's four sides (60% of each side's length,
    /// within 8% of its longer side of the edge), as a rectangle's outline does and a straight
    /// or curved stroke beside the rest does not.
    static func isBoxAround(_ piece: Int, rest: Set<Int>, boxes: [Box], labels: [Int32], width: Int) -> Bool {
        guard !rest.isEmpty else { return false }
        let box = boxes[piece], inside = union(rest.map { boxes[$0] })
        guard box.minX <= inside.minX, box.minY <= inside.minY, box.maxX >= inside.maxX, box.maxY >= inside.maxY else { return false }
        let band = max(2, (length(of: box) * 8) / 100)
        let boxWidth = box.maxX - box.minX + 1, boxHeight = box.maxY - box.minY + 1
        // Which columns reach the top and bottom bands, which rows the left and right ones.
        var top = [Bool](repeating: false, count: boxWidth), bottom = top
        var left = [Bool](repeating: false, count: boxHeight), right = left
        for y in box.minY...box.maxY {
            for x in box.minX...box.maxX where labels[y * width + x] == Int32(piece) {
                if y - box.minY < band { top[x - box.minX] = true }
                if box.maxY - y < band { bottom[x - box.minX] = true }
                if x - box.minX < band { left[y - box.minY] = true }
                if box.maxX - x < band { right[y - box.minY] = true }
            }
        }
        let sides = [top, bottom, left, right].filter { side in side.filter { $0 }.count * 10 >= side.count * 6 }
        return sides.count >= 3
    }

    /// A box's longer side.
    static func length(of box: Box) -> Int { max(box.maxX - box.minX, box.maxY - box.minY) + 1 }

    /// A piece is thin when its area is under a tenth of its longer side squared.
    static func isThin(_ piece: Int, boxes: [Box], areas: [Int]) -> Bool {
        let length = length(of: boxes[piece])
        return areas[piece] * 10 < length * length
    }

    /// Whether a piece is shaped like a frame: at least 80% of its pixels lie along the sides of
    /// some box around it (`frameShare`). True of a straight line, an edge with a corner and a
    /// rectangle's outline at any tilt; not of a digit's curved stroke.
    static func isFrameShaped(_ piece: Int, box: Box, labels: [Int32], width: Int) -> Bool {
        frameShare(piece, box: box, labels: labels, width: width) >= 0.8
    }

    /// The largest share of a piece's pixels that lie along the sides of a box around it, the
    /// box turned in 3° steps; the sides are 8% of the piece's length thick (at least 2 pixels).
    static func frameShare(_ piece: Int, box: Box, labels: [Int32], width: Int) -> Float {
        var all: [(x: Float, y: Float)] = []
        for y in box.minY...box.maxY {
            for x in box.minX...box.maxX where labels[y * width + x] == Int32(piece) { all.append((Float(x), Float(y))) }
        }
        guard !all.isEmpty else { return 0 }
        // A share needs no more than a thousand points or so: every k-th pixel, in scan order.
        let stride = max(1, all.count / 1024)
        let points = stride == 1 ? all : Swift.stride(from: 0, to: all.count, by: stride).map { all[$0] }
        let length = Float(max(box.maxX - box.minX, box.maxY - box.minY) + 1)
        let side = max(2, 0.08 * length)
        var along = [Float](repeating: 0, count: points.count), across = along
        var best = 0
        for step in 0..<30 {
            let angle = Float(step) * 3 * .pi / 180, c = cos(angle), s = sin(angle)
            var minU = Float.infinity, maxU = -Float.infinity, minV = Float.infinity, maxV = -Float.infinity
            for (index, point) in points.enumerated() {
                along[index] = point.x * c + point.y * s
                across[index] = point.y * c - point.x * s
                minU = min(minU, along[index]); maxU = max(maxU, along[index])
                minV = min(minV, across[index]); maxV = max(maxV, across[index])
            }
            var onSides = 0
            for index in points.indices where min(along[index] - minU, maxU - along[index], across[index] - minV, maxV - across[index]) <= side {
                onSides += 1
            }
            best = max(best, onSides)
        }
        return Float(best) / Float(points.count)
    }
}

extension GrayImage {
    /// The pixels in columns `x` and rows `y`, which must lie inside the picture.
    func region(x: Range<Int>, y: Range<Int>) -> GrayImage {
        var pixels = [UInt8](repeating: 0, count: x.count * y.count)
        for row in y {
            let start = row * width
            pixels.replaceSubrange((row - y.lowerBound) * x.count..<(row - y.lowerBound + 1) * x.count,
                                   with: self.pixels[start + x.lowerBound..<start + x.upperBound])
        }
        return GrayImage(width: x.count, height: y.count, pixels: pixels)
    }
}

/// The working pictures made during one reading of one picture (`DigitPreprocessor.workingPicture`),
/// kept so that the number reader's ink map and the single-digit preparation of the same
/// picture reduce it and look for a table once: on a photo that was a third of the time.
/// For one reading on one thread; the last two pictures (and local inks) are kept.
final class WorkingPictures {
    private var kept: [(source: GrayImage, picture: FloatImage, scaleDown: Double, onTable: Bool)] = []
    private var localInks: [(source: GrayImage, ink: (ink: FloatImage, inverted: Bool)?)] = []

    func working(_ source: GrayImage, _ preprocessor: DigitPreprocessor) -> (picture: FloatImage, scaleDown: Double, onTable: Bool) {
        if let found = kept.first(where: { $0.source == source }) { return (found.picture, found.scaleDown, found.onTable) }
        let made = preprocessor.workingPicture(source)
        kept.append((source, made.picture, made.scaleDown, made.onTable))
        if kept.count > 2 { kept.removeFirst() }
        return made
    }

    /// The ink against the paper's level nearby (`DigitPreprocessor.localInk`) of a working
    /// picture, found once: the single-digit reading and the number reader's ink map both ask.
    func localInk(_ source: GrayImage, _ preprocessor: DigitPreprocessor) -> (ink: FloatImage, inverted: Bool)? {
        if let found = localInks.first(where: { $0.source == source }) { return found.ink }
        let ink = DigitPreprocessor.localInk(working(source, preprocessor).picture)
        localInks.append((source, ink))
        if localInks.count > 2 { localInks.removeFirst() }
        return ink
    }
}
