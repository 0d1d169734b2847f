import CLibPQ
import Foundation
import Glibc
import Kernel

/// Bind parameters laid out for `PQexecParams`: `.bytes` travel in binary format (any byte, including
/// NUL, is safe); everything else travels as text with an explicit type OID so the server never has to
/// guess and values are never spliced into the statement text.
struct EncodedBinds {
    /// PostgreSQL's wire protocol caps parameters at 65535 per statement.
    static let parametersMax = 65_535

    enum TypeOID {
        static let unknown: Oid = 0
        static let bool: Oid = 16
        static let bytea: Oid = 17
        static let int8: Oid = 20
        static let text: Oid = 25
        static let float8: Oid = 701
        static let timestamptz: Oid = 1184
        static let jsonb: Oid = 3802
    }

    var types: [Oid] = []
    var values: [UnsafePointer<CChar>?] = []
    var lengths: [Int32] = []
    var formats: [Int32] = []
    private var buffers: [UnsafeMutablePointer<CChar>] = []

    static func encode(_ binds: [SQLValue]) -> Result<EncodedBinds, DatabaseError> {
        guard binds.count <= parametersMax else {
            return .failure(DatabaseError(kind: .query, message: "too many bind parameters (\(binds.count) > \(parametersMax))"))
        }
        var encoded = EncodedBinds()
        for (index, bind) in binds.enumerated() {
            if let error = encoded.append(bind, position: index + 1) {
                encoded.deallocate()
                return .failure(error)
            }
        }
        return .success(encoded)
    }

    func deallocate() {
        buffers.forEach { $0.deallocate() }
    }

    /// Appends one parameter; returns an error (naming the position, never the value) when it cannot be sent.
    private mutating func append(_ value: SQLValue, position: Int) -> DatabaseError? {
        switch value {
        case .null:
            appendNull()
        case .bool(let flag):
            appendText(flag ? "t" : "f", type: TypeOID.bool)
        case .int(let number):
            appendText(String(number), type: TypeOID.int8)
        case .double(let number):
            appendText(Self.float8Text(number), type: TypeOID.float8)
        case .text(let text):
            guard !text.utf8.contains(0) else { return Self.nulError(position) }
            appendText(text, type: TypeOID.text)
        case .json(let json):
            guard !json.utf8.contains(0) else { return Self.nulError(position) }
            appendText(json, type: TypeOID.jsonb)
        case .timestamp(let date):
            appendText(Self.timestamptzText(date), type: TypeOID.timestamptz)
        case .bytes(let bytes):
            appendBinary(bytes, type: TypeOID.bytea)
        }
        return nil
    }

    private mutating func appendNull() {
        types.append(TypeOID.unknown)
        values.append(nil)
        lengths.append(0)
        formats.append(0)
    }

    private mutating func appendText(_ text: String, type: Oid) {
        let utf8 = Array(text.utf8)
        let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: utf8.count + 1)
        utf8.withUnsafeBufferPointer { source in
            source.withMemoryRebound(to: CChar.self) { buffer.initialize(from: $0.baseAddress!, count: utf8.count) }
        }
        buffer[utf8.count] = 0
        store(buffer, length: utf8.count, format: 0, type: type)
    }

    private mutating func appendBinary(_ bytes: [UInt8], type: Oid) {
        let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: max(bytes.count, 1))
        bytes.withUnsafeBufferPointer { source in
            source.withMemoryRebound(to: CChar.self) { buffer.initialize(from: $0.baseAddress!, count: bytes.count) }
        }
        store(buffer, length: bytes.count, format: 1, type: type)
    }

    private mutating func store(_ buffer: UnsafeMutablePointer<CChar>, length: Int, format: Int32, type: Oid) {
        buffers.append(buffer)
        types.append(type)
        values.append(UnsafePointer(buffer))
        lengths.append(Int32(length))
        formats.append(format)
    }

    /// PostgreSQL text cannot hold NUL, and libpq would silently truncate at it: refuse instead.
    private static func nulError(_ position: Int) -> DatabaseError {
        DatabaseError(kind: .query, sqlState: "22021", message: "text parameter $\(position) contains a NUL character")
    }

    /// Shortest round-tripping decimal; special values spelled the way float8in expects.
    static func float8Text(_ number: Double) -> String {
        if number.isNaN { return "NaN" }
        if number.isInfinite { return number < 0 ? "-Infinity" : "Infinity" }
        return "\(number)"
    }

    /// "2026-11-25 20:02:27.123456+00": UTC with microseconds (PostgreSQL's precision), no DateFormatter.
    static func timestamptzText(_ date: Date) -> String {
        let totalMicroseconds = (date.timeIntervalSince1970 * 1_000_000).rounded()
        let micro = Int64(totalMicroseconds)
        var seconds = micro / 1_000_000
        var fraction = micro % 1_000_000
        if fraction < 0 {
            fraction += 1_000_000
            seconds -= 1
        }
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        let year = Int(parts.tm_year) + 1900
        func pad(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        let yearText = year > 0 ? pad(year, 4) : pad(1 - year, 4)
        let era = year > 0 ? "" : " BC"
        return "\(yearText)-\(pad(Int(parts.tm_mon) + 1, 2))-\(pad(Int(parts.tm_mday), 2)) "
            + "\(pad(Int(parts.tm_hour), 2)):\(pad(Int(parts.tm_min), 2)):\(pad(Int(parts.tm_sec), 2))."
            + "\(pad(Int(fraction), 6))+00\(era)"
    }
}

/// Builds `DatabaseError`s from PGresults without ever echoing bound values.
enum PostgresErrors {
    /// Uses only the primary message (DETAIL/HINT/CONTEXT lines can quote row values, e.g.
    /// "Key (email)=(x@y) already exists"), plus the SQLSTATE and constraint name.
    static func error(from result: OpaquePointer) -> DatabaseError {
        let sqlState = field(result, "C")
        let primary = field(result, "M") ?? fallbackMessage(result)
        return DatabaseError(kind: kind(for: sqlState), sqlState: sqlState,
                             message: redact(primary, sqlState: sqlState), constraint: field(result, "n"))
    }

    static func kind(for sqlState: String?) -> DatabaseError.Kind {
        guard let sqlState else { return .query }
        switch sqlState {
        case "23505": return .uniqueViolation
        case "40001", "40P01": return .serializationFailure
        default:
            if sqlState.hasPrefix("08") || sqlState.hasPrefix("57P") { return .connectionFailed }
            return .query
        }
    }

    /// Data exceptions (class 22) quote the offending input in the primary message, e.g.
    /// `invalid input syntax for type integer: "secret"`; blank out every quoted part for that class.
    static func redact(_ message: String, sqlState: String?) -> String {
        let firstLine = message.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
        guard sqlState?.hasPrefix("22") == true else { return firstLine }
        var output = ""
        var insideQuote = false
        for character in firstLine {
            if character == "\"" {
                if !insideQuote { output += "\"…\"" }
                insideQuote.toggle()
            } else if !insideQuote {
                output.append(character)
            }
        }
        return output
    }

    /// libpq-generated errors (lost connection) have no fields; their text's first line is safe.
    private static func fallbackMessage(_ result: OpaquePointer) -> String {
        guard let raw = PQresultErrorMessage(result) else { return "statement failed" }
        var line = String(cString: raw).split(separator: "\n").first.map(String.init) ?? ""
        for prefix in ["ERROR:  ", "FATAL:  ", "PANIC:  "] where line.hasPrefix(prefix) {
            line.removeFirst(prefix.count)
        }
        return line.isEmpty ? "statement failed" : line
    }

    private static func field(_ result: OpaquePointer, _ code: Character) -> String? {
        PQresultErrorField(result, Int32(code.asciiValue!)).map { String(cString: $0) }
    }
}
