import AcquirerContract
import CashRoundingContract
import Foundation
import IdempotencyContract
import Kernel
import StoredValueContract
import Synchronization

/// Runs one payment: validate, hold the terminal, talk to the acquirer (or round cash, or debit stored
/// value), then write the row, its event in the log and its idempotency record in ONE commit.
/// The response exists only after that commit.
final class TransactionService: Sendable {
    /// How long an abort request waits for the in-flight transaction to reach a final state.
    static let abortWaitSeconds: Double = 5
    static let abortPollMilliseconds = 25

    let services: ModuleServices
    let store: TransactionStore
    let settings: MerchantSettingsStore
    let simulator: any CardAcquirer
    let liveAcquirer: (any CardAcquirer)?
    let committer: SaleCommitter
    /// Ends granular transactions (complete, abort, expiry) through the same write as sales.
    let granular: GranularFinisher
    /// Acquirer calls in flight in this process, so an abort can cancel them (also before they start).
    private let inFlight = InFlightAcquirerCalls()
    /// A PRE_AUTH past this window is neither completed nor voided (PreAuthExpiry/).
    let preAuthExpiry: PreAuthExpiryLimits
    /// Live granular mode reads cards on the terminals connected to this instance; nil: live `initiate` is 503.
    let liveCardReading: LiveCardReading?

    init(services: ModuleServices, simulator: any CardAcquirer, liveAcquirer: (any CardAcquirer)?, batching: Bool,
         preAuthExpiry: PreAuthExpiryLimits = PreAuthExpiryLimits(), liveCardReading: LiveCardReading? = nil) {
        self.services = services
        self.preAuthExpiry = preAuthExpiry
        self.liveCardReading = liveCardReading
        store = TransactionStore(database: services.database, ledger: services.storedValue)
        settings = MerchantSettingsStore(database: services.database, clock: services.clock)
        self.simulator = simulator
        self.liveAcquirer = liveAcquirer
        committer = SaleCommitter(services: services, store: store, batching: batching)
        granular = GranularFinisher(services: services, store: store)
    }

    // MARK: POST /v1/transaction/sale

    func sale(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let tenant = context.tenant
        let sale = try SaleValidation.validate(try request.decodeJSON(SaleRequest.self, fastPath: SaleRequest.fromDocument))
        let merchant = try await settings.settings(for: tenant)
        try checkMerchantLimits(sale, merchant)
        let terminalId = try resolveTerminal(sale.terminalId, principal: context.principal)
        if sale.tender == .card && !sale.type.needsOriginal { _ = try acquirer(for: tenant) }
        let key = context.idempotency
        if let key, !key.isClaimed, !Self.mayDeferClaim(sale, tenant: tenant, terminalId: terminalId),
           let answer = try await key.claimBeforeSideEffects() {
            return answer
        }
        let record = newRecord(sale, tenant: tenant, merchant: merchant, terminalId: terminalId, requestId: request.requestId)
        let id = record.id
        try await holdTerminal(record, key: key)
        defer { inFlight.saleEnded(id) }
        let progress = context.value(SaleProgressSlot.self)
        if sale.tender == .card && !sale.type.needsOriginal { progress?.report(.waitingForCard, id) }
        do {
            let outcome: SaleCommit
            if sale.type.needsOriginal {
                outcome = .written(try await followUp(record, sale: sale, merchant: merchant, key: key))
                services.eventLog.appendCommitted()
                key?.committed()
            } else {
                outcome = try await committer.commit(try await prepareNew(record, sale: sale, merchant: merchant,
                                                                          progress: progress), key: key)
            }
            switch outcome {
            case .written(let final): return final.response
            case .lostKey:
                guard let key else { preconditionFailure("only a sale with a key can lose it") }
                return try await key.answerAfterLoss()
            }
        } catch {
            if terminalId != nil { await store.abandonTerminal(transactionId: id, tenant: tenant) }
            throw error
        }
    }

    /// The row a new request will write, before any outcome: status APPROVED until the engine says otherwise.
    func newRecord(_ sale: ValidatedSale, tenant: TenantContext, merchant: MerchantTransactionSettings, terminalId: String?,
                   requestId: String?) -> TransactionRecord {
        let now = services.clock.now()
        let id = TypedID.generate(prefix: .transaction, clock: services.clock).rawValue
        var record = TransactionRecord(id: id, tenant: tenant, type: sale.type, status: .approved, amount: sale.amount,
                                       tipAmount: sale.tipAmount, cashbackAmount: sale.cashbackAmount,
                                       currency: sale.currency.code, tender: sale.tender,
                                       businessDate: TransactionRules.businessDate(now, timeZone: merchant.timeZone),
                                       createdAt: now)
        record.entryMode = sale.entryMode.rawValue
        record.referenceId = sale.referenceId
        record.originalTransactionId = sale.originalTransactionId
        record.metadata = sale.metadata == .null ? nil : sale.metadata
        record.terminalId = terminalId
        record.requestId = requestId
        return record
    }

    /// Claims the record's terminal, if it has one; TERMINAL_BUSY otherwise.
    func holdTerminal(_ record: TransactionRecord, key: (any IdempotencyScope)?) async throws {
        guard let terminalId = record.terminalId else { return }
        guard try await store.claimTerminal(terminalId, transactionId: record.id, type: record.type, amount: record.totalAmount,
                                            currency: record.currency, tenant: record.tenant, now: record.createdAt) else {
            // TERMINAL_BUSY is transient: release the key so a retry with the same Idempotency-Key runs
            // instead of replaying the 409 (nothing is stored for it).
            await key?.release()
            throw TransactionErrors.terminalBusy
        }
    }

    /// Whether this sale may run on a deferred Idempotency-Key (written with the sale's rows, one commit)
    /// instead of a key claimed first. With a deferred key, concurrent duplicates all execute up to the
    /// write and all but one roll back, so only sales whose execution has no effect outside this
    /// database qualify: test-mode cards (the simulator) and cash, new money, no terminal. A live card
    /// authorization must never run twice for one key (the loser would have charged the card), stored
    /// value debits and follow-ups lock rows, and a terminal-bound duplicate would get TERMINAL_BUSY
    /// instead of waiting for the first: all of those claim first, the classic way.
    static func mayDeferClaim(_ sale: ValidatedSale, tenant: TenantContext, terminalId: String?) -> Bool {
        guard terminalId == nil, !sale.type.needsOriginal else { return false }
        switch sale.tender {
        case .cash: return true
        case .card: return tenant.mode == .test
        case .storedValue, .ebt, .mobile: return false
        }
    }

    func checkMerchantLimits(_ sale: ValidatedSale, _ merchant: MerchantTransactionSettings) throws(AtlasError) {
        if !merchant.currencies.isEmpty && !merchant.currencies.contains(sale.currency.code) {
            throw TransactionErrors.invalidCurrency(sale.currency.code)
        }
        let (withTip, overflowA) = sale.amount.addingReportingOverflow(sale.tipAmount)
        let (total, overflowB) = withTip.addingReportingOverflow(sale.cashbackAmount)
        guard !overflowA, !overflowB, total <= merchant.amountCeilingMinorUnits else {
            throw TransactionErrors.invalidAmount("amount exceeds the merchant ceiling (\(merchant.amountCeilingMinorUnits))",
                                                  constraint: "maximum", value: sale.amount)
        }
    }

    /// The principal's terminal wins; a request naming a different terminal is refused.
    func resolveTerminal(_ requested: String?, principal: Principal) throws(AtlasError) -> String? {
        guard let bound = principal.terminalId else { return requested }
        if let requested, requested != bound {
            throw AtlasError.forbidden("This credential is bound to another terminal")
        }
        return bound
    }

    /// Test mode always uses the simulator; live mode needs a configured acquirer.
    private func acquirer(for tenant: TenantContext) throws(AtlasError) -> any CardAcquirer {
        if tenant.mode == .test { return simulator }
        guard let liveAcquirer else { throw TransactionErrors.acquirerNotConfigured }
        return liveAcquirer
    }

    // MARK: New money: SALE, PRE_AUTH, CARD_READ, BALANCE_INQUIRY

    private func prepareNew(_ base: TransactionRecord, sale: ValidatedSale, merchant: MerchantTransactionSettings,
                            progress: SaleProgress?) async throws -> PreparedSale {
        var record = base
        switch sale.tender {
        case .card:
            let number = sale.cardNumber ?? (base.tenant.mode == .test ? SimulatedAcquirer.defaultCardNumber : nil)
            if let number {
                record.cardScheme = PAN.scheme(number)
                record.maskedPan = PAN.masked(number)
            }
            let operation: AcquirerRequest.Operation = switch sale.type {
            case .cardRead: .read
            case .balanceInquiry: .balance
            default: .authorize
            }
            progress?.report(.cardDetected, record.id)
            progress?.report(.processing, record.id)
            let outcome = try await callAcquirer(AcquirerRequest(
                operation: operation, transactionId: record.id, amountMinorUnits: sale.totalAmount,
                currency: sale.currency.code, cardNumber: number, originalAuthorizationCode: nil), tenant: base.tenant)
            apply(outcome, to: &record)
            return PreparedSale(record: record, storedValueDebit: nil, releaseTerminal: record.terminalId != nil)
        case .cash:
            record.rounding = round(amount: sale.amount + sale.tipAmount, sale: sale, merchant: merchant, date: record.createdAt)
            return PreparedSale(record: record, storedValueDebit: nil, releaseTerminal: record.terminalId != nil)
        case .storedValue:
            guard let number = sale.cardNumber else { throw AtlasError.missingField("card.number") }
            record.maskedPan = PAN.masked(number)
            record.cardScheme = "STORED_VALUE"
            let hash = storedValueHash(number, tenant: base.tenant)
            record.storedValueCardHash = hash
            switch sale.type {
            case .sale:
                return PreparedSale(record: record, storedValueDebit: hash, releaseTerminal: record.terminalId != nil)
            case .balanceInquiry:
                if let (balance, currency) = try await store.storedValueBalance(cardHash: hash, tenant: base.tenant),
                   currency == sale.currency.code {
                    record.balance = balance
                } else {
                    record.status = .declined
                    record.declineCode = "UNKNOWN_CARD"
                }
            default: break
            }
            return PreparedSale(record: record, storedValueDebit: nil, releaseTerminal: record.terminalId != nil)
        case .ebt, .mobile:
            throw TransactionErrors.unknownTender(sale.tender.commerceCode)
        }
    }

    private func apply(_ outcome: AcquirerOutcome?, to record: inout TransactionRecord) {
        switch outcome {
        case .approved(let code, let balance)?:
            record.approve(authorizationCode: record.type == .cardRead ? nil : code)
            record.balance = balance
        case .declined(let responseCode, let declineCode)?:
            record.decline(responseCode: responseCode, declineCode: declineCode)
        case .timeout?: record.end(.error, errorCode: "ACQUIRER_TIMEOUT")
        case .processingError?: record.end(.error, errorCode: "PROCESSING_ERROR")
        case nil: record.end(.aborted, errorCode: "ABORTED")
        }
    }

    /// Runs the acquirer call as a registered task so `abort` can cancel it; nil means aborted.
    private func callAcquirer(_ request: AcquirerRequest, tenant: TenantContext) async throws -> AcquirerOutcome? {
        let acquirer = try acquirer(for: tenant)
        let task = Task { try await acquirer.send(request) }
        inFlight.register(request.transactionId, task)
        defer { inFlight.finished(request.transactionId) }
        do {
            return try await task.value
        } catch is CancellationError {
            return nil
        }
    }

    private func round(amount: Int64, sale: ValidatedSale, merchant: MerchantTransactionSettings, date: Date) -> RoundingInfo {
        let location = sale.location?.kernel ?? merchant.location ?? CashRoundingLocation()
        guard let rounding = services.cashRounding else {
            return RoundingInfo(ledgerTotal: amount, cashTotal: amount, delta: 0, mode: "none", jurisdiction: "",
                                complianceStatus: "WARN")
        }
        return RoundingInfo(rounding.roundCash(amountMinorUnits: amount, currency: sale.currency, location: location, on: date))
    }

    // MARK: Follow-ups: REFUND, VOID, PRE_AUTH_COMPLETE

    /// Locks the original row, checks the state machine against it, runs the acquirer leg and writes
    /// both rows, all in one database transaction: concurrent refunds serialize on the original.
    private func followUp(_ base: TransactionRecord, sale: ValidatedSale, merchant: MerchantTransactionSettings,
                          key: (any IdempotencyScope)?) async throws -> WrittenSale {
        let store = store
        let services = services
        let acquirer: (any CardAcquirer)? = base.tenant.mode == .test ? simulator : liveAcquirer
        let roundingService = services.cashRounding
        let preAuthExpiry = preAuthExpiry
        return try await services.database.transaction { tx in
            guard let original = try await store.find(sale.originalTransactionId ?? "", tenant: base.tenant, executor: tx,
                                                      forUpdate: true) else {
                throw TransactionErrors.originalNotFound()
            }
            let (amount, effect) = try TransactionRules.check(type: sale.type, amount: sale.amount, currency: sale.currency.code,
                                                              original: original.followUpSnapshot(preAuthExpiry, now: base.createdAt),
                                                              currentBusinessDate: base.businessDate)
            var record = base
            record.amount = amount
            record.tender = original.tender
            record.cardScheme = original.cardScheme
            record.maskedPan = original.maskedPan
            record.storedValueCardHash = original.storedValueCardHash
            switch original.tender {
            case .card:
                guard let acquirer else { throw TransactionErrors.acquirerNotConfigured }
                let operation: AcquirerRequest.Operation = switch sale.type {
                case .void: .reverse
                case .refund: .refund
                default: .capture
                }
                let outcome = try await acquirer.send(AcquirerRequest(
                    operation: operation, transactionId: record.id, amountMinorUnits: amount + record.tipAmount,
                    currency: record.currency, cardNumber: nil, originalAuthorizationCode: original.authorizationCode))
                Self.applyFollowUp(outcome, to: &record)
            case .cash:
                if sale.type == .void, let originalRounding = original.rounding {
                    record.rounding = originalRounding
                } else if let roundingService, let currency = Currency(code: record.currency) {
                    let location = sale.location?.kernel ?? merchant.location ?? CashRoundingLocation()
                    record.rounding = RoundingInfo(roundingService.roundCash(amountMinorUnits: amount, currency: currency,
                                                                             location: location, on: record.createdAt))
                }
            case .storedValue:
                if let hash = original.storedValueCardHash {
                    if sale.type == .void && original.type == .refund {
                        // Voiding a refund takes the refunded value back off the card (declined when spent).
                        if let balance = try await store.debitStoredValue(
                            cardHash: hash, amount: amount, currency: record.currency, reference: record.id,
                            tenant: record.tenant,
                            now: record.createdAt, executor: tx) {
                            record.balance = balance
                        } else {
                            record.status = .declined
                            record.responseCode = "51"
                            record.declineCode = "INSUFFICIENT_FUNDS"
                        }
                    } else {
                        // A void returns everything the original debited (amount + tip); a refund its amount.
                        let credit = sale.type == .void ? original.amount + original.tipAmount : amount
                        let balance = try await store.creditStoredValue(
                            cardHash: hash, maskedPan: original.maskedPan ?? "********0000", amount: credit,
                            currency: record.currency, reference: record.id, tenant: record.tenant,
                            now: record.createdAt, executor: tx)
                        record.balance = balance
                    }
                }
            case .ebt, .mobile:
                throw TransactionErrors.unknownTender(original.tender.commerceCode)
            }
            if record.status == .approved {
                try await store.apply(effect, originalId: original.id, followUpId: record.id, tenant: record.tenant, executor: tx)
                if sale.type == .void, original.type == .refund, let refunded = original.originalTransactionId {
                    // The voided refund no longer counts against what its sale may still refund.
                    try await store.reduceRefunded(refunded, by: original.amount, tenant: record.tenant, executor: tx)
                }
            }
            return try await SaleCommitter.write(record, key: key, releaseTerminal: record.terminalId != nil,
                                                 services: services, store: store, executor: tx)
        }
    }

    private static func applyFollowUp(_ outcome: AcquirerOutcome, to record: inout TransactionRecord) {
        switch outcome {
        case .approved(let code, _): record.approve(authorizationCode: code)
        case .declined(let responseCode, let declineCode): record.decline(responseCode: responseCode, declineCode: declineCode)
        case .timeout: record.end(.error, errorCode: "ACQUIRER_TIMEOUT")
        case .processingError: record.end(.error, errorCode: "PROCESSING_ERROR")
        }
    }

    // MARK: GET, list, abort

    func get(_ id: String, tenant: TenantContext) async throws -> Response {
        if let record = try await store.find(id, tenant: tenant) { return .json(record.json) }
        if let pending = try await awaitingCompletion(id, tenant: tenant) { return .json(pending.json) }
        if let row = try await store.inFlight(id, tenant: tenant) { return .json(try Self.inFlightJSON(id, row: row, tenant: tenant)) }
        if let record = try await store.find(id, tenant: tenant) { return .json(record.json) }
        throw AtlasError.notFound("Transaction not found")
    }

    static func inFlightJSON(_ id: String, row: Row, tenant: TenantContext) throws -> JSONValue {
        [
            "transactionId": .string(id), "object": "transaction", "status": "IN_PROGRESS",
            "type": .string(try row.decode("type")), "totalAmount": .int(try row.decode("amount")),
            "currency": .string(try row.decode("currency")), "terminalId": .string(try row.decode("terminal_id")),
            "timestamp": .string(Timestamp.iso8601(try row.decode("started_at"))),
            "abortRequested": .bool(try row.decode("abort_requested")), "livemode": .bool(tenant.mode.isLive),
        ]
    }

    /// Marks the in-flight transaction for abort, cancels its acquirer call when it runs in this
    /// process, then waits briefly for its final state. 409 when it is already final.
    func abort(_ id: String, tenant: TenantContext) async throws -> Response {
        if let response = try await abortGranular(id, tenant: tenant) { return response }
        guard try await store.requestAbort(id, tenant: tenant) else {
            if try await store.find(id, tenant: tenant) != nil {
                throw AtlasError.conflict(code: "TRANSACTION_NOT_IN_PROGRESS", "The transaction already finished and cannot be aborted")
            }
            throw AtlasError.notFound("Transaction not found")
        }
        inFlight.abort(id)
        let deadline = ContinuousClock.now + .milliseconds(Int(Self.abortWaitSeconds * 1000))
        while ContinuousClock.now < deadline {
            if let record = try await store.find(id, tenant: tenant) { return .json(record.json) }
            try await Task.sleep(for: .milliseconds(Self.abortPollMilliseconds))
        }
        if let row = try await store.inFlight(id, tenant: tenant) {
            return .json(try Self.inFlightJSON(id, row: row, tenant: tenant), status: 202)
        }
        return try await get(id, tenant: tenant)
    }

    func list(_ request: Request, tenant: TenantContext) async throws -> Response {
        let query = request.queryParameters
        let limit = try TransactionPaging.limit(query["limit"])
        var filter = TransactionStore.ListFilter(limit: limit)
        if let type = query["type"] {
            guard TransactionType(rawValue: type) != nil else {
                throw AtlasError.invalidField("type", "type must be one of the transaction types", constraint: "enum")
            }
            filter.type = type
        }
        if let status = query["status"] {
            guard let parsed = TransactionStatus(rawValue: status), parsed.isFinal else {
                throw AtlasError.invalidField("status", "status must be APPROVED, DECLINED, ABORTED, ERROR, VOIDED or EXPIRED", constraint: "enum")
            }
            filter.status = status
        }
        if let terminal = query["terminalId"] {
            try SaleValidation.checkTerminal(terminal)
            filter.terminalId = terminal
        }
        filter.from = try TransactionPaging.date(query["from"], field: "from")
        filter.to = try TransactionPaging.date(query["to"], field: "to")
        if let cursor = query["cursor"] {
            guard cursor.hasPrefix("cursor_txn_"), TypedID(rawValue: String(cursor.dropFirst(7))).matches(.transaction) else {
                throw AtlasError.invalidField("cursor", "cursor is not valid", constraint: "format")
            }
            filter.beforeId = String(cursor.dropFirst(7))
        }
        let records = try await store.list(filter, tenant: tenant)
        let page = Array(records.prefix(limit))
        let hasMore = records.count > limit
        return .json(["data": .array(page.map(\.json)), "hasMore": .bool(hasMore),
                      "nextCursor": hasMore ? .string("cursor_" + (page.last?.id ?? "")) : .null])
    }
}

enum TransactionPaging {
    static let limitDefault = 25
    static let limitMax = 100

    static func limit(_ text: String?) throws(AtlasError) -> Int {
        try QueryParameters.limit(text, fallback: limitDefault, max: limitMax)
    }

    static func date(_ text: String?, field: String) throws(AtlasError) -> Date? {
        try QueryParameters.timestamp(text, field: field)
    }
}
