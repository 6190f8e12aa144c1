// The --augment recipe parser, and the augmenter a valid recipe makes, applied to one image.
// Any text must parse or throw a DigitsError; a parsed recipe must print back to itself.
import DigitsKit

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

/// SwiftPM links an executable's entry point as `FuzzAugmentSpec_main` (main is an alias of it); with
/// -parse-as-library nothing defines it, so it is defined here and hands over to libFuzzer's
/// driver, which then calls LLVMFuzzerTestOneInput.
@_cdecl("FuzzAugmentSpec_main")
public func entryPoint(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc, arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments, fuzzOneInput)
}

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ test: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt
