import Foundation

/// Something that happened in one module that others may react to (ledger, totals, webhooks).
/// Modules never call each other; they publish events and register handlers by type name.
public struct DomainEvent: Sendable, Hashable {
    public let id: TypedID
    /// A dotted name such as "transaction.approved".
    public let type: String
    public let tenant: TenantContext
    public let occurredAt: Date
    public let payload: JSONValue

    public init(id: TypedID = TypedID.generate(prefix: .event), type: String, tenant: TenantContext,
                occurredAt: Date, payload: JSONValue) {
        self.id = id
        self.type = type
        self.tenant = tenant
        self.occurredAt = occurredAt
        self.payload = payload
    }
}

/// Reacts to events of the types it names. Handlers must be idempotent: delivery is at least once.
public struct EventHandler: Sendable {
    public let name: String
    public let eventTypes: Set<String>
    public let handle: @Sendable (DomainEvent) async throws -> Void

    public init(name: String, eventTypes: Set<String>, handle: @escaping @Sendable (DomainEvent) async throws -> Void) {
        self.name = name
        self.eventTypes = eventTypes
        self.handle = handle
    }
}

/// Publishes events. `publish(_:in:)` writes inside the caller's transaction (an outbox), so an
/// event exists exactly when the change that caused it was committed.
public protocol EventBus: Sendable {
    func publish(_ event: DomainEvent, in transaction: any SQLExecutor) async throws
    func publish(_ event: DomainEvent) async throws
}

/// Delivers events to handlers in-process, in order; for tests and for modules without a database.
public final class InMemoryEventBus: EventBus {
    private let handlers: [EventHandler]

    public init(handlers: [EventHandler]) { self.handlers = handlers }

    public func publish(_ event: DomainEvent, in transaction: any SQLExecutor) async throws { try await publish(event) }

    public func publish(_ event: DomainEvent) async throws {
        for handler in handlers where handler.eventTypes.contains(event.type) { try await handler.handle(event) }
    }
}
