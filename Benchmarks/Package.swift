// swift-tools-version: 6.1
// Microbenchmarks of DigitsKit with ordo-one/benchmark, in a package of their own so that the
// main build stays light. Run from this directory:
//   swift package --disable-sandbox benchmark                       every benchmark
//   swift package --disable-sandbox benchmark --filter "train.*"    some of them
// The plugin runs only targets whose folder sits under Benchmarks/ (here Benchmarks/Benchmarks/).
import Foundation
import PackageDescription

/// SwiftPM names a package found by path after its folder, which is whatever the clone is called.
let digits = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "digits-benchmarks",
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "DigitsBenchmarks",
            dependencies: [
                .product(name: "DigitsKit", package: digits),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/DigitsBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
