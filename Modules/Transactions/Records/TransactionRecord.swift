import CashRoundingContract
import Foundation
import Kernel

/// Cash rounding as stored with a cash transaction and shown in its response.
struct RoundingInfo: Sendable, Hashable {
    var ledgerTotal: Int64
    var cashTotal: Int64
    var delta: Int64
    var mode: String
    var jurisdiction: String
    var complianceStatus: String

    var json: JSONValue {
        ["ledgerTotal": .int(ledgerTotal), "cashTotal": .int(cashTotal), "roundingDelta": .int(delta),
         "mode": .string(mode), "jurisdiction": .string(jurisdiction), "complianceStatus": .string(complianceStatus)]
    }

    init(ledgerTotal: Int64, cashTotal: Int64, delta: Int64, mode: String, jurisdiction: String, complianceStatus: String) {
        self.ledgerTotal = ledgerTotal
        self.cashTotal = cashTotal
        self.delta = delta
        self.mode = mode
        self.jurisdiction = jurisdiction
        self.complianceStatus = complianceStatus
    }

    init(_ result: CashRoundingResult) {
        self.init(ledgerTotal: result.ledgerTotalMinorUnits, cashTotal: result.cashTotalMinorUnits,
                  delta: result.deltaMinorUnits, mode: result.mode.rawValue, jurisdiction: result.jurisdictionID,
                  complianceStatus: result.complianceStatus.rawValue)
    }

    static func decode(_ json: JSONValue?) -> RoundingInfo? {
        guard let json, let ledger = json["ledgerTotal"]?.intValue, let cash = json["cashTotal"]?.intValue,
              let delta = json["roundingDelta"]?.intValue else { return nil }
        return RoundingInfo(ledgerTotal: ledger, cashTotal: cash, delta: delta, mode: json["mode"]?.stringValue ?? "none",
                            jurisdiction: json["jurisdiction"]?.stringValue ?? "", complianceStatus: json["complianceStatus"]?.stringValue ?? "")
    }
}

/// One stored transaction: the single source for the `TransactionResponse` JSON.
struct TransactionRecord: Sendable {
    var id: String
    var tenant: TenantContext
    var type: TransactionType
    var status: TransactionStatus
    var amount: Int64
    var tipAmount: Int64
    var cashbackAmount: Int64
    var currency: String
    var tender: TenderType
    var entryMode: String?
    var referenceId: String?
    var originalTransactionId: String?
    var terminalId: String?
    var cardScheme: String?
    var maskedPan: String?
    var authorizationCode: String?
    var responseCode: String?
    var declineCode: String?
    var errorCode: String?
    var balance: Int64?
    /// SHA-256 of the stored-value card number (never rendered), so refunds and voids can credit it back.
    var storedValueCardHash: [UInt8]?
    var refundedAmount: Int64 = 0
    var completionTransactionId: String?
    var voidTransactionId: String?
    var rounding: RoundingInfo?
    var metadata: JSONValue?
    var settlementId: String?
    var businessDate: String
    var requestId: String?
    var createdAt: Date

    var totalAmount: Int64 { amount + tipAmount + cashbackAmount }

    /// `json.serialized()`, written member by member (`JSONObjectWriter`): the bytes of every sale's response, stored
    /// response and event payload. Keys in byte order; `TransactionRecordJSONTests` holds it to `json.serialized()`.
    var jsonBytes: [UInt8] {
        var writer = JSONObjectWriter()
        writer.member("amount", integer: amount)
        writer.member("authorizationCode", string: authorizationCode)
        if let balance { writer.member("balance", integer: balance) }
        writer.member("cardScheme", string: cardScheme)
        writer.member("cashbackAmount", integer: cashbackAmount)
        writer.member("completionTransactionId", string: completionTransactionId)
        writer.member("currency", string: currency)
        writer.member("declineCode", string: declineCode)
        writer.member("entryMode", string: entryMode)
        writer.member("errorCode", string: errorCode)
        writer.member("livemode", bool: tenant.mode.isLive)
        writer.member("maskedPan", string: maskedPan)
        writer.member("metadata", metadata ?? .null)
        writer.member("object", string: "transaction")
        writer.member("originalTransactionId", string: originalTransactionId)
        writer.member("referenceId", string: referenceId)
        writer.member("refundedAmount", integer: refundedAmount)
        writer.member("responseCode", string: responseCode)
        writer.member("rounding", rounding?.json ?? .null)
        writer.member("settled", bool: settlementId != nil)
        writer.member("status", string: status.rawValue)
        writer.member("tender", string: tender.commerceCode)
        writer.member("terminalId", string: terminalId)
        writer.member("timestamp", string: Timestamp.iso8601(createdAt))
        writer.member("tipAmount", integer: tipAmount)
        writer.member("totalAmount", integer: totalAmount)
        writer.member("transactionId", string: id)
        writer.member("type", string: type.rawValue)
        writer.member("voidTransactionId", string: voidTransactionId)
        return writer.finished()
    }

    /// The documented response (docs/transactions.md). Optional fields are present as null so
    /// clients see one stable shape.
    var json: JSONValue {
        func text(_ value: String?) -> JSONValue { value.map { .string($0) } ?? .null }
        var object: [String: JSONValue] = [
            "transactionId": .string(id), "object": "transaction", "status": .string(status.rawValue),
            "type": .string(type.rawValue), "amount": .int(amount), "tipAmount": .int(tipAmount),
            "cashbackAmount": .int(cashbackAmount), "totalAmount": .int(totalAmount), "currency": .string(currency),
            "timestamp": .string(Timestamp.iso8601(createdAt)), "tender": .string(tender.commerceCode),
            "entryMode": text(entryMode), "referenceId": text(referenceId),
            "originalTransactionId": text(originalTransactionId), "terminalId": text(terminalId),
            "cardScheme": text(cardScheme), "maskedPan": text(maskedPan), "authorizationCode": text(authorizationCode),
            "responseCode": text(responseCode), "declineCode": text(declineCode), "errorCode": text(errorCode),
            "refundedAmount": .int(refundedAmount), "completionTransactionId": text(completionTransactionId),
            "voidTransactionId": text(voidTransactionId), "metadata": metadata ?? .null,
            "livemode": .bool(tenant.mode.isLive), "settled": .bool(settlementId != nil),
            "rounding": rounding?.json ?? .null,
        ]
        if let balance { object["balance"] = .int(balance) }
        return .object(object)
    }

    var snapshot: OriginalSnapshot {
        OriginalSnapshot(id: id, type: type, status: status, amount: amount, tipAmount: tipAmount, currency: currency,
                         tender: tender, refundedAmount: refundedAmount, completionTransactionId: completionTransactionId,
                         settlementId: settlementId, businessDate: businessDate)
    }

    static let columns: StaticString = """
        id, merchant_id, mode, type, status, amount, tip_amount, cashback_amount, currency, tender, entry_mode,
        reference_id, original_transaction_id, terminal_id, card_scheme, masked_pan, authorization_code, response_code,
        decline_code, error_code, balance, stored_value_card_hash, refunded_amount, completion_transaction_id, void_transaction_id, rounding,
        metadata, settlement_id, business_date::text AS business_date, request_id, created_at
        """

    init(id: String, tenant: TenantContext, type: TransactionType, status: TransactionStatus, amount: Int64,
         tipAmount: Int64, cashbackAmount: Int64, currency: String, tender: TenderType, businessDate: String, createdAt: Date) {
        self.id = id
        self.tenant = tenant
        self.type = type
        self.status = status
        self.amount = amount
        self.tipAmount = tipAmount
        self.cashbackAmount = cashbackAmount
        self.currency = currency
        self.tender = tender
        self.businessDate = businessDate
        self.createdAt = createdAt
    }

    init(row: Row) throws {
        let decodeJSON: (String?) -> JSONValue? = { text in
            text.flatMap { try? JSONValue(parsing: $0) }
        }
        guard let mode = Mode(rawValue: try row.decode("mode", as: String.self)),
              let type = TransactionType(rawValue: try row.decode("type", as: String.self)),
              let status = TransactionStatus(rawValue: try row.decode("status", as: String.self)),
              let tender = TenderType(commerceCode: try row.decode("tender", as: String.self)) else {
            throw DatabaseError(kind: .decoding, message: "unexpected enum value in transactions")
        }
        self.init(id: try row.decode("id"), tenant: TenantContext(merchantId: try row.decode("merchant_id"), mode: mode),
                  type: type, status: status, amount: try row.decode("amount"), tipAmount: try row.decode("tip_amount"),
                  cashbackAmount: try row.decode("cashback_amount"), currency: try row.decode("currency"), tender: tender,
                  businessDate: try row.decode("business_date"), createdAt: try row.decode("created_at"))
        entryMode = try row.decode("entry_mode")
        referenceId = try row.decode("reference_id")
        originalTransactionId = try row.decode("original_transaction_id")
        terminalId = try row.decode("terminal_id")
        cardScheme = try row.decode("card_scheme")
        maskedPan = try row.decode("masked_pan")
        authorizationCode = try row.decode("authorization_code")
        responseCode = try row.decode("response_code")
        declineCode = try row.decode("decline_code")
        errorCode = try row.decode("error_code")
        balance = try row.decode("balance")
        storedValueCardHash = try row.decode("stored_value_card_hash")
        refundedAmount = try row.decode("refunded_amount")
        completionTransactionId = try row.decode("completion_transaction_id")
        voidTransactionId = try row.decode("void_transaction_id")
        rounding = RoundingInfo.decode(decodeJSON(try row.decode("rounding")))
        metadata = decodeJSON(try row.decode("metadata"))
        settlementId = try row.decode("settlement_id")
        requestId = try row.decode("request_id")
    }

    /// Written columns with their SQL types. WHY the types: batch rows travel as a VALUES list in an
    /// `INSERT … SELECT` (see `SaleCommitter.batchSQL`), where a NULL bind has no target column to take its
    /// type from, so every value is cast explicitly.
    static let insertColumnTypes: [(name: String, type: String)] = [
        ("id", "text"), ("merchant_id", "text"), ("mode", "text"), ("type", "text"), ("status", "text"),
        ("amount", "bigint"), ("tip_amount", "bigint"), ("cashback_amount", "bigint"), ("currency", "text"),
        ("tender", "text"), ("entry_mode", "text"), ("reference_id", "text"), ("original_transaction_id", "text"),
        ("terminal_id", "text"), ("card_scheme", "text"), ("masked_pan", "text"), ("authorization_code", "text"),
        ("response_code", "text"), ("decline_code", "text"), ("error_code", "text"), ("balance", "bigint"),
        ("stored_value_card_hash", "bytea"), ("refunded_amount", "bigint"), ("ledger_total", "bigint"),
        ("cash_total", "bigint"), ("rounding_delta", "bigint"), ("rounding", "jsonb"), ("metadata", "jsonb"),
        ("business_date", "date"), ("request_id", "text"), ("created_at", "timestamptz"),
    ]

    static let insertColumns = insertColumnTypes.map(\.name)

    /// Bind values in `insertColumns` order.
    var insertValues: [SQLValue] {
        let metadataText = metadata.map { SQLValue.json(String(decoding: $0.serialized(), as: UTF8.self)) } ?? .null
        let roundingText = rounding.map { SQLValue.json(String(decoding: $0.json.serialized(), as: UTF8.self)) } ?? .null
        return [
            .text(id), .text(tenant.merchantId), .text(tenant.mode.rawValue), .text(type.rawValue), .text(status.rawValue),
            .int(amount), .int(tipAmount), .int(cashbackAmount), .text(currency), .text(tender.commerceCode),
            entryMode.sqlValue, referenceId.sqlValue, originalTransactionId.sqlValue, terminalId.sqlValue,
            cardScheme.sqlValue, maskedPan.sqlValue, authorizationCode.sqlValue, responseCode.sqlValue,
            declineCode.sqlValue, errorCode.sqlValue, balance.sqlValue, storedValueCardHash.sqlValue, .int(refundedAmount),
            (rounding?.ledgerTotal).sqlValue, (rounding?.cashTotal).sqlValue, (rounding?.delta).sqlValue, roundingText,
            metadataText, .text(businessDate), requestId.sqlValue, .timestamp(createdAt),
        ]
    }

    // MARK: Outcomes (the one place each final status gets its codes)

    mutating func approve(authorizationCode code: String?) {
        status = .approved
        responseCode = "00"
        authorizationCode = code
    }

    mutating func decline(responseCode code: String, declineCode decline: String) {
        status = .declined
        responseCode = code
        declineCode = decline
    }

    /// ERROR (`ACQUIRER_TIMEOUT`, `PROCESSING_ERROR`, `COMPLETION_TIMEOUT`) or ABORTED (`ABORTED`).
    mutating func end(_ final: TransactionStatus, errorCode code: String) {
        precondition(final == .error || final == .aborted, "only errors and aborts carry an errorCode")
        status = final
        errorCode = code
    }

    /// The domain event name for this record's outcome.
    var eventType: String {
        switch status {
        case .approved: "transaction.approved"
        case .declined: "transaction.declined"
        case .aborted: "transaction.aborted"
        case .expired: PreAuthExpirySweeper.eventType
        default: "transaction.failed"
        }
    }
}
