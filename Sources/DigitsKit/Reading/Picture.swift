// A picture file of any supported format, told apart by its first bytes (never by its name):
// PNG (any color type, bit depth or alpha) and JPEG (baseline, progressive, CMYK; EXIF
// orientation applied), decoded to 8-bit gray.

/// Why a file was not taken as a picture.
public enum PictureFormatError: DigitsError, Equatable {
    /// The file at `path` is neither PNG nor JPEG by its first bytes; `found` holds up to 8 of
    /// them (empty for an empty file).
    case unknownFormat(path: String, found: [UInt8])

    public var message: String {
        switch self {
        case .unknownFormat(let path, let found):
            let shown = found.map { String($0, radix: 16).leftPadded(to: 2) }.joined(separator: " ")
            return "\(path): neither a PNG nor a JPEG file: \(found.isEmpty ? "the file is empty" : "it starts with \(shown)")"
        }
    }

    public var hint: String? { "digits reads PNG and JPEG pictures; convert the picture to one of them first" }
}

package enum PictureFormat: String, Sendable {
    case png, jpeg

    /// The format of `bytes`, from their signature.
    package init?(of bytes: [UInt8]) {
        if bytes.starts(with: PNG.signature) { self = .png } else if JPEG.isJPEG(bytes) { self = .jpeg } else { return nil }
    }
}

@_spi(Tools) public enum Picture {
    /// Largest picture file read from disk.
    public static let maxFileBytes = PNG.maxFileBytes

    /// Decodes a PNG or JPEG to gray. `maxPixels` bounds the declared size before decoding;
    /// `onBlack` composites a PNG's transparent pixels onto black instead of white; a JPEG may
    /// come out reduced by a power of two while its longer side keeps `atLeast` pixels.
    public static func decodeGray(_ bytes: [UInt8], path: String, maxPixels: Int = PNG.maxPixels,
                                  onBlack: Bool = false, atLeast: Int? = nil) throws -> GrayImage {
        switch PictureFormat(of: bytes) {
        case .png: return try PNG.decodeGray(bytes, path: path, maxPixels: maxPixels, onBlack: onBlack)
        case .jpeg: return try JPEG.decodeGray(bytes, path: path, maxPixels: maxPixels, atLeast: atLeast)
        case nil: throw PictureFormatError.unknownFormat(path: path, found: Array(bytes.prefix(8)))
        }
    }

    /// Width and height as declared by the header, without decoding.
    public static func size(of bytes: [UInt8], path: String) throws -> (width: Int, height: Int) {
        switch PictureFormat(of: bytes) {
        case .png: let info = try PNG.info(of: bytes, path: path); return (info.width, info.height)
        case .jpeg: let info = try JPEG.info(of: bytes, path: path); return (info.width, info.height)
        case nil: throw PictureFormatError.unknownFormat(path: path, found: Array(bytes.prefix(8)))
        }
    }
}
