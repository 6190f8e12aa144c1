// The error contract of the project: one readable line that names the file, plus a hint.
import Foundation

/// An error a person can act on. `errorDescription` is one line that names the file and says
/// what was expected and what was found; `hint` says what to do about it.
public protocol DigitsError: LocalizedError, Sendable {
    /// One line, naming the file where there is one.
    var message: String { get }
    /// What to do about it, or nil when there is nothing useful to add.
    var hint: String? { get }
}

extension DigitsError {
    public var errorDescription: String? { message }
    public var recoverySuggestion: String? { hint }
}

/// Human-readable byte counts for messages: "47,040,016 bytes".
package func formatBytes(_ count: Int) -> String {
    "\(formatCount(count)) byte\(count == 1 ? "" : "s")"
}

/// Thousands separators without Foundation's locale machinery: "60,000".
package func formatCount<T: BinaryInteger>(_ value: T) -> String {
    let digits = String(value.magnitude)
    var grouped = ""
    for (index, character) in digits.enumerated() {
        if index > 0 && (digits.count - index) % 3 == 0 { grouped.append(",") }
        grouped.append(character)
    }
    return value < 0 ? "-" + grouped : grouped
}

/// A shape as people write it: "60000×28×28".
func formatShape<T: BinaryInteger>(_ shape: [T]) -> String {
    shape.isEmpty ? "(scalar)" : shape.map { String($0) }.joined(separator: "×")
}
