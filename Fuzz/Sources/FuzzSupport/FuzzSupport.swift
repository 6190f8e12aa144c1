// What every harness shares: starting libFuzzer.
//
// SwiftPM links an executable's entry point as `<Target>_main` (main is an alias of it); with
// -parse-as-library nothing defines it, so each harness defines it (`@_cdecl`, one line) and
// calls runFuzzer, which hands over to libFuzzer's driver; the driver then calls the test
// function on every input.

public typealias FuzzTest = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

public func runFuzzer(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ test: FuzzTest) -> CInt {
    var count = argc, arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments, test)
}

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ test: FuzzTest) -> CInt
