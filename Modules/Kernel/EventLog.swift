public import Foundation
import Synchronization

/// Something that happened in one module that others may react to (ledger, settlements, webhooks).
/// Modules never call each other: they append events to the durable event log in the same database
/// transaction (or the same statement) as the change that caused them, and consume the log.
public struct DomainEvent: Sendable, Hashable {
    public let id: TypedID
    /// A dotted name such as "transaction.approved".
    public let type: String
    public let tenant: TenantContext
    /// The id of the thing the event is about (a transaction id, an invoice id).
    public let resourceId: String
    public let occurredAt: Date
    /// Parsed at first read when the event came from the log as text (`init(…, payloadText:)`).
    public var payload: JSONValue { payloadStorage.value }
    private let payloadStorage: EventPayload

    /// Only the payload's top-level members named in `keys` (`JSONValue(parsing:keeping:)`): for a consumer that
    /// reads a few fields of every event. Not cached; `.null` when the payload does not parse, as `payload`.
    public func payload(keeping keys: JSONValue.KeySelection) -> JSONValue { payloadStorage.value(keeping: keys) }

    public init(id: TypedID = TypedID.generate(prefix: .event), type: String, tenant: TenantContext, resourceId: String,
                occurredAt: Date, payload: JSONValue) {
        self.init(id: id, type: type, tenant: tenant, resourceId: resourceId, occurredAt: occurredAt,
                  payloadStorage: EventPayload(parsed: payload))
    }

    /// An event read back from the log, its payload still the stored JSON text. WHY lazy: a consumer often needs only
    /// some events' payloads (the webhook fan-out, only those of tenants with an endpoint), and parsing was the largest
    /// part of reading a page.
    public init(id: TypedID, type: String, tenant: TenantContext, resourceId: String, occurredAt: Date, payloadText: String) {
        self.init(id: id, type: type, tenant: tenant, resourceId: resourceId, occurredAt: occurredAt,
                  payloadStorage: EventPayload(text: payloadText))
    }

    private init(id: TypedID, type: String, tenant: TenantContext, resourceId: String, occurredAt: Date,
                 payloadStorage: EventPayload) {
        self.id = id
        self.type = type
        self.tenant = tenant
        self.resourceId = resourceId
        self.occurredAt = occurredAt
        self.payloadStorage = payloadStorage
    }

    public static func == (lhs: DomainEvent, rhs: DomainEvent) -> Bool {
        lhs.id == rhs.id && lhs.type == rhs.type && lhs.tenant == rhs.tenant && lhs.resourceId == rhs.resourceId
            && lhs.occurredAt == rhs.occurredAt && lhs.payload == rhs.payload
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(id)
        hasher.combine(type)
        hasher.combine(tenant)
        hasher.combine(resourceId)
        hasher.combine(occurredAt)
        hasher.combine(payload)
    }
}

/// A payload parsed once, when first read. Text that does not parse (the log's json column holds valid JSON, so only
/// a payload deeper than the parser's limit) reads as `.null`, which every consumer treats as a malformed payload (retried, then
/// parked), as a page that failed to decode was before.
final class EventPayload: Sendable {
    private enum State {
        case text(String)
        case parsed(JSONValue)
    }

    private let state: Mutex<State>

    init(parsed: JSONValue) { state = Mutex(.parsed(parsed)) }
    init(text: String) { state = Mutex(.text(text)) }

    var value: JSONValue {
        state.withLock { state in
            switch state {
            case .parsed(let value):
                return value
            case .text(let text):
                let value = (try? JSONValue(parsing: text)) ?? .null
                state = .parsed(value)
                return value
            }
        }
    }

    func value(keeping keys: JSONValue.KeySelection) -> JSONValue {
        state.withLock { state in
            switch state {
            case .parsed(let value): value.keeping(keys)
            case .text(let text): (try? JSONValue(parsing: text, keeping: keys)) ?? .null
            }
        }
    }
}

/// Where an event stands in the log's delivery order: its writer's database transaction id, then
/// its sequence number. WHY not the sequence alone: a sequence number is taken before commit, so a
/// lower one can become visible after a higher one was already read; transaction ids below the oldest
/// transaction still running can never gain new rows, so the log hands out events only below that
/// horizon, ordered by (transaction id, sequence). A transaction that saw another's commit has a higher
/// transaction id, so causally later events come later.
public struct EventPosition: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let writerTransactionId: UInt64
    public let sequence: Int64

    public init(writerTransactionId: UInt64, sequence: Int64) {
        self.writerTransactionId = writerTransactionId
        self.sequence = sequence
    }

    /// Before every event.
    public static let start = EventPosition(writerTransactionId: 0, sequence: 0)

    public static func < (lhs: EventPosition, rhs: EventPosition) -> Bool {
        (lhs.writerTransactionId, lhs.sequence) < (rhs.writerTransactionId, rhs.sequence)
    }

    public var description: String { "\(writerTransactionId)/\(sequence)" }
}

/// An event as a consumer receives it.
public struct LoggedEvent: Sendable, Hashable {
    public let position: EventPosition
    public let event: DomainEvent

    public init(position: EventPosition, event: DomainEvent) {
        self.position = position
        self.event = event
    }
}

/// The columns a relation must have for `EventLogWriter.appendStatement(selectingFrom:)`, in any order:
/// `event_id text, event_type text, merchant_id text, mode text, resource_id text, payload json (or jsonb, which is
/// cast), occurred_at timestamptz`.
public enum EventLogColumns {
    public static let names = ["event_id", "event_type", "merchant_id", "mode", "resource_id", "payload", "occurred_at"]
}

/// How a module writes to the durable event log (implemented by the EventLog platform module).
public protocol EventLogWriter: Sendable {
    /// Appends events inside the caller's open database transaction: they exist exactly when it commits.
    func append(_ events: [DomainEvent], in executor: any SQLExecutor) async throws(DatabaseError)
    /// The append as the last part of the caller's own statement (after its data-modifying CTEs), so a
    /// change and its events are one autocommitted statement: `INSERT INTO <log> … SELECT … FROM
    /// <relation> RETURNING resource_id`, where `relation` is a CTE of the caller with `EventLogColumns`.
    /// It has no bind parameters, so it can follow any caller text.
    func appendStatement(selectingFrom relation: StaticString) -> SQL
    /// Call after the commit of a transaction (or statement) that appended events: consumers on this
    /// instance wake at once, other instances within a moment. Without it they find the events at their
    /// next poll. WHY not a NOTIFY in the appending transaction: PostgreSQL serializes the commits of
    /// notifying transactions cluster-wide (a lock held through the WAL flush), which would serialize
    /// every sale batch's commit.
    func appendCommitted()
    /// Idempotent apply for a consumer: inside the consumer's own database transaction, records that
    /// `consumer` applied `eventId`. True the first time; false when it was applied before (a redelivery),
    /// and the caller then skips its writes.
    func markApplied(eventId: TypedID, consumer: String, in executor: any SQLExecutor) async throws(DatabaseError) -> Bool
}

/// A module's reaction to events. The log delivers every event (of `eventTypes`, or all when nil) at
/// least once, in position order, in batches of up to `batchEventsMax`; one instance at a time runs a
/// consumer. `handle` must be idempotent (see `EventLogWriter.markApplied`). A batch that throws is
/// retried event by event with backoff; an event that keeps failing is parked, never blocking the rest.
public struct EventConsumer: Sendable {
    /// Unique and stable: the durable cursor is kept under this name (e.g. "accounting.ledger").
    public let name: String
    public let eventTypes: Set<String>?
    public let batchEventsMax: Int
    public let handle: @Sendable ([LoggedEvent]) async throws -> Void

    public static let batchEventsMaxDefault = 100

    public init(name: String, eventTypes: Set<String>? = nil, batchEventsMax: Int = EventConsumer.batchEventsMaxDefault,
                handle: @escaping @Sendable ([LoggedEvent]) async throws -> Void) {
        precondition(!name.isEmpty && name.utf8.count <= 100, "a consumer name is 1 to 100 bytes")
        precondition(batchEventsMax > 0, "a batch holds at least one event")
        self.name = name
        self.eventTypes = eventTypes
        self.batchEventsMax = batchEventsMax
        self.handle = handle
    }

    public func wants(_ event: DomainEvent) -> Bool { eventTypes?.contains(event.type) ?? true }
}
