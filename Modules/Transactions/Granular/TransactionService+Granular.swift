import CashRoundingContract
import Foundation
import IdempotencyContract
import Kernel

/// Granular mode (spec §1, §2 endpoints 3–4): `initiate` reads the card and leaves the transaction
/// AWAITING_COMPLETION with its EMV data; the POS runs the ISO 8583 authorization itself and `complete` reports
/// the issuer's answer, which is written as the final row by the sale engine's own write (`GranularFinisher`).
extension TransactionService {
    /// Types whose card read a POS sends for online authorization.
    static let granularTypes: Set<TransactionType> = [.sale, .preAuth]

    // MARK: POST /v1/transaction/initiate

    /// The sale request's body and rules, then: hold the terminal, read the card (test mode: the simulated chip),
    /// store the pending transaction and answer it with its EMV data (its Idempotency-Key in the same commit).
    func initiate(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let tenant = context.tenant
        let sale = try SaleValidation.validate(try request.decodeJSON(SaleRequest.self, fastPath: SaleRequest.fromDocument))
        try Self.checkGranular(sale)
        let merchant = try await settings.settings(for: tenant)
        try checkMerchantLimits(sale, merchant)
        let terminalId = try resolveTerminal(sale.terminalId, principal: context.principal)
        let reader = try await cardReader(tenant: tenant, terminalId: terminalId)
        let key = context.idempotency
        var record = newRecord(sale, tenant: tenant, merchant: merchant, terminalId: terminalId, requestId: request.requestId)
        try await holdTerminal(record, key: key)
        do {
            return try await readAndPark(&record, sale: sale, reader: reader, key: key,
                                         progress: context.value(SaleProgressSlot.self))
        } catch {
            if terminalId != nil { await store.abandonTerminal(transactionId: record.id, tenant: tenant) }
            throw error
        }
    }

    /// Test mode: the sandbox chip. Live mode: the terminal's device channel on this instance, or on the instance the
    /// registry names (the relay); the request must name the terminal (its credential's terminal or `terminalId`);
    /// connected nowhere → 503 TERMINAL_OFFLINE.
    private func cardReader(tenant: TenantContext, terminalId: String?) async throws -> GranularCardReader {
        guard tenant.mode == .live else { return .sandbox }
        guard let reading = liveCardReading, let terminalId else { throw GranularErrors.noCardReader }
        let address = TerminalAddress(tenant: tenant, terminalId: terminalId)
        if let channel = reading.channels.channel(for: address) {
            return .terminal(channel, waitMilliseconds: reading.waitMilliseconds)
        }
        guard let relayed = try await reading.relay?.remoteEndpoint(for: address) else { throw GranularErrors.noCardReader }
        return .terminal(relayed, waitMilliseconds: reading.waitMilliseconds)
    }

    private func readAndPark(_ record: inout TransactionRecord, sale: ValidatedSale, reader: GranularCardReader,
                             key: (any IdempotencyScope)?, progress: SaleProgress?) async throws -> Response {
        progress?.report(.waitingForCard, record.id)
        let request = CardReadRequest(
            transactionId: record.id, type: record.type, amountMinorUnits: sale.totalAmount,
            cashbackMinorUnits: sale.cashbackAmount, cardNumber: sale.cardNumber ?? SimulatedAcquirer.defaultCardNumber,
            date: record.createdAt)
        let emv: EMVCardData
        switch reader {
        case .sandbox: emv = SimulatedCardReader.read(request)
        case .terminal(let channel, let waitMilliseconds):
            emv = try await TerminalCardReader.read(request, currency: record.currency, on: channel,
                                                    waitMilliseconds: waitMilliseconds)
        }
        progress?.report(.cardDetected, record.id)
        record.cardScheme = emv.cardScheme
        record.maskedPan = emv.maskedPan
        record.status = .awaitingCompletion
        progress?.report(.processing, record.id)
        let pending = PendingGranular(record: record, emv: emv.json,
                                      expiresAt: GranularState(startedAt: record.createdAt).expiresAt)
        let pendingStore = granular.pendingStore
        let response = try await KeyedWrite.transaction(key: key, database: services.database) { tx in
            try await pendingStore.insert(pending, executor: tx)
            return Response.json(pending.json)
        }
        guard let response else { preconditionFailure("the pending write always answers") }
        return response
    }

    /// Card tender, SALE or PRE_AUTH (the types an issuer authorizes), no cash back to a card the POS authorizes
    /// beyond what the sale rules allow already.
    static func checkGranular(_ sale: ValidatedSale) throws(AtlasError) {
        guard granularTypes.contains(sale.type) else {
            throw GranularErrors.notGranular("type", "Granular mode runs SALE and PRE_AUTH only", value: sale.type.rawValue)
        }
        guard sale.tender == .card else {
            throw GranularErrors.notGranular("tender", "Granular mode reads a card: tender must be CARD",
                                             value: sale.tender.commerceCode)
        }
    }

    // MARK: POST /v1/transaction/complete

    /// Writes the issuer's answer as the final row: "00" APPROVED with its authorization code, any other
    /// code DECLINED with the matching decline code. Same 200 body as a sale.
    func complete(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let tenant = context.tenant
        let completion = try GranularValidation.validate(try request.decodeJSON(CompleteRequest.self))
        let answer = completion.answer
        let finish = try await granular.finish(completion.transactionId, tenant: tenant, key: context.idempotency) { state, now in
            state.complete(answer, at: now)
        }
        return try await answerFinish(finish, id: completion.transactionId, tenant: tenant)
    }

    /// An abort of a transaction awaiting completion: ABORTED through the same write. nil when the transaction
    /// is not a pending granular one (the orchestrated abort takes over).
    func abortGranular(_ id: String, tenant: TenantContext) async throws -> Response? {
        let finish = try await granular.finish(id, tenant: tenant, key: nil) { state, now in state.abort(at: now) }
        if case .notPending = finish { return nil }
        return try await answerFinish(finish, id: id, tenant: tenant)
    }

    private func answerFinish(_ finish: GranularFinisher.Finish, id: String, tenant: TenantContext) async throws -> Response {
        switch finish {
        case .written(let sale): return sale.response
        case .replayed(let response): return response
        case .expired: throw GranularErrors.expired
        case .pending: throw GranularErrors.notAwaitingCompletion
        case .notPending: throw try await granular.refusal(id, tenant: tenant)
        }
    }

    /// The pending transaction for GET, expired first when its deadline passed (then nil: the final row answers).
    func awaitingCompletion(_ id: String, tenant: TenantContext) async throws -> PendingGranular? {
        let finish = try await granular.finish(id, tenant: tenant, key: nil) { state, now in state.expireIfDue(at: now) }
        if case .pending(let pending) = finish { return pending }
        return nil
    }
}
