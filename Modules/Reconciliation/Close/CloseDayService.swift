import AcquirerContract
import Foundation
import IdempotencyContract
import Kernel

/// The body of `POST /v1/reconciliation`: `closeDay` (required) and an optional `currency` (additive:
/// close or show one currency only; without it a close settles every currency with open transactions).
struct CloseDayRequest: Decodable, Sendable {
    let closeDay: Bool
    let currency: String?
}

/// `POST /v1/reconciliation`: a dry run (`closeDay: false`) answers the open period's totals; a close
/// claims the open period into one settlement per currency and submits each to the acquirer.
struct CloseDayService: Sendable {
    /// Every limit of a close, named.
    struct Limits: Sendable, Hashable {
        /// A close holds the tenant's lock at most this long; a crashed close's lock lapses after it.
        var lockSeconds: Double = 300
    }

    let services: ModuleServices
    let store: CloseDayStore
    let settledEvents: SettledEventsAppender
    let totals: TotalsStore
    let settings: ReconciliationSettings
    let limits: Limits

    init(services: ModuleServices, settings: ReconciliationSettings, limits: Limits = Limits()) {
        self.services = services
        store = CloseDayStore(database: services.database, eventLog: services.eventLog)
        settledEvents = SettledEventsAppender(services: services)
        totals = TotalsStore(database: services.database)
        self.settings = settings
        self.limits = limits
    }

    func reconcile(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let tenant = context.tenant
        let body = try request.decodeJSON(CloseDayRequest.self)
        var currency: String?
        if let code = body.currency { currency = try ReconciliationValidation.currency(code, field: "currency") }
        let now = services.clock.now()
        guard body.closeDay else {
            if try await store.isLocked(tenant, now: now) { throw await inProgress(context.idempotency) }
            let open = try await totals.totals(try await resolve(currency, tenant: tenant), tenant: tenant)
            return .json(["status": "SUCCESS", "totals": open.json, "timestamp": .string(Timestamp.iso8601(now)),
                          "settlements": []])
        }
        let acquirer = try settlementAcquirer(tenant)
        return try await underCloseLock(tenant, now: now, idempotency: context.idempotency) {
            try await close(tenant, currency: currency, terminalId: context.principal.terminalId, acquirer: acquirer, now: now)
        }
    }

    /// `POST /v1/settlements/{id}/retry`: submits a FAILED settlement to the acquirer again (docs/reconciliation.md).
    func retry(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let settlement = try await retry(request.pathParameter("id") ?? "", tenant: context.tenant,
                                         idempotency: context.idempotency)
        return .json(settlement.json)
    }

    /// Retries a FAILED settlement under the tenant's close lock (no close or other retry submits it meanwhile):
    /// one more attempt, announced as `settlement.retried`, then the acquirer's answer stored and announced as
    /// `settlement.updated`, exactly as a close submits. Also `atlas admin settlement-retry`.
    func retry(_ settlementId: String, tenant: TenantContext, idempotency: (any IdempotencyScope)? = nil) async throws
        -> SettlementRecord {
        // Not found (404) before anything about the acquirer (503), as for every settlement read.
        guard TypedID(rawValue: settlementId).matches(.settlement),
              try await SettlementStore(database: services.database).find(settlementId, tenant: tenant) != nil else {
            throw AtlasError.notFound("Settlement not found")
        }
        let acquirer = try settlementAcquirer(tenant)
        let now = services.clock.now()
        return try await underCloseLock(tenant, now: now, idempotency: idempotency) {
            switch try await store.claimRetry(settlementId, tenant: tenant, now: now) {
            case .notFound:
                throw AtlasError.notFound("Settlement not found")
            case .notFailed(let status):
                throw AtlasError.conflict(code: "SETTLEMENT_NOT_RETRYABLE",
                                          "Only a FAILED settlement can be retried; this one is \(status.rawValue)")
            case .claimed(let settlement):
                services.eventLog.appendCommitted()
                guard let answered = try await submit(settlement, acquirer: acquirer) else {
                    throw AtlasError(kind: .unavailable, status: 503, code: "ACQUIRER_UNAVAILABLE",
                                     message: "The acquirer could not be reached; the next close or retry sends the settlement again",
                                     headers: [("Retry-After", "1")])
                }
                return answered
            }
        }
    }

    private func settlementAcquirer(_ tenant: TenantContext) throws -> any SettlementAcquirer {
        guard let acquirer = services.acquirers?.settlementAcquirer(for: tenant.mode) else {
            throw AtlasError(kind: .unavailable, status: 503, code: "ACQUIRER_NOT_CONFIGURED",
                             message: "No acquirer settles \(tenant.mode.rawValue) transactions")
        }
        return acquirer
    }

    /// Runs `body` holding the tenant's close lock (one close or retry at a time); 409 while another holds it.
    private func underCloseLock<T: Sendable>(_ tenant: TenantContext, now: Date, idempotency: (any IdempotencyScope)?,
                                             _ body: () async throws -> T) async throws -> T {
        let holder = TypedID.generate(prefix: .request).rawValue
        guard try await store.lock(tenant, holder: holder, now: now, lockSeconds: limits.lockSeconds) else {
            throw await inProgress(idempotency)
        }
        do {
            let result = try await body()
            try await store.unlock(tenant, holder: holder)
            return result
        } catch {
            do {
                try await store.unlock(tenant, holder: holder)
            } catch let unlockError {
                // The lock lapses after `lockSeconds`; the close's own error is the one the caller sees.
                services.logger.error("reconciliation close lock not released",
                                      ["merchantId": .string(tenant.merchantId), "error": .string("\(unlockError)")])
            }
            throw error
        }
    }

    /// RECONCILIATION_IN_PROGRESS is transient: the key is released so a retry with it runs again.
    private func inProgress(_ idempotency: (any IdempotencyScope)?) async -> AtlasError {
        await idempotency?.release()
        return AtlasError(kind: .conflict, status: 409, code: "RECONCILIATION_IN_PROGRESS",
                          message: "A reconciliation is already running for this merchant; retry shortly")
    }

    private func resolve(_ currency: String?, tenant: TenantContext) async throws -> String {
        if let currency { return currency }
        return try await totals.defaultCurrency(tenant: tenant, fallback: settings.defaultCurrency)
    }

    private func close(_ tenant: TenantContext, currency: String?, terminalId: String?, acquirer: any SettlementAcquirer,
                       now: Date) async throws -> Response {
        let emptyCurrency = try await resolve(currency, tenant: tenant)
        let clock = services.clock
        var run = CloseDayRun()
        var action = run.start()
        var owingEvents: [String] = []
        // Once the claim has committed, however the close ends, its settlements' events are appended without
        // holding up the answer (the sweep appends them if this process stops first).
        defer { appendSettledEvents(owingEvents) }
        while true {
            switch action {
            case .claim:
                let created = try await store.claim(
                    tenant, currencies: currency.map { [$0] }, emptyCurrency: emptyCurrency,
                    terminalId: terminalId ?? ReconciliationSettings.merchantWideTerminalId, now: now,
                    newId: { TypedID.generate(prefix: .settlement, clock: clock).rawValue })
                services.eventLog.appendCommitted()
                owingEvents = created.filter { SettledEventsAppender.owesEvents($0.totals) }.map(\.id)
                action = run.claimed(created, unsubmitted: try await store.unsubmitted(tenant))
            case .submit(let settlement):
                action = run.submitted(try await submit(settlement, acquirer: acquirer))
            case .answer(let status, let settlements):
                guard let first = settlements.first else { preconditionFailure("a close creates at least one settlement") }
                return .json(["status": .string(status), "totals": first.totals.json,
                              "timestamp": .string(Timestamp.iso8601(now)), "settlements": .array(settlements.map(\.json))])
            }
        }
    }

    /// Starts the append of the `transaction.settled` events `settlementIds` owe, and returns at once. WHY after the
    /// submission rather than beside it: the close answers when its submission does, and beside it the append (about
    /// 50 MB of WAL at 100,000 events) would take a core from the line read and sit in the WAL ahead of the answer's
    /// commit, which waits for its flush. A detached task, so the request's cancellation (a client gone) does not
    /// stop it.
    private func appendSettledEvents(_ settlementIds: [String]) {
        guard !settlementIds.isEmpty else { return }
        let settledEvents = settledEvents
        Task.detached { await settledEvents.appendAfterClose(settlementIds) }
    }

    /// Sends one settlement to the acquirer and stores its answer; nil when the acquirer could not be reached
    /// (the settlement stays unsubmitted and the next close sends it again under the same id).
    private func submit(_ settlement: SettlementRecord, acquirer: any SettlementAcquirer) async throws -> SettlementRecord? {
        let lines = try await store.lines(of: settlement.id, tenant: settlement.tenant)
        let submission = SettlementSubmission(settlementId: settlement.id, tenant: settlement.tenant,
                                              currency: settlement.currency, closedAt: settlement.closedAt,
                                              netAmountMinorUnits: settlement.netAmount, lines: lines,
                                              attempt: settlement.attempt)
        let outcome: SettlementOutcome
        do {
            outcome = try await acquirer.settle(submission)
        } catch {
            services.logger.error("settlement submission failed",
                                  ["settlementId": .string(settlement.id), "error": .string("\(type(of: error))")])
            return nil
        }
        return try await store.record(outcome, for: settlement)
    }
}
