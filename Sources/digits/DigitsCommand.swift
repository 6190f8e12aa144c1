// The `digits` command line: a root command with one file per subcommand. Errors from the
// library print as one line naming the file plus a hint, and exit with status 1.
import ArgumentParser
import DigitsKit
import Foundation

@main
struct DigitsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "digits",
        abstract: "Learn to read handwritten digits (MNIST), from the command line.",
        discussion: """
            Start with `scripts/fetch-mnist` to put the MNIST files in datasets/mnist, then
            `digits inspect` to check them. Run `digits help <subcommand>` for details.
            """,
        version: DigitsVersion.string,
        subcommands: [Inspect.self]
    )

    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as DigitsError {
            fail(error.message, hint: error.hint)
        } catch {
            exit(withError: error)
        }
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
