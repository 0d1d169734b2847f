import AcquirerContract
import Foundation
import Kernel

/// One settlement as stored: the closed period's totals and the acquirer's answer.
struct SettlementRecord: Sendable, Hashable {
    var id: String
    var tenant: TenantContext
    var terminalId: String
    var totals: TransactionTotals
    var status: SettlementStatus
    /// False until the acquirer answered (a close that crashed in between is resubmitted by the next one).
    var submitted: Bool
    /// Submissions so far: 1 from the close, one more per retry of a FAILED settlement.
    var attempt = 1
    var acquirerBatchRef: String?
    var fundingDate: Date?
    var closedAt: Date

    var currency: String { totals.currency }
    var netAmount: Int64 { totals.netAmount }

    static let columns: StaticString = """
        id, merchant_id, mode, terminal_id, currency, status, submission, sale_count, sale_amount, refund_count,
        refund_amount, void_count, void_amount, pre_auth_count, pre_auth_amount, net_amount, acquirer_batch_ref,
        funding_date, closed_at, attempt
        """

    init(id: String, tenant: TenantContext, terminalId: String, totals: TransactionTotals, status: SettlementStatus,
         submitted: Bool, closedAt: Date) {
        self.id = id
        self.tenant = tenant
        self.terminalId = terminalId
        self.totals = totals
        self.status = status
        self.submitted = submitted
        self.closedAt = closedAt
    }

    init(row: Row) throws(DatabaseError) {
        guard let mode = Mode(rawValue: try row.decode("mode", as: String.self)),
              let status = SettlementStatus(rawValue: try row.decode("status", as: String.self)) else {
            throw DatabaseError(kind: .decoding, message: "unexpected enum value in reconciliation_settlements")
        }
        let currency: String = try row.decode("currency")
        self.init(id: try row.decode("id"), tenant: TenantContext(merchantId: try row.decode("merchant_id"), mode: mode),
                  terminalId: try row.decode("terminal_id"), totals: try TransactionTotals(row: row, currency: currency),
                  status: status, submitted: try row.decode("submission", as: String.self) == "SUBMITTED",
                  closedAt: try row.decode("closed_at"))
        attempt = try row.decode("attempt")
        acquirerBatchRef = try row.decode("acquirer_batch_ref")
        fundingDate = try row.decode("funding_date")
        let stored: Int64 = try row.decode("net_amount")
        precondition(stored == totals.netAmount, "a settlement's net amount is sales − refunds − voids")
    }

    /// The documented Settlement object (commerce-api §3.4), plus `totals` and `livemode` (additive).
    var json: JSONValue {
        ["id": .string(id), "object": "settlement", "closedAt": .string(Timestamp.iso8601(closedAt)),
         "status": .string(status.rawValue), "currency": .string(currency), "netAmount": .int(netAmount),
         "acquirerBatchRef": acquirerBatchRef.map { .string($0) } ?? .null,
         "fundingDate": fundingDate.map { .string(Timestamp.iso8601($0)) } ?? .null,
         "merchantId": .string(tenant.merchantId), "terminalId": .string(terminalId), "totals": totals.json,
         "livemode": .bool(tenant.mode.isLive)]
    }
}

/// One line of a settlement: the transaction as the settlement transactions list and the export show it.
struct SettlementItem: Sendable, Hashable {
    var transactionId: String
    var type: String
    var status: String
    var amount: Int64
    var currency: String
    var terminalId: String?
    var cardScheme: String?
    var maskedPan: String?
    var authorizationCode: String?
    var originalTransactionId: String?
    var occurredAt: Date

    static let columns: StaticString = """
        transaction_id, type, status, amount, currency, terminal_id, card_scheme, masked_pan, authorization_code,
        original_transaction_id, occurred_at
        """

    init(row: Row) throws(DatabaseError) {
        transactionId = try row.decode("transaction_id")
        type = try row.decode("type")
        status = try row.decode("status")
        amount = try row.decode("amount")
        currency = try row.decode("currency")
        terminalId = try row.decode("terminal_id")
        cardScheme = try row.decode("card_scheme")
        maskedPan = try row.decode("masked_pan")
        authorizationCode = try row.decode("authorization_code")
        originalTransactionId = try row.decode("original_transaction_id")
        occurredAt = try row.decode("occurred_at")
    }

    /// A TransactionResponse subset (the STXN example's fields plus the card and terminal ones).
    var json: JSONValue {
        func text(_ value: String?) -> JSONValue { value.map { .string($0) } ?? .null }
        return ["transactionId": .string(transactionId), "object": "transaction", "status": .string(status),
                "type": .string(type), "amount": .int(amount), "currency": .string(currency),
                "timestamp": .string(Timestamp.iso8601(occurredAt)), "terminalId": text(terminalId),
                "cardScheme": text(cardScheme), "maskedPan": text(maskedPan),
                "authorizationCode": text(authorizationCode), "originalTransactionId": text(originalTransactionId)]
    }

    /// The export's columns, in the documented CSV order.
    static let exportColumns = ["transactionId", "type", "status", "amount", "currency", "cardScheme", "maskedPan",
                                "authorizationCode", "timestamp"]

    var exportValues: [String] {
        [transactionId, type, status, String(amount), currency, cardScheme ?? "", maskedPan ?? "",
         authorizationCode ?? "", Timestamp.iso8601(occurredAt)]
    }

    /// One JSONL line: the CSV columns as keys (commerce-api §3.4, inferred); absent values are null.
    var exportJSON: JSONValue {
        func text(_ value: String?) -> JSONValue { value.map { .string($0) } ?? .null }
        return ["transactionId": .string(transactionId), "type": .string(type), "status": .string(status),
                "amount": .int(amount), "currency": .string(currency), "cardScheme": text(cardScheme),
                "maskedPan": text(maskedPan), "authorizationCode": text(authorizationCode),
                "timestamp": .string(Timestamp.iso8601(occurredAt))]
    }
}
