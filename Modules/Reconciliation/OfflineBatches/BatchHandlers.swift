import AccessContract
import Foundation
import Kernel

/// `POST /api/reconcile`: one batch of offline card events, applied in one database transaction with its
/// `reconciliation_batches` row, its tamper reports and a `stored_value.debited` event per accepted debit.
/// Answers 200 `{accepted, rejected, flagged, flags}`; 409 `duplicate_counter` when every event was
/// reconciled before (rule 26).
struct BatchHandlers: Sendable {
    let services: ModuleServices

    func reconcile(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let tenant = context.tenant
        let principal = context.principal
        let body = try request.decodeJSON(ReconcileBody.self)
        let events = try body.validated(callerTerminalId: principal.terminalId)
        let limits = try await services.terminalPolicies?.limits(for: tenant) ?? .defaults
        let rules = BatchRules(limits: limits, operations: principal.scopes, crypto: services.crypto)
        let batch = BatchRun(tenant: tenant, terminalId: Int(body.terminalId), deviceId: principal.id,
                             batchId: TypedID.generate(prefix: BatchStore.batchPrefix).rawValue, now: services.clock.now())
        let eventLog = services.eventLog
        let plan = try await services.database.transaction { tx in
            try await batch.apply(events, rules: rules, eventLog: eventLog, on: tx)
        }
        if !plan.accepted.isEmpty { services.eventLog.appendCommitted() }
        for tampered in plan.tampered {
            services.logger.warning("card chain broken: card blocked BLOCKED_TAMPER", [
                "merchantId": .string(tenant.merchantId), "cardId": .string(tampered.cardId),
                "counter": .int(tampered.counter), "terminalId": .int(Int64(body.terminalId))])
        }
        if plan.isAllDuplicates { throw CardErrors.duplicateCounter }
        return .json(["accepted": .int(Int64(plan.accepted.count)), "rejected": .int(Int64(plan.rejected)),
                      "flagged": .int(Int64(plan.flagged)), "flags": .array(plan.flags)])
    }
}

/// One batch inside its transaction: lock, read what the rules need, decide, write.
struct BatchRun: Sendable {
    let tenant: TenantContext
    let terminalId: Int
    let deviceId: String
    let batchId: String
    let now: Date
    let store = BatchStore()

    func apply(_ events: [OfflineEvent], rules: BatchRules, eventLog: any EventLogWriter,
               on tx: any SQLExecutor) async throws -> BatchRules.Plan {
        let cardIds = Array(Set(events.map(\.cardId))).sorted()
        let cards = try await store.lockCards(tenant, cardIds: cardIds, on: tx)
        let replays = events.filter { event in cards[event.cardId].map { event.counter <= $0.counter } ?? false }
        let logged = try await store.logged(tenant, replays.map { CounterKey(cardId: $0.cardId, counter: $0.counter) }, on: tx)
        let firstDay = (events.map(\.timestamp).min() ?? 0) / BatchRules.secondsPerDay
        let debits = try await store.debitsByDay(tenant, cardIds: cardIds, fromDay: BatchRules.weekStart(day: firstDay), on: tx)
        let plan = rules.plan(events, cards: cards, logged: logged, debitsByDay: debits)
        try await store.insertEvents(tenant, plan.accepted, batchId: batchId, terminalId: terminalId, now: now, on: tx)
        try await store.addDailyDebits(tenant, BatchRules.dailyDebits(plan.accepted), on: tx)
        try await store.updateCards(tenant, plan.changedCards.values.sorted(by: { $0.cardId < $1.cardId }), now: now, on: tx)
        for tampered in plan.tampered {
            try await ReportStore().insert(tenant, ReportStore.Report(
                terminalId: terminalId, deviceId: deviceId, cardId: tampered.cardId, eventType: "tamper",
                details: "chain hash mismatch in reconcile batch \(batchId)", counter: tampered.counter,
                timestamp: Int64(now.timeIntervalSince1970.rounded(.down)), source: "reconcile", action: CardStatus.blockedTamper.rawValue),
                now: now, on: tx)
        }
        try await store.insertBatch(tenant, batchId: batchId, terminalId: terminalId, deviceId: deviceId,
                                    eventCount: events.count, plan: plan, now: now, on: tx)
        let debited = plan.accepted.filter { $0.event.type == .debit }.map {
            debitedEvent($0, currency: plan.changedCards[$0.event.cardId]?.currency ?? "")
        }
        if !debited.isEmpty { try await eventLog.append(debited, in: tx) }
        return plan
    }

    private func debitedEvent(_ item: BatchRules.Accepted, currency: String) -> DomainEvent {
        DomainEvent(type: StoredValueEvents.debited, tenant: tenant, resourceId: item.event.cardId, occurredAt: now, payload: [
            "cardId": .string(item.event.cardId), "counter": .int(item.event.counter), "amount": .int(item.event.amount),
            "currency": .string(currency), "balanceAfter": .int(item.balance), "shortfall": .int(item.shortfall),
            "eventTimestamp": .int(item.event.timestamp), "terminalId": .int(Int64(terminalId)), "batchId": .string(batchId),
            "reviewReasons": .array(item.reasons.map { .string($0) }), "source": "offline",
        ])
    }
}
