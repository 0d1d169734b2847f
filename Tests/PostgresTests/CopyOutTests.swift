import Foundation
import Kernel
import Testing
@testable import Postgres

/// `PostgresDatabase.copyOut`: COPY … TO STDOUT read row by row into one buffer, values bound as transaction-local
/// settings, errors typed, and the pooled connection usable afterwards.
@Suite struct CopyOutTests {
    /// One connection, so every statement after a copy runs on the connection the copy used.
    func singleConnection() throws -> PostgresDatabase { try TestDatabase.make(connectionsMax: 1) }

    static let numberedRows: SQL = """
        COPY (SELECT i, 'row ' || i FROM generate_series(1, current_setting('atlas.test_rows')::int) AS i)
        TO STDOUT (FORMAT csv)
        """

    @Test func manyRowsArriveWholeInOrder() async throws {
        let db = try singleConnection()
        defer { db.close() }
        let output = try await db.copyOut(Self.numberedRows, settings: ["atlas.test_rows": "2500"])
        let expected = (1...2500).map { "\($0),row \($0)\n" }.joined()
        #expect(output.rowCount == 2500)
        #expect(output.bytes == Array(expected.utf8))
    }

    @Test func anEmptyResultIsNoBytes() async throws {
        let db = try singleConnection()
        defer { db.close() }
        let output = try await db.copyOut(Self.numberedRows, settings: ["atlas.test_rows": "0"])
        #expect(output.rowCount == 0)
        #expect(output.bytes.isEmpty)
        let none = try await db.copyOut("COPY (SELECT 1 WHERE false) TO STDOUT", settings: [:])
        #expect(none.rowCount == 0 && none.bytes.isEmpty)
    }

    /// A setting's value is bound, never SQL text: quotes and statement separators arrive as data, and PostgreSQL
    /// quotes the CSV field itself (RFC 4180).
    @Test func settingsAreBoundValuesAndCSVIsQuotedByTheServer() async throws {
        let db = try singleConnection()
        defer { db.close() }
        let awkward = "a,\"b\"\r\nc'); DROP TABLE nothing; --"
        let output = try await db.copyOut("""
            COPY (SELECT current_setting('atlas.test_text') AS text, current_setting('atlas.test_other') AS other)
            TO STDOUT (FORMAT csv)
            """, settings: ["atlas.test_text": awkward, "atlas.test_other": "plain"])
        #expect(output.rowCount == 1)
        #expect(String(decoding: output.bytes, as: UTF8.self) == "\"a,\"\"b\"\"\r\nc'); DROP TABLE nothing; --\",plain\n")
    }

    /// The settings end with the copy's transaction: nothing is left on the pooled connection.
    @Test func settingsAreTransactionLocal() async throws {
        let db = try singleConnection()
        defer { db.close() }
        _ = try await db.copyOut(Self.numberedRows, settings: ["atlas.test_rows": "3"])
        let after = try await db.queryFirst("SELECT current_setting('atlas.test_rows', true) AS value")
        #expect(try after?.decode("value", as: String?.self) != "3")
        #expect(try await db.queryFirst("SELECT 1 AS ok")?.decode("ok", as: Int.self) == 1)
    }

    /// A failure after rows were already sent (division by zero at the third row) surfaces as the server's typed
    /// error, not as a short result; the same connection then runs the next statement and the next copy.
    @Test func anErrorInTheMiddleIsTypedAndTheConnectionRecovers() async throws {
        let db = try singleConnection()
        defer { db.close() }
        do {
            _ = try await db.copyOut("COPY (SELECT 10 / (3 - i) FROM generate_series(1, 5000) AS i) TO STDOUT", settings: [:])
            Issue.record("expected division by zero")
        } catch {
            #expect(error.kind == .query)
            #expect(error.sqlState == "22012")
        }
        #expect(try await db.queryFirst("SELECT 1 AS ok")?.decode("ok", as: Int.self) == 1)
        #expect(try await db.copyOut(Self.numberedRows, settings: ["atlas.test_rows": "2"]).rowCount == 2)
    }

    @Test func anErrorBeforeTheFirstRowIsTyped() async throws {
        let db = try singleConnection()
        defer { db.close() }
        do {
            _ = try await db.copyOut("COPY (SELECT current_setting('atlas.never_set')) TO STDOUT", settings: [:])
            Issue.record("expected an unrecognized setting")
        } catch {
            #expect(error.kind == .query)
            #expect(error.sqlState == "42704")
        }
        do {
            _ = try await db.copyOut("COPY (SELECT * FROM copy_out_no_such_table) TO STDOUT", settings: [:])
            Issue.record("expected an undefined table")
        } catch {
            #expect(error.sqlState == "42P01")
        }
        #expect(try await db.copyOut(Self.numberedRows, settings: ["atlas.test_rows": "1"]).rowCount == 1)
    }

    /// Bound values in the COPY text, statements that are not a COPY TO STDOUT, and setting names outside
    /// `atlas.` are refused; the connection stays usable.
    @Test func misuseIsRefused() async throws {
        let db = try singleConnection()
        defer { db.close() }
        let value = "x"
        await #expect(throws: DatabaseError.self) {
            _ = try await db.copyOut("COPY (SELECT \(value)::text) TO STDOUT", settings: [:])
        }
        for statement: SQL in ["SELECT 1", "COPY (SELECT 1) TO STDOUT; SELECT 2"] {
            do {
                _ = try await db.copyOut(statement, settings: [:])
                Issue.record("expected a refusal: \(statement)")
            } catch {
                #expect(error.kind == .query, "\(statement)")
            }
        }
        let table = TestDatabase.uniqueName("copy_in")
        try await db.execute("CREATE TABLE \(unsafeRaw: table) (n int)")
        do {
            _ = try await db.copyOut("COPY \(unsafeRaw: table) FROM STDIN", settings: [:])
            Issue.record("expected a refusal of COPY FROM STDIN")
        } catch {
            #expect(error.kind == .query)
        }
        for name in ["statement_timeout", "atlas.", "atlas.Upper", "atlas.a;b", "role"] {
            do {
                _ = try await db.copyOut(Self.numberedRows, settings: [name: "1"])
                Issue.record("expected a refused setting name: \(name)")
            } catch {
                #expect(error.kind == .query, "\(name)")
            }
        }
        #expect(try await db.queryFirst("SELECT count(*) AS n FROM \(unsafeRaw: table)")?.decode("n", as: Int.self) == 0)
        #expect(try await db.copyOut(Self.numberedRows, settings: ["atlas.test_rows": "4"]).rowCount == 4)
        try await db.execute("DROP TABLE \(unsafeRaw: table)")
    }

    @Test func settingNamesAreChecked() {
        #expect(PostgresDatabase.isCopySettingName("atlas.export_page_lines"))
        #expect(PostgresDatabase.isCopySettingName("atlas.a1"))
        #expect(!PostgresDatabase.isCopySettingName("atlas."))
        #expect(!PostgresDatabase.isCopySettingName("search_path"))
        #expect(!PostgresDatabase.isCopySettingName("atlas.x.y"))
        #expect(!PostgresDatabase.isCopySettingName("atlas.é"))
    }
}
