public import Foundation
public import Kernel

/// Events a consumer gave up on. An operator lists them, asks for a retry (the consumer's runner
/// delivers the event again and resolves it, or parks it again with the new error) or skips them.
public struct ParkedEventStore: Sendable {
    /// Stored error texts are cut to this many characters (a description, never a payload).
    static let errorCharactersMax = 1_000

    public enum State: String, Sendable {
        case parked, retry, skipped, resolved
    }

    public struct Entry: Sendable {
        public let consumer: String
        public let eventId: String
        public let eventType: String
        public let tenant: TenantContext
        public let state: State
        public let attempts: Int
        public let error: String
        public let parkedAt: Date
    }

    public enum AdminError: Error, CustomStringConvertible {
        case notFound(consumer: String, eventId: String)

        public var description: String {
            switch self {
            case .notFound(let consumer, let eventId): "no parked event \(eventId) for consumer \(consumer)"
            }
        }
    }

    let database: any Database

    public init(database: any Database) { self.database = database }

    /// Parks (or parks again) an event after its last failed delivery.
    func park(_ logged: LoggedEvent, consumer: String, attempts: Int, error: String) async throws {
        let event = logged.event
        try await database.execute("""
            INSERT INTO event_log_parked AS p (consumer, event_id, writer_xid, seq, merchant_id, mode, event_type, state,
                attempts, error)
            VALUES (\(consumer), \(event.id.rawValue), \(String(logged.position.writerTransactionId))::xid8,
                \(logged.position.sequence), \(event.tenant.merchantId), \(event.tenant.mode), \(event.type), 'parked',
                \(attempts), \(String(error.prefix(Self.errorCharactersMax))))
            ON CONFLICT (consumer, event_id) DO UPDATE SET state = 'parked', attempts = p.attempts + excluded.attempts,
                error = excluded.error, updated_at = clock_timestamp()
            """)
    }

    /// Open entries (parked or waiting for a retry), oldest first; all consumers when `consumer` is nil.
    public func list(consumer: String? = nil, limit: Int = 100) async throws -> [Entry] {
        let rows = try await database.query("""
            SELECT consumer, event_id, event_type, merchant_id, mode, state, attempts, error, parked_at
            FROM event_log_parked WHERE state IN ('parked', 'retry')\(and: "consumer = ?", consumer)
            ORDER BY parked_at, event_id LIMIT \(limit)
            """)
        return try rows.map { row in
            Entry(consumer: try row.decode("consumer"), eventId: try row.decode("event_id"),
                  eventType: try row.decode("event_type"),
                  tenant: TenantContext(merchantId: try row.decode("merchant_id"),
                                        mode: Mode(rawValue: try row.decode("mode")) ?? .test),
                  state: State(rawValue: try row.decode("state")) ?? .parked, attempts: try row.decode("attempts"),
                  error: try row.decode("error"), parkedAt: try row.decode("parked_at"))
        }
    }

    /// Asks the consumer's runner to deliver the event again.
    public func requestRetry(consumer: String, eventId: String) async throws {
        try await transition(consumer: consumer, eventId: eventId, to: .retry)
    }

    /// Gives the event up for this consumer for good.
    public func skip(consumer: String, eventId: String) async throws {
        try await transition(consumer: consumer, eventId: eventId, to: .skipped)
    }

    private func transition(consumer: String, eventId: String, to state: State) async throws {
        let changed = try await database.execute("""
            UPDATE event_log_parked SET state = \(state.rawValue), updated_at = clock_timestamp()
            WHERE consumer = \(consumer) AND event_id = \(eventId) AND state IN ('parked', 'retry')
            """)
        guard changed == 1 else { throw AdminError.notFound(consumer: consumer, eventId: eventId) }
    }

    /// Event ids the operator asked to retry for `consumer`.
    func retryRequested(consumer: String, limit: Int) async throws -> [String] {
        try await database.query("""
            SELECT event_id FROM event_log_parked WHERE consumer = \(consumer) AND state = 'retry'
            ORDER BY parked_at LIMIT \(limit)
            """).map { try $0.decode("event_id") }
    }

    func resolve(consumer: String, eventId: String) async throws {
        try await database.execute("""
            UPDATE event_log_parked SET state = 'resolved', updated_at = clock_timestamp()
            WHERE consumer = \(consumer) AND event_id = \(eventId) AND state = 'retry'
            """)
    }
}
