import Foundation
import Synchronization

/// JSON-lines logger to standard error. One line per entry so log shippers need no parser.
/// Callers pass only safe fields: never secrets, keys, card numbers or Authorization values.
public final class Logger: Sendable {
    public enum Level: Int, Sendable, Comparable {
        case debug = 0, info, warning, error
        public static func < (lhs: Level, rhs: Level) -> Bool { lhs.rawValue < rhs.rawValue }

        public init?(name: String) {
            switch name.lowercased() {
            case "debug": self = .debug
            case "info": self = .info
            case "warning", "warn": self = .warning
            case "error": self = .error
            default: return nil
            }
        }

        var name: String { ["debug", "info", "warning", "error"][rawValue] }
    }

    public let label: String
    public let minimumLevel: Level
    private let output: Mutex<FileHandleWriter>

    public init(label: String, minimumLevel: Level = .info, writer: FileHandleWriter = FileHandleWriter(descriptor: 2)) {
        self.label = label
        self.minimumLevel = minimumLevel
        self.output = Mutex(writer)
    }

    public func log(_ level: Level, _ message: String, _ fields: [String: JSONValue] = [:]) {
        guard level >= minimumLevel else { return }
        var object = fields
        object["ts"] = .string(Timestamp.iso8601(Date(), fractionalSeconds: true))
        object["level"] = .string(level.name)
        object["logger"] = .string(label)
        object["msg"] = .string(message)
        var line = JSONValue.object(object).serialized()
        line.append(10)
        output.withLock { $0.write(line) }
    }

    public func debug(_ message: String, _ fields: [String: JSONValue] = [:]) { log(.debug, message, fields) }
    public func info(_ message: String, _ fields: [String: JSONValue] = [:]) { log(.info, message, fields) }
    public func warning(_ message: String, _ fields: [String: JSONValue] = [:]) { log(.warning, message, fields) }
    public func error(_ message: String, _ fields: [String: JSONValue] = [:]) { log(.error, message, fields) }
}

/// Writes whole lines to a file descriptor.
public struct FileHandleWriter: Sendable {
    public let descriptor: Int32
    public init(descriptor: Int32) { self.descriptor = descriptor }

    public func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Foundation.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written <= 0 { return }
                offset += written
            }
        }
    }
}
