// Where the tests find real data, and scratch directories for files they write.
import Foundation

enum TestFiles {
    /// The repository root, found from this file's path.
    static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }  // Support, DigitsKitTests, Tests
        return url.path
    }()

    /// The first directory holding `marker`: an environment override, the repo's datasets/
    /// (filled by the fetch scripts), then the shared copy beside the repository.
    static func directory(env: String, datasets: String, shared: String, marker: String) -> String? {
        let candidates = [ProcessInfo.processInfo.environment[env],
                          "\(repositoryRoot)/datasets/\(datasets)",
                          "\(repositoryRoot)/../shared/\(shared)"].compactMap { $0 }
        return candidates.first { FileManager.default.fileExists(atPath: "\($0)/\(marker)") }
    }

    static let mnist = directory(env: "DIGITS_MNIST_DIR", datasets: "mnist", shared: "datasets/mnist",
                                 marker: "train-images-idx3-ubyte.gz")
    static let pngSuite = directory(env: "DIGITS_PNGSUITE_DIR", datasets: "pngsuite", shared: "pngsuite",
                                    marker: "basn0g08.png")

    /// The directory every scratch directory of this test process goes in, removed when the
    /// process exits (each run of the suite left twenty directories in /tmp before).
    static let scratchRoot: String = {
        let path = NSTemporaryDirectory() + "digits-tests-\(getpid())-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: TestFiles.scratchRoot) }
        return path
    }()

    /// A fresh temporary directory, inside `scratchRoot`.
    static func scratchDirectory() -> String {
        let path = scratchRoot + "/\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func write(_ bytes: [UInt8], named name: String, in directory: String) -> String {
        let path = "\(directory)/\(name)"
        precondition(FileManager.default.createFile(atPath: path, contents: Data(bytes)), "cannot write \(path)")
        return path
    }
}
