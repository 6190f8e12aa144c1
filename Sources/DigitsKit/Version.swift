// The version the command line reports (`digits --version`).
package enum DigitsVersion {
    package static let string = "0.1.0"
}
