// gzip through zlib: round trips on made-up data, and every way a stream can be damaged.
import Testing
@_spi(Tools) @testable import DigitsKit

@Suite struct GzipTests {
    /// Made-up data with some structure, so it compresses, and some noise, so it is not trivial.
    static func sample(count: Int, seed: UInt32 = 1) -> [UInt8] {
        var state = seed
        return (0..<count).map { index in
            state = state &* 1_664_525 &+ 1_013_904_223
            return index % 7 == 0 ? UInt8(truncatingIfNeeded: state >> 24) : UInt8(index % 251)
        }
    }

    @Test(arguments: [0, 1, 1000, 300_000])
    func roundTrip(count: Int) throws {
        let original = Self.sample(count: count)
        let compressed = Gzip.compress(original)
        #expect(Gzip.isGzip(compressed))
        #expect(try Gzip.decompress(compressed, path: "made-up.gz") == original)
    }

    @Test func detectsGzipByContentOnly() {
        #expect(Gzip.isGzip([0x1f, 0x8b, 0x08, 0x00]))
        #expect(!Gzip.isGzip([0x1f, 0x8b]))
        #expect(!Gzip.isGzip([0x00, 0x00, 0x08, 0x03]))
        #expect(!Gzip.isGzip([UInt8]("plain text".utf8)))
    }

    @Test func concatenatedMembersDecodeAsOne() throws {
        let first = Self.sample(count: 5000, seed: 1), second = Self.sample(count: 3000, seed: 2)
        let joined = Gzip.compress(first) + Gzip.compress(second)
        #expect(try Gzip.decompress(joined, path: "two.gz") == first + second)
    }

    @Test func truncatedStreamIsAnError() {
        let compressed = Gzip.compress(Self.sample(count: 100_000))
        for cut in [compressed.count - 1, compressed.count - 8, compressed.count / 2, 12] {
            #expect(throws: GzipError.self) {
                try Gzip.decompress(Array(compressed.prefix(cut)), path: "cut.gz")
            }
        }
        do {
            _ = try Gzip.decompress(Array(compressed.prefix(compressed.count / 2)), path: "cut.gz")
        } catch let error as GzipError {
            guard case .truncated(let path, let produced) = error else {
                Issue.record("expected .truncated, got \(error)"); return
            }
            #expect(path == "cut.gz")
            #expect(produced > 0 && produced < 100_000)
            #expect(error.message.hasPrefix("cut.gz: truncated gzip stream"))
        } catch { Issue.record("unexpected \(error)") }
    }

    @Test func corruptChecksumIsAnError() {
        var compressed = Gzip.compress(Self.sample(count: 10_000))
        compressed[compressed.count - 6] ^= 0xff  // inside the CRC-32 trailer
        #expect(throws: GzipError.self) { try Gzip.decompress(compressed, path: "crc.gz") }
        do { _ = try Gzip.decompress(compressed, path: "crc.gz") } catch let error as GzipError {
            guard case .corrupt = error else { Issue.record("expected .corrupt, got \(error)"); return }
        } catch { Issue.record("unexpected \(error)") }
    }

    @Test func corruptBlockIsAnError() {
        var compressed = Gzip.compress(Self.sample(count: 10_000))
        for index in 10..<30 { compressed[index] = 0xff }
        #expect(throws: GzipError.self) { try Gzip.decompress(compressed, path: "bad.gz") }
    }

    @Test func trailingGarbageIsAnError() {
        let compressed = Gzip.compress(Self.sample(count: 1000)) + [1, 2, 3, 4, 5]
        #expect(throws: GzipError.trailingGarbage(path: "tail.gz", bytes: 5)) {
            try Gzip.decompress(compressed, path: "tail.gz")
        }
    }

    @Test func limitIsEnforced() {
        let compressed = Gzip.compress(Self.sample(count: 10_000))
        #expect(throws: GzipError.tooLarge(path: "big.gz", limit: 4096)) {
            try Gzip.decompress(compressed, path: "big.gz", limit: 4096)
        }
        #expect((try? Gzip.decompress(compressed, path: "exact.gz", limit: 10_000))?.count == 10_000)
    }

    @Test func deflateBoundOnExpansion() {
        // The real maximum: zeros compress about 1030:1, which must stay within the bound.
        let zeros = [UInt8](repeating: 0, count: 10_000_000)
        let compressed = Gzip.compress(zeros, level: 9)
        #expect(Gzip.maximumDecompressedSize(compressedBytes: compressed.count) >= zeros.count)
        #expect(Gzip.maximumDecompressedSize(compressedBytes: Int.max / 2) == Int.max)
    }
}
