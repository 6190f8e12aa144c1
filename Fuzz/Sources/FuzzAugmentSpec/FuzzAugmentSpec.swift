// The --augment recipe parser, and the augmenter a valid recipe makes, applied to one image.
// Any text must parse or throw a DigitsError; a parsed recipe must print back to itself.
@_spi(Tools) import DigitsKit
import FuzzSupport

let image = [UInt8]((0..<784).map { UInt8(truncatingIfNeeded: $0 * 7) })

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let spec = try? AugmentationSpec.parse(text) else { return 0 }
    let reparsed = try? AugmentationSpec.parse(spec.description)
    precondition(reparsed == spec, "\(text.debugDescription) parsed as \(spec.description), which reads back differently")
    let augmenter = Augmenter(spec: spec, rows: 28, columns: 28)
    var output = [Float](repeating: 0, count: 784)
    image.withUnsafeBufferPointer { pixels in
        output.withUnsafeMutableBufferPointer { augmenter.augment(pixels.baseAddress!, into: $0.baseAddress!, random: RandomGenerator(seed: 1)) }
    }
    precondition(output.allSatisfy { $0.isFinite }, "augmentation gave a non-finite value for \(spec.description)")
    return 0
}

/// The entry point SwiftPM links (see FuzzSupport).
@_cdecl("FuzzAugmentSpec_main")
public func entryPoint(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzOneInput)
}
