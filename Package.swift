// swift-tools-version: 6.0
// digits: learns to read handwritten digits. A library (DigitsKit) holds all the logic;
// the `digits` executable is a thin command line over it; C libraries come in as system modules.
import PackageDescription

let package = Package(
    name: "digits",
    products: [
        .library(name: "DigitsKit", targets: ["DigitsKit"]),
        .executable(name: "digits", targets: ["digits"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // C libraries from Debian's -dev packages (scripts/install-deps installs them).
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),

        .target(
            name: "DigitsKit",
            dependencies: ["CZlib", "CPNG", "CBLAS"]
        ),
        .executableTarget(
            name: "digits",
            dependencies: [
                "DigitsKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "DigitsKitTests",
            dependencies: ["DigitsKit", "CZlib"]
        ),
    ]
)
