import Foundation
import Kernel
import Testing
@testable import Postgres

@Suite struct BindTests {
    @Test func everySQLValueTypeRoundTripsThroughATable() async throws {
        let db = try TestDatabase.make()
        defer { db.close() }
        let table = TestDatabase.uniqueName("binds")
        try await db.execute("""
            CREATE TABLE \(unsafeRaw: table) (b bool, i int8, d float8, t text, by bytea, ts timestamptz, j jsonb, n text)
            """)
        let date = Date(timeIntervalSince1970: 1_790_000_000.123456)
        let bytes: [UInt8] = [0, 1, 2, 0, 255, 0]
        let inserted = try await db.execute("""
            INSERT INTO \(unsafeRaw: table) VALUES (\(true), \(Int64.min), \(-1.25), \("héllo"), \(bytes), \(date),
                \(SQLValue.json(#"{"k": [1, "two"]}"#)), \(String?.none.sqlValue))
            """)
        #expect(inserted == 1)
        let row = try #require(try await db.queryFirst("SELECT * FROM \(unsafeRaw: table)"))
        #expect(try row.decode("b", as: Bool.self) == true)
        #expect(try row.decode("i", as: Int64.self) == Int64.min)
        #expect(try row.decode("d", as: Double.self) == -1.25)
        #expect(try row.decode("t", as: String.self) == "héllo")
        #expect(try row.decode("by", as: [UInt8].self) == bytes)
        let decodedDate = try row.decode("ts", as: Date.self)
        #expect(abs(decodedDate.timeIntervalSince1970 - date.timeIntervalSince1970) < 0.000_002)
        #expect(try row.decode("j", as: String.self) == #"{"k": [1, "two"]}"#)
        #expect(try row.decode("n", as: String?.self) == nil)
        #expect(row.text("n") == nil)
        try await db.execute("DROP TABLE \(unsafeRaw: table)")
    }

    @Test func bytesWithEveryByteValueAndNULsAreBinarySafe() async throws {
        let db = try TestDatabase.make()
        defer { db.close() }
        let all = (0...255).map { UInt8($0) }
        let payload = [0, 0] + all + [0] + all.reversed()
        let row = try #require(try await db.queryFirst("SELECT \(payload) AS v, length(\(payload)) AS n"))
        #expect(try row.decode("v", as: [UInt8].self) == payload)
        #expect(try row.decode("n", as: Int.self) == payload.count)
        let empty = try #require(try await db.queryFirst("SELECT \([UInt8]()) AS v"))
        #expect(try empty.decode("v", as: [UInt8].self) == [])
    }

    @Test func unicodeAndHostileTextIsSentAsDataNeverAsSQL() async throws {
        let db = try TestDatabase.make()
        defer { db.close() }
        let samples = ["héllo wörld", "日本語テキスト", "👋🏽👨‍👩‍👧", "\u{202E}rtl", "'; DROP TABLE users; --", "$1 $2 \\ \" '",
                       String(repeating: "x", count: 100_000), ""]
        for sample in samples {
            let row = try #require(try await db.queryFirst("SELECT \(sample) AS v, char_length(\(sample)) AS n"))
            #expect(try row.decode("v", as: String.self) == sample)
            #expect(try row.decode("n", as: Int.self) == sample.unicodeScalars.count)
        }
    }

    @Test func nullsOfEveryKindDecodeAsNil() async throws {
        let db = try TestDatabase.make()
        defer { db.close() }
        let row = try #require(try await db.queryFirst("""
            SELECT \(SQLValue.null)::int8 AS i, \(Int?.none.sqlValue)::int8 AS j, \(String?.none.sqlValue) AS t, \(SQLValue.null)::bytea AS b,
                   \(SQLValue.null)::timestamptz AS ts, \(SQLValue.null)::text IS NULL AS isnull
            """))
        #expect(try row.decode("i", as: Int64?.self) == nil)
        #expect(try row.decode("j", as: Int?.self) == nil)
        #expect(try row.decode("t", as: String?.self) == nil)
        #expect(try row.decode("b", as: [UInt8]?.self) == nil)
        #expect(try row.decode("ts", as: Date?.self) == nil)
        #expect(try row.decode("isnull", as: Bool.self) == true)
        // A non-optional decode of NULL is a decoding error, not a silent default.
        #expect(throws: DatabaseError.self) { try row.decode("i", as: Int64.self) }
    }

    @Test func typedDecodingOfIntsDoublesBoolsAndTimestamps() async throws {
        let db = try TestDatabase.make()
        defer { db.close() }
        for value in [Int64.min, -1, 0, 1, Int64.max] {
            let row = try #require(try await db.queryFirst("SELECT \(value) AS v, pg_typeof(\(value))::text AS t"))
            #expect(try row.decode("v", as: Int64.self) == value)
            #expect(row.text("t") == "bigint")
        }
        for value in [0.1, -0.0, 1e-300, 1.7976931348623157e308, 3.141592653589793, .infinity, -.infinity] {
            let row = try #require(try await db.queryFirst("SELECT \(value) AS v"))
            #expect(try row.decode("v", as: Double.self) == value)
        }
        let nan = try #require(try await db.queryFirst("SELECT \(Double.nan) AS v"))
        #expect(try nan.decode("v", as: Double.self).isNaN)
        let flags = try #require(try await db.queryFirst("SELECT \(true) AS t, \(false) AS f, pg_typeof(\(true))::text AS ty"))
        #expect(try flags.decode("t", as: Bool.self) == true)
        #expect(try flags.decode("f", as: Bool.self) == false)
        #expect(flags.text("ty") == "boolean")
        for date in [Date(timeIntervalSince1970: 0), Date(timeIntervalSince1970: -1_000_000_000.5),
                     Date(timeIntervalSince1970: 4_102_444_800.000001)] {
            let row = try #require(try await db.queryFirst("SELECT \(date) AS v, pg_typeof(\(date))::text AS t"))
            #expect(abs(try row.decode("v", as: Date.self).timeIntervalSince1970 - date.timeIntervalSince1970) < 0.000_002)
            #expect(row.text("t") == "timestamp with time zone")
        }
        let zone = try #require(try await db.queryFirst("SHOW TimeZone"))
        #expect(zone.values.first == "UTC")
    }

    @Test func sessionsUseGenericPlansForPreparedStatements() async throws {
        let db = try TestDatabase.make()
        defer { db.close() }
        let mode = try #require(try await db.queryFirst("SHOW plan_cache_mode"))
        #expect(mode.values.first == "force_generic_plan")
    }

    @Test func jsonIsSentAsJsonb() async throws {
        let db = try TestDatabase.make()
        defer { db.close() }
        let json = SQLValue.json(#"{"name": "Zoë", "amount": 1250, "tags": ["a"]}"#)
        let row = try #require(try await db.queryFirst("""
            SELECT pg_typeof(\(json))::text AS t, \(json) ->> 'name' AS name, (\(json) ->> 'amount')::int8 AS amount
            """))
        #expect(row.text("t") == "jsonb")
        #expect(row.text("name") == "Zoë")
        #expect(try row.decode("amount", as: Int64.self) == 1250)
    }

    @Test func textContainingNULIsRefusedWithoutEchoingIt() async throws {
        let db = try TestDatabase.make()
        defer { db.close() }
        do {
            _ = try await db.query("SELECT \("secret\u{0}tail") AS v")
            Issue.record("expected a refusal")
        } catch {
            #expect(error.kind == .query)
            #expect(!error.description.contains("secret"))
        }
    }

    @Test func executeReportsAffectedRows() async throws {
        let db = try TestDatabase.make()
        defer { db.close() }
        let table = TestDatabase.uniqueName("affected")
        try await db.execute("CREATE TABLE \(unsafeRaw: table) (id int8)")
        #expect(try await db.execute("INSERT INTO \(unsafeRaw: table) SELECT generate_series(1, 5)") == 5)
        #expect(try await db.execute("UPDATE \(unsafeRaw: table) SET id = id + 10 WHERE id > \(2)") == 3)
        #expect(try await db.execute("DELETE FROM \(unsafeRaw: table)") == 5)
        try await db.execute("DROP TABLE \(unsafeRaw: table)")
    }

    @Test func timestampTextIsUTCWithMicroseconds() {
        #expect(EncodedBinds.timestamptzText(Date(timeIntervalSince1970: 0)) == "1970-01-01 00:00:00.000000+00")
        #expect(EncodedBinds.timestamptzText(Date(timeIntervalSince1970: -0.5)) == "1969-12-31 23:59:59.500000+00")
        #expect(EncodedBinds.timestamptzText(Date(timeIntervalSince1970: 1_790_000_000.123456))
                    == "2026-09-21 14:13:20.123456+00")
    }

    /// The arithmetic formatter against gmtime_r (what it replaced) and PostgreSQL's spelling of BC years.
    @Test func timestampTextEdgeCases() {
        func text(_ seconds: Double) -> String { EncodedBinds.timestamptzText(Date(timeIntervalSince1970: seconds)) }
        #expect(text(-0.000_001) == "1969-12-31 23:59:59.999999+00")
        #expect(text(-86_400.25) == "1969-12-30 23:59:59.750000+00")
        #expect(text(951_782_400) == "2000-02-29 00:00:00.000000+00")
        #expect(text(-62_135_596_800) == "0001-01-01 00:00:00.000000+00")
        #expect(text(-62_135_596_800.5) == "0001-12-31 23:59:59.500000+00 BC")
        #expect(text(-62_167_219_200) == "0001-01-01 00:00:00.000000+00 BC")
        #expect(text(-62_167_219_200.5) == "0002-12-31 23:59:59.500000+00 BC")
        #expect(text(253_402_300_799.5) == "9999-12-31 23:59:59.500000+00")
        #expect(text(253_402_300_800) == "10000-01-01 00:00:00.000000+00")
        #expect(text(4_102_444_800) == "2100-01-01 00:00:00.000000+00")
        #expect(text(9_000_000_000_000) == Self.gmtimeText(Date(timeIntervalSince1970: 9_000_000_000_000)))
        #expect(text(-9_000_000_000_000) == Self.gmtimeText(Date(timeIntervalSince1970: -9_000_000_000_000)))
    }

    @Test func timestampTextMatchesGmtimeOnRandomInstants() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<5_000 {
            let micro = Int64.random(in: -100_000_000_000_000_000...100_000_000_000_000_000, using: &generator)
            let date = Date(timeIntervalSince1970: Double(micro) / 1_000_000)
            #expect(EncodedBinds.timestamptzText(date) == Self.gmtimeText(date))
        }
    }

    /// The gmtime_r-based formatter this file used before (the oracle).
    static func gmtimeText(_ date: Date) -> String {
        let micro = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
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

    /// Arena encoding: pointers, lengths, formats and NUL termination per kind, without a database.
    @Test func encodedBindsLayOutEveryKindInOneArena() throws {
        let date = Date(timeIntervalSince1970: 0.5)
        let binds: [SQLValue] = [.null, .bool(true), .bool(false), .int(.min), .int(.max), .int(0), .double(-1.25),
                                 .double(.nan), .text("héllo"), .text(""), .json(#"{"a":1}"#), .timestamp(date),
                                 .bytes([0, 1, 0]), .bytes([])]
        let encoded = try EncodedBinds.encode(binds).get()
        defer { encoded.deallocate() }
        let expectedText: [String?] = [nil, "t", "f", "-9223372036854775808", "9223372036854775807", "0", "-1.25", "NaN",
                                       "héllo", "", #"{"a":1}"#, "1970-01-01 00:00:00.500000+00", nil, nil]
        #expect(encoded.types == [0, 16, 16, 20, 20, 20, 701, 701, 25, 25, 3802, 1184, 17, 17])
        #expect(encoded.formats == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1])
        for (index, expected) in expectedText.enumerated() where expected != nil {
            let pointer = try #require(encoded.values[index])
            #expect(String(cString: pointer) == expected)
            #expect(Int(encoded.lengths[index]) == expected!.utf8.count)
        }
        #expect(encoded.values[0] == nil && encoded.lengths[0] == 0)
        let bytes = try #require(encoded.values[12])
        #expect(encoded.lengths[12] == 3)
        #expect((0..<3).map { UInt8(bitPattern: bytes[$0]) } == [0, 1, 0])
        #expect(encoded.values[13] != nil && encoded.lengths[13] == 0)
        #expect(try EncodedBinds.encode([]).get().values.isEmpty)
    }

    @Test func encodedBindsRefuseNULByPositionWithoutTheValue() {
        for binds: [SQLValue] in [[.int(1), .text("se\u{0}cret")], [.int(1), .json("{\"se\u{0}cret\":1}")]] {
            guard case .failure(let error) = EncodedBinds.encode(binds) else {
                Issue.record("NUL accepted")
                continue
            }
            #expect(error.message == "text parameter $2 contains a NUL character")
            #expect(error.sqlState == "22021")
        }
    }
}
