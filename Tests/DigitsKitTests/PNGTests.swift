// PNG reading through libpng's simplified API: files made from the specification in each
// colour type, depth and interlace method decode to known gray values; PngSuite decodes,
// and its broken files are refused with an error.
import Foundation
import Testing
@_spi(Tools) @testable import DigitsKit

@Suite struct PNGTests {
    /// 8-bit value from a 16-bit sample, rounded.
    static func scaled16(_ value: Int) -> UInt8 { UInt8((value * 255 + 32767) / 65535) }

    /// A 16-bit pattern with many distinct values, so a decoder that mixes up pixels shows it.
    static func pattern16(_ x: Int, _ y: Int) -> Int { (x * 4099 + y * 7919 + x * y * 131) % 65536 }

    @Test(arguments: [false, true])
    func gray8(interlaced: Bool) throws {
        let encoder = RawPNGEncoder(width: 13, height: 11, bitDepth: 8, colorType: .gray, interlaced: interlaced)
        let bytes = encoder.encode { x, y in [(x * 19 + y * 23) % 256] }
        let image = try PNG.decodeGray(bytes, path: "g8.png")
        #expect(image.width == 13 && image.height == 11)
        for y in 0..<11 { for x in 0..<13 { #expect(image[x, y] == UInt8((x * 19 + y * 23) % 256)) } }
    }

    @Test(arguments: [1, 2, 4])
    func lowBitGray(depth: Int) throws {
        let levels = 1 << depth
        let encoder = RawPNGEncoder(width: 9, height: 3, bitDepth: depth, colorType: .gray)
        let image = try PNG.decodeGray(encoder.encode { x, y in [(x + y) % levels] }, path: "low.png")
        for y in 0..<3 {
            for x in 0..<9 { #expect(image[x, y] == UInt8(((x + y) % levels) * 255 / (levels - 1))) }
        }
    }

    /// The libpng 1.6.39 trap: 16-bit images, interlaced ones most of all (libpng issue 853).
    @Test(arguments: [false, true])
    func gray16(interlaced: Bool) throws {
        let encoder = RawPNGEncoder(width: 17, height: 15, bitDepth: 16, colorType: .gray, interlaced: interlaced)
        let image = try PNG.decodeGray(encoder.encode { x, y in [Self.pattern16(x, y)] }, path: "g16.png")
        var wrong = 0
        for y in 0..<15 { for x in 0..<17 where image[x, y] != Self.scaled16(Self.pattern16(x, y)) { wrong += 1 } }
        #expect(wrong == 0, "\(wrong) of \(17 * 15) pixels differ from the 16-bit samples scaled to 8 bits")
    }

    @Test(arguments: [false, true])
    func rgb16GrayColours(interlaced: Bool) throws {
        let encoder = RawPNGEncoder(width: 10, height: 10, bitDepth: 16, colorType: .rgb, interlaced: interlaced)
        let image = try PNG.decodeGray(encoder.encode { x, y in
            let v = Self.pattern16(x, y); return [v, v, v]
        }, path: "rgb16.png")
        for y in 0..<10 { for x in 0..<10 { #expect(image[x, y] == Self.scaled16(Self.pattern16(x, y))) } }
    }

    @Test(arguments: [false, true])
    func grayAlpha16CompositesOntoWhite(interlaced: Bool) throws {
        let alphas = [0, 65535, 32768, 16384]
        let encoder = RawPNGEncoder(width: 4, height: 4, bitDepth: 16, colorType: .grayAlpha, interlaced: interlaced)
        let image = try PNG.decodeGray(encoder.encode { x, y in [y * 20000, alphas[x]] }, path: "ga16.png")
        for y in 0..<4 {
            #expect(image[0, y] == 255)                            // transparent: white paper
            #expect(image[1, y] == Self.scaled16(y * 20000))       // opaque: the sample
            let half = Double(y * 20000) * 32768 / 65535 + 65535 * (1 - 32768.0 / 65535)
            #expect(abs(Int(image[2, y]) - Int((half * 255 / 65535).rounded())) <= 1)
        }
    }

    /// Onto black instead: white ink on a transparent canvas stays visible.
    @Test(arguments: [8, 16])
    func grayAlphaCompositesOntoBlack(bitDepth: Int) throws {
        let top = bitDepth == 8 ? 255 : 65535
        let encoder = RawPNGEncoder(width: 3, height: 1, bitDepth: bitDepth, colorType: .grayAlpha)
        let pixels: [[Int]] = [[top, 0], [top, top], [top, (top + 1) / 2]]  // transparent, opaque white, half
        let png = encoder.encode { x, _ in pixels[x] }
        let onWhite = try PNG.decodeGray(png, path: "ga.png")
        let onBlack = try PNG.decodeGray(png, path: "ga.png", onBlack: true)
        #expect(onWhite.pixels == [255, 255, 255])  // white ink vanishes on white paper
        #expect(onBlack.pixels[0] == 0 && onBlack.pixels[1] == 255 && abs(Int(onBlack.pixels[2]) - 128) <= 1)
    }

    @Test func rgba8CompositesOntoWhite() throws {
        let encoder = RawPNGEncoder(width: 4, height: 1, bitDepth: 8, colorType: .rgba)
        let pixels: [[Int]] = [[0, 0, 0, 0], [0, 0, 0, 255], [0, 0, 0, 128], [200, 200, 200, 255]]
        let image = try PNG.decodeGray(encoder.encode { x, _ in pixels[x] }, path: "rgba.png")
        #expect(image.pixels[0] == 255)  // fully transparent black ink: paper shows
        #expect(image.pixels[1] == 0)
        #expect(abs(Int(image.pixels[2]) - 127) <= 1)
        #expect(image.pixels[3] == 200)
    }

    @Test func rgb8GrayColoursAreExact() throws {
        let encoder = RawPNGEncoder(width: 16, height: 16, bitDepth: 8, colorType: .rgb)
        let image = try PNG.decodeGray(encoder.encode { x, y in let v = x * 16 + y; return [v, v, v] }, path: "rgb.png")
        for y in 0..<16 { for x in 0..<16 { #expect(image[x, y] == UInt8(x * 16 + y)) } }
    }

    @Test func rgb8ColoursBecomeLuminance() throws {
        let encoder = RawPNGEncoder(width: 3, height: 1, bitDepth: 8, colorType: .rgb)
        let colours = [[255, 0, 0], [0, 255, 0], [0, 0, 255]]
        let image = try PNG.decodeGray(encoder.encode { x, _ in colours[x] }, path: "rgb.png")
        // Luminance weights: green > red > blue, none black or white.
        #expect(image.pixels[1] > image.pixels[0] && image.pixels[0] > image.pixels[2])
        #expect(image.pixels.allSatisfy { $0 > 0 && $0 < 255 })
    }

    @Test(arguments: [1, 2, 4, 8])
    func palette(depth: Int) throws {
        let entries = 1 << depth
        var encoder = RawPNGEncoder(width: 8, height: 4, bitDepth: depth, colorType: .palette)
        encoder.palette = (0..<entries).map { let v = UInt8($0 * 255 / (entries - 1)); return (v, v, v) }
        let image = try PNG.decodeGray(encoder.encode { x, y in [(x * 3 + y) % entries] }, path: "p.png")
        for y in 0..<4 {
            for x in 0..<8 { #expect(image[x, y] == UInt8(((x * 3 + y) % entries) * 255 / (entries - 1))) }
        }
    }

    @Test func paletteWithTransparency() throws {
        var encoder = RawPNGEncoder(width: 3, height: 1, bitDepth: 8, colorType: .palette, interlaced: true)
        encoder.palette = [(0, 0, 0), (0, 0, 0), (90, 90, 90)]
        encoder.transparency = [0, 255]  // entry 0 transparent, 1 opaque, 2 opaque by default
        let image = try PNG.decodeGray(encoder.encode { x, _ in [x] }, path: "ptrns.png")
        #expect(image.pixels == [255, 0, 90])
    }

    @Test func gray8WithTransparencyKey() throws {
        var encoder = RawPNGEncoder(width: 2, height: 1, bitDepth: 8, colorType: .gray)
        encoder.transparency = [0, 40]  // samples equal to 40 are transparent
        let image = try PNG.decodeGray(encoder.encode { x, _ in [x == 0 ? 40 : 41] }, path: "key.png")
        #expect(image.pixels == [255, 41])
    }

    // MARK: Writer

    @Test func writerRoundTrips() throws {
        let gray = (0..<35).map { UInt8($0 * 7) }
        let png = try PNG.encode(width: 7, height: 5, layout: .gray, samples: gray)
        #expect(try PNG.decodeGray(png, path: "w.png").pixels == gray)
        #expect(try PNG.info(of: png, path: "w.png") == PNG.Info(width: 7, height: 5, hasColor: false, hasAlpha: false, is16Bit: false))

        let rgb: [UInt8] = gray.flatMap { value -> [UInt8] in [value, value, value] }
        let rgbPNG = try PNG.encode(width: 7, height: 5, layout: .rgb, samples: rgb)
        #expect(try PNG.decodeGray(rgbPNG, path: "w.png").pixels == gray)
        #expect(try PNG.info(of: rgbPNG, path: "w.png").hasColor)

        let rgba: [UInt8] = gray.flatMap { value -> [UInt8] in [value, value, value, 255] }
        #expect(try PNG.decodeGray(PNG.encode(width: 7, height: 5, layout: .rgba, samples: rgba), path: "w.png").pixels == gray)

        let directory = TestFiles.scratchDirectory()
        try PNG.write(GrayImage(width: 7, height: 5, pixels: gray), to: "\(directory)/g.png")
        #expect(try PNG.readGray(contentsOf: "\(directory)/g.png").pixels == gray)
    }

    // MARK: Bad input

    @Test func notAPNG() {
        #expect(throws: PNGError.notPNG(path: "t.png", found: Array("GIF89a\n\n".utf8))) {
            try PNG.decodeGray(Array("GIF89a\n\nmore".utf8), path: "t.png")
        }
        #expect(throws: PNGError.notPNG(path: "e.png", found: [])) { try PNG.decodeGray([], path: "e.png") }
    }

    @Test func sizeLimitFromHeader() throws {
        let bytes = RawPNGEncoder(width: 20, height: 20, bitDepth: 8, colorType: .gray).encode { _, _ in [0] }
        #expect(throws: PNGError.tooLarge(path: "big.png", width: 20, height: 20, limit: 399)) {
            try PNG.decodeGray(bytes, path: "big.png", maxPixels: 399)
        }
        // A header claiming 60000×60000 over a tiny body is refused before anything is decoded.
        var huge = bytes
        huge.replaceSubrange(16..<24, with: [0, 0, 0xEA, 0x60, 0, 0, 0xEA, 0x60])
        let crc = crc32Of(Array(huge[12..<29]))
        huge.replaceSubrange(29..<33, with: crc)
        #expect(throws: PNGError.tooLarge(path: "huge.png", width: 60000, height: 60000, limit: PNG.maxPixels)) {
            try PNG.decodeGray(huge, path: "huge.png")
        }
    }

    @Test func truncatedPNG() {
        let bytes = RawPNGEncoder(width: 30, height: 30, bitDepth: 8, colorType: .gray).encode { x, y in [x ^ y] }
        #expect(throws: PNGError.self) { try PNG.decodeGray(Array(bytes.prefix(bytes.count - 30)), path: "cut.png") }
    }

    private func crc32Of(_ bytes: [UInt8]) -> [UInt8] {
        var table = [UInt32](repeating: 0, count: 256)
        for n in 0..<256 {
            var c = UInt32(n)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            table[n] = c
        }
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xff)] ^ (crc >> 8) }
        crc ^= 0xFFFF_FFFF
        return [UInt8(crc >> 24), UInt8((crc >> 16) & 0xff), UInt8((crc >> 8) & 0xff), UInt8(crc & 0xff)]
    }
}

/// PngSuite (Willem van Schaik): every valid file decodes at its stated size; every x*.png
/// is refused with a PNGError.
@Suite struct PngSuiteTests {
    static let files: [String] = {
        guard let directory = TestFiles.pngSuite else { return [] }
        return ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasSuffix(".png") && $0 != "PngSuite.png" }.sorted()
    }()

    /// The sizes PngSuite documents: sNN… files are NN×NN; the pixel-aspect files cdfn, cdhn
    /// and cdsn are 8×32, 32×8 and 8×8; all others are 32×32.
    static func statedSize(_ name: String) -> (width: Int, height: Int) {
        if name.hasPrefix("s"), let size = Int(name.dropFirst().prefix(2)) { return (size, size) }
        switch name.prefix(4) {
        case "cdfn": return (8, 32)
        case "cdhn": return (32, 8)
        case "cdsn": return (8, 8)
        default: return (32, 32)
        }
    }

    @Test func suiteIsPresent() {
        #expect(TestFiles.pngSuite != nil, "PngSuite not found: run scripts/fetch-pngsuite, or set DIGITS_PNGSUITE_DIR")
        #expect(Self.files.count == 174)
        #expect(Self.files.filter { $0.hasPrefix("x") }.count == 14)
    }

    @Test(arguments: files.filter { !$0.hasPrefix("x") })
    func validFileDecodes(name: String) throws {
        let image = try PNG.readGray(contentsOf: "\(TestFiles.pngSuite!)/\(name)")
        let stated = Self.statedSize(name)
        #expect(image.width == stated.width && image.height == stated.height)
    }

    @Test(arguments: files.filter { $0.hasPrefix("x") })
    func brokenFileIsRefused(name: String) {
        let path = "\(TestFiles.pngSuite!)/\(name)"
        do {
            let image = try PNG.readGray(contentsOf: path)
            Issue.record("\(name) decoded as \(image.width)×\(image.height); it is broken on purpose")
        } catch let error as PNGError {
            #expect(error.message.hasPrefix(path))
        } catch {
            Issue.record("\(name): expected a PNGError, got \(error)")
        }
    }

    /// Interlacing must not change a picture: each basi* file equals its basn* twin. This is
    /// where libpng's 16-bit interlace bug (issue 853) would show.
    @Test(arguments: files.filter { $0.hasPrefix("basi") })
    func interlacedMatchesPlain(name: String) throws {
        let directory = TestFiles.pngSuite!
        let interlaced = try PNG.readGray(contentsOf: "\(directory)/\(name)")
        let plain = try PNG.readGray(contentsOf: "\(directory)/basn\(name.dropFirst(4))")
        #expect(interlaced == plain)
    }
}
