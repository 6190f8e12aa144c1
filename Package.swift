// swift-tools-version: 6.2
// digits: learns to read handwritten digits. A library (DigitsKit) holds all the logic;
// the `digits` executable is a thin command line over it; C libraries come in as system modules.
import PackageDescription

#if canImport(Glibc)
import Glibc
#endif

/// The vector instructions to compile DigitsKit's SIMD loops for, from the CPU that builds it:
/// SwiftPM builds from source on the machine that runs the program, and the default target
/// (baseline x86-64, SSE2) splits every 16-float vector step into four. DIGITS_TARGET_CPU
/// overrides the choice ("x86-64" for a binary to copy to other machines).
func targetCPUFlags() -> [String] {
    #if arch(x86_64) && os(Linux)
    if let forced = getenv("DIGITS_TARGET_CPU").map({ String(cString: $0) }), !forced.isEmpty {
        return forced == "x86-64" ? [] : ["-target-cpu", forced]
    }
    guard let file = fopen("/proc/cpuinfo", "r") else { return [] }
    defer { fclose(file) }
    var flags = Set<Substring>()
    var line: UnsafeMutablePointer<CChar>? = nil
    var capacity = 0
    while getline(&line, &capacity, file) > 0, flags.isEmpty {
        let text = String(cString: line!)
        if text.hasPrefix("flags") { flags = Set(text.split(separator: " ").map { $0.split(separator: "\n").first ?? $0 }) }
    }
    free(line)
    if ["avx512f", "avx512bw", "avx512vl", "avx512dq"].allSatisfy({ flags.contains(Substring($0)) }) { return ["-target-cpu", "skylake-avx512"] }
    if ["avx2", "fma", "bmi2"].allSatisfy({ flags.contains(Substring($0)) }) { return ["-target-cpu", "haswell"] }
    #endif
    return []
}

/// The same choice for the C kernels (clang's -march), at full optimization.
func kernelCFlags() -> [String] {
    let cpu = targetCPUFlags().last.map { ["-march=\($0)"] } ?? []
    return ["-O3"] + cpu
}

let package = Package(
    name: "digits",
    products: [
        .library(name: "DigitsKit", targets: ["DigitsKit"]),
        .executable(name: "digits", targets: ["digits"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        // `swift package generate-documentation`: DigitsKit's DocC catalog (scripts/test builds it).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // C libraries from Debian's -dev packages (scripts/install-deps installs them).
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        // OpenBLAS, loaded with dlopen on first use (reading pictures never loads it).
        .target(name: "COpenBLAS", linkerSettings: [.linkedLibrary("dl")]),
        // libjpeg-turbo's decoder behind a wrapper that turns its longjmp errors into codes.
        .target(name: "CJPEG", linkerSettings: [.linkedLibrary("jpeg")]),

        // The inference kernels (register-tiled products, pooling), in C for exact control of
        // the vector registers.
        .target(
            name: "CKernels",
            cSettings: [.unsafeFlags(kernelCFlags())]
        ),

        // Optimized in debug builds too: its loops are what the tests measure and time (a
        // steady-state training step allocates nothing only once the optimizer has removed the
        // temporaries -Onone keeps), and the tests train real models.
        .target(
            name: "DigitsKit",
            dependencies: ["CZlib", "CPNG", "COpenBLAS", "CKernels", "CJPEG"],
            swiftSettings: [.unsafeFlags(targetCPUFlags()), .unsafeFlags(["-O"], .when(configuration: .debug))]
        ),
        // What the command line shows and measures, apart from the library a Swift program
        // uses: report pictures, Markdown and JSON reports, speed measurements, the choice of
        // OpenBLAS's kernels for the CPU.
        .target(name: "DigitsPresentation", dependencies: ["DigitsKit"]),
        // `digits serve`: the web page and HTTP API, on Hummingbird. A target of its own, so
        // that DigitsKit does not depend on a server framework.
        .target(
            name: "DigitsServer",
            dependencies: ["DigitsKit", .product(name: "Hummingbird", package: "hummingbird")]
        ),
        .executableTarget(
            name: "digits",
            dependencies: [
                "DigitsKit",
                "DigitsPresentation",
                "DigitsServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            // The release binary carries the Swift runtime and Foundation inside it: it starts
            // several milliseconds sooner (no dynamic loading and relocation of a dozen Swift
            // libraries), which a one-picture `digits classify` notices, and it runs without the
            // toolchain's libraries beside it. Compiling this module for the static runtime too
            // makes its objects name the static libraries Foundation needs (ICU, collections).
            swiftSettings: [.unsafeFlags(["-static-stdlib"], .when(platforms: [.linux], configuration: .release))],
            linkerSettings: [.unsafeFlags(["-static-stdlib"], .when(platforms: [.linux], configuration: .release))]
        ),
        // Counts the test process's heap allocations (the allocation-free training step).
        .target(name: "AllocationCounter", path: "Tests/AllocationCounter"),
        .testTarget(
            name: "DigitsKitTests",
            dependencies: ["DigitsKit", "DigitsPresentation", "CZlib", "AllocationCounter"]
        ),
        .testTarget(
            name: "DigitsServerTests",
            dependencies: ["DigitsServer", "DigitsKit", .product(name: "HummingbirdTesting", package: "hummingbird")]
        ),
    ]
)
