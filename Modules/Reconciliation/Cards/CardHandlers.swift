import AccessContract
import Foundation
import IdempotencyContract
import Kernel

/// The card routes of the offline stored-value backend (terminal-api A.1): register, read, top up, block,
/// reissue. Roles are checked by the access guard before a handler runs (`StoredValueRoutes`).
struct CardHandlers: Sendable {
    let services: ModuleServices
    let store: CardStore
    let settings: ReconciliationSettings

    init(services: ModuleServices, settings: ReconciliationSettings) {
        self.services = services
        self.store = CardStore(database: services.database)
        self.settings = settings
    }

    func register(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let tenant = context.tenant
        let body = try request.decodeJSON(RegisterCardBody.self)
        guard let cardId = CardId.parse(body.cardId) else { throw CardErrors.notFound }
        guard try await store.memberStatus(tenant, userId: Int64(body.userId)) == "active" else { throw CardErrors.invalidUser }
        guard try await store.register(tenant, body, cardId: cardId, currency: settings.defaultCurrency, now: services.clock.now()) else {
            throw CardErrors.alreadyRegistered
        }
        return .json(["cardId": .string(cardId), "userId": .int(Int64(body.userId)), "status": .string(CardStatus.active.rawValue),
                      "balance": 0, "createdAt": .int(Int64(body.createdAt))], status: 201)
    }

    func read(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let tenant = context.tenant
        let cardId = try await ownCardId(request, tenant: tenant, context: context)
        guard let card = try await store.card(tenant, cardId: cardId) else { throw CardErrors.notFound }
        return .json(card.json)
    }

    /// Online top-up at a station (rule 15): never for a blocked card, never past `maxBalance`. The balance
    /// change, its `stored_value.loaded` event and the answer stored under the request's Idempotency-Key (when
    /// it has one) are one transaction, so a station that retries a top-up whose answer it lost, with the same
    /// key, gets that answer again and the card is credited once (docs/reconciliation.md).
    func topUp(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let tenant = context.tenant
        let body = try request.decodeJSON(TopUpBody.self)
        let cardId = try await ownCardId(request, tenant: tenant, context: context)
        let limits = try await policyLimits(tenant)
        let (store, clock, eventLog, key) = (store, services.clock, services.eventLog, context.idempotency)
        let amount = Int64(body.amount)
        let response = try await services.database.transaction { tx -> Response in
            guard let card = try await store.card(tenant, cardId: cardId, on: tx, forUpdate: true) else { throw CardErrors.notFound }
            guard !card.status.isBlocked else { throw CardErrors.blocked }
            guard card.balance + amount <= min(limits.maxBalance, CardLimits.balanceCeiling) else { throw CardErrors.ceilingExceeded }
            let now = clock.now()
            try await store.setBalance(tenant, cardId: cardId, balance: card.balance + amount, now: now, on: tx)
            try await eventLog.append([DomainEvent(
                type: StoredValueEvents.loaded, tenant: tenant, resourceId: cardId, occurredAt: now,
                payload: ["cardId": .string(cardId), "amount": .int(amount), "currency": .string(card.currency),
                          "balanceBefore": .int(card.balance), "balanceAfter": .int(card.balance + amount),
                          "operatorId": .string(body.operatorId), "deviceId": .string(context.principal.id),
                          "source": "station"])], in: tx)
            let response = Response.json(["cardId": .string(cardId), "balanceBefore": .int(card.balance),
                                          "balanceAfter": .int(card.balance + amount), "amount": .int(amount),
                                          "timestamp": .int(Int64(body.timestamp))])
            // The route claims keys first, so a duplicate waits for this commit and never loses the key to it.
            if let key, try await !key.complete(StoredResponse(response), in: tx) {
                throw AtlasError.conflict(code: "request_in_progress", "A request with this Idempotency-Key is still in progress")
            }
            return response
        }
        key?.committed()
        services.eventLog.appendCommitted()
        return response
    }

    /// Rule 16: the backend sets `BLOCKED_ADMIN`; the station then writes it to the card.
    func block(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let tenant = context.tenant
        let body = try request.decodeJSON(BlockBody.self)
        let cardId = try await ownCardId(request, tenant: tenant, context: context)
        let now = services.clock.now()
        let store = store
        try await services.database.transaction { tx in
            guard try await store.card(tenant, cardId: cardId, on: tx, forUpdate: true) != nil else { throw CardErrors.notFound }
            guard try await store.block(tenant, cardId: cardId, status: .blockedAdmin, reason: body.reason, now: now, on: tx) else {
                throw CardErrors.alreadyBlocked
            }
        }
        return .json(["cardId": .string(cardId), "status": .string(CardStatus.blockedAdmin.rawValue),
                      "blockedAt": .int(Int64(now.timeIntervalSince1970.rounded(.down))), "reason": .string(body.reason)])
    }

    /// Rule 17: only a blocked card; tamper and fraud need a one-time backend `authCode` (used up in the same
    /// transaction), an admin block the operator's confirmation (`operatorId`), an expired card an active member.
    func reissue(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let tenant = context.tenant
        let body = try request.decodeJSON(ReissueBody.self)
        let cardId = try await ownCardId(request, tenant: tenant, context: context)
        let keyVersion = try await services.terminalPolicies?.currentKeyVersion(for: tenant) ?? 1
        let codeHash = body.authCode.map { services.crypto.sha256(Array($0.utf8)) }
        let (store, now) = (store, services.clock.now())
        try await services.database.transaction { tx in
            guard let card = try await store.card(tenant, cardId: cardId, on: tx, forUpdate: true) else { throw CardErrors.notFound }
            switch card.status {
            case .active:
                throw CardErrors.notBlocked
            case .blockedTamper, .blockedFraud:
                guard let codeHash, try await store.consumeAuthCode(tenant, cardId: cardId, codeHash: codeHash, now: now, on: tx)
                else { throw CardErrors.reissueNotAuthorised }
            case .blockedExpired:
                guard try await store.memberStatus(tenant, userId: card.userId) == "active" else { throw CardErrors.invalidUser }
            case .blockedAdmin:
                break
            }
            try await store.reissue(tenant, cardId: cardId, keyVersion: keyVersion, timestamp: Int64(body.timestamp), now: now, on: tx)
        }
        return .json(["cardId": .string(cardId), "reissueGranted": true, "newKeyVersion": .int(Int64(keyVersion)),
                      "timestamp": .int(Int64(body.timestamp))])
    }

    /// The path's card id, lower-cased. A malformed id names no card (404); an id that exists only in another
    /// tenant or mode is logged as `cross_tenant_attempt` (A18) and answered 404 like any unknown card.
    private func ownCardId(_ request: Request, tenant: TenantContext, context: AuthenticatedContext) async throws -> String {
        guard let cardId = request.pathParameter("cardId").flatMap(CardId.parse) else { throw CardErrors.notFound }
        if try await store.card(tenant, cardId: cardId) == nil {
            if try await store.existsOutside(tenant, cardId: cardId) {
                services.logger.warning("cross_tenant_attempt", [
                    "merchantId": .string(tenant.merchantId), "mode": .string(tenant.mode.rawValue),
                    "deviceId": .string(context.principal.id), "route": .string(context.routePattern)])
            }
            throw CardErrors.notFound
        }
        return cardId
    }

    private func policyLimits(_ tenant: TenantContext) async throws -> TerminalLimits {
        try await services.terminalPolicies?.limits(for: tenant) ?? .defaults
    }
}

/// Event types the card registry appends (in the transaction of the balance change).
enum StoredValueEvents {
    /// An online top-up at a station.
    static let loaded = "stored_value.loaded"
    /// A reconciled offline debit.
    static let debited = "stored_value.debited"
}
