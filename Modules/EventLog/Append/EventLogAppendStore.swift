import Foundation
public import Kernel

/// The event log's writer: appends inside the caller's transaction or statement, and records
/// idempotent applies. Every value is bound; the statement texts are constant per batch size.
public struct EventLogAppendStore: EventLogWriter {
    let wakeUps: EventLogWakeUps

    /// `wakeUps`: shared with this process's `EventLogService`, so a commit wakes its consumers.
    public init(wakeUps: EventLogWakeUps = EventLogWakeUps()) { self.wakeUps = wakeUps }

    public func appendCommitted() { wakeUps.appended() }

    public func append(_ events: [DomainEvent], in executor: any SQLExecutor) async throws(DatabaseError) {
        if events.isEmpty { return }
        try await executor.execute(Self.insertSQL(events))
    }

    public func appendStatement(selectingFrom relation: StaticString) -> SQL {
        let columns = EventLogColumns.names.joined(separator: ", ")
        let name = relation.description
        precondition(!name.isEmpty && name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" },
                     "a relation name is an identifier")
        return SQL("INSERT INTO event_log (" + columns + ") SELECT " + columns + " FROM " + name + " RETURNING resource_id")
    }

    public func markApplied(eventId: TypedID, consumer: String, in executor: any SQLExecutor) async throws(DatabaseError)
        -> Bool {
        let inserted = try await executor.execute("""
            INSERT INTO event_log_applied (consumer, event_id) VALUES (\(consumer), \(eventId.rawValue))
            ON CONFLICT (consumer, event_id) DO NOTHING
            """)
        return inserted == 1
    }

    /// One INSERT of constant text whatever the batch size: the events travel as one JSON array, in order (`ord`),
    /// and the log's defaults fill the writer transaction id, sequence and append time. WHY not a multi-row
    /// VALUES: its text changes with the batch size, so each pooled connection prepared every size anew (a
    /// 500-event VALUES of 3,500 parameters took tens of milliseconds to prepare, inside a terminal's request) and
    /// the sizes crowded the prepared-statement cache. `occurred_at` goes as whole microseconds since the epoch:
    /// exact, where a JSON number of seconds would round.
    static func insertSQL(_ events: [DomainEvent]) -> SQL {
        let rows = JSONValue.array(events.enumerated().map { index, event in
            [
                "ord": .int(Int64(index)), "event_id": .string(event.id.rawValue), "event_type": .string(event.type),
                "merchant_id": .string(event.tenant.merchantId), "mode": .string(event.tenant.mode.rawValue),
                "resource_id": .string(event.resourceId), "payload": event.payload,
                "occurred_us": .int(Timestamp.microsecondsSinceEpoch(event.occurredAt)),
            ]
        })
        // As text cast to json: a `.json` bind is jsonb, which would parse the whole batch into jsonb first.
        let batch = SQLValue.text(String(decoding: rows.serialized(), as: UTF8.self))
        return """
            INSERT INTO event_log (event_id, event_type, merchant_id, mode, resource_id, payload, occurred_at)
            SELECT e.event_id, e.event_type, e.merchant_id, e.mode, e.resource_id, e.payload,
                   timestamptz 'epoch' + e.occurred_us * interval '1 microsecond'
            FROM json_to_recordset(\(batch)::json) AS e(ord integer, event_id text, event_type text, merchant_id text, mode text,
                                                       resource_id text, payload json, occurred_us bigint)
            ORDER BY e.ord
            """
    }
}
