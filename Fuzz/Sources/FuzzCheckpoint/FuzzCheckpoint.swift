// The safetensors reader and the checkpoint loader behind evaluate and classify: header length,
// JSON, offsets, shapes, metadata, the architecture, and the model built from it. Any input
// must give a model or a thrown DigitsError: no trap, hang or huge allocation.
@_spi(Tools) import DigitsKit
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let (model, _) = try? Checkpoint.loadModel(bytes, path: "fuzz.safetensors") {
        // A loaded model must run.
        let input = Tensor(shape: [1, model.architecture.input.reduce(1, *)])
        _ = model.forward(input, training: false)
        _ = InferencePlan(model).forward(input)
    }
    return 0
}

/// The entry point SwiftPM links (see FuzzSupport).
@_cdecl("FuzzCheckpoint_main")
public func entryPoint(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzOneInput)
}
