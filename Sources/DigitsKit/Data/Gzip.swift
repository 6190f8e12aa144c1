// gzip in memory through zlib (RFC 1952 framing, RFC 1951 deflate). Detection is by content:
// the magic bytes 1f 8b and method 08, never the file name.
import CZlib

package enum GzipError: DigitsError, Equatable {
    /// The compressed stream stopped before its end marker and checksum.
    case truncated(path: String, decompressedBytes: Int)
    /// zlib rejected the data (bad header, bad block, CRC or length mismatch).
    case corrupt(path: String, reason: String)
    /// Bytes follow the end of the gzip stream that are not another gzip member.
    case trailingGarbage(path: String, bytes: Int)
    /// The decompressed data would exceed the caller's limit.
    case tooLarge(path: String, limit: Int)

    package var message: String {
        switch self {
        case .truncated(let path, let produced):
            return "\(path): truncated gzip stream: the compressed data ends after \(formatBytes(produced)) of output, before the end-of-stream marker and checksum"
        case .corrupt(let path, let reason):
            return "\(path): corrupt gzip data: \(reason)"
        case .trailingGarbage(let path, let count):
            return "\(path): \(formatBytes(count)) of trailing data after the end of the gzip stream"
        case .tooLarge(let path, let limit):
            return "\(path): decompresses to more than the limit of \(formatBytes(limit))"
        }
    }

    package var hint: String? {
        switch self {
        case .truncated, .corrupt, .trailingGarbage:
            return "the download was probably interrupted or damaged; fetch the file again (scripts/fetch-mnist)"
        case .tooLarge:
            return "this is not the kind of file digits expects"
        }
    }
}

@_spi(Tools) public enum Gzip {
    /// deflate cannot expand data by more than about 1032:1 (a 258-byte match per 2 bits),
    /// so a gzip file of n bytes decompresses to at most this many bytes. Used to reject
    /// headers that promise more data than the file can possibly hold, before allocating.
    public static func maximumDecompressedSize(compressedBytes: Int) -> Int {
        compressedBytes.multipliedReportingOverflow(by: 1032).overflow ? Int.max : compressedBytes * 1032
    }

    /// True when `bytes` start like a gzip member: 1f 8b, method 8 (deflate).
    public static func isGzip(_ bytes: some Collection<UInt8>) -> Bool {
        var iterator = bytes.makeIterator()
        return iterator.next() == 0x1f && iterator.next() == 0x8b && iterator.next() == 0x08
    }

    /// Compresses into a single gzip member.
    public static func compress(_ bytes: [UInt8], level: Int32 = 6) -> [UInt8] {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer { deflateEnd(stream); stream.deinitialize(count: 1); stream.deallocate() }
        // windowBits 15 + 16 asks zlib for a gzip header and trailer instead of zlib's.
        let status = digits_deflateInit2(stream, level, 15 + 16)
        precondition(status == Z_OK, "deflateInit2 failed with \(status): zlib out of memory")

        let bound = Int(deflateBound(stream, uLong(bytes.count)))
        var input = bytes
        return [UInt8](unsafeUninitializedCapacity: bound) { output, written in
            input.withUnsafeMutableBufferPointer { source in
                stream.pointee.next_in = source.baseAddress
                stream.pointee.avail_in = uInt(source.count)
                stream.pointee.next_out = output.baseAddress
                stream.pointee.avail_out = uInt(output.count)
                let result = deflate(stream, Z_FINISH)
                precondition(result == Z_STREAM_END, "deflate did not finish within deflateBound (\(result))")
            }
            written = bound - Int(stream.pointee.avail_out)
        }
    }

    /// Decompresses a whole gzip file (one member or several concatenated) in memory.
    public static func decompress(_ bytes: [UInt8], path: String, limit: Int = 1 << 32) throws -> [UInt8] {
        try bytes.withUnsafeBytes { input in
            let inflater = try GzipInflater(input: input, path: path)
            var output: [UInt8] = []
            let chunk = 1 << 16
            while !inflater.atEnd {
                let start = output.count
                guard start < limit else {
                    // One more byte would go over the limit: only an error if it exists.
                    var probe: UInt8 = 0
                    if try withUnsafeMutableBytes(of: &probe, { try inflater.read(into: $0) }) > 0 {
                        throw GzipError.tooLarge(path: path, limit: limit)
                    }
                    break
                }
                output.append(contentsOf: repeatElement(0, count: min(chunk, limit - start)))
                let produced = try output.withUnsafeMutableBytes { buffer in
                    try inflater.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[start...]))
                }
                output.removeLast(output.count - start - produced)
            }
            return output
        }
    }
}

/// Streaming gzip decompression from a borrowed buffer. `read(into:)` fills the caller's
/// buffer completely unless the stream ends first, so a reader can ask for a header, check
/// it, and only then allocate the payload.
///
/// The borrowed input must stay valid for the inflater's lifetime. z_stream lives at a fixed
/// heap address because zlib keeps a back-pointer to it and refuses a moved stream.
package final class GzipInflater {
    private let stream: UnsafeMutablePointer<z_stream>
    private let input: UnsafeRawBufferPointer
    private var inputOffset = 0  // bytes of `input` handed to zlib so far
    package let path: String
    /// Bytes produced so far.
    package private(set) var produced = 0
    /// True once the last gzip member has ended and no input remains.
    package private(set) var atEnd = false

    package init(input: UnsafeRawBufferPointer, path: String) throws {
        self.input = input
        self.path = path
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // 15 + 16: gzip framing only; zlib checks the CRC-32 and length trailer itself.
        let status = digits_inflateInit2(stream, 15 + 16)
        guard status == Z_OK else {
            stream.deinitialize(count: 1)
            stream.deallocate()
            throw GzipError.corrupt(path: path, reason: "zlib could not start (status \(status))")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Fills `buffer` and returns its size, or returns fewer bytes only when the stream ended.
    /// Throws when the compressed data is corrupt, truncated or followed by garbage.
    package func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var filled = 0
        while filled < buffer.count && !atEnd {
            if stream.pointee.avail_in == 0 {
                guard inputOffset < input.count else {
                    throw GzipError.truncated(path: path, decompressedBytes: produced)
                }
                feedInput()
            }
            // avail_out is 32-bit; very large reads go in 1 GiB steps.
            let request = min(buffer.count - filled, 1 << 30)
            stream.pointee.next_out = buffer.baseAddress!.advanced(by: filled).assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(request)
            let status = inflate(stream, Z_NO_FLUSH)
            let made = request - Int(stream.pointee.avail_out)
            filled += made
            produced += made

            switch status {
            case Z_OK:
                continue
            case Z_BUF_ERROR:
                // No progress possible: zlib needs input that does not exist.
                if stream.pointee.avail_in == 0 && inputOffset >= input.count {
                    throw GzipError.truncated(path: path, decompressedBytes: produced)
                }
            case Z_STREAM_END:
                try finishMember()
            case Z_NEED_DICT:
                throw GzipError.corrupt(path: path, reason: "stream needs a preset dictionary")
            case Z_MEM_ERROR:
                throw GzipError.corrupt(path: path, reason: "zlib ran out of memory")
            default:
                let reason = stream.pointee.msg.map { String(cString: $0) } ?? "status \(status)"
                throw GzipError.corrupt(path: path, reason: reason)
            }
        }
        return filled
    }

    /// Counts what remains (up to `limit` bytes) without keeping it. Used to report trailing data.
    package func drain(limit: Int) throws -> Int {
        var scratch = [UInt8](repeating: 0, count: 1 << 16)
        var total = 0
        while !atEnd && total < limit {
            total += try scratch.withUnsafeMutableBytes { try read(into: $0) }
        }
        return total
    }

    private func feedInput() {
        let count = min(input.count - inputOffset, 1 << 30)
        stream.pointee.next_in = UnsafeMutablePointer(
            mutating: input.baseAddress!.advanced(by: inputOffset).assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(count)
        inputOffset += count
    }

    /// At the end of a member: another member may follow (gzip allows concatenation);
    /// anything else after it is an error.
    private func finishMember() throws {
        let remaining = Int(stream.pointee.avail_in) + (input.count - inputOffset)
        if remaining == 0 {
            atEnd = true
            return
        }
        let next = UnsafeRawBufferPointer(
            start: UnsafeRawPointer(stream.pointee.next_in), count: Int(stream.pointee.avail_in))
        let following = next.count >= 3 ? Array(next.prefix(3)) : Array(next) + Array(input[inputOffset...].prefix(3 - next.count))
        guard Gzip.isGzip(following) else {
            throw GzipError.trailingGarbage(path: path, bytes: remaining)
        }
        inflateReset(stream)
    }
}
