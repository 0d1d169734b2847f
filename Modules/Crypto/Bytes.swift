/// Pointer helpers for passing Swift byte arrays to C.
enum Bytes {
    /// A static non-null byte, so an empty input never reaches OpenSSL as a NULL pointer
    /// (several APIs treat NULL as "not supplied" rather than "empty").
    nonisolated(unsafe) private static let emptyStorage: UnsafeMutablePointer<UInt8> = {
        let pointer = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
        pointer.initialize(to: 0)
        return pointer
    }()

    /// Calls `body` with a pointer that is never nil, and the count.
    static func withNonNull<Result>(_ bytes: [UInt8],
                                    _ body: (UnsafePointer<UInt8>, Int) throws -> Result) rethrows -> Result {
        try bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress, buffer.count > 0 else {
                return try body(UnsafePointer(emptyStorage), 0)
            }
            return try body(base, buffer.count)
        }
    }
}
