// The version the command line reports (`digits --version`).
public enum DigitsVersion {
    public static let string = "0.1.0"
}
