// The `digits` command line: a root command with one file per subcommand. Errors from the
// library print as one line naming the file plus a hint, and exit with status 1.
import ArgumentParser
import DigitsKit
import DigitsPresentation
import Foundation

@main
struct DigitsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "digits",
        abstract: "Learn to read handwritten digits (MNIST), from the command line.",
        discussion: """
            Start with `scripts/fetch-mnist` to put the MNIST files in datasets/mnist, then \
            `digits inspect` to check them, `digits evaluate` to score the shipped model and \
            `digits classify drawing.png` to read your own digit. Run `digits help <subcommand>` \
            for details.
            """,
        version: DigitsVersion.string,
        subcommands: [Train.self, Evaluate.self, Classify.self, Inspect.self, Augment.self, Bench.self, Serve.self, Export.self]
    )

    /// Subcommands that run products on OpenBLAS. The others (classify, serve, inspect,
    /// augment, export) never load it unless a model has layers the inference plan does not
    /// compile, and do not read /proc/cpuinfo to choose its kernels.
    static let kernelBound: Set<String> = ["train", "evaluate", "bench"]

    static func main() {
        // Past a file size limit (ulimit -f), a write should fail with EFBIG and be reported
        // like a full disk, not kill the process.
        signal(SIGXFSZ, SIG_IGN)
        if CommandLine.arguments.count > 1, kernelBound.contains(CommandLine.arguments[1]) { selectBLASCore() }
        if CommandLine.arguments.dropFirst() == ["--version"] {
            // Read here rather than in `configuration`, which every command parses: only
            // --version pays for opening the default model.
            print(versionText)
            return
        }
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as DigitsError {
            fail(error.message, hint: error.hint)
        } catch {
            exit(withError: error)
        }
    }

    /// `digits --version`: the version, then the default model (the one evaluate and classify
    /// use without --model) with its architecture and recorded test accuracy.
    static var versionText: String {
        let path = ModelFile.resolve(nil)
        guard let file = try? SafeTensorsFile.read(contentsOf: path),
              let architecture = try? Checkpoint.architecture(of: file, path: path) else {
            return "\(DigitsVersion.string)\ndefault model: \(path) (not found: pass --model to evaluate and classify)"
        }
        let accuracy = file.metadata["test_accuracy"].flatMap(Double.init).map { String(format: "%.2f%%", $0 * 100) }
        return "\(DigitsVersion.string)\ndefault model: \(path) (\(architecture.model), "
            + (accuracy.map { "test accuracy \($0))" } ?? "no recorded test accuracy)")
    }

    /// OpenBLAS picks its kernels when it loads, which is on the first product (see BLAS): when
    /// OpenBLAS's own detection may fall short of this CPU (or DIGITS_BLAS_CORE asks for a
    /// core), put the choice in OPENBLAS_CORETYPE now, while the process has one thread.
    static func selectBLASCore() {
        let environment = ProcessInfo.processInfo.environment
        guard !BLAS.isLoaded, let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let core = BLASCore.replacement(environment: environment, flags: BLASCore.flags(cpuinfo: cpuinfo)) else { return }
        setenv(BLASCore.chosenMarker, environment[BLASCore.environmentVariable] ?? "-", 1)
        setenv(BLASCore.environmentVariable, core, 1)
    }

    /// One readable line, a hint, status 1.
    static func fail(_ message: String, hint: String?) -> Never {
        var standardError = StandardError()
        print("digits: error: \(message)", to: &standardError)
        if let hint { print("hint: \(hint)", to: &standardError) }
        Foundation.exit(1)
    }
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        FileHandle.standardError.write(Data(string.utf8))
    }
}

extension MNISTSplit: ExpressibleByArgument {}
