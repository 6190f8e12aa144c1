// The reader: JPEG decoding (libjpeg-turbo, EXIF orientation, CMYK, DCT scaling, limits),
// format detection by content, the clean-picture preparation (tight crops, small bitmaps,
// thick strokes, ink on every edge), the "not a digit" verdict and the reject class.
import Foundation
import Testing
@_spi(Tools) @testable import DigitsKit

@Suite struct ReadingTests {
    /// A 16×16 gray baseline JPEG of a 7 (Pillow, quality 50): dark ink on light paper.
    static let grayJPEG = hex("ffd8ffe000104a46494600010100000100010000ffdb004300100b0c0e0c0a100e0d0e1211101318281a181616183123251d283a333d3c3933383740485c4e404457453738506d51575f626768673e4d71797064785c656763ffc0000b080010001001011100ffc4001f0000010501010101010100000000000000000102030405060708090a0bffc400b5100002010303020403050504040000017d01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25262728292a3435363738393a434445464748494a535455565758595a636465666768696a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffda0008010100003f00e8f50fed9f3d7fb37ec1e4ede7ed1bf76ec9f4ed8c567691a8ead79ae5c5adcb59f9368b894db824331c60649ce460f6ec41ec46cea06e4584ff006200dcec3e58240f9bb7518fcf8fa541a269aba56970daae0ba8cc8c3f89cf53d067d07b015fffd9")
    /// The same picture saved as CMYK (Pillow writes an Adobe marker and inverted values).
    static let cmykJPEG = hex("ffd8ffee000e41646f626500640000000000ffdb004300100b0c0e0c0a100e0d0e1211101318281a181616183123251d283a333d3c3933383740485c4e404457453738506d51575f626768673e4d71797064785c656763ffc000140800100010044311004d11005911004b1100ffc4001f0000010501010101010100000000000000000102030405060708090a0bffc400b5100002010303020403050504040000017d01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25262728292a3435363738393a434445464748494a535455565758595a636465666768696a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffda000e0443004d0059004b00003f00f40af40af40ae8f50fed9f3d7fb37ec1e4ede7ed1bf76ec9f4ed8c5145159da46a3ab5e6b9716b72d67e4da2e2536e090cc718192739183dbb107b1051456cea06e4584ff6200dcec3e58240f9bb7518fcf8fa5145150689a6ae95a5c36ab82ea33230fe273d4f419f41ec057fffd9")

    static func hex(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            bytes.append(UInt8(text[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }

    /// The JPEG with an APP1 EXIF segment (little-endian TIFF, IFD0 with one orientation entry)
    /// inserted after SOI.
    static func withOrientation(_ jpeg: [UInt8], _ orientation: UInt16) -> [UInt8] {
        var tiff: [UInt8] = [0x49, 0x49, 42, 0, 8, 0, 0, 0, 1, 0]           // II, 42, IFD at 8, 1 entry
        tiff += [0x12, 0x01, 3, 0, 1, 0, 0, 0, UInt8(orientation & 0xFF), UInt8(orientation >> 8), 0, 0]
        tiff += [0, 0, 0, 0]                                                  // no next IFD
        let payload: [UInt8] = Array("Exif".utf8) + [0, 0] + tiff
        let length = payload.count + 2
        return Array(jpeg[0..<2]) + [0xFF, 0xE1, UInt8(length >> 8), UInt8(length & 0xFF)] + payload + Array(jpeg[2...])
    }

    /// `digits inspect photo.jpg` describes the JPEG (it used to say "not an IDX file"), named
    /// whatever its extension, with the EXIF orientation and the upright size.
    @Test func inspectDescribesAJPEG() throws {
        let directory = TestFiles.scratchDirectory()
        let turned = TestFiles.write(Self.withOrientation(Self.grayJPEG, 6), named: "photo.dat", in: directory)
        let lines = try DataFile.describe(turned)
        #expect(lines.first == "\(turned): JPEG 16×16, gray, baseline, EXIF orientation 6, read upright as 16×16")
        #expect(lines.count == 2 && lines[1].hasPrefix("  as 8-bit gray: mean "))
        let cmyk = TestFiles.write(Self.cmykJPEG, named: "cmyk.jpg", in: directory)
        #expect(try DataFile.describe(cmyk).first == "\(cmyk): JPEG 16×16, CMYK, baseline, upright")
    }

    @Test func formatIsToldByContentNotName() throws {
        #expect(PictureFormat(of: Self.grayJPEG) == .jpeg)
        #expect(PictureFormat(of: PNG.signature + [0, 0]) == .png)
        #expect(PictureFormat(of: Array("GIF89a".utf8)) == nil)
        #expect(throws: PictureFormatError.unknownFormat(path: "x.png", found: Array("GIF89a".utf8))) {
            try Picture.decodeGray(Array("GIF89a".utf8), path: "x.png")
        }
        let image = try Picture.decodeGray(Self.grayJPEG, path: "seven.png")
        #expect(image.width == 16 && image.height == 16)
    }

    @Test func jpegDecodesToGray() throws {
        let image = try JPEG.decodeGray(Self.grayJPEG, path: "seven.jpg")
        #expect(image.width == 16 && image.height == 16)
        // Mostly paper (230, give or take JPEG's ringing), ink (20) on the top bar.
        let sorted = image.pixels.sorted()
        #expect(abs(Int(sorted[sorted.count / 2]) - 230) < 20 && image[7, 3] < 80 && sorted[0] < 60)
        let info = try JPEG.info(of: Self.grayJPEG, path: "seven.jpg")
        #expect(info.components == 1 && !info.progressive && info.orientation == 1)
    }

    @Test func cmykIsConvertedToTheSameGray() throws {
        let gray = try JPEG.decodeGray(Self.grayJPEG, path: "gray.jpg")
        let cmyk = try JPEG.decodeGray(Self.cmykJPEG, path: "cmyk.jpg")
        #expect(try JPEG.info(of: Self.cmykJPEG, path: "cmyk.jpg").components == 4)
        let difference = zip(gray.pixels, cmyk.pixels).map { abs(Int($0) - Int($1)) }.reduce(0, +) / gray.pixels.count
        #expect(difference < 12, "mean difference \(difference)")
    }

    /// Each EXIF orientation turns the stored pixels as the tag says: orientation 6 is a
    /// quarter turn clockwise, so the stored top-left corner shows at the top right.
    @Test(arguments: 1...8)
    func exifOrientationIsApplied(orientation: Int) throws {
        let stored = try JPEG.decodeGray(Self.grayJPEG, path: "stored.jpg")
        let turned = try JPEG.decodeGray(Self.withOrientation(Self.grayJPEG, UInt16(orientation)), path: "turned.jpg")
        #expect(try JPEG.info(of: Self.withOrientation(Self.grayJPEG, UInt16(orientation)), path: "t.jpg").orientation == orientation)
        let (w, h) = (stored.width, stored.height)
        // Where the stored pixel (sx, sy) is shown, by the EXIF definition of each value.
        func shown(_ sx: Int, _ sy: Int) -> (Int, Int) {
            switch orientation {
            case 2: return (w - 1 - sx, sy)
            case 3: return (w - 1 - sx, h - 1 - sy)
            case 4: return (sx, h - 1 - sy)
            case 5: return (sy, sx)
            case 6: return (h - 1 - sy, sx)
            case 7: return (h - 1 - sy, w - 1 - sx)
            case 8: return (sy, w - 1 - sx)
            default: return (sx, sy)
            }
        }
        for sy in 0..<h { for sx in 0..<w {
            let (x, y) = shown(sx, sy)
            #expect(turned[x, y] == stored[sx, sy])
        } }
    }

    /// The same on a picture that is not square and spans several of the 64×64 blocks the
    /// turning copies by: each stored pixel lands where the EXIF definition puts it, and the
    /// sides swap for orientations 5–8.
    @Test func orientationTurnsAWidePictureInBlocks() {
        let (w, h) = (150, 70)
        let stored = GrayImage(width: w, height: h, pixels: (0..<w * h).map { UInt8(truncatingIfNeeded: $0 * 7 + $0 / w) })
        for orientation in 1...8 {
            let turned = EXIF.apply(orientation: orientation, to: stored)
            #expect((turned.width, turned.height) == (orientation >= 5 ? (h, w) : (w, h)))
            var misplaced = 0
            for sy in 0..<h { for sx in 0..<w {
                let (x, y): (Int, Int)
                switch orientation {
                case 2: (x, y) = (w - 1 - sx, sy)
                case 3: (x, y) = (w - 1 - sx, h - 1 - sy)
                case 4: (x, y) = (sx, h - 1 - sy)
                case 5: (x, y) = (sy, sx)
                case 6: (x, y) = (h - 1 - sy, sx)
                case 7: (x, y) = (h - 1 - sy, w - 1 - sx)
                case 8: (x, y) = (sy, w - 1 - sx)
                default: (x, y) = (sx, sy)
                }
                if turned.pixels[y * turned.width + x] != stored.pixels[sy * w + sx] { misplaced += 1 }
            } }
            #expect(misplaced == 0, "orientation \(orientation): \(misplaced) pixels misplaced")
        }
    }

    @Test func bogusOrientationsAreUpright() throws {
        for value: UInt16 in [0, 9, 77, 0xFFFF] {
            #expect(try JPEG.info(of: Self.withOrientation(Self.grayJPEG, value), path: "x.jpg").orientation == 1)
        }
        // An IFD offset far past the end, and a segment cut short: upright, no trap.
        var broken = Self.withOrientation(Self.grayJPEG, 6)
        broken[14...17] = [0xF0, 0xFF, 0xFF, 0x7F]
        #expect(EXIF.orientation(in: broken) == 1)
        #expect(EXIF.orientation(in: Array(broken.prefix(12))) == 1)
    }

    @Test func badJPEGsAreRefusedWithTheirReason() throws {
        #expect(throws: JPEGError.truncated(path: "cut.jpg")) {
            try JPEG.decodeGray(Array(Self.grayJPEG.prefix(Self.grayJPEG.count * 5 / 6)), path: "cut.jpg")
        }
        // The frame header declaring 65500×65500: refused before anything is decoded.
        var huge = Self.grayJPEG
        let sof = (0..<huge.count - 1).first { huge[$0] == 0xFF && huge[$0 + 1] == 0xC0 }!
        huge[(sof + 5)...(sof + 8)] = [0xFF, 0xDC, 0xFF, 0xDC]
        #expect(throws: JPEGError.tooLarge(path: "huge.jpg", width: 65500, height: 65500, limit: PNG.maxPixels)) {
            try JPEG.decodeGray(huge, path: "huge.jpg")
        }
        #expect(throws: JPEGError.self) { try JPEG.decodeGray([0xFF, 0xD8, 0xFF, 0xE0, 0, 2], path: "short.jpg") }
    }

    /// Large photos decode smaller in the DCT when the reader needs fewer pixels.
    @Test func largeJPEGsDecodeScaledDown() throws {
        let full = try JPEG.decodeGray(Self.grayJPEG, path: "x.jpg")
        let half = try JPEG.decodeGray(Self.grayJPEG, path: "x.jpg", atLeast: 8)
        let none = try JPEG.decodeGray(Self.grayJPEG, path: "x.jpg", atLeast: 16)
        #expect(half.width == 8 && half.height == 8 && none.width == 16 && none == full)
    }

    // MARK: Preparation of clean pictures

    @Test func reducingWhileConvertingEqualsConvertingThenReducing() {
        let picture = PreprocessorTests.draw(width: 997, height: 611, box: (100, 50, 600, 500), path: PreprocessorTests.sevenPath, stroke: 40,
                                             paper: { x, y in UInt8((x * 31 + y * 17) % 256) })
        for factor in [0.5, 0.37, 1.0 / 3] {
            #expect(FloatImage(picture, scaledBy: factor).values == FloatImage(picture).scaled(by: factor).values)
        }
    }

    /// A thick 0 cut to its bounding box: ink on all four edges, a third of the pixels ink.
    static func tightZero(side: Int, inkBright: Bool) -> GrayImage {
        var pixels = [UInt8](repeating: inkBright ? 0 : 255, count: side * side)
        let c = Double(side - 1) / 2
        for y in 0..<side { for x in 0..<side {
            let r = hypot((Double(x) - c) / (c + 0.5), (Double(y) - c) / (c + 0.5) * 0.9)
            if r <= 1.0 && r >= 0.62 { pixels[y * side + x] = inkBright ? 255 : 0 }
        } }
        return GrayImage(width: side, height: side, pixels: pixels)
    }

    @Test(arguments: [(16, true), (16, false), (28, true), (200, false)])
    func inkTouchingEveryEdgeIsRead(side: Int, inkBright: Bool) throws {
        let picture = Self.tightZero(side: side, inkBright: inkBright)
        let digit = try DigitPreprocessor().prepare(picture, path: "zero.png")
        #expect(digit.clean)
        // The ring, scaled to 20 pixels and centred: a hole in the middle, ink around it.
        #expect(PreprocessorTests.inkBox(digit.image).width >= 17)
        #expect(digit.image[14, 14] < 40 && digit.image[14, 5] > 150)
    }

    /// An 0 in an 8×8 gray bitmap (ink within columns 1–6, as small scans store it; its edges
    /// anti-aliased by 4×4 supersampling), then scaled up bilinearly to `side`: soft edges a
    /// source pixel wide, on a flat black background.
    static func smallZeroScaledUp(side: Int) -> GrayImage {
        var small = [Double](repeating: 0, count: 64)
        for y in 0..<8 { for x in 0..<8 {
            var hits = 0
            for sy in 0..<4 { for sx in 0..<4 {
                let u = (Double(x) + (Double(sx) + 0.5) / 4 - 4) / 2.8, v = (Double(y) + (Double(sy) + 0.5) / 4 - 4) / 3.9
                let r = hypot(u, v)
                if r <= 1 && r >= 0.55 { hits += 1 }
            } }
            small[y * 8 + x] = Double(hits) / 16 * 255
        } }
        var pixels = [UInt8](repeating: 0, count: side * side)
        for y in 0..<side { for x in 0..<side {
            let sx = min(7, max(0, (Double(x) + 0.5) * 8 / Double(side) - 0.5)), sy = min(7, max(0, (Double(y) + 0.5) * 8 / Double(side) - 0.5))
            let x0 = Int(sx), y0 = Int(sy), x1 = min(7, x0 + 1), y1 = min(7, y0 + 1), fx = sx - Double(x0), fy = sy - Double(y0)
            let top = small[y0 * 8 + x0] * (1 - fx) + small[y0 * 8 + x1] * fx
            let bottom = small[y1 * 8 + x0] * (1 - fx) + small[y1 * 8 + x1] * fx
            pixels[y * side + x] = UInt8((top * (1 - fy) + bottom * fy).rounded())
        } }
        return GrayImage(width: side, height: side, pixels: pixels)
    }

    /// A small scan stored larger (an 8×8 bitmap at 28×28 or 96×96) is a clean picture with
    /// soft edges, not a photo: it gets the textbook path, and its 0 keeps its hole. The paper
    /// path thinned such digits to fragments.
    @Test(arguments: [28, 40, 64, 96])
    func aSmallScanScaledUpSmoothlyIsClean(side: Int) throws {
        let picture = Self.smallZeroScaledUp(side: side)
        let digit = try DigitPreprocessor().prepare(picture, path: "zero.png")
        #expect(digit.clean)
        #expect(PreprocessorTests.inkBox(digit.image).height == 20)
        #expect(digit.image[14, 14] < 60)
        // The ring: ink left and right of the hole on the middle row, and above and below it
        // on the middle column.
        #expect((4..<13).contains { digit.image[$0, 14] > 150 } && (16..<24).contains { digit.image[$0, 14] > 150 })
        #expect((4..<11).contains { digit.image[14, $0] > 150 } && (18..<24).contains { digit.image[14, $0] > 150 })
    }

    @Test func aOnePixelWideOneIsAPicture() throws {
        var pixels = [UInt8](repeating: 0, count: 2 * 20)
        for y in 0..<20 { pixels[y * 2] = 255; pixels[y * 2 + 1] = 128 }
        let digit = try DigitPreprocessor().prepare(GrayImage(width: 2, height: 20, pixels: pixels), path: "one.png")
        #expect(PreprocessorTests.inkBox(digit.image).height == 20)
    }

    @Test func aPhotoOfPaperIsNotClean() throws {
        // A vignetted, grainy sheet with a 7 on it: the paper path.
        let photo = PreprocessorTests.draw(width: 240, height: 200, box: (80, 50, 80, 100), path: PreprocessorTests.sevenPath, stroke: 9,
                                           ink: { _ in 40 }, paper: { x, y in
            let d = hypot(Double(x - 120), Double(y - 100)) / 160
            return UInt8(max(0, min(255, 215 - 90 * d * d + Double((x * 7919 + y * 104729) % 13) - 6)))
        })
        let digit = try DigitPreprocessor().prepare(photo, path: "photo.png")
        #expect(!digit.clean)
        #expect(PreprocessorTests.inkBox(digit.image).height == 20)
    }

    @Test func cleanDrawingsGetTheTextbookPath() throws {
        let drawing = PreprocessorTests.draw(width: 300, height: 300, box: (60, 40, 150, 220), path: PreprocessorTests.sevenPath, stroke: 18)
        let digit = try DigitPreprocessor().prepare(drawing, path: "seven.png")
        #expect(digit.clean && digit.inverted && !digit.polarityAmbiguous)
        #expect(PreprocessorTests.inkBox(digit.image).height == 20)
        let centre = PreprocessorTests.centreOfMass(digit.image)
        #expect(abs(centre.x - 14) <= 1 && abs(centre.y - 14) <= 1)
    }

    // MARK: The verdict

    /// A 28×28 linear model with a reject class, whose logits are fixed by its bias, so the
    /// verdict is known: class 10 ("not a digit") or digit 3 wins.
    static func fixedModel(notDigitWins: Bool) throws -> Sequential {
        let architecture = Architecture.mlp(hidden: [], activation: .relu, dropout: 0).withRejectClass()
        #expect(architecture.classes == 11 && architecture.digitClasses == 10 && architecture.layers.last?.outFeatures == 11)
        let model = try Sequential(architecture, random: nil, dropoutRandom: RandomGenerator(seed: 1))
        let bias = model.parameters.last!.value.data
        bias[3] = 2
        bias[10] = notDigitWins ? 4 : -4
        return model
    }

    @Test func theRejectClassGivesTheVerdict() throws {
        let picture = try PNG.encode(width: 28, height: 28, layout: .gray, samples: Self.tightZero(side: 28, inkBright: true).pixels)
        let refusing = try DigitReader(model: Self.fixedModel(notDigitWins: true), path: "fixed")
        let reading = try refusing.read(picture, name: "zero.png")
        #expect(reading.rejected && reading.digit == nil && reading.bestGuess == 3 && reading.reason != nil)
        #expect(reading.probabilities.count == 10 && reading.notDigitProbability! > 0.7)
        // --accept-all, or a threshold above the probability, reads the digit.
        let accepting = try DigitReader(model: Self.fixedModel(notDigitWins: true), path: "fixed", options: ReaderOptions(acceptAll: true))
        #expect(try accepting.read(picture, name: "zero.png").digit == 3)
        let lenient = try DigitReader(model: Self.fixedModel(notDigitWins: true), path: "fixed", options: ReaderOptions(rejectThreshold: 0.99))
        #expect(try lenient.read(picture, name: "zero.png").digit == 3)
        let reading2 = try DigitReader(model: Self.fixedModel(notDigitWins: false), path: "fixed").read(picture, name: "zero.png")
        #expect(!reading2.rejected && reading2.digit == 3)
        // The checkpoint's calibrated threshold is used when none is given.
        let calibrated = try DigitReader(model: Self.fixedModel(notDigitWins: true), path: "fixed", metadata: ["reject_threshold": "0.999"])
        #expect(calibrated.rejectThreshold == Float(0.999))
    }

    /// An ensemble of a model that says "not a digit" and one that says 3 averages them: the
    /// mean not-a-digit probability decides, and a member with other classes is refused.
    @Test func anEnsembleReadsWithTheMeanOfItsModels() throws {
        let picture = try PNG.encode(width: 28, height: 28, layout: .gray, samples: Self.tightZero(side: 28, inkBright: true).pixels)
        let refusing = try Self.fixedModel(notDigitWins: true), accepting = try Self.fixedModel(notDigitWins: false)
        let alone = try DigitReader(model: refusing, path: "r").read(picture, name: "zero.png")
        let ensemble = try DigitReader(models: [refusing, accepting], paths: ["r", "a"], metadata: [[:], [:]])
        #expect(ensemble.ensembleSize == 2 && ensemble.modelPath == "r + a")
        let reading = try ensemble.read(picture, name: "zero.png")
        let other = try DigitReader(model: accepting, path: "a").read(picture, name: "zero.png")
        #expect(abs(reading.notDigitProbability! - (alone.notDigitProbability! + other.notDigitProbability!) / 2) < 1e-6)
        #expect(reading.rejected == (reading.notDigitProbability! >= 0.5))
        let tenClasses = try Sequential(Architecture.mlp(hidden: [], activation: .relu, dropout: 0), random: nil,
                                        dropoutRandom: RandomGenerator(seed: 1))
        #expect(throws: ReaderError.self) { try DigitReader(models: [refusing, tenClasses], paths: ["r", "ten"], metadata: [[:], [:]]) }
    }

    @Test func predictionsNeverNameTheRejectClass() throws {
        let model = try Self.fixedModel(notDigitWins: true)
        let dataset = DigitDataset(rows: 28, columns: 28, pixels: [UInt8](repeating: 0, count: 2 * 784), labels: [3, 10], classes: 11,
                                   imagesPath: "x", labelsPath: "x")
        let predictions = Predictions.compute(model, on: dataset)
        #expect(predictions.predicted == [3, 3] && predictions.digitClasses == 10 && predictions.classes == 11)
        #expect(predictions.top(3, at: 0).allSatisfy { $0.digit < 10 })
        #expect(predictions.score(labels: [3, 10]).correct == 1)
    }

    @Test func manyFilesKeepTheirErrorsInPlace() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("reader-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let good = directory + "/good.jpg", bad = directory + "/bad.png"
        try Data(Self.grayJPEG).write(to: URL(fileURLWithPath: good))
        try Data("no".utf8).write(to: URL(fileURLWithPath: bad))
        let reader = try DigitReader(model: Self.fixedModel(notDigitWins: false), path: "fixed")
        let outcomes = reader.read(files: [good, bad, good])
        guard case .read(let first) = outcomes[0], case .failed(let error) = outcomes[1], case .read(let third) = outcomes[2] else {
            Issue.record("expected read, failed, read"); return
        }
        #expect(first.digit == 3 && third.digit == 3 && error.message.contains("bad.png"))
    }
}

/// The training side of the reader: extra data with a reject class, and the fill augmentation.
@Suite struct ExtraDataTests {
    @Test func extraPicturesGoBeforeTheValidationImages() throws {
        let mnist = DigitDataset(rows: 2, columns: 2, pixels: [UInt8](0..<16), labels: [1, 2, 3, 4], classes: 10, imagesPath: "m", labelsPath: "m")
        let extra = DigitDataset(rows: 2, columns: 2, pixels: [UInt8](repeating: 200, count: 8), labels: [10, 7], classes: 11, imagesPath: "e", labelsPath: "e")
        let joined = try mnist.inserting(extra, beforeLast: 1)
        #expect(joined.labels == [1, 2, 3, 10, 7, 4] && joined.classes == 11)
        #expect(Array(joined.pixels[12..<20]) == [UInt8](repeating: 200, count: 8) && Array(joined.pixels[20...]) == [12, 13, 14, 15])
        let wrongSize = DigitDataset(rows: 3, columns: 3, pixels: [UInt8](repeating: 0, count: 9), labels: [10], classes: 11, imagesPath: "e", labelsPath: "e")
        #expect(throws: InputError.self) { try mnist.inserting(wrongSize, beforeLast: 1) }
        #expect(DigitDataset.labelsPath(forImages: "/d/negatives-images-idx3-ubyte") == "/d/negatives-labels-idx1-ubyte")
        #expect(DigitDataset.labelsPath(forImages: "/d/pictures.idx") == nil)
    }

    @Test func theRejectClassIsRecordedInTheArchitecture() throws {
        let plain = Architecture.cnn()
        let rejecting = plain.withRejectClass()
        #expect(plain.rejectClass == nil && !plain.json().contains("reject_class"))
        #expect(rejecting.json().contains("\"reject_class\":true"))
        #expect(try Architecture.decode(json: rejecting.json()) == rejecting)
        #expect(rejecting.withRejectClass() == rejecting)
    }

    @Test func fillStretchesTheDigitToItsBox() throws {
        let spec = try AugmentationSpec.parse("shift=0,fill=1")
        #expect(spec.fill == 1 && spec.description == "fill=1")
        #expect(try AugmentationSpec.parse(spec.description) == spec)
        #expect(throws: AugmentationError.self) { try AugmentationSpec.parse("fill=2") }
        // A thin vertical bar (a 1) 4 pixels wide and 20 tall.
        var pixels = [UInt8](repeating: 0, count: 28 * 28)
        for y in 4..<24 { for x in 12..<16 { pixels[y * 28 + x] = 255 } }
        let augmenter = Augmenter(spec: spec, rows: 28, columns: 28)
        let output = UnsafeMutablePointer<Float>.allocate(capacity: 28 * 28)
        defer { output.deallocate() }
        pixels.withUnsafeBufferPointer { augmenter.augment($0.baseAddress!, into: output, random: RandomGenerator(seed: 3)) }
        // Stretched across the 20×20 box in the middle, nothing outside it.
        var minX = 28, maxX = -1
        for y in 0..<28 { for x in 0..<28 where output[y * 28 + x] > 127 { minX = min(minX, x); maxX = max(maxX, x) } }
        #expect(minX == 4 && maxX == 23)
        #expect((0..<28).allSatisfy { output[$0] == 0 && output[27 * 28 + $0] == 0 })
    }
}
