// The PNG reader (libpng underneath) and the preprocessing classify applies after it. Any
// input must give a picture or a thrown DigitsError: no trap, hang or huge allocation.
import DigitsKit

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

/// SwiftPM links an executable's entry point as `FuzzPNG_main` (main is an alias of it); with
/// -parse-as-library nothing defines it, so it is defined here and hands over to libFuzzer's
/// driver, which then calls LLVMFuzzerTestOneInput.
@_cdecl("FuzzPNG_main")
public func entryPoint(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc, arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments, fuzzOneInput)
}

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ test: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt
