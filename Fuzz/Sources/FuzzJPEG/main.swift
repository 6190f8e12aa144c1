// The JPEG reader (libjpeg-turbo underneath, with our EXIF parser) and the preparation
// classify applies after it. Any input must give a picture or a thrown DigitsError: no trap,
// hang or huge allocation.
@_spi(Tools) import DigitsKit
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    _ = try? JPEG.info(of: bytes, path: "fuzz.jpg")
    // A small pixel limit: the reader must refuse larger headers before allocating. The
    // last byte picks a DCT scale, so the scaled paths are fuzzed too.
    let atLeast = size > 0 && bytes[size - 1] & 1 == 1 ? 16 : nil
    if let image = try? Picture.decodeGray(bytes, path: "fuzz.jpg", maxPixels: 1 << 20, atLeast: atLeast) {
        precondition(image.pixels.count == image.width * image.height)
        _ = try? DigitPreprocessor().prepare(image, path: "fuzz.jpg")
    }
    return 0
}

/// The entry point SwiftPM links (see FuzzSupport).
@_cdecl("FuzzJPEG_main")
public func entryPoint(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzOneInput)
}
