// A minimal PNG encoder written from the PNG specification (ISO/IEC 15948), independent of
// libpng, so the tests can make files in every colour type, bit depth and interlace method
// with pixel values known in advance.
import CZlib

struct RawPNGEncoder {
    enum ColorType: UInt8 { case gray = 0, rgb = 2, palette = 3, grayAlpha = 4, rgba = 6 }

    var width: Int
    var height: Int
    var bitDepth: Int
    var colorType: ColorType
    var interlaced = false
    /// (r, g, b) entries for palette images.
    var palette: [(UInt8, UInt8, UInt8)] = []
    /// Raw tRNS chunk payload, if any.
    var transparency: [UInt8]? = nil

    /// `samples(x, y)` gives the channel values of one pixel, each in 0..<2^bitDepth
    /// (palette images: one index).
    func encode(samples: (Int, Int) -> [Int]) -> [UInt8] {
        var png: [UInt8] = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]
        var header: [UInt8] = []
        header += bigEndian32(width) + bigEndian32(height)
        header += [UInt8(bitDepth), colorType.rawValue, 0, 0, interlaced ? 1 : 0]
        png += chunk("IHDR", header)
        if colorType == .palette {
            png += chunk("PLTE", palette.flatMap { [$0.0, $0.1, $0.2] })
        }
        if let transparency { png += chunk("tRNS", transparency) }
        png += chunk("IDAT", zlibCompress(scanlines(samples)))
        png += chunk("IEND", [])
        return png
    }

    private var channels: Int {
        switch colorType {
        case .gray, .palette: return 1
        case .grayAlpha: return 2
        case .rgb: return 3
        case .rgba: return 4
        }
    }

    /// Filter-type-0 scanlines, for the whole image or for each Adam7 pass in turn.
    private func scanlines(_ samples: (Int, Int) -> [Int]) -> [UInt8] {
        let passes: [(x0: Int, y0: Int, dx: Int, dy: Int)] = interlaced
            ? [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
            : [(0, 0, 1, 1)]
        var data: [UInt8] = []
        for pass in passes {
            let xs = Array(stride(from: pass.x0, to: width, by: pass.dx))
            let ys = Array(stride(from: pass.y0, to: height, by: pass.dy))
            if xs.isEmpty || ys.isEmpty { continue }  // empty passes have no scanlines at all
            for y in ys {
                data.append(0)  // filter type None
                var bits = BitWriter()
                for x in xs {
                    let values = samples(x, y)
                    precondition(values.count == channels)
                    for value in values { bits.append(value, width: bitDepth) }
                }
                data += bits.finish()
            }
        }
        return data
    }

    private func chunk(_ type: String, _ payload: [UInt8]) -> [UInt8] {
        let typeBytes = Array(type.utf8)
        let checksum = (typeBytes + payload).withUnsafeBufferPointer { crc32(0, $0.baseAddress, uInt($0.count)) }
        return bigEndian32(payload.count) + typeBytes + payload + bigEndian32(Int(checksum))
    }

    private func zlibCompress(_ bytes: [UInt8]) -> [UInt8] {
        var length = compressBound(uLong(bytes.count))
        var output = [UInt8](repeating: 0, count: Int(length))
        let status = compress(&output, &length, bytes, uLong(bytes.count))
        precondition(status == Z_OK)
        return Array(output.prefix(Int(length)))
    }

    private func bigEndian32(_ value: Int) -> [UInt8] {
        [UInt8(truncatingIfNeeded: value >> 24), UInt8(truncatingIfNeeded: value >> 16),
         UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)]
    }
}

/// Packs samples of 1–16 bits, most significant bit first, padding the last byte.
private struct BitWriter {
    var bytes: [UInt8] = []
    var accumulator = 0
    var used = 0

    mutating func append(_ value: Int, width: Int) {
        if width >= 8 {
            for shift in stride(from: width - 8, through: 0, by: -8) { bytes.append(UInt8((value >> shift) & 0xff)) }
            return
        }
        accumulator = (accumulator << width) | (value & ((1 << width) - 1))
        used += width
        if used == 8 { bytes.append(UInt8(accumulator)); accumulator = 0; used = 0 }
    }

    mutating func finish() -> [UInt8] {
        if used > 0 { bytes.append(UInt8(accumulator << (8 - used))); accumulator = 0; used = 0 }
        return bytes
    }
}
