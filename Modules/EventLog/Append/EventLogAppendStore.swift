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

    /// One multi-row INSERT; the log's defaults fill the writer transaction id, sequence and append time.
    static func insertSQL(_ events: [DomainEvent]) -> SQL {
        var binds: [SQLValue] = []
        binds.reserveCapacity(events.count * 7)
        var text = "INSERT INTO event_log (" + EventLogColumns.names.joined(separator: ", ") + ") VALUES "
        for (index, event) in events.enumerated() {
            binds += [.text(event.id.rawValue), .text(event.type), .text(event.tenant.merchantId),
                      .text(event.tenant.mode.rawValue), .text(event.resourceId),
                      .json(String(decoding: event.payload.serialized(), as: UTF8.self)), .timestamp(event.occurredAt)]
            let base = binds.count - 7
            text += (index == 0 ? "(" : ", (") + (1...7).map { "$\(base + $0)" }.joined(separator: ", ") + ")"
        }
        return SQL(text, binds: binds)
    }
}
