// swift-tools-version: 6.0
// libFuzzer harnesses for the readers of untrusted input, in a package of their own so that
// the main build stays light. scripts/fuzz builds them with
//   swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
// (libFuzzer supplies main; each harness defines LLVMFuzzerTestOneInput) and runs each from a
// seed corpus it generates.
import Foundation
import PackageDescription

/// SwiftPM names a package found by path after its folder, which is whatever the clone is called.
let digits = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

let harnesses = ["FuzzIDX", "FuzzPNG", "FuzzJPEG", "FuzzCheckpoint", "FuzzAugmentSpec"]

let package = Package(
    name: "digits-fuzz",
    dependencies: [.package(path: "..")],
    targets: [.target(name: "FuzzSupport")] + harnesses.map { name in
        .executableTarget(name: name, dependencies: ["FuzzSupport", .product(name: "DigitsKit", package: digits)])
    }
)
