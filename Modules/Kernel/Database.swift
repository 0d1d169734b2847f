public import Foundation

/// A value bound to a SQL parameter or read from a result column.
public enum SQLValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case text(String)
    /// Sent in binary format, so any byte is safe.
    case bytes([UInt8])
    case timestamp(Date)
    /// JSON text, sent as `jsonb`.
    case json(String)
}

/// Types that can be bound as SQL parameters.
public protocol SQLBindable: Sendable {
    var sqlValue: SQLValue { get }
}

extension Int: SQLBindable { public var sqlValue: SQLValue { .int(Int64(self)) } }
extension Int64: SQLBindable { public var sqlValue: SQLValue { .int(self) } }
extension Int32: SQLBindable { public var sqlValue: SQLValue { .int(Int64(self)) } }
extension Bool: SQLBindable { public var sqlValue: SQLValue { .bool(self) } }
extension Double: SQLBindable { public var sqlValue: SQLValue { .double(self) } }
extension String: SQLBindable { public var sqlValue: SQLValue { .text(self) } }
extension Date: SQLBindable { public var sqlValue: SQLValue { .timestamp(self) } }
extension Array: SQLBindable where Element == UInt8 { public var sqlValue: SQLValue { .bytes(self) } }
extension SQLValue: SQLBindable { public var sqlValue: SQLValue { self } }
extension Mode: SQLBindable { public var sqlValue: SQLValue { .text(rawValue) } }
extension TypedID: SQLBindable { public var sqlValue: SQLValue { .text(rawValue) } }
extension Optional: SQLBindable where Wrapped: SQLBindable {
    public var sqlValue: SQLValue { self?.sqlValue ?? .null }
}

/// SQL text with bind parameters only. Interpolated values become `$n` placeholders, never text:
///
///     let sql: SQL = "SELECT id FROM txn WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)"
///
/// Identifiers that must be spliced (table names in migrations) use `\(unsafeRaw:)`, which is
/// restricted to `[A-Za-z0-9_.]`.
public struct SQL: Sendable, ExpressibleByStringInterpolation, CustomStringConvertible {
    public private(set) var text: String
    public private(set) var binds: [SQLValue]

    public init(_ text: String, binds: [SQLValue] = []) {
        self.text = text
        self.binds = binds
    }

    public init(stringLiteral value: String) { self.init(value) }

    public init(stringInterpolation: StringInterpolation) {
        text = stringInterpolation.text
        binds = stringInterpolation.binds
    }

    public struct StringInterpolation: StringInterpolationProtocol {
        var text = ""
        var binds: [SQLValue] = []

        public init(literalCapacity: Int, interpolationCount: Int) { text.reserveCapacity(literalCapacity + 4 * interpolationCount) }
        public mutating func appendLiteral(_ literal: String) { text += literal }
        public mutating func appendInterpolation(_ value: some SQLBindable) {
            binds.append(value.sqlValue)
            text += "$\(binds.count)"
        }
        /// NULL when nil (an explicit overload, so optionals need no unwrapping at call sites).
        public mutating func appendInterpolation<Value: SQLBindable>(_ value: Value?) {
            binds.append(value?.sqlValue ?? .null)
            text += "$\(binds.count)"
        }
        /// An optional filter: ` AND <condition>` with the value bound at its `?`, or nothing at all when
        /// the value is nil. WHY: the one-text form `($n IS NULL OR column < $n)` cannot use `$n` as an
        /// index bound in a prepared statement's generic plan, so cursor paging read every newer row (130 ms
        /// for a page 200,000 rows deep, 0.05 ms with the bound). Only the present filters make the text;
        /// each combination is its own prepared statement. A `StaticString`, so the condition is source text.
        public mutating func appendInterpolation<Value: SQLBindable>(and condition: StaticString, _ value: Value?) {
            guard let value else { return }
            let template = condition.description
            let parts = template.split(separator: "?", omittingEmptySubsequences: false)
            precondition(parts.count == 2, "an optional filter has exactly one ? for its value")
            binds.append(value.sqlValue)
            text += " AND " + parts[0] + "$\(binds.count)" + parts[1]
        }
        /// Source text spliced as is (e.g. a shared column list); a `StaticString`, so never a runtime value.
        public mutating func appendInterpolation(literal fragment: StaticString) {
            text += fragment.description
        }
        public mutating func appendInterpolation(unsafeRaw identifier: String) {
            precondition(identifier.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." },
                         "unsafeRaw takes identifiers only")
            text += identifier
        }
    }

    /// The statement text only; bound values are never printed.
    public var description: String { text }
}

/// One result row. Values arrive as text from libpq; typed accessors decode them.
public struct Row: Sendable {
    public let columns: [String]
    public let values: [String?]

    public init(columns: [String], values: [String?]) {
        self.columns = columns
        self.values = values
    }

    public func text(_ column: String) -> String? {
        guard let index = columns.firstIndex(of: column) else { return nil }
        return values[index]
    }

    public func decode<T: SQLDecodable>(_ column: String, as type: T.Type = T.self) throws(DatabaseError) -> T {
        guard let index = columns.firstIndex(of: column) else {
            throw DatabaseError(kind: .decoding, message: "no column \(column)")
        }
        guard let value = T.decodeSQL(values[index]) else {
            throw DatabaseError(kind: .decoding, message: "column \(column) is not a \(T.self)")
        }
        return value
    }
}

/// Types readable from a column's text form (Optional reads NULL as nil).
public protocol SQLDecodable {
    static func decodeSQL(_ text: String?) -> Self?
}

extension String: SQLDecodable { public static func decodeSQL(_ text: String?) -> String? { text } }
extension Int64: SQLDecodable { public static func decodeSQL(_ text: String?) -> Int64? { text.flatMap { Int64($0) } } }
extension Int: SQLDecodable { public static func decodeSQL(_ text: String?) -> Int? { text.flatMap { Int($0) } } }
extension Double: SQLDecodable { public static func decodeSQL(_ text: String?) -> Double? { text.flatMap { Double($0) } } }
extension Bool: SQLDecodable {
    public static func decodeSQL(_ text: String?) -> Bool? {
        switch text { case "t", "true": return true; case "f", "false": return false; default: return nil }
    }
}
extension Array: SQLDecodable where Element == UInt8 {
    /// Decodes `bytea` hex output (`\x0a1b…`).
    public static func decodeSQL(_ text: String?) -> [UInt8]? {
        guard let text, text.hasPrefix("\\x") else { return nil }
        return Encoding.hexDecode(String(text.dropFirst(2)))
    }
}
extension Date: SQLDecodable {
    /// Decodes `timestamptz` text as PostgreSQL prints it with `TimeZone=UTC` (the pool sets it).
    public static func decodeSQL(_ text: String?) -> Date? {
        guard let text else { return nil }
        return PostgresTimestamp.parse(text)
    }
}
extension Optional: SQLDecodable where Wrapped: SQLDecodable {
    public static func decodeSQL(_ text: String?) -> Wrapped?? {
        guard let text else { return .some(nil) }
        return Wrapped.decodeSQL(text).map { .some($0) }
    }
}

/// Parses "2026-11-25 20:02:27.123456+00" (ISO style, any fraction, offset ±HH[:MM]).
///
/// Every timestamp column of every row goes through here. The common shape (four-digit year from 1583, up to
/// nine fraction digits, an offset of ±HH or ±HH:MM) is read byte by byte with integer calendar arithmetic;
/// anything else (BC, five-digit years, Julian-era dates, seconds in the offset) takes the general path, whose
/// `Calendar` cost about 5 µs a value. Both give the same `Date`, bit for bit.
public enum PostgresTimestamp {
    public static func parse(_ text: String) -> Date? {
        var text = text
        return text.withUTF8 { parseCommonShape($0) } ?? parseGeneral(text)
    }

    /// "YYYY-MM-DD HH:MM:SS[.f…][±HH[:MM]]", or nil for any other shape (the general path decides those).
    static func parseCommonShape(_ bytes: UnsafeBufferPointer<UInt8>) -> Date? {
        var reader = DigitReader(bytes: bytes)
        guard let year = reader.number(digits: 4), year >= 1583, reader.skip("-"),
              let month = reader.number(digits: 2), (1...12).contains(month), reader.skip("-"),
              let day = reader.number(digits: 2), (1...31).contains(day), reader.skip(" ") || reader.skip("T"),
              let hour = reader.number(digits: 2), hour < 24, reader.skip(":"),
              let minute = reader.number(digits: 2), minute < 60, reader.skip(":"),
              let second = reader.number(digits: 2), second < 60 else { return nil }
        var fraction = 0.0
        if reader.skip(".") {
            var digits: Int64 = 0
            var scale: Int64 = 1
            while let digit = reader.digit() {
                guard scale < 1_000_000_000 else { return nil }
                digits = digits * 10 + digit
                scale *= 10
            }
            guard scale > 1 else { return nil }
            fraction = Double(digits) / Double(scale)
        }
        var offsetSeconds: Int64 = 0
        if !reader.atEnd {
            let sign: Int64 = reader.skip("+") ? 1 : reader.skip("-") ? -1 : 0
            guard sign != 0, let hours = reader.number(digits: 2) else { return nil }
            var minutes: Int64 = 0
            if reader.skip(":") { guard let value = reader.number(digits: 2) else { return nil }; minutes = value }
            offsetSeconds = sign * (hours * 3600 + minutes * 60)
        }
        guard reader.atEnd, day <= GregorianDays.daysInMonth(year: year, month: month) else { return nil }
        let localSeconds = GregorianDays.daysSinceEpoch(year: year, month: month, day: day) * 86_400
            + hour * 3600 + minute * 60 + second
        // The general path's arithmetic exactly: whole seconds since the reference date, then the fraction minus
        // the offset, so both paths give the same Date bit for bit.
        return Date(timeIntervalSinceReferenceDate: Double(localSeconds - Timestamp.referenceDateSince1970Seconds))
            .addingTimeInterval(fraction - Double(offsetSeconds))
    }

    /// Reads ASCII digits and separators from the front of a byte buffer.
    struct DigitReader {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        var atEnd: Bool { index == bytes.count }

        mutating func skip(_ character: Unicode.Scalar) -> Bool {
            guard index < bytes.count, bytes[index] == UInt8(ascii: character) else { return false }
            index += 1
            return true
        }

        mutating func digit() -> Int64? {
            guard index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") else { return nil }
            defer { index += 1 }
            return Int64(bytes[index] - UInt8(ascii: "0"))
        }

        mutating func number(digits: Int) -> Int64? {
            var value: Int64 = 0
            for _ in 0..<digits {
                guard let digit = digit() else { return nil }
                value = value * 10 + digit
            }
            return value
        }
    }

    static func parseGeneral(_ text: String) -> Date? {
        let normalized = text.replacingOccurrences(of: " ", with: "T")
        var main = normalized
        var offsetSeconds = 0
        if let signIndex = normalized.lastIndex(where: { $0 == "+" || $0 == "-" }),
           normalized.distance(from: normalized.startIndex, to: signIndex) > 10 {
            let offset = normalized[normalized.index(after: signIndex)...].split(separator: ":")
            guard let hours = offset.first.flatMap({ Int($0) }) else { return nil }
            let minutes = offset.count > 1 ? Int(offset[1]) ?? 0 : 0
            offsetSeconds = (hours * 3600 + minutes * 60) * (normalized[signIndex] == "-" ? -1 : 1)
            main = String(normalized[..<signIndex])
        }
        var fraction = 0.0
        if let dot = main.firstIndex(of: ".") {
            fraction = Double("0" + main[dot...]) ?? 0
            main = String(main[..<dot])
        }
        let parts = main.split(whereSeparator: { $0 == "-" || $0 == "T" || $0 == ":" }).compactMap { Int($0) }
        guard parts.count == 6 else { return nil }
        var components = DateComponents()
        (components.year, components.month, components.day) = (parts[0], parts[1], parts[2])
        (components.hour, components.minute, components.second) = (parts[3], parts[4], parts[5])
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 0)!
        guard let date = calendar.date(from: components) else { return nil }
        return date.addingTimeInterval(fraction - Double(offsetSeconds))
    }
}

/// A database failure. `message` never contains bound values; `sqlState` is the SQLSTATE code.
public struct DatabaseError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case connectionFailed
        case poolTimeout
        case poolClosed
        case query
        case uniqueViolation
        case serializationFailure
        case decoding
    }

    public let kind: Kind
    public let sqlState: String?
    public let message: String
    /// The constraint name for integrity violations, when PostgreSQL reports it.
    public let constraint: String?

    public init(kind: Kind, sqlState: String? = nil, message: String, constraint: String? = nil) {
        self.kind = kind
        self.sqlState = sqlState
        self.message = message
        self.constraint = constraint
    }

    public var description: String { "DatabaseError(\(kind.rawValue), sqlstate \(sqlState ?? "-")): \(message)" }
}

/// Runs statements. Implemented by a pooled connection and by an open transaction.
public protocol SQLExecutor: Sendable {
    func query(_ sql: SQL) async throws(DatabaseError) -> [Row]
    /// Runs a statement and returns the number of rows it affected.
    @discardableResult
    func execute(_ sql: SQL) async throws(DatabaseError) -> Int
}

extension SQLExecutor {
    public func queryFirst(_ sql: SQL) async throws(DatabaseError) -> Row? { try await query(sql).first }
}

/// What one `COPY (…) TO STDOUT` wrote: its rows' bytes end to end, exactly as the server formatted them.
public struct CopyOutput: Sendable {
    /// Every row with its own line end, in the order the server sent them.
    public var bytes: [UInt8] = []
    public var rowCount = 0

    public init() {}
}

/// A notification received on a LISTEN channel.
public struct DatabaseNotification: Sendable {
    public let channel: String
    public let payload: String

    public init(channel: String, payload: String) {
        self.channel = channel
        self.payload = payload
    }
}

/// The database as modules see it: pooled statements, transactions, and LISTEN/NOTIFY.
public protocol Database: SQLExecutor {
    /// Runs `body` inside BEGIN … COMMIT on one connection; any thrown error rolls back.
    func transaction<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T
    /// Delivers notifications for `channel` until the stream is cancelled; survives reconnects.
    func listen(channel: String) async throws(DatabaseError) -> AsyncStream<DatabaseNotification>
    func notify(channel: String, payload: String) async throws(DatabaseError)
    /// True when a trivial query succeeds within a short timeout.
    func isReachable() async -> Bool
    /// Runs one `COPY (…) TO STDOUT (…)` and returns everything it wrote, in one buffer (so keep its query
    /// bounded, e.g. one keyset page). WHY: PostgreSQL formats the rows in C (RFC 4180 CSV quoting, JSON), so
    /// no row is decoded and formatted again in Swift, and no per-field SQL expression does the quoting.
    ///
    /// COPY takes no bind parameters, and values are never spliced into SQL text: `sql` is constant text with
    /// no binds, and each value travels in `settings`, bound (`SELECT set_config($1, $2, true), …`) in the same
    /// transaction as the COPY, whose query reads it back with `current_setting('atlas.<name>')`. The settings
    /// are transaction-local, so they end with the COPY. Names start with `atlas.` (never a server setting).
    /// A statement with binds, or one that is not a COPY TO STDOUT, is refused with a `.query` error.
    func copyOut(_ sql: SQL, settings: KeyValuePairs<String, String>) async throws(DatabaseError) -> CopyOutput
}

/// One schema change of one module. Versions are ordered per namespace (the module name).
public struct Migration: Sendable {
    public let namespace: String
    public let version: Int
    public let name: String
    public let sql: String
    /// SHA-256 (hex) of earlier texts of this migration that databases may have applied. WHY: when a table
    /// moves to another module, its CREATE leaves the old migration's text; databases that ran the old
    /// text are still at this version (the new owner's migration adopts the table with IF NOT EXISTS).
    public let priorChecksums: Set<String>

    public init(namespace: String, version: Int, name: String, priorChecksums: Set<String> = [], sql: String) {
        self.namespace = namespace
        self.version = version
        self.name = name
        self.sql = sql
        self.priorChecksums = priorChecksums
    }
}
