import Foundation
import Kernel
import Testing
@testable import Postgres

@Suite struct ErrorTests {
    @Test func uniqueViolationCarriesSQLStateAndConstraintButNeverTheValue() async throws {
        let db = try TestDatabase.make()
        defer { db.close() }
        let table = TestDatabase.uniqueName("uniq")
        try await db.execute("CREATE TABLE \(unsafeRaw: table) (email text UNIQUE)")
        let secret = "secret-4111111111111111@example.com"
        try await db.execute("INSERT INTO \(unsafeRaw: table) VALUES (\(secret))")
        do {
            try await db.execute("INSERT INTO \(unsafeRaw: table) VALUES (\(secret))")
            Issue.record("expected a unique violation")
        } catch {
            #expect(error.kind == .uniqueViolation)
            #expect(error.sqlState == "23505")
            #expect(error.constraint == "\(table)_email_key")
            #expect(!error.message.contains("secret"))
            #expect(!error.message.contains("4111"))
            #expect(!error.description.contains("4111"))
            #expect(!String(describing: error).contains("4111"))
            #expect(!error.message.contains("Key ("))
            #expect(error.message.contains("duplicate key value violates unique constraint"))
        }
        // The pool connection is still usable afterwards.
        #expect(try await db.queryFirst("SELECT count(*) AS n FROM \(unsafeRaw: table)")?.decode("n", as: Int.self) == 1)
        try await db.execute("DROP TABLE \(unsafeRaw: table)")
    }

    @Test func otherIntegrityErrorsDropTheirDetailLines() async throws {
        let db = try TestDatabase.make()
        defer { db.close() }
        let table = TestDatabase.uniqueName("checks")
        try await db.execute("""
            CREATE TABLE \(unsafeRaw: table) (amount int8 CONSTRAINT amount_positive CHECK (amount > 0), note text NOT NULL)
            """)
        do {
            try await db.execute("INSERT INTO \(unsafeRaw: table) VALUES (\(-987654321), \("topsecretnote"))")
            Issue.record("expected a check violation")
        } catch {
            #expect(error.sqlState == "23514")
            #expect(error.kind == .query)
            #expect(error.constraint == "amount_positive")
            #expect(!error.message.contains("987654321"))
            #expect(!error.message.contains("topsecretnote"))
        }
        try await db.execute("DROP TABLE \(unsafeRaw: table)")
    }

    @Test func dataExceptionsDoNotQuoteTheBoundInput() async throws {
        let db = try TestDatabase.make()
        defer { db.close() }
        do {
            _ = try await db.query("SELECT \("not-a-number-secret")::int8 AS v")
            Issue.record("expected invalid input syntax")
        } catch {
            #expect(error.sqlState == "22P02")
            #expect(!error.message.contains("secret"))
            #expect(error.message.contains("invalid input syntax"))
        }
    }

    @Test func syntaxErrorsAreQueryErrorsWithSQLState() async throws {
        let db = try TestDatabase.make()
        defer { db.close() }
        do {
            _ = try await db.query("SELEKT 1")
            Issue.record("expected a syntax error")
        } catch {
            #expect(error.kind == .query)
            #expect(error.sqlState == "42601")
        }
        do {
            _ = try await db.query("SELECT * FROM \(unsafeRaw: TestDatabase.uniqueName("missing"))")
            Issue.record("expected undefined table")
        } catch {
            #expect(error.sqlState == "42P01")
        }
    }

    @Test func writeSkewUnderSerializableIsASerializationFailure() async throws {
        let db = try TestDatabase.make(connectionsMax: 2)
        defer { db.close() }
        let table = TestDatabase.uniqueName("skew")
        try await db.execute("CREATE TABLE \(unsafeRaw: table) (id int8)")
        let failure: DatabaseError? = try await db.withConnection { first -> DatabaseError? in
            try await db.withConnection { second -> DatabaseError? in
                try await first.execute("BEGIN ISOLATION LEVEL SERIALIZABLE")
                try await second.execute("BEGIN ISOLATION LEVEL SERIALIZABLE")
                _ = try await first.query("SELECT count(*) FROM \(unsafeRaw: table)")
                _ = try await second.query("SELECT count(*) FROM \(unsafeRaw: table)")
                try await first.execute("INSERT INTO \(unsafeRaw: table) VALUES (1)")
                try await second.execute("INSERT INTO \(unsafeRaw: table) VALUES (2)")
                try await first.execute("COMMIT")
                do {
                    try await second.execute("COMMIT")
                    return nil
                } catch let error as DatabaseError {
                    return error
                }
            }
        }
        let error = try #require(failure)
        #expect(error.kind == .serializationFailure)
        #expect(error.sqlState == "40001")
        // Both connections went back clean: the pool keeps working and sees exactly one row.
        #expect(try await db.queryFirst("SELECT count(*) AS n FROM \(unsafeRaw: table)")?.decode("n", as: Int.self) == 1)
        #expect(db.poolStats.inUse == 0)
        try await db.execute("DROP TABLE \(unsafeRaw: table)")
    }

    @Test func sqlStateClassesMapToKinds() {
        #expect(PostgresErrors.kind(for: "23505") == .uniqueViolation)
        #expect(PostgresErrors.kind(for: "40001") == .serializationFailure)
        #expect(PostgresErrors.kind(for: "40P01") == .serializationFailure)
        #expect(PostgresErrors.kind(for: "08006") == .connectionFailed)
        #expect(PostgresErrors.kind(for: "57P01") == .connectionFailed)
        #expect(PostgresErrors.kind(for: "57014") == .query)
        #expect(PostgresErrors.kind(for: "42601") == .query)
        #expect(PostgresErrors.kind(for: nil) == .query)
    }

    @Test func redactionBlanksQuotedInputOnlyForDataExceptions() {
        #expect(PostgresErrors.redact(#"invalid input syntax for type bigint: "hunter2""#, sqlState: "22P02")
                    == #"invalid input syntax for type bigint: "…""#)
        #expect(PostgresErrors.redact(#"relation "users" does not exist"#, sqlState: "42P01")
                    == #"relation "users" does not exist"#)
        #expect(PostgresErrors.redact("first\nDETAIL: Key (x)=(secret)", sqlState: "23505") == "first")
    }
}
