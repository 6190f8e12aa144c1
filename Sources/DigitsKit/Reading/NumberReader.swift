// Reading a number: one line of handwritten digits, left to right, from one picture.
//
// The picture's ink is found as for one digit (DigitPreprocessor.inkMap: the clean path or the
// paper path, the polarity, ruled lines dropped). Then, as digit-string recognizers do it, the
// ink is over-segmented and the classifier picks the reading:
//  1. units: the connected pieces of ink (specks set aside, drawn with the digit they lie
//     against), and a piece much wider than a digit
//     is tall cut along seams, least-ink paths down it (where touching digits meet);
//  2. candidates: runs of neighbouring units that could be one digit (not much wider than a
//     digit is tall, at most four pieces of ink; pieces of different strokes only when they
//     overlap or nearly touch), each prepared the MNIST way and all of them run through the
//     model in one batch;
//  3. the reading: the split of the units into candidates whose digits the model is surest of
//     together (the sum of log-probabilities, a best path over the units), with short pieces
//     (a 5's bar, the end of a 9) unable to stand alone.
// A picture whose best reading is one digit is read exactly as `read(_:)` reads it, so single
// digits keep every figure they had.
import Foundation

/// One digit of a number: its reading, and where it is in the picture.
public struct DigitInNumber: Sendable {
    /// The verdict on this position, as for a single digit (possibly refused as not a digit).
    public let reading: DigitReading
    /// The digit's ink, in the picture's pixels.
    public let box: (x: Int, y: Int, width: Int, height: Int)
}

/// What the reader made of a picture that may hold a number.
public struct NumberReading: Sendable {
    /// The digits, left to right.
    public let digits: [DigitInNumber]
    /// The number as text ("2026"; leading zeros kept); a position refused as not a digit is "?".
    public var text: String { digits.map { $0.reading.digit.map(String.init) ?? "?" }.joined() }
    /// The picture held one digit: `digits[0].reading` is what `read(_:)` gives.
    public var isSingleDigit: Bool { digits.count == 1 }
    /// Some position was refused as not a digit.
    public var hasRejectedPosition: Bool { digits.contains { $0.reading.rejected } }

    /// A reading of `digits`, ordered left to right.
    public init(digits: [DigitInNumber]) {
        self.digits = digits
    }

    /// A one-digit reading (`read(_:)`, `--single`) as a number of one digit.
    public init(single reading: DigitReading) {
        digits = [DigitInNumber(reading: reading, box: reading.prepared.inkBox)]
    }
}

/// One file's outcome among many.
public enum NumberOutcome: Sendable {
    /// The file was read: its digits, left to right.
    case read(NumberReading)
    /// The file could not be read, decoded or prepared; the error says why.
    case failed(any DigitsError)
}

extension DigitReader {
    /// Reads the digits in a file (PNG or JPEG), one line of them, left to right.
    public func readNumber(file: String) throws -> NumberReading {
        try readNumber(Files.read(file, limit: Picture.maxFileBytes), name: file)
    }

    /// Reads the digits in a picture's bytes; `name` is what errors call it.
    public func readNumber(_ bytes: [UInt8], name: String) throws -> NumberReading {
        try readNumber(decoded: decode(bytes, name: name), bytes: bytes, name: name)
    }

    /// Reads the digits in a picture decoded from `bytes`; from the picture at its own size
    /// when it is a large JPEG decoded reduced and the ink is small (`fullResolution`).
    private func readNumber(decoded image: GrayImage, bytes: [UInt8], name: String,
                            pictures: WorkingPictures = WorkingPictures()) throws -> NumberReading {
        let inkMap = preprocessor.inkMap(image, pictures: pictures)
        if let inkMap, let bounds = Self.inkBounds(inkMap.ink),
           let full = fullResolution(of: image, inkHeight: Int((Double(bounds.maxY - bounds.minY + 1) * inkMap.scale).rounded(.up)),
                                     bytes: bytes, name: name) {
            return try readNumber(decoded: full, bytes: bytes, name: name, pictures: pictures)
        }
        let single = try prepare(decoded: image, bytes: bytes, name: name, pictures: pictures)
        // An MNIST-style 28×28 digit is one digit, as it is.
        guard !single.passedThrough, let mapped = inkMap else { return readAsOne(single) }
        let first = single.readsLocalPaper ? preprocessor.localInkMap(image, pictures: pictures) ?? mapped : mapped
        let (found, origin) = closerLook(image, found: first)
        let segmentation = NumberSegmentation(ink: found.ink)
        // Hundreds of pieces (a grid of dots, hatching, a page of text) are no line of digits,
        // and would cost a candidate each: the picture is read as one thing.
        guard segmentation.units.count >= 2, segmentation.units.count <= NumberSegmentation.maxUnits else {
            return readAsOne(single)
        }
        let candidates = segmentation.candidates()
        var prepared: [PreparedDigit?] = Array(repeating: nil, count: candidates.count)
        let noInk = PreprocessError.noInk(path: name, width: image.width, height: image.height)
        prepared.withUnsafeMutableBufferPointer { buffer in
            nonisolated(unsafe) let slots = buffer.baseAddress!
            DispatchQueue.concurrentPerform(iterations: candidates.count) { index in
                slots[index] = try? preprocessor.prepareSegment(segmentation.render(candidates[index]), noInk: noInk)
            }
        }
        let usable = candidates.indices.filter { prepared[$0] != nil }
        let predictions = predict(usable.map { prepared[$0]!.image })
        var scores = [Double?](repeating: nil, count: candidates.count)
        var readings = [DigitReading?](repeating: nil, count: candidates.count)
        for (row, index) in usable.enumerated() {
            let reading = verdict(predictions, at: row, prepared: prepared[index]!)
            readings[index] = reading
            // A 1 lying on its side scores as what it is, not a digit (`lyingOneAspect`).
            scores[index] = segmentation.score(candidates[index],
                                               confidence: refusesLyingOne(reading.bestGuess, prepared: reading.prepared) ? 0 : reading.confidence,
                                               notDigit: reading.notDigitProbability ?? 0)
        }
        let best = segmentation.bestPath(candidates, scores: scores)
        /// Whether the model reads every position of `path` as a digit at `bar` or more.
        func allSure(_ path: [Int], _ bar: Float) -> Bool {
            path.allSatisfy { index in readings[index].map { !$0.rejected && $0.confidence >= bar } ?? false }
        }
        // A digit pressed against its neighbour and read as part of it is parted from it, when
        // the model is sure of every position then (see `splittingOffPressedDigits`).
        let split = segmentation.splittingOffPressedDigits(best.path, candidates: candidates, readings: readings)
        let splitOff = split.count > best.path.count && allSure(split, NumberSegmentation.splitBar)
        var path = splitOff ? split : best.path
        var score = best.score
        // A piece of ink the path cuts into doubtful digits may be one thing that is no digit.
        if !splitOff { (path, score) = segmentation.keepingPiecesWhole(path, score: score, candidates: candidates, scores: scores, readings: readings) }
        let whole = read(prepared: [single])[0]
        guard path.count >= 2 else { return NumberReading(single: whole) }
        // Digits the model is all but certain of (99.9% each) stand as they are. Otherwise
        // several digits must read better than the picture as one thing (a digit, or "not a
        // digit" at no cost), by a margin for each boundary where two digits touch or nearly
        // touch (see `joinMargin`): a character of several strokes is not "12". The margin also
        // makes two touching digits that the model calls "not a digit" together stay one "?"
        // more often than they should. Marks with a clear gap between them (see `isClearGap`)
        // are separate things: there the margin is not asked, so "01" or "5 3 1", which the
        // model calls "not a digit" as a whole, read as digits. A 1 split off has passed its
        // own, stricter test, and so have separate pieces as tall as each other, each a digit
        // the model is surer of than of the whole (`standApart`: a 1 a pixel beside a 4 is "14",
        // not "not a digit" or "4").
        let sure = splitOff || allSure(path, 0.999)
            || (allSure(path, NumberSegmentation.splitBar) && segmentation.standApart(path, candidates: candidates)
                && (whole.rejected || path.allSatisfy { readings[$0]!.confidence > whole.confidence }))
        if !sure {
            let asOne = segmentation.wholeScore(confidence: whole.confidence, notDigit: whole.notDigitProbability ?? 0)
            let margin = zip(path, path.dropFirst()).map { segmentation.joinMargin(between: candidates[$0], and: candidates[$1]) }.reduce(0, +)
            guard score - margin > asOne else { return NumberReading(single: whole) }
        }
        // Boxes in the picture's own pixels: a large JPEG was decoded at a reduced scale.
        let declared = try Picture.size(of: bytes, path: name)
        let decodedScale = Double(max(declared.width, declared.height)) / Double(max(image.width, image.height))
        let digits = path.map { index -> DigitInNumber in
            let box = segmentation.box(of: candidates[index])
            let scale = found.scale * decodedScale
            return DigitInNumber(reading: readings[index]!,
                                 box: (Int((Double(origin.x) + Double(box.minX) * found.scale) * decodedScale),
                                       Int((Double(origin.y) + Double(box.minY) * found.scale) * decodedScale),
                                       max(1, Int((Double(box.maxX - box.minX + 1) * scale).rounded())),
                                       max(1, Int((Double(box.maxY - box.minY + 1) * scale).rounded()))))
        }
        return NumberReading(digits: digits)
    }

    /// Reads many files as numbers, each on its own core; a file that cannot be read gets its
    /// error, in place.
    public func readNumbers(files: [String]) -> [NumberOutcome] {
        var outcomes = [NumberOutcome?](repeating: nil, count: files.count)
        outcomes.withUnsafeMutableBufferPointer { buffer in
            nonisolated(unsafe) let slots = buffer.baseAddress!
            DispatchQueue.concurrentPerform(iterations: files.count) { index in
                do { slots[index] = .read(try readNumber(file: files[index])) } catch let error as any DigitsError {
                    slots[index] = .failed(error)
                } catch {
                    slots[index] = .failed(FileError.unreadable(path: files[index], reason: "\(error)"))
                }
            }
        }
        return outcomes.map { $0 ?? .failed(FileError.unreadable(path: "", reason: "not read")) }
    }

    /// The ink map of a picture that was reduced to the working size, looked at again around
    /// its ink when that is small (under `DigitPreprocessor.closerLookHeight` pixels tall in the
    /// reduced picture): a number in a corner of a photo, reduced with the rest, may keep a
    /// dozen pixels of height and lose the gaps between its digits. The region (the ink's box
    /// and half its height around it) is mapped again at up to the working size, when that
    /// gains at least `DigitPreprocessor.closerLookGain` in resolution. Returns the map and
    /// where its picture starts in `image`.
    func closerLook(_ image: GrayImage, found: (ink: FloatImage, scale: Double)) -> (found: (ink: FloatImage, scale: Double), origin: (x: Int, y: Int)) {
        let unchanged = (found, (x: 0, y: 0))
        guard found.scale > 1 else { return unchanged }
        let ink = found.ink
        guard let (minX, minY, maxX, maxY) = Self.inkBounds(ink), maxY - minY + 1 < DigitPreprocessor.closerLookHeight else { return unchanged }
        guard let region = preprocessor.closerRegion(x: Double(minX)..<Double(maxX + 1), y: Double(minY)..<Double(maxY + 1),
                                                     margin: Double(maxY - minY + 1) / 2 + 2, scale: found.scale,
                                                     scaleDown: found.scale, in: image),
              var closer = preprocessor.inkMap(image.region(x: region.x, y: region.y)) else { return unchanged }
        let left = region.x.lowerBound, top = region.y.lowerBound
        // The closer look sharpens the ink the first one found and finds nothing new: in the
        // region alone, the edge of a photographed sheet beside a digit is a short stroke, no
        // longer the outline the first look dropped as a frame.
        let near = ink.filtered(radius: 1, keepMaximum: true)
        // Nor may it lose a piece the first look found: light that falls off across the region
        // (a spot of light, whose lit middle the first look saw whole) can leave a digit out of
        // the region's own map. Then the first look stands. The pieces are the first look's
        // ink over the ink level, grown by a pixel (as `NumberSegmentation` finds them).
        var mask = ink
        for index in mask.values.indices { mask.values[index] = mask.values[index] >= NumberSegmentation.inkLevel ? 1 : 0 }
        let pieces = DigitPreprocessor.components(of: mask.filtered(radius: 1, keepMaximum: true))
        var seen = Set<Int32>()
        for y in 0..<closer.ink.height {
            for x in 0..<closer.ink.width {
                let fx = min(ink.width - 1, Int((Double(left) + (Double(x) + 0.5) * closer.scale) / found.scale))
                let fy = min(ink.height - 1, Int((Double(top) + (Double(y) + 0.5) * closer.scale) / found.scale))
                let index = y * closer.ink.width + x
                if near.values[fy * ink.width + fx] <= 0 {
                    closer.ink.values[index] = 0
                } else if closer.ink.values[index] >= NumberSegmentation.inkLevel {
                    seen.insert(pieces.labels[fy * ink.width + fx])
                }
            }
        }
        let largest = pieces.masses.max() ?? 0
        if pieces.masses.indices.contains(where: { pieces.masses[$0] >= 0.1 * largest && !seen.contains(Int32($0)) }) { return unchanged }
        return (closer, (left, top))
    }

    /// The box of an ink map's pixels at `NumberSegmentation.inkLevel` or more; nil when none is.
    static func inkBounds(_ ink: FloatImage) -> DigitPreprocessor.Box? {
        var minX = Int.max, minY = Int.max, maxX = -1, maxY = -1
        for y in 0..<ink.height {
            for x in 0..<ink.width where ink.values[y * ink.width + x] >= NumberSegmentation.inkLevel {
                minX = min(minX, x); maxX = max(maxX, x); minY = min(minY, y); maxY = max(maxY, y)
            }
        }
        return maxX >= 0 ? (minX, minY, maxX, maxY) : nil
    }

    private func readAsOne(_ prepared: PreparedDigit) -> NumberReading {
        NumberReading(single: read(prepared: [prepared])[0])
    }
}

/// The units of a picture's ink and the ways to group them into digits.
struct NumberSegmentation {
    typealias Box = DigitPreprocessor.Box

    /// A piece of ink: a connected component, or a slice of one cut along a seam.
    struct Unit {
        var pixels: [Int]       // indices into the ink image
        var box: Box
        var component: Int
        var mass: Float

        /// A unit of `component` holding no pixels yet, of mass `mass`.
        init(component: Int, mass: Float = 0) {
            pixels = []
            box = (Int.max, Int.max, Int.min, Int.min)
            self.component = component
            self.mass = mass
        }

        /// Takes pixel `index` of an ink image `imageWidth` wide, growing the box to hold it.
        mutating func add(_ index: Int, imageWidth: Int) {
            pixels.append(index)
            let x = index % imageWidth, y = index / imageWidth
            box = (min(box.minX, x), min(box.minY, y), max(box.maxX, x), max(box.maxY, y))
        }
    }

    /// Consecutive units `first...last` read as one digit.
    struct Candidate {
        let first: Int
        let last: Int
    }

    let ink: FloatImage            // (height, width) 0–1 strength
    private(set) var units: [Unit] = []
    /// The pieces too small to be units (`speck`): drawn with the digit they lie against (`render`).
    private(set) var specks: [Unit] = []
    /// For each speck, the unit nearest it (`gap`), found once.
    private var speckNeighbours: [Int?] = []
    /// The mass of the largest unit.
    private(set) var largestMass: Float = 0
    /// The height of a digit on this line (see `lineHeight(of:)`).
    private(set) var lineHeight = 1
    /// (height, width) the unit each ink pixel belongs to, -1 for none.
    private var owner: [Int32] = []

    /// Ink under this strength does not join pieces (anti-aliased fringes bridge close digits).
    static let inkLevel: Float = 0.25
    /// Pieces under this share of the largest piece's mass are specks.
    static let speck: Float = 0.03
    /// The most units a line of digits is looked at with: about twenty digits cut into three.
    static let maxUnits = 60
    /// The most pieces of ink (connected components; the slices of one cut piece count once)
    /// a candidate digit joins: a digit is at most a few strokes.
    static let maxPiecesInADigit = 4
    /// A piece at least this wide, in line heights, may be two digits and is offered cut
    /// (`cut`). A 1 touching a 9 or a 4 makes a piece only about 0.8 of the line wide: at 0.9,
    /// as first chosen, it was never cut, and the pair read as one "?" ("19692" read "?692",
    /// "4167" "4?7"). On the numbers of MNIST training digits (`make-numbers.py
    /// --calibration`, seed 101) and the pictures that are not digits (`make-negatives.py
    /// --pictures`, seed 101), 1,200 and 1,800 pictures, the two read right together (before
    /// `faintInk`) 2,752 times at 0.9, 2,756 at 0.75–0.8 and 2,758 at 0.5–0.7; 0.7 cuts the
    /// fewest pieces of those.
    static let cutWidth = 0.7

    init(ink: FloatImage) {
        self.ink = ink
        var mask = ink
        for index in mask.values.indices { mask.values[index] = mask.values[index] < Self.inkLevel ? 0 : 1 }
        // Pieces are found on the ink grown by a pixel, so a faint stroke broken into dashes
        // stays one piece; each piece keeps only its own ink.
        let (labels, _, _) = DigitPreprocessor.components(of: mask.filtered(radius: 1, keepMaximum: true))
        var masses = [Float](repeating: 0, count: (labels.max().map { Int($0) } ?? -1) + 1)
        for index in labels.indices where labels[index] >= 0 && mask.values[index] > 0 { masses[Int(labels[index])] += ink.values[index] }
        guard let largest = masses.max(), largest > 0 else { return }
        var pieces: [Unit] = masses.indices.map { Unit(component: $0, mass: masses[$0]) }
        for index in labels.indices where labels[index] >= 0 && mask.values[index] > 0 {
            pieces[Int(labels[index])].add(index, imageWidth: ink.width)
        }
        pieces.removeAll { $0.pixels.isEmpty }
        specks = pieces.filter { $0.mass < Self.speck * largest }
        pieces.removeAll { $0.mass < Self.speck * largest }
        lineHeight = Self.lineHeight(of: pieces)
        for piece in pieces { units += cut(piece) }
        units.sort { ($0.box.minX + $0.box.maxX) < ($1.box.minX + $1.box.maxX) }
        largestMass = units.map(\.mass).max() ?? 0
        speckNeighbours = specks.map { speck in units.indices.min { Self.gap(speck.box, units[$0].box) < Self.gap(speck.box, units[$1].box) } }
        owner = [Int32](repeating: -1, count: ink.values.count)
        for (index, unit) in units.enumerated() { for pixel in unit.pixels { owner[pixel] = Int32(index) } }
    }

    /// The height of a digit on this line: the median height of the substantial columns of ink,
    /// a column being pieces stacked above one another (`isStacked`, as in `boundaryCost`),
    /// chained left to right. A digit's pieces stack (a 5's bar, a pencil 7 broken into a dozen
    /// dashes), so a column is a whole digit even where its pieces are short; digits side by
    /// side, even slightly overlapping, are columns of their own.
    static func lineHeight(of pieces: [Unit]) -> Int {
        var columns: [(box: Box, mass: Float)] = []
        for piece in pieces.sorted(by: { $0.box.minX < $1.box.minX }) {
            if let last = columns.last, isStacked(last.box, piece.box) {
                columns[columns.count - 1] = (DigitPreprocessor.union([last.box, piece.box]), last.mass + piece.mass)
            } else {
                columns.append((piece.box, piece.mass))
            }
        }
        let heaviest = columns.map(\.mass).max() ?? 0
        let heights = columns.filter { $0.mass >= 0.25 * heaviest }.map { $0.box.maxY - $0.box.minY + 1 }.sorted()
        return max(1, heights.isEmpty ? 1 : heights[heights.count / 2])
    }

    /// A piece wider than `cutWidth` of the line height is cut along up to six seams: paths from its
    /// top row to its bottom row, one column left, right or straight down a row, that cross the
    /// fewest ink pixels. Touching digits lean and overlap, so what parts them is seldom one
    /// column: in a composed "734058" whose 7 leans into its 3, straight cuts left "73" as one
    /// "?" and a seam parts them. The piece is looked at in stretches of a sixth of the line
    /// height; in each, the cheapest seam that keeps within a sixth of the line height of the
    /// stretch (and an eighth from the piece's ends: a 1 pressed against a 3 is that narrow) is
    /// kept if it crosses at most 60% of the ink of the median column. These were chosen on numbers of MNIST
    /// *training* digits (`make-numbers.py --calibration`, seed 101): with straight cuts 1,061
    /// of 1,200 read exactly, with seams 1,071–1,079 over a reach of a twentieth to a quarter of
    /// the line height and a bound of 60–100% (1,076 here, the bound of 60% making fewer cuts
    /// and so fewer candidates to read). The cutting width, see `cutWidth`.
    private func cut(_ piece: Unit) -> [Unit] {
        let width = piece.box.maxX - piece.box.minX + 1, height = piece.box.maxY - piece.box.minY + 1
        guard Double(width) > Self.cutWidth * Double(lineHeight) else { return [piece] }
        let margin = max(2, lineHeight / 8), stretchWidth = max(2, lineHeight / 6), reach = stretchWidth
        guard width > 2 * margin else { return [piece] }
        var inkAt = [Float](repeating: 0, count: width * height)  // (height, width) 1 on the piece's pixels
        var profile = [Float](repeating: 0, count: width)
        for index in piece.pixels {
            let x = index % ink.width - piece.box.minX, y = index / ink.width - piece.box.minY
            inkAt[y * width + x] = 1
            profile[x] += 1
        }
        let median = profile.sorted()[width / 2]
        var seams: [Seam] = []
        var column = margin
        while column < width - margin {
            let stretch = column..<min(width - margin, column + stretchWidth)
            let cheapest = Self.seam(through: inkAt, width: width, height: height,
                                     columns: max(margin, stretch.lowerBound - reach)...min(width - margin - 1, stretch.upperBound - 1 + reach))
            if cheapest.cost <= 0.6 * median,
               seams.last.map({ cheapest.meanX - $0.meanX >= Double(max(2, lineHeight / 8)) }) ?? true {
                seams.append(cheapest)
            }
            column = stretch.upperBound
        }
        seams = Array(seams.sorted { $0.cost < $1.cost }.prefix(6)).sorted { $0.meanX < $1.meanX }
        guard !seams.isEmpty else { return [piece] }
        // Seams found apart may still cross: each keeps to the right of the one before it.
        for index in seams.indices.dropFirst() {
            for y in 0..<height { seams[index].path[y] = max(seams[index].path[y], seams[index - 1].path[y] + 1) }
        }
        var slices = [Unit](repeating: Unit(component: piece.component), count: seams.count + 1)
        for index in piece.pixels {
            let x = index % ink.width - piece.box.minX, y = index / ink.width - piece.box.minY
            let slice = seams.firstIndex { x < $0.path[y] } ?? seams.count
            slices[slice].add(index, imageWidth: ink.width)
            slices[slice].mass += ink.values[index]
        }
        return slices.filter { !$0.pixels.isEmpty }
    }

    /// A path down the rows of a piece: in row y it passes column `path[y]`; the pixels left of
    /// it go to one side, the rest to the other.
    struct Seam {
        var path: [Int]
        var cost: Float
        var meanX: Double { Double(path.reduce(0, +)) / Double(max(1, path.count)) }
    }

    /// The seam within `columns` that crosses the fewest ink pixels, a step aside costing a
    /// twentieth of a pixel (so that of equal seams the straightest wins): a dynamic program
    /// over the rows.
    static func seam(through inkAt: [Float], width: Int, height: Int, columns: ClosedRange<Int>) -> Seam {
        let span = columns.count, first = columns.lowerBound
        var cost = (0..<span).map { inkAt[first + $0] }
        var next = [Float](repeating: 0, count: span)
        var from = [Int8](repeating: 0, count: span * height)  // (height, span) the step into each cell: -1, 0, +1
        for y in 1..<max(1, height) {
            for x in 0..<span {
                var best = cost[x], step: Int8 = 0
                if x > 0, cost[x - 1] + 0.05 < best { best = cost[x - 1] + 0.05; step = -1 }
                if x + 1 < span, cost[x + 1] + 0.05 < best { best = cost[x + 1] + 0.05; step = 1 }
                next[x] = best + inkAt[y * width + first + x]
                from[y * span + x] = step
            }
            swap(&cost, &next)
        }
        var x = cost.indices.min { cost[$0] < cost[$1] }!
        let total = cost[x]
        var path = [Int](repeating: 0, count: height)
        for y in stride(from: height - 1, through: 0, by: -1) {
            path[y] = first + x
            x += Int(from[y * span + x])
        }
        return Seam(path: path, cost: total)
    }

    func box(of candidate: Candidate) -> Box {
        DigitPreprocessor.union(units[candidate.first...candidate.last].map(\.box))
    }

    /// Every run of neighbouring units that could be one digit: not much wider than a digit
    /// is tall, and of at most four pieces of ink. The slices of one cut piece count as one
    /// piece, so a wide digit cut at many places, such as an open 4 in five slices, is
    /// still offered whole.
    func candidates() -> [Candidate] {
        var found: [Candidate] = []
        for first in units.indices {
            var pieces = [units[first].component]
            for last in first..<units.count {
                if last > first {
                    // Pieces of different strokes join only when they overlap or nearly touch.
                    let previous = units[last - 1], next = units[last]
                    if !pieces.contains(next.component) { pieces.append(next.component) }
                    if pieces.count > Self.maxPiecesInADigit { break }
                    let gap = next.box.minX - DigitPreprocessor.union(units[first..<last].map(\.box)).maxX
                    if previous.component != next.component, Double(gap) > 0.2 * Double(lineHeight) { break }
                }
                let box = box(of: Candidate(first: first, last: last))
                if last > first, Double(box.maxX - box.minX + 1) > 2 * Double(lineHeight) { break }
                found.append(Candidate(first: first, last: last))
            }
        }
        return found
    }

    /// The candidate's ink alone, cropped to it with a pixel of margin (the prepared digit is
    /// cropped again to its ink). With it goes the faint ink joined to its pieces: strokes
    /// between `faintLevel` and the ink level that belong to no other unit, followed from the
    /// pieces' pixels within a quarter of the line height of their box, as hysteresis
    /// thresholding does. A 5's top bar drawn lighter than its body is such a stroke: with the
    /// units' ink alone, "54492" read "64492". On the calibration numbers (see `cutWidth`) this
    /// reads 1,088 of 1,200 right against 1,081, and 1,677 of the 1,800 pictures that are not
    /// digits are refused, as before.
    func render(_ candidate: Candidate) -> FloatImage {
        let core = box(of: candidate)
        let faint = faintInk(joinedTo: candidate, around: core) + specks(against: candidate, around: core)
        var box = core
        for index in faint {
            let x = index % ink.width, y = index / ink.width
            box = (min(box.minX, x), min(box.minY, y), max(box.maxX, x), max(box.maxY, y))
        }
        let width = box.maxX - box.minX + 3, height = box.maxY - box.minY + 3
        var image = FloatImage(width: width, height: height, values: [Float](repeating: 0, count: width * height))
        for unit in units[candidate.first...candidate.last] {
            for index in unit.pixels {
                image.values[(index / ink.width - box.minY + 1) * width + index % ink.width - box.minX + 1] = ink.values[index]
            }
        }
        for index in faint {
            image.values[(index / ink.width - box.minY + 1) * width + index % ink.width - box.minX + 1] = ink.values[index]
        }
        // The faint fringe of the pieces' strokes, which the ink level left out of the units.
        for y in max(0, core.minY - 1)...min(ink.height - 1, core.maxY + 1) {
            for x in max(0, core.minX - 1)...min(ink.width - 1, core.maxX + 1) {
                let value = ink.values[y * ink.width + x]
                guard value > 0, value < Self.inkLevel else { continue }
                image.values[(y - box.minY + 1) * width + x - box.minX + 1] = value
            }
        }
        return image
    }

    /// The pixels of the specks that lie against the candidate: within a quarter of the line
    /// height of `core`, and nearer one of its units than any other unit. A thin stroke drawn
    /// lighter than the rest of its digit can break off it in the ink map (the loop of a 9, a
    /// 7's bar) and be too small beside the number's largest digit to be a unit of its own.
    private func specks(against candidate: Candidate, around core: Box) -> [Int] {
        let reach = max(2, lineHeight / 4)
        let gap = Self.gap
        var found: [Int] = []
        for (speck, nearest) in zip(specks, speckNeighbours) where gap(speck.box, core) <= reach {
            guard let nearest, (candidate.first...candidate.last).contains(nearest) else { continue }
            found += speck.pixels
        }
        return found
    }

    /// The gap between two boxes: the empty columns plus the empty rows between them.
    static func gap(_ a: Box, _ b: Box) -> Int {
        max(0, a.minX - b.maxX, b.minX - a.maxX) + max(0, a.minY - b.maxY, b.minY - a.maxY)
    }

    /// Ink this faint still counts as a stroke when it is joined to a piece (`render`): the
    /// level under which the prepared digit drops ink (`DigitPreprocessor.prepareSegment`).
    static let faintLevel: Float = 0.12

    /// The pixels of at least `faintLevel` that no unit holds, joined (8-neighbours) to the
    /// candidate's pixels, within a quarter of the line height of `core`.
    private func faintInk(joinedTo candidate: Candidate, around core: Box) -> [Int] {
        let reach = max(2, lineHeight / 4)
        let minX = max(0, core.minX - reach), maxX = min(ink.width - 1, core.maxX + reach)
        let minY = max(0, core.minY - reach), maxY = min(ink.height - 1, core.maxY + reach)
        let regionWidth = maxX - minX + 1
        var seen = [Bool](repeating: false, count: regionWidth * (maxY - minY + 1))  // (rows, columns) of the region
        var frontier: [Int] = []
        for unit in units[candidate.first...candidate.last] {
            for index in unit.pixels {
                seen[(index / ink.width - minY) * regionWidth + index % ink.width - minX] = true
                frontier.append(index)
            }
        }
        var found: [Int] = []
        while let index = frontier.popLast() {
            let x = index % ink.width, y = index / ink.width
            for ny in max(minY, y - 1)...min(maxY, y + 1) {
                for nx in max(minX, x - 1)...min(maxX, x + 1) {
                    let slot = (ny - minY) * regionWidth + nx - minX
                    let next = ny * ink.width + nx
                    guard !seen[slot] else { continue }
                    seen[slot] = true
                    guard owner[next] < 0, ink.values[next] >= Self.faintLevel else { continue }
                    found.append(next)
                    frontier.append(next)
                }
            }
        }
        return found
    }

    /// How well a candidate reads as one position: the log-probability of its digit; or, for a
    /// candidate no wider than a digit, of "not a digit" less 1.5 (a letter in a number is one
    /// position, but two digits pressed together must not pass for one). Less 0.2 for each end
    /// made by cutting a piece, and a penalty for a shape no digit has: much wider than the line
    /// is tall, or too short to stand alone (a 5's bar, the end of a 9).
    func score(_ candidate: Candidate, confidence: Float, notDigit: Float) -> Double {
        let box = box(of: candidate)
        let height = Double(box.maxY - box.minY + 1), width = Double(box.maxX - box.minX + 1)
        let line = Double(lineHeight)
        var score = log(max(Double(confidence), 1e-6))
        if width <= 1.1 * line { score = max(score, log(max(Double(notDigit), 1e-6)) - 1.5) }
        if candidate.first > 0, units[candidate.first - 1].component == units[candidate.first].component { score -= 0.2 }
        if candidate.last + 1 < units.count, units[candidate.last + 1].component == units[candidate.last].component { score -= 0.2 }
        if width > 1.1 * line { score -= 2 * (width / line - 1.1) }
        if height < 0.45 * line { score -= 4 }
        return score
    }

    /// What leaving a unit out of every digit costs: a small piece (under a tenth of the largest
    /// one's mass: a speck, a stray dot) may be noise, a short one a dash; a large one is ink
    /// that must be read.
    func skipCost(_ unit: Int) -> Double? {
        // A piece stacked on its neighbour (a broken 8's loop) is part of that digit.
        if unit > 0, boundaryCost(after: unit - 1) < 0 { return nil }
        if unit + 1 < units.count, boundaryCost(after: unit) < 0 { return nil }
        if units[unit].mass < 0.1 * largestMass { return -1.5 }
        // Short as a piece of ink, not as a slice of one: a stroke lying across the line, cut
        // in two, is no pair of dashes.
        let piece = DigitPreprocessor.union(units.filter { $0.component == units[unit].component }.map(\.box))
        if Double(piece.maxY - piece.minY + 1) < 0.45 * Double(lineHeight) { return -2.5 }
        return nil
    }

    /// What putting a digit boundary between units `left` and `left + 1` costs: nothing for
    /// pieces side by side, much for pieces of different strokes that overlap by 40% of the
    /// narrower one's width (on one line, such pieces are stacked parts of one digit: a 3's
    /// bowls, a 7's broken stem).
    func boundaryCost(after left: Int) -> Double {
        guard units[left].component != units[left + 1].component else { return 0 }
        return Self.isStacked(units[left].box, units[left + 1].box) ? -3 : 0
    }

    /// Whether two boxes stand above one another: their spans of x overlap by more than 40% of
    /// the narrower one's width.
    static func isStacked(_ a: Box, _ b: Box) -> Bool {
        let overlap = min(a.maxX, b.maxX) - max(a.minX, b.minX) + 1
        let narrower = min(a.maxX - a.minX, b.maxX - b.minX) + 1
        return Double(overlap) > 0.4 * Double(narrower)
    }

    /// The candidates that cover every unit once (or leave out a small one), left to right, with
    /// the highest total score: a best path over the units.
    func bestPath(_ candidates: [Candidate], scores: [Double?]) -> (path: [Int], score: Double) {
        var best = [Double](repeating: -.infinity, count: units.count + 1)
        var choice = [Int](repeating: -1, count: units.count + 1)  // the candidate ending here; -2: a skipped unit
        best[0] = 0
        let ending = Dictionary(grouping: candidates.indices, by: { candidates[$0].last })
        for end in units.indices {
            if let cost = skipCost(end), best[end] > -.infinity, best[end] + cost > best[end + 1] {
                best[end + 1] = best[end] + cost
                choice[end + 1] = -2
            }
            for index in ending[end] ?? [] {
                let candidate = candidates[index]
                guard let score = scores[index], best[candidate.first] > -.infinity else { continue }
                let total = best[candidate.first] + score + (candidate.first > 0 ? boundaryCost(after: candidate.first - 1) : 0)
                if total > best[end + 1] { best[end + 1] = total; choice[end + 1] = index }
            }
        }
        var path: [Int] = [], end = units.count
        while end > 0 {
            switch choice[end] {
            case -2: end -= 1
            case -1: return ([], -.infinity)
            case let index:
                path.append(index)
                end = candidates[index].first
            }
        }
        return (path.reversed(), best[units.count])
    }

    /// `path` with each position that a tall, sure digit and the rest of it would read as (a 1
    /// pressed against a 5, read as the 5 alone; a 3 against a 3, read as one 3) split in two:
    /// the model, sure of the 5 with the 1's stroke beside it, is as sure of the 5 without it
    /// and of the 1 alone. The 0.2 that each end made by cutting costs (`score`) keeps the best
    /// path from parting them unless the model doubts the pair as one digit, and it rarely
    /// does: the pressed digit reads as a stroke of the other. The part split off must stand at
    /// least `pressedHeight` as tall as the rest (an open 6's loop beside it, a separate stroke at
    /// its edge, is shorter), and touch it in one place only (`contacts`: the side of a 0 cut
    /// off by a seam touches it twice). On the calibration numbers (see `cutWidth`), for a 1
    /// alone this read 1,096 of 1,200 right against 1,088, with the same 1,677 of 1,800
    /// negatives refused (with a bar of 0.999, 1,094; without the height rule, a tight crop of
    /// an MNIST 6 read "61", and without the contact rule a Semeion 0 read "10"); for any digit
    /// beside the one the pair reads as, 1,097, with the same negatives refused and the same
    /// single digits read (height 0.7 of the rest: 1,097; two contacts: 1,098). A digit other
    /// than 1 is split off only a pair at least `pairWidth` of the line wide whose two parts
    /// each stand `pressedHeight` as tall as the other (without that, a tight crop of an MNIST
    /// 3 read "33", and the corner of a pencil 7 made it "77"). A pair the model reads as a 1
    /// is left whole: parting it refused 6 fewer negatives for 1 more number.
    func splittingOffPressedDigits(_ path: [Int], candidates: [Candidate], readings: [DigitReading?]) -> [Int] {
        let byUnits = candidateIndex(candidates)
        func sure(_ index: Int?, is digit: Int?) -> Bool {
            guard let index, let reading = readings[index], !reading.rejected, reading.confidence >= Self.splitBar else { return false }
            return digit == nil || reading.bestGuess == digit
        }
        func tall(_ index: Int, beside other: Int) -> Bool { standsTall(candidates[index], beside: candidates[other]) }
        var result: [Int] = []
        for index in path {
            let candidate = candidates[index]
            guard let reading = readings[index], !reading.rejected, reading.bestGuess != 1, candidate.last > candidate.first else {
                result.append(index); continue
            }
            var parts: [Int]? = nil
            for end in candidate.first..<candidate.last {
                guard let left = byUnits[Self.unitsKey(candidate.first, end, unitCount: units.count)],
                      let right = byUnits[Self.unitsKey(end + 1, candidate.last, unitCount: units.count)] else { continue }
                // One part is the digit the pair reads as; the other, any digit, was pressed against it.
                let pressedLeft = sure(left, is: nil) && tall(left, beside: right) && sure(right, is: reading.bestGuess)
                let pressedRight = sure(right, is: nil) && tall(right, beside: left) && sure(left, is: reading.bestGuess)
                guard pressedLeft || pressedRight else { continue }
                // A pressed digit other than a 1 only where the pair is as wide as two digits
                // and each part as tall as the other: a seam through one wide digit (a tight
                // crop of a 3 or a 4, the corner of a 7) can leave two parts the model is sure of.
                let pressed = readings[pressedLeft ? left : right]!.bestGuess
                if pressed != 1, !(isPairWide(candidate) && tall(left, beside: right) && tall(right, beside: left)) { continue }
                // The pixel walk last, for the few pairs that pass the rest.
                if contacts(between: end, and: end + 1) <= 1 { parts = [left, right]; break }
            }
            result += parts ?? [index]
        }
        return result
    }

    /// Whether `candidate` stands about as tall as the line and as the digit beside it: a 1 on
    /// a line does; a shorter stroke at a digit's edge is more often a piece of it (a 6's loop
    /// left open).
    func standsTall(_ candidate: Candidate, beside other: Candidate) -> Bool {
        let own = box(of: candidate), beside = box(of: other)
        let height = Double(own.maxY - own.minY + 1)
        return height >= 0.7 * Double(lineHeight) && height >= Self.pressedHeight * Double(beside.maxY - beside.minY + 1)
    }

    /// Whether the positions of `path` are separate pieces of ink side by side: no seam cut
    /// between two of them, each as tall as its neighbours (`standsTall`), and each two
    /// together at least `pairSpan` of the line wide.
    func standApart(_ path: [Int], candidates: [Candidate]) -> Bool {
        zip(path, path.dropFirst()).allSatisfy { left, right in
            let a = candidates[left], b = candidates[right]
            let span = DigitPreprocessor.union([box(of: a), box(of: b)])
            return units[a.last].component != units[b.first].component && standsTall(a, beside: b) && standsTall(b, beside: a)
                && Double(span.maxX - span.minX + 1) >= Self.pairSpan * Double(lineHeight)
        }
    }

    /// How wide two digits side by side are at the least, in line heights: twice the narrowest
    /// digit, an upright 1 (0.15 of its height at the 1st percentile of MNIST's test 1s). A 1
    /// scaled up with a faint seam down its stroke makes two tall slivers that together span
    /// 0.2 of the line (two MNIST test 1s cut to their ink at 200 pixels, read "11" without this).
    static let pairSpan = 0.3

    /// In how many places units `left` and `right` touch: runs of rows (a row apart still one
    /// run) where a pixel of one is a neighbour of a pixel of the other. A seam that cut a loop
    /// (the side of a 0) parts it in two places; a 1 pressed against a 5 touches it in one.
    func contacts(between left: Int, and right: Int) -> Int {
        var touching = Set<Int>()
        for index in units[left].pixels {
            let x = index % ink.width, y = index / ink.width
            for ny in max(0, y - 1)...min(ink.height - 1, y + 1) {
                for nx in max(0, x - 1)...min(ink.width - 1, x + 1) where owner[ny * ink.width + nx] == Int32(right) {
                    touching.insert(y)
                }
            }
        }
        var runs = 0, previous = Int.min
        for row in touching.sorted() {
            if row > previous + 2 { runs += 1 }
            previous = row
        }
        return runs
    }

    /// Whether a candidate is at least `pairWidth` of the line height wide: two digits side by
    /// side, even pressed together, are wider than one digit is tall.
    func isPairWide(_ candidate: Candidate) -> Bool {
        let box = box(of: candidate)
        return Double(box.maxX - box.minX + 1) >= Self.pairWidth * Double(lineHeight)
    }

    /// Each candidate's index, keyed by its units (`unitsKey`), to find the candidate made of
    /// given units (`splittingOffPressedDigits`, `keepingPiecesWhole`).
    func candidateIndex(_ candidates: [Candidate]) -> [Int: Int] {
        var index: [Int: Int] = [:]
        for (position, candidate) in candidates.enumerated() { index[Self.unitsKey(candidate.first, candidate.last, unitCount: units.count)] = position }
        return index
    }

    /// The key of the run of units `first...last` among `unitCount` units.
    static func unitsKey(_ first: Int, _ last: Int, unitCount: Int) -> Int { first * unitCount + last }

    /// How wide a pair must be for a digit other than 1 to be split off it
    /// (`splittingOffPressedDigits`). Chosen on the tight crops of MNIST test digits at 200
    /// pixels (`scripts/check-tight-crops`), the only set where a digit other than 1 was split off one
    /// digit: those two splits spanned 0.71 and 0.77 of the line, the pairs parted on the
    /// calibration numbers and in `aDigitPressedAgainstItsNeighbourIsSplitOff` 0.94–1.27.
    static let pairWidth = 0.9
    /// How much of the digit beside it a digit split off must stand (`splittingOffPressedDigits`).
    static let pressedHeight = 0.85
    /// How sure the model must be of a digit split off, of the rest, and of every other
    /// position of the number (`splittingOffPressedDigits`). 0.99 until the CNN of 2026-12-03,
    /// which is a little less sure of a 1 beside a digit (0.979 for the 1 of
    /// `aOnePressedAgainstItsNeighbourIsSplitOff`'s 9 and 1): with it, the calibration numbers
    /// (see `joinMargin`) read 1,089 of 1,200 at 0.99, 1,090 at 0.98, 1,091 at 0.97 and 1,092
    /// at 0.95, with the same 1,693 of 1,800 negatives refused at each; but of the 30,000 tight
    /// crops of MNIST test digits (`scripts/check-tight-crops`) 7 were read as several digits
    /// at 0.99, 9 at 0.97 and 13 at 0.95.
    static let splitBar: Float = 0.97

    /// `path` with each piece of ink that it cuts into several digits read as one position
    /// instead, unless those digits read better than the piece as one thing (a digit, or "not
    /// a digit" at no cost) by `joinMargin` for each cut, or the model is all but certain
    /// (99.9%) of each: the test the whole picture passes (`readNumber`), asked of each piece,
    /// so that a letter between digits (the x of "7x3", cut by a seam into two strokes the
    /// model may call 1s) stays one position. Asked only of a piece that reads as "not a
    /// digit" whole and of which some part is doubtful (under 50%): asked of every cut piece,
    /// it kept touching digits together, and the calibration numbers (see `joinMargin`) fell
    /// from 1,089 to 1,032 of 1,200; so asked, they stay at 1,089 and 1,693 of 1,800 negatives
    /// are refused against 1,691 (with the CNN of 2026-12-03).
    /// Returns the path and its score with each piece kept whole scored as one position.
    func keepingPiecesWhole(_ path: [Int], score: Double, candidates: [Candidate], scores: [Double?], readings: [DigitReading?]) -> (path: [Int], score: Double) {
        let byUnits = candidateIndex(candidates)
        var result: [Int] = [], start = 0, total = score
        while start < path.count {
            var end = start
            while end + 1 < path.count, units[candidates[path[end]].last].component == units[candidates[path[end + 1]].first].component { end += 1 }
            let group = Array(path[start...end])
            start = end + 1
            guard group.count > 1,
                  group.contains(where: { index in readings[index].map { $0.confidence < 0.5 } ?? true }),
                  let whole = byUnits[Self.unitsKey(candidates[group[0]].first, candidates[group.last!].last, unitCount: units.count)],
                  let reading = readings[whole], reading.rejected else { result += group; continue }
            let asOne = wholeScore(confidence: reading.confidence, notDigit: reading.notDigitProbability ?? 0, box: box(of: candidates[whole]))
            let apart = group.map { scores[$0] ?? -.infinity }.reduce(0, +)
            let margin = zip(group, group.dropFirst()).map { joinMargin(between: candidates[$0], and: candidates[$1]) }.reduce(0, +)
            if apart - margin > asOne { result += group; continue }
            result.append(whole)
            total += (scores[whole] ?? -.infinity) - apart
        }
        return (result, total)
    }

    /// Whether two neighbouring digits stand apart by a clear gap: at least 15% of the line's
    /// height of empty columns between their boxes. The strokes of one handwritten character
    /// meet, overlap or nearly touch; digits written one after another leave such a gap.
    func isClearGap(between left: Candidate, and right: Candidate) -> Bool {
        Double(box(of: right).minX - box(of: left).maxX - 1) >= 0.15 * Double(lineHeight)
    }

    /// What reading two neighbouring positions as separate digits owes, against reading the
    /// whole picture as one thing: nothing across a clear gap; 0.8 where they touch or nearly
    /// touch, and 1 more where one of them is shorter than 0.7 of the line, since digits on a
    /// line stand about as tall as it and a short piece pressed against another is more often
    /// a stroke of one character. 0.8 was chosen with the first number reader, to keep 90% of
    /// the dev set's hand-drawn characters refused; the extra 1 on pictures nobody scores
    /// (numbers of MNIST *training* digits, `make-numbers.py --calibration`, and pictures of
    /// `make-negatives.py --pictures`, seed 101): of 1,200 numbers it refuses 2 more, of 1,800
    /// pictures that are not digits 6 more.
    func joinMargin(between left: Candidate, and right: Candidate) -> Double {
        guard !isClearGap(between: left, and: right) else { return 0 }
        let shortest = [left, right].map { box(of: $0) }.map { $0.maxY - $0.minY + 1 }.min()!
        return Double(shortest) < 0.7 * Double(lineHeight) ? 1.8 : 0.8
    }

    /// The whole ink read as one position: the reading of the picture as one digit (or as
    /// "not a digit", at no cost: most pictures hold one thing), less the penalty for a shape
    /// much wider than the line is tall.
    /// `box`: of a piece read as one position (`keepingPiecesWhole`); nil, all the ink.
    func wholeScore(confidence: Float, notDigit: Float, box: Box? = nil) -> Double {
        let box = box ?? DigitPreprocessor.union(units.map(\.box))
        let width = Double(box.maxX - box.minX + 1), line = Double(lineHeight)
        var score = max(log(max(Double(confidence), 1e-6)), log(max(Double(notDigit), 1e-6)))
        if width > 1.1 * line { score -= 2 * (width / line - 1.1) }
        return score
    }
}
