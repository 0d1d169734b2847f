import Testing
@testable import Postgres
@Test func PostgresPlaceholder() {}
