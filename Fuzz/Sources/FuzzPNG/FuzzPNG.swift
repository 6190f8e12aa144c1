// The PNG reader (libpng underneath) and the preprocessing classify applies after it. Any
// input must give a picture or a thrown DigitsError: no trap, hang or huge allocation.
@_spi(Tools) import DigitsKit
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // A small pixel limit: the reader must refuse larger headers before allocating.
    if let image = try? PNG.decodeGray(bytes, path: "fuzz.png", maxPixels: 1 << 20) {
        precondition(image.pixels.count == image.width * image.height)
        _ = try? DigitPreprocessor().prepare(image, path: "fuzz.png")
    }
    return 0
}

/// The entry point SwiftPM links (see FuzzSupport).
@_cdecl("FuzzPNG_main")
public func entryPoint(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzOneInput)
}
