// PNG reading and writing through libpng's simplified API (png_image_*, libpng manual §V),
// which handles its setjmp/longjmp error recovery internally, so Swift never has to.
//
// Reading produces 8-bit grayscale from any PNG: gray at 1–16 bits, palette, RGB, with or
// without alpha or tRNS, interlaced or not.
// - Alpha is composited onto a white background (paper), so a transparent canvas with dark
//   strokes reads as dark ink on white. Compositing uses the decoded 8-bit (or, for 16-bit
//   files, linear 16-bit) values.
// - 16-bit files are read as linear 16-bit gray (PNG_FORMAT_LINEAR_Y) and scaled to 8 bits
//   here. libpng 1.6.39's own 16→8-bit path treats the samples as linear light and re-encodes
//   them, and it decodes Adam7-interlaced 16-bit images wrongly (libpng issue 853).
import CPNG

/// An 8-bit grayscale picture, row-major.
public struct GrayImage: Equatable, Sendable {
    /// Width in pixels: the number of columns.
    public let width: Int
    /// Height in pixels: the number of rows.
    public let height: Int
    /// (height, width)
    public var pixels: [UInt8]

    /// Wraps `pixels`, row-major, one byte per pixel: 0 is black and 255 white in a PNG file
    /// (a dataset image from `DigitDataset.image(at:)` is white ink on black, as in MNIST).
    ///
    /// - Precondition: `width` and `height` are not negative and `pixels.count` is `width * height`.
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0 && pixels.count == width * height,
                     "GrayImage \(width)×\(height) needs \(width * height) pixels, got \(pixels.count)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The pixel in column `x` and row `y`, counted from the top left, as `image[x, y]`. Only the
    /// array's own bounds are checked: keep `x` in `0..<width`, or the index runs into the next row.
    public subscript(x: Int, y: Int) -> UInt8 { pixels[y * width + x] }
}

/// Why a PNG could not be read or written. Every case names the file.
public enum PNGError: DigitsError, Equatable {
    /// The bytes do not start with the 8-byte PNG signature; `found` holds the first bytes, up to
    /// 8 (empty for an empty file).
    case notPNG(path: String, found: [UInt8])
    /// The header declares `width`×`height` pixels, more than `limit` (by default
    /// `PNG.maxPixels`); refused before any pixel is decoded.
    case tooLarge(path: String, width: Int, height: Int, limit: Int)
    /// The file is damaged or not readable: `reason` is libpng's message, or names a chunk that
    /// declares more bytes than the file holds.
    case decodeFailed(path: String, reason: String)
    /// libpng could not encode the samples; `reason` is its message.
    case encodeFailed(path: String, reason: String)

    public var message: String {
        switch self {
        case .notPNG(let path, let found):
            let shown = found.map { String($0, radix: 16).leftPadded(to: 2) }.joined(separator: " ")
            return "\(path): not a PNG file: expected the signature 89 50 4e 47 0d 0a 1a 0a, found \(found.isEmpty ? "an empty file" : shown)"
        case .tooLarge(let path, let width, let height, let limit):
            return "\(path): PNG is \(width)×\(height) = \(formatCount(width * height)) pixels, over the limit of \(formatCount(limit))"
        case .decodeFailed(let path, let reason):
            return "\(path): invalid PNG: \(reason)"
        case .encodeFailed(let path, let reason):
            return "\(path): could not encode PNG: \(reason)"
        }
    }

    public var hint: String? {
        switch self {
        case .notPNG: return "digits reads PNG images; convert the file to PNG first"
        case .tooLarge: return "scale the picture down; a digit needs only a few hundred pixels a side"
        case .decodeFailed: return "the file is damaged; export it again as PNG"
        case .encodeFailed: return nil
        }
    }
}

/// PNG reading and writing through libpng's simplified API. Reading turns any PNG into 8-bit
/// grayscale: color is converted to gray, transparency is composited onto white paper and
/// 16-bit samples are scaled to 8 bits. Writing takes 8-bit gray, RGB or RGBA samples.
/// Sizes are checked from the header, and files are written atomically.
public enum PNG {
    /// Largest image accepted, judged from the header before decoding: 50 megapixels.
    public static let maxPixels = 50_000_000
    /// Largest file read from disk.
    public static let maxFileBytes = 256 << 20

    static let signature: [UInt8] = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]

    /// Header facts, read without decoding the pixels.
    public struct Info: Equatable, Sendable {
        /// Width in pixels, from the header.
        public let width: Int
        /// Height in pixels, from the header.
        public let height: Int
        /// Whether the image is in color (RGB or a palette) rather than gray; reading converts it to
        /// gray.
        public let hasColor: Bool
        /// Whether the image has transparency, from an alpha channel or a tRNS chunk; reading
        /// composites it onto white (or black) paper.
        public let hasAlpha: Bool
        /// 16 bits per sample (libpng reports these files as "linear").
        public let is16Bit: Bool
    }

    // MARK: Reading

    /// Reads the PNG file at `path` as 8-bit grayscale, transparency over white, as
    /// `decodeGray(_:path:maxPixels:onBlack:)` does. Files over `PNG.maxFileBytes` are refused
    /// before reading, images over `maxPixels` pixels before decoding.
    ///
    /// - Throws: `FileError` when the file cannot be read or is too large; `PNGError` when it is
    ///   not a PNG, has too many pixels, or is damaged.
    public static func readGray(contentsOf path: String, maxPixels: Int = maxPixels) throws -> GrayImage {
        try decodeGray(Files.read(path, limit: maxFileBytes), path: path, maxPixels: maxPixels)
    }

    /// The header's facts (size, color, alpha, bit depth) without decoding the pixels; no pixel
    /// limit applies. `path` only names the source in errors.
    ///
    /// - Throws: `PNGError.notPNG` without the PNG signature, `PNGError.decodeFailed` when the
    ///   header or a chunk length is invalid.
    public static func info(of bytes: [UInt8], path: String) throws -> Info {
        try withImage(bytes, path: path, maxPixels: Int.max) { image in infoFrom(image.pointee) }
    }

    /// Decodes any PNG to 8-bit grayscale; see the file comment for alpha and 16-bit files.
    /// `onBlack` composites transparent pixels onto black instead of white paper: for a
    /// drawing in light ink on a transparent canvas, which on white would vanish.
    public static func decodeGray(_ bytes: [UInt8], path: String, maxPixels: Int = maxPixels, onBlack: Bool = false) throws -> GrayImage {
        try withImage(bytes, path: path, maxPixels: maxPixels) { image in
            let info = infoFrom(image.pointee)
            let width = info.width, height = info.height
            if info.is16Bit {
                let format = info.hasAlpha ? digits_png_format_linear_y_alpha : digits_png_format_linear_y
                let channels = info.hasAlpha ? 2 : 1
                var samples = [UInt16](repeating: 0, count: width * height * channels)
                try finishRead(image, format: format, into: &samples, rowStride: width * channels, path: path)
                return GrayImage(width: width, height: height, pixels: samples16ToGray(samples, hasAlpha: info.hasAlpha, onBlack: onBlack))
            } else {
                let format = info.hasAlpha ? digits_png_format_ga : digits_png_format_gray
                let channels = info.hasAlpha ? 2 : 1
                var samples = [UInt8](repeating: 0, count: width * height * channels)
                try finishRead(image, format: format, into: &samples, rowStride: width * channels, path: path)
                return GrayImage(width: width, height: height, pixels: info.hasAlpha ? composite(samples, onBlack: onBlack) : samples)
            }
        }
    }

    /// Every chunk up to IEND must fit in the file. libpng allocates a chunk's declared length
    /// before reading it: a 446-byte file declaring a 1.8 GB text chunk made it allocate 1.8 GB
    /// (found by fuzzing).
    static func checkChunkLengths(_ bytes: [UInt8], path: String) throws {
        var offset = signature.count
        while offset + 8 <= bytes.count {
            let length = bytes[offset..<offset + 4].reduce(0) { ($0 << 8) | Int($1) }
            let type = String(decoding: bytes[offset + 4..<offset + 8].map { (0x20...0x7e).contains($0) ? $0 : 0x3f }, as: UTF8.self)
            let remaining = bytes.count - offset - 12
            guard length <= 0x7fff_ffff, length <= remaining else {
                throw PNGError.decodeFailed(path: path, reason: "chunk \(type) at byte \(offset) declares \(formatCount(length)) bytes, but the file has \(formatCount(max(remaining, 0))) after it")
            }
            if type == "IEND" { return }
            offset += 12 + length
        }
    }

    /// Runs libpng's begin-read on `bytes`, checks the size, and hands the image to `body`.
    private static func withImage<R>(_ bytes: [UInt8], path: String, maxPixels: Int,
                                     _ body: (UnsafeMutablePointer<png_image>) throws -> R) throws -> R {
        guard bytes.starts(with: signature) else {
            throw PNGError.notPNG(path: path, found: Array(bytes.prefix(8)))
        }
        try checkChunkLengths(bytes, path: path)
        let image = UnsafeMutablePointer<png_image>.allocate(capacity: 1)
        image.initialize(to: png_image())
        image.pointee.version = png_uint_32(PNG_IMAGE_VERSION)
        defer {
            png_image_free(image)  // safe after an error or a finished read: it frees only what is left
            image.deinitialize(count: 1)
            image.deallocate()
        }
        return try bytes.withUnsafeBytes { buffer in
            guard png_image_begin_read_from_memory(image, buffer.baseAddress, buffer.count) != 0 else {
                throw PNGError.decodeFailed(path: path, reason: messageOf(image))
            }
            let width = Int(image.pointee.width), height = Int(image.pointee.height)
            let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
            guard !overflow, pixels <= maxPixels else {
                throw PNGError.tooLarge(path: path, width: width, height: height, limit: maxPixels)
            }
            return try body(image)
        }
    }

    private static func finishRead<T>(_ image: UnsafeMutablePointer<png_image>, format: png_uint_32,
                                      into samples: inout [T], rowStride: Int, path: String) throws {
        image.pointee.format = format
        let ok = samples.withUnsafeMutableBytes { buffer in
            png_image_finish_read(image, nil, buffer.baseAddress, png_int_32(rowStride), nil)
        }
        // A warning leaves ok set; anything worse fails.
        guard ok != 0, digits_png_image_failed(image) == 0 else {
            throw PNGError.decodeFailed(path: path, reason: messageOf(image))
        }
    }

    private static func infoFrom(_ image: png_image) -> Info {
        let format = image.format
        return Info(width: Int(image.width), height: Int(image.height),
                    hasColor: format & PNG_FORMAT_FLAG_COLOR != 0,
                    hasAlpha: format & PNG_FORMAT_FLAG_ALPHA != 0,
                    is16Bit: format & PNG_FORMAT_FLAG_LINEAR != 0)
    }

    private static func messageOf(_ image: UnsafeMutablePointer<png_image>) -> String {
        withUnsafeBytes(of: &image.pointee.message) { raw in
            let text = String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            return text.isEmpty ? "libpng reported an error without a message" : text
        }
    }

    /// Gray+alpha (8-bit, straight alpha) over white: g·a + 255·(1 − a), rounded; over black:
    /// g·a, rounded.
    static func composite(_ samples: [UInt8], onBlack: Bool = false) -> [UInt8] {
        let count = samples.count / 2
        let paper = onBlack ? 0 : 255
        return [UInt8](unsafeUninitializedCapacity: count) { output, initialized in
            for index in 0..<count {
                let gray = Int(samples[2 * index]), alpha = Int(samples[2 * index + 1])
                output[index] = UInt8((gray * alpha + paper * (255 - alpha) + 127) / 255)
            }
            initialized = count
        }
    }

    /// Linear 16-bit gray (alpha premultiplied, as libpng gives linear formats) to 8 bits:
    /// composite onto white (or, with `onBlack`, keep the premultiplied value: black paper),
    /// then scale 0...65535 to 0...255 with rounding.
    static func samples16ToGray(_ samples: [UInt16], hasAlpha: Bool, onBlack: Bool = false) -> [UInt8] {
        let channels = hasAlpha ? 2 : 1
        let count = samples.count / channels
        return [UInt8](unsafeUninitializedCapacity: count) { output, initialized in
            for index in 0..<count {
                var value = Int(samples[channels * index])
                if hasAlpha && !onBlack { value = min(value + 65535 - Int(samples[2 * index + 1]), 65535) }
                output[index] = UInt8((value * 255 + 32767) / 65535)
            }
            initialized = count
        }
    }

    // MARK: Writing

    /// Pixel layouts the writer accepts, all 8 bits per sample.
    public enum Layout: Sendable {
        /// One gray byte per pixel; three bytes per pixel (red, green, blue); or four (red, green,
        /// blue and straight, not premultiplied, alpha).
        case gray, rgb, rgba

        var channels: Int { self == .gray ? 1 : self == .rgb ? 3 : 4 }
        var format: png_uint_32 {
            self == .gray ? digits_png_format_gray : self == .rgb ? digits_png_format_rgb : digits_png_format_rgba
        }
    }

    /// Encodes 8-bit samples (row-major, `layout.channels` per pixel) as a PNG.
    public static func encode(width: Int, height: Int, layout: Layout, samples: [UInt8], path: String = "<memory>") throws -> [UInt8] {
        precondition(width > 0 && height > 0 && samples.count == width * height * layout.channels,
                     "PNG \(width)×\(height) \(layout) needs \(width * height * layout.channels) samples, got \(samples.count)")
        var image = png_image()
        image.version = png_uint_32(PNG_IMAGE_VERSION)
        image.width = png_uint_32(width)
        image.height = png_uint_32(height)
        image.format = layout.format
        let stride = png_int_32(width * layout.channels)
        defer { png_image_free(&image) }

        return try samples.withUnsafeBytes { input in
            var size = 0
            // First call with no buffer asks for the encoded size.
            guard png_image_write_to_memory(&image, nil, &size, 0, input.baseAddress, stride, nil) != 0 else {
                throw PNGError.encodeFailed(path: path, reason: messageOf(&image))
            }
            var output = [UInt8](repeating: 0, count: size)
            let ok = output.withUnsafeMutableBytes { buffer in
                png_image_write_to_memory(&image, buffer.baseAddress, &size, 0, input.baseAddress, stride, nil)
            }
            guard ok != 0 else { throw PNGError.encodeFailed(path: path, reason: messageOf(&image)) }
            return Array(output.prefix(size))
        }
    }

    /// Writes 8-bit samples as a PNG file, atomically.
    public static func write(width: Int, height: Int, layout: Layout, samples: [UInt8], to path: String) throws {
        try Files.writeAtomically(encode(width: width, height: height, layout: layout, samples: samples, path: path), to: path)
    }

    /// Writes `image` as an 8-bit gray PNG file at `path`, atomically.
    ///
    /// - Precondition: the image is not empty (PNG needs a width and height of at least 1).
    /// - Throws: `PNGError.encodeFailed` when libpng fails; `FileError.unwritable` when the file
    ///   cannot be written, in which case any old file is left as it was.
    public static func write(_ image: GrayImage, to path: String) throws {
        try write(width: image.width, height: image.height, layout: .gray, samples: image.pixels, to: path)
    }
}
