// The IDX reader, raw and gzip (the first byte picks: 0x1f starts a gzip stream, as on disk).
// Any input must give an IDXArray or a thrown DigitsError: no trap, hang or huge allocation.
@_spi(Tools) import DigitsKit
import FuzzSupport

/// Limits small enough that an input claiming a huge payload is refused, not allocated.
let limits = IDXLimits(maxPayloadBytes: 64 << 20, maxFileBytes: 64 << 20)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let array = try? IDXArray.decode(bytes, path: "fuzz.idx", limits: limits) {
        // A decoded array's shape must account for its values exactly.
        precondition(array.shape.reduce(1, *) == array.values.count, "shape \(array.shape) for \(array.values.count) values")
        // And it must survive a round trip.
        _ = try? IDXArray.decode(array.encoded(), path: "roundtrip.idx", limits: limits)
    }
    return 0
}

/// The entry point SwiftPM links (see FuzzSupport).
@_cdecl("FuzzIDX_main")
public func entryPoint(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzOneInput)
}
