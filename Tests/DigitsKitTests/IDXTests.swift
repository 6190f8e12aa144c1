// The IDX format: every element type round-trips, raw and gzip; every malformed header or
// payload is a typed error that names the file, raised before any large allocation.
import Testing
@_spi(Tools) @testable import DigitsKit

@Suite struct IDXTests {
    static let examples: [IDXArray] = [
        IDXArray(shape: [3, 2, 2], values: .ubyte([0, 1, 2, 127, 128, 200, 255, 3, 4, 5, 6, 7])),
        IDXArray(shape: [5], values: .byte([-128, -1, 0, 1, 127])),
        IDXArray(shape: [2, 3], values: .short([-32768, -2, 0, 1, 258, 32767])),
        IDXArray(shape: [4], values: .int([Int32.min, -70_000, 65_537, Int32.max])),
        IDXArray(shape: [2, 2], values: .float([-1.5, 0, .pi, Float.greatestFiniteMagnitude])),
        IDXArray(shape: [1, 3], values: .double([-2.25e300, 1e-300, .pi])),
    ]

    @Test(arguments: examples, [false, true])
    func roundTrip(array: IDXArray, compressed: Bool) throws {
        let encoded = array.encoded()
        let bytes = compressed ? Gzip.compress(encoded) : encoded
        #expect(try IDXArray.decode(bytes, path: "x.idx") == array)
    }

    @Test func encodingIsBigEndianWithMagic() {
        let array = IDXArray(shape: [2], values: .short([0x0102, -1]))
        #expect(array.encoded() == [0, 0, 0x0B, 1, 0, 0, 0, 2, 0x01, 0x02, 0xff, 0xff])
        let floats = IDXArray(shape: [1], values: .float([1.0]))
        #expect(floats.encoded() == [0, 0, 0x0D, 1, 0, 0, 0, 1, 0x3f, 0x80, 0, 0])
    }

    @Test func writeAndReadFiles() throws {
        let directory = TestFiles.scratchDirectory()
        let array = Self.examples[0]
        // Names lie on purpose: detection is by content.
        try array.write(to: "\(directory)/looks-raw.idx", compressed: true)
        try array.write(to: "\(directory)/looks-compressed.gz", compressed: false)
        #expect(try IDXArray.read(contentsOf: "\(directory)/looks-raw.idx") == array)
        #expect(try IDXArray.read(contentsOf: "\(directory)/looks-compressed.gz") == array)
    }

    @Test func emptyDimensionIsValid() throws {
        let empty = IDXArray(shape: [0, 28, 28], values: .ubyte([]))
        #expect(try IDXArray.decode(empty.encoded(), path: "e.idx") == empty)
    }

    // MARK: Malformed input

    @Test func wrongMagic() {
        #expect(throws: IDXError.badMagic(path: "f", found: [0x50, 0x4b, 0x03, 0x04])) {
            try IDXArray.decode([0x50, 0x4b, 0x03, 0x04, 0, 0], path: "f")
        }
    }

    @Test func unsupportedType() {
        #expect(throws: IDXError.unsupportedType(path: "f", typeByte: 0x0A)) {
            try IDXArray.decode([0, 0, 0x0A, 1, 0, 0, 0, 1, 0], path: "f")
        }
    }

    @Test func zeroDimensions() {
        #expect(throws: IDXError.noDimensions(path: "f")) { try IDXArray.decode([0, 0, 8, 0], path: "f") }
    }

    @Test func truncatedHeader() {
        #expect(throws: IDXError.headerTruncated(path: "f", expected: 4, found: 2)) {
            try IDXArray.decode([0, 0], path: "f")
        }
        #expect(throws: IDXError.headerTruncated(path: "f", expected: 16, found: 10)) {
            try IDXArray.decode([0, 0, 8, 3, 0, 0, 0, 1, 0, 0], path: "f")
        }
        // The same inside gzip.
        #expect(throws: IDXError.headerTruncated(path: "f.gz", expected: 16, found: 10)) {
            try IDXArray.decode(Gzip.compress([0, 0, 8, 3, 0, 0, 0, 1, 0, 0]), path: "f.gz")
        }
    }

    @Test func truncatedData() {
        var bytes = IDXArray(shape: [10, 2], values: .short(Array(0..<20))).encoded()
        bytes.removeLast(3)
        #expect(throws: IDXError.truncatedData(path: "f", shape: [10, 2], type: .short, expectedBytes: 40, foundBytes: 37)) {
            try IDXArray.decode(bytes, path: "f")
        }
        // A gzip stream that ends before the payload does.
        let compressed = Gzip.compress(Array(bytes.prefix(30)))
        #expect(throws: IDXError.truncatedData(path: "f.gz", shape: [10, 2], type: .short, expectedBytes: 40, foundBytes: 18)) {
            try IDXArray.decode(compressed, path: "f.gz")
        }
    }

    @Test func truncatedGzipFile() throws {
        let array = IDXArray(shape: [200, 28, 28], values: .ubyte(GzipTests.sample(count: 200 * 784)))
        let compressed = Gzip.compress(array.encoded())
        let cut = Array(compressed.prefix(compressed.count / 2))
        do {
            _ = try IDXArray.decode(cut, path: "cut.gz")
            Issue.record("a truncated .gz decoded")
        } catch let error as IDXError {
            guard case .truncatedData(let path, _, _, let expected, let found) = error else {
                Issue.record("expected .truncatedData, got \(error)"); return
            }
            #expect(path == "cut.gz" && expected == 156_800 && found < expected)
        }
    }

    @Test func trailingBytes() {
        let bytes = IDXArray(shape: [3], values: .ubyte([1, 2, 3])).encoded() + [9, 9]
        #expect(throws: IDXError.trailingBytes(path: "f", shape: [3], type: .ubyte, expectedBytes: 3, extraBytes: 2)) {
            try IDXArray.decode(bytes, path: "f")
        }
        #expect(throws: IDXError.trailingBytes(path: "f.gz", shape: [3], type: .ubyte, expectedBytes: 3, extraBytes: 2)) {
            try IDXArray.decode(Gzip.compress(bytes), path: "f.gz")
        }
    }

    /// A 20-byte file that claims 4 billion images fails at once, raw or compressed, without
    /// allocating: an allocation of 3 TB would crash the test process instead.
    @Test func hugeClaimFailsBeforeAllocating() {
        let header: [UInt8] = [0, 0, 8, 3, 0xEE, 0x6B, 0x28, 0x00, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2, 3, 4]
        #expect(header.count == 20)
        let unlimited = IDXLimits(maxPayloadBytes: Int.max, maxFileBytes: Int.max)
        #expect(throws: IDXError.truncatedData(path: "f", shape: [4_000_000_000, 28, 28], type: .ubyte,
                                               expectedBytes: 3_136_000_000_000, foundBytes: 4)) {
            try IDXArray.decode(header, path: "f", limits: unlimited)
        }
        let compressed = Gzip.compress(header)
        do {
            _ = try IDXArray.decode(compressed, path: "f.gz", limits: unlimited)
            Issue.record("decoded an impossible file")
        } catch let error as IDXError {
            guard case .exceedsData(_, _, _, let declared, _, let maximum) = error else {
                Issue.record("expected .exceedsData, got \(error)"); return
            }
            #expect(declared == 3_136_000_000_000 && maximum < 100_000)
        } catch { Issue.record("unexpected \(error)") }
        // The limit applies to files that do hold their data.
        let real = IDXArray(shape: [50, 28, 28], values: .ubyte(Array(repeating: 7, count: 50 * 784)))
        #expect(throws: IDXError.overLimit(path: "f", shape: [50, 28, 28], type: .ubyte, declaredBytes: 39_200, limit: 39_199)) {
            try IDXArray.decode(real.encoded(), path: "f", limits: IDXLimits(maxPayloadBytes: 39_199))
        }
    }

    @Test func overLimit() {
        let bytes = IDXArray(shape: [100], values: .int(Array(0..<100))).encoded()
        #expect(throws: IDXError.overLimit(path: "f", shape: [100], type: .int, declaredBytes: 400, limit: 399)) {
            try IDXArray.decode(bytes, path: "f", limits: IDXLimits(maxPayloadBytes: 399))
        }
    }

    @Test func dimensionProductOverflows() {
        var header: [UInt8] = [0, 0, 0x0E, 3]
        for _ in 0..<3 { header += [0xff, 0xff, 0xff, 0xff] }
        #expect(throws: IDXError.dimensionsOverflow(path: "f", shape: [4_294_967_295, 4_294_967_295, 4_294_967_295])) {
            try IDXArray.decode(header, path: "f")
        }
    }

    @Test func textFileNamedLikeIDX() throws {
        let directory = TestFiles.scratchDirectory()
        let path = TestFiles.write(Array("hello, this is not IDX\n".utf8), named: "train-images-idx3-ubyte", in: directory)
        #expect(throws: IDXError.badMagic(path: path, found: Array("hell".utf8))) {
            try IDXArray.read(contentsOf: path)
        }
    }

    @Test func messagesNameTheFileAndBothSides() {
        let error = IDXError.truncatedData(path: "data/x.idx", shape: [2, 3], type: .ubyte, expectedBytes: 6, foundBytes: 4)
        #expect(error.message == "data/x.idx: truncated IDX data: 2×3 ubyte needs 6 bytes, found 4 bytes")
        #expect(error.hint != nil)
        let magic = IDXError.badMagic(path: "y", found: [1, 0xab, 0, 3])
        #expect(magic.message == "y: not an IDX file: expected magic 00 00 <type> <dims>, found 01 ab 00 03")
    }
}
