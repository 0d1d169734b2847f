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
    /// Every non-NULL value's bytes, back to back (text values NUL-terminated): one allocation per
    /// statement instead of two per bind. `values` point into it; nil when nothing was allocated.
    private var arena: UnsafeMutableRawPointer?

    /// "292278-12-31 23:59:59.999999+00 BC" is 34 bytes: the widest a microsecond Int64 can produce.
    static let timestampTextBytesMax = 40
    /// "-9223372036854775808": 20 bytes.
    static let integerTextBytesMax = 20

    static func encode(_ binds: [SQLValue]) -> Result<EncodedBinds, DatabaseError> {
        guard binds.count <= parametersMax else {
            return .failure(DatabaseError(kind: .query, message: "too many bind parameters (\(binds.count) > \(parametersMax))"))
        }
        var encoded = EncodedBinds()
        guard !binds.isEmpty else { return .success(encoded) }
        encoded.reserve(binds.count)
        var writer = ArenaWriter(capacityBytes: binds.reduce(0) { $0 + arenaBytesMax($1) })
        encoded.arena = writer.base
        for (index, bind) in binds.enumerated() {
            if let error = encoded.append(bind, position: index + 1, writer: &writer) {
                encoded.deallocate()
                return .failure(error)
            }
        }
        return .success(encoded)
    }

    /// Frees the arena; the caller calls it exactly once, after libpq is done with `values`.
    func deallocate() {
        arena?.deallocate()
    }

    private mutating func reserve(_ count: Int) {
        types.reserveCapacity(count)
        values.reserveCapacity(count)
        lengths.reserveCapacity(count)
        formats.reserveCapacity(count)
    }

    /// Upper bound of the arena bytes one value needs (exact for text, json and bytes).
    private static func arenaBytesMax(_ value: SQLValue) -> Int {
        switch value {
        case .null: return 0
        case .bool: return 2
        case .int: return integerTextBytesMax + 1
        case .double(let number): return float8Text(number).utf8.count + 1
        case .text(let text), .json(let text): return text.utf8.count + 1
        case .timestamp: return timestampTextBytesMax + 1
        case .bytes(let bytes): return bytes.count
        }
    }

    /// Appends one parameter; returns an error (naming the position, never the value) when it cannot be sent.
    private mutating func append(_ value: SQLValue, position: Int, writer: inout ArenaWriter) -> DatabaseError? {
        switch value {
        case .null:
            store(nil, length: 0, format: 0, type: TypeOID.unknown)
        case .bool(let flag):
            let start = writer.text { $0.append(flag ? UInt8(ascii: "t") : UInt8(ascii: "f")) }
            store(start, length: 1, format: 0, type: TypeOID.bool)
        case .int(let number):
            appendText(type: TypeOID.int8, writer: &writer) { $0.appendInteger(number) }
        case .double(let number):
            appendText(type: TypeOID.float8, writer: &writer) { $0.append(contentsOf: Self.float8Text(number)) }
        case .text(let text):
            return appendCheckedText(text, type: TypeOID.text, position: position, writer: &writer)
        case .json(let json):
            return appendCheckedText(json, type: TypeOID.jsonb, position: position, writer: &writer)
        case .timestamp(let date):
            appendText(type: TypeOID.timestamptz, writer: &writer) { Self.writeTimestamptz(date, to: &$0) }
        case .bytes(let bytes):
            let start = writer.offset
            bytes.withUnsafeBytes { writer.append($0) }
            store(start, length: bytes.count, format: 1, type: TypeOID.bytea)
        }
        return nil
    }

    private mutating func appendText(type: Oid, writer: inout ArenaWriter, _ body: (inout ArenaWriter) -> Void) {
        let start = writer.text(body)
        store(start, length: writer.offset - 1 - start, format: 0, type: type)
    }

    /// Copies text in bulk and refuses it if it holds a NUL (found with memchr over the copied bytes).
    private mutating func appendCheckedText(_ text: String, type: Oid, position: Int,
                                            writer: inout ArenaWriter) -> DatabaseError? {
        let start = writer.text { $0.append(contentsOf: text) }
        let length = writer.offset - 1 - start
        guard memchr(writer.pointer(at: start), 0, length) == nil else { return Self.nulError(position) }
        store(start, length: length, format: 0, type: type)
        return nil
    }

    private mutating func store(_ start: Int, length: Int, format: Int32, type: Oid) {
        store(UnsafePointer(arena!.advanced(by: start).assumingMemoryBound(to: CChar.self)),
              length: length, format: format, type: type)
    }

    private mutating func store(_ pointer: UnsafePointer<CChar>?, length: Int, format: Int32, type: Oid) {
        types.append(type)
        values.append(pointer)
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
        String(unsafeUninitializedCapacity: timestampTextBytesMax) { buffer in
            var writer = ArenaWriter(buffer: UnsafeMutableRawBufferPointer(buffer))
            writeTimestamptz(date, to: &writer)
            return writer.offset
        }
    }

    /// Proleptic Gregorian calendar arithmetic (as gmtime_r, which also takes glibc's timezone lock);
    /// years before 1 are astronomical (0 = 1 BC) and printed as PostgreSQL's "YYYY-… BC".
    private static func writeTimestamptz(_ date: Date, to writer: inout ArenaWriter) {
        let micro = Timestamp.microsecondsSinceEpoch(date)
        let (seconds, fraction) = floorDivision(micro, 1_000_000)
        let (days, secondOfDay) = floorDivision(seconds, 86_400)
        let civil = GregorianDays.civil(daysSinceEpoch: days)
        writer.appendDigits(civil.year > 0 ? civil.year : 1 - civil.year, width: 4)
        writer.append(UInt8(ascii: "-"))
        writer.appendDigits(civil.month, width: 2)
        writer.append(UInt8(ascii: "-"))
        writer.appendDigits(civil.day, width: 2)
        writer.append(UInt8(ascii: " "))
        writer.appendDigits(secondOfDay / 3600, width: 2)
        writer.append(UInt8(ascii: ":"))
        writer.appendDigits(secondOfDay / 60 % 60, width: 2)
        writer.append(UInt8(ascii: ":"))
        writer.appendDigits(secondOfDay % 60, width: 2)
        writer.append(UInt8(ascii: "."))
        writer.appendDigits(fraction, width: 6)
        writer.append(contentsOf: civil.year > 0 ? "+00" : "+00 BC")
    }

    /// Quotient rounded toward negative infinity and a remainder in 0..<divisor.
    private static func floorDivision(_ value: Int64, _ divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        let quotient = value / divisor
        let remainder = value % divisor
        return remainder < 0 ? (quotient - 1, remainder + divisor) : (quotient, remainder)
    }
}

/// Appends bytes into a fixed buffer sized in advance (capacity is checked: overrunning is a bug).
private struct ArenaWriter {
    let base: UnsafeMutableRawPointer?
    let capacityBytes: Int
    private(set) var offset = 0

    /// Allocates `capacityBytes` (at least 1, so even an empty `.bytes` value gets a non-NULL pointer).
    init(capacityBytes: Int) {
        self.capacityBytes = max(capacityBytes, 1)
        base = UnsafeMutableRawPointer.allocate(byteCount: self.capacityBytes, alignment: 1)
    }

    init(buffer: UnsafeMutableRawBufferPointer) {
        base = buffer.baseAddress
        capacityBytes = buffer.count
    }

    func pointer(at start: Int) -> UnsafeMutableRawPointer { base!.advanced(by: start) }

    /// Runs `body`, NUL-terminates what it wrote and returns where it started.
    mutating func text(_ body: (inout ArenaWriter) -> Void) -> Int {
        let start = offset
        body(&self)
        append(0)
        return start
    }

    mutating func append(_ byte: UInt8) {
        precondition(offset < capacityBytes, "bind arena overrun")
        base!.storeBytes(of: byte, toByteOffset: offset, as: UInt8.self)
        offset += 1
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        precondition(offset + bytes.count <= capacityBytes, "bind arena overrun")
        base!.advanced(by: offset).copyMemory(from: source, byteCount: bytes.count)
        offset += bytes.count
    }

    mutating func append(contentsOf text: String) {
        var text = text
        text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    /// Zero-padded decimal of a non-negative value.
    mutating func appendDigits(_ value: Int64, width: Int) {
        var digits = 1
        var limit: Int64 = 10
        while digits < 19 && value >= limit {
            digits += 1
            limit &*= 10
        }
        let count = max(width, digits)
        precondition(offset + count <= capacityBytes, "bind arena overrun")
        var remaining = value
        for index in stride(from: offset + count - 1, through: offset, by: -1) {
            base!.storeBytes(of: UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: remaining % 10), toByteOffset: index, as: UInt8.self)
            remaining /= 10
        }
        offset += count
    }

    /// Signed decimal, exact for Int64.min.
    mutating func appendInteger(_ value: Int64) {
        if value < 0 { append(UInt8(ascii: "-")) }
        let magnitude = value.magnitude
        if magnitude <= UInt64(Int64.max) {
            appendDigits(Int64(magnitude), width: 1)
        } else {
            append(contentsOf: "9223372036854775808")
        }
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
