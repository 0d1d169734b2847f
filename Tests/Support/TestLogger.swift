public import Kernel

public enum TestLogger {
    /// Errors only: test runs stay readable while failures that log still show.
    public static let quiet = Logger(label: "test", minimumLevel: .error)
}
