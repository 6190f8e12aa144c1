// JPEG pictures (what phones save), decoded to 8-bit gray by libjpeg-turbo (CJPEG wraps it so
// that its errors come back as codes). Progressive files decode like baseline ones; CMYK and
// YCCK files (print workflows) are converted to gray. The EXIF orientation tag is applied, so
// a photo taken with the phone turned comes out upright. The declared size is checked against
// the same pixel limit as PNG before anything is decoded, and large photos are decoded at
// 1/2, 1/4 or 1/8 scale in the DCT itself when the reader needs fewer pixels: a 12-megapixel
// photo costs a 0.75-megapixel decode.
import CJPEG

/// Why a JPEG picture could not be decoded.
public enum JPEGError: DigitsError, Equatable {
    /// The header at `path` declares `width`×`height` pixels, more than `limit` (or a side over
    /// 65,535); nothing was decoded.
    case tooLarge(path: String, width: Int, height: Int, limit: Int)
    /// The file at `path` is not a JPEG libjpeg-turbo can decode, declares no pixels, or decoded to
    /// an unexpected size; `reason` says which.
    case decodeFailed(path: String, reason: String)
    /// The file at `path` ends before the image data does.
    case truncated(path: String)

    public var message: String {
        switch self {
        case .tooLarge(let path, let width, let height, let limit):
            return "\(path): JPEG is \(width)×\(height) = \(formatCount(width * height)) pixels, over the limit of \(formatCount(limit))"
        case .decodeFailed(let path, let reason):
            return "\(path): invalid JPEG: \(reason)"
        case .truncated(let path):
            return "\(path): truncated JPEG: the data ends before the image does"
        }
    }

    public var hint: String? {
        switch self {
        case .tooLarge: return "scale the picture down; a digit needs only a few hundred pixels a side"
        case .decodeFailed, .truncated: return "the file is damaged or incomplete; copy or export it again"
        }
    }
}

@_spi(Tools) public enum JPEG {
    /// A JPEG starts with SOI (FF D8) and a marker (FF).
    public static func isJPEG(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF
    }

    public struct Info: Equatable, Sendable {
        public let width: Int
        public let height: Int
        public let components: Int
        public let progressive: Bool
        /// EXIF orientation 1–8 (1 = upright), 1 when absent or unreadable.
        public let orientation: Int
    }

    public static func info(of bytes: [UInt8], path: String) throws -> Info {
        var info = digits_jpeg_info()
        let status = bytes.withUnsafeBufferPointer { digits_jpeg_read_header($0.baseAddress, $0.count, &info) }
        guard status == 0 else { throw JPEGError.decodeFailed(path: path, reason: message(info)) }
        return Info(width: Int(info.width), height: Int(info.height), components: Int(info.components),
                    progressive: info.progressive != 0, orientation: EXIF.orientation(in: bytes))
    }

    /// Decodes to gray, upright. With `atLeast`, the image may come out smaller, by a power of
    /// two, as long as its longer side keeps `atLeast` pixels.
    public static func decodeGray(_ bytes: [UInt8], path: String, maxPixels: Int = PNG.maxPixels, atLeast: Int? = nil) throws -> GrayImage {
        let header = try info(of: bytes, path: path)
        let (width, height) = (header.width, header.height)
        guard width > 0, height > 0 else { throw JPEGError.decodeFailed(path: path, reason: "the header declares \(width)×\(height) pixels") }
        guard width.multipliedReportingOverflow(by: height).partialValue <= maxPixels, width <= 65_535, height <= 65_535 else {
            throw JPEGError.tooLarge(path: path, width: width, height: height, limit: maxPixels)
        }
        var denominator = 1
        if let atLeast {
            while denominator < 8, (max(width, height) + 2 * denominator - 1) / (2 * denominator) >= atLeast { denominator *= 2 }
        }
        // libjpeg's output size: ⌈size / denominator⌉.
        let outWidth = (width + denominator - 1) / denominator, outHeight = (height + denominator - 1) / denominator
        var pixels = [UInt8](repeating: 0, count: outWidth * outHeight)
        var info = digits_jpeg_info()
        let status = pixels.withUnsafeMutableBufferPointer { output in
            bytes.withUnsafeBufferPointer {
                digits_jpeg_decode_gray($0.baseAddress, $0.count, Int32(denominator), maxPixels, output.baseAddress, output.count, &info)
            }
        }
        guard status == 0 else { throw JPEGError.decodeFailed(path: path, reason: message(info)) }
        guard info.truncated == 0 else { throw JPEGError.truncated(path: path) }
        guard Int(info.output_width) == outWidth, Int(info.output_height) == outHeight else {
            throw JPEGError.decodeFailed(path: path, reason: "decoded \(info.output_width)×\(info.output_height), expected \(outWidth)×\(outHeight)")
        }
        return EXIF.apply(orientation: header.orientation, to: GrayImage(width: outWidth, height: outHeight, pixels: pixels))
    }

    private static func message(_ info: digits_jpeg_info) -> String {
        var copy = info.message
        let text = withUnsafeBytes(of: &copy) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        guard let first = text.first else { return "libjpeg could not read it" }
        // "Bogus marker length" → "bogus marker length"; "JPEG datastream ..." stays.
        let second = text.dropFirst().first
        return second?.isLowercase == true ? first.lowercased() + text.dropFirst() : text
    }
}

/// The one EXIF fact a digit reader needs: which way up the camera was (TIFF tag 0x0112 in
/// IFD0 of the APP1 "Exif" segment). Every offset is checked against the segment; anything
/// malformed, or a value outside 1–8, counts as upright.
enum EXIF {
    static func orientation(in bytes: [UInt8]) -> Int {
        var offset = 2
        // Markers up to the start of scan; APP1 holds EXIF.
        while offset + 4 <= bytes.count, bytes[offset] == 0xFF {
            let marker = bytes[offset + 1]
            if marker == 0xD8 || (0xD0...0xD7).contains(marker) || marker == 0x01 { offset += 2; continue }
            if marker == 0xFF { offset += 1; continue }
            if marker == 0xDA || marker == 0xD9 { break }
            let length = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            guard length >= 2, offset + 2 + length <= bytes.count else { break }
            if marker == 0xE1, length >= 8 {
                let segment = bytes[(offset + 4)..<(offset + 2 + length)]
                if segment.starts(with: [0x45, 0x78, 0x69, 0x66, 0, 0]) {  // "Exif\0\0"
                    return tiffOrientation(Array(segment.dropFirst(6))) ?? 1
                }
            }
            offset += 2 + length
        }
        return 1
    }

    static func tiffOrientation(_ tiff: [UInt8]) -> Int? {
        guard tiff.count >= 8 else { return nil }
        let little: Bool
        switch (tiff[0], tiff[1]) {
        case (0x49, 0x49): little = true
        case (0x4D, 0x4D): little = false
        default: return nil
        }
        func u16(_ at: Int) -> Int? {
            guard at >= 0, at + 2 <= tiff.count else { return nil }
            return little ? Int(tiff[at]) | Int(tiff[at + 1]) << 8 : Int(tiff[at]) << 8 | Int(tiff[at + 1])
        }
        func u32(_ at: Int) -> Int? {
            guard let a = u16(at), let b = u16(at + 2) else { return nil }
            return little ? a | b << 16 : a << 16 | b
        }
        guard u16(2) == 42, let ifd = u32(4), let entries = u16(ifd) else { return nil }
        for entry in 0..<entries {
            let at = ifd + 2 + 12 * entry
            guard let tag = u16(at) else { return nil }
            if tag == 0x0112 {
                guard u16(at + 2) == 3, let value = u16(at + 8), (1...8).contains(value) else { return nil }
                return value
            }
        }
        return nil
    }

    /// The image turned upright: EXIF orientation n says how the stored pixels must be
    /// flipped and turned (2 mirror, 3 half turn, 4 flip, 5 transpose, 6 quarter turn
    /// clockwise, 7 transverse, 8 quarter turn counter-clockwise).
    static func apply(orientation: Int, to image: GrayImage) -> GrayImage {
        guard (2...8).contains(orientation) else { return image }
        let w = image.width, h = image.height
        let swaps = orientation >= 5
        let outWidth = swaps ? h : w, outHeight = swaps ? w : h
        /// The stored pixel shown at (x, y).
        func stored(_ x: Int, _ y: Int) -> Int {
            switch orientation {
            case 2: return y * w + (w - 1 - x)
            case 3: return (h - 1 - y) * w + (w - 1 - x)
            case 4: return (h - 1 - y) * w + x
            case 5: return x * w + y
            case 6: return (h - 1 - x) * w + y
            case 7: return (h - 1 - x) * w + (w - 1 - y)
            default: return x * w + (w - 1 - y)
            }
        }
        // The mapping is affine: a start and a step along x and along y. Blocks of 64×64 keep
        // a turned picture's reads, a stored row apart, within the cache.
        let origin = stored(0, 0), stepX = stored(1, 0) - origin, stepY = stored(0, 1) - origin
        var pixels = [UInt8](repeating: 0, count: w * h)
        pixels.withUnsafeMutableBufferPointer { out in
            image.pixels.withUnsafeBufferPointer { source in
                for top in stride(from: 0, to: outHeight, by: 64) {
                    for left in stride(from: 0, to: outWidth, by: 64) {
                        for y in top..<min(top + 64, outHeight) {
                            var from = origin + y * stepY + left * stepX
                            for x in left..<min(left + 64, outWidth) {
                                out[y * outWidth + x] = source[from]
                                from += stepX
                            }
                        }
                    }
                }
            }
        }
        return GrayImage(width: outWidth, height: outHeight, pixels: pixels)
    }
}
