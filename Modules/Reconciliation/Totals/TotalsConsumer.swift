import Foundation
import Kernel

/// Keeps the open period from the event log: consumes `transaction.approved` and, for the types that
/// count (SALE, PRE_AUTH, PRE_AUTH_COMPLETE, REFUND, VOID), inserts an item and adds it to the running
/// totals in ONE statement per batch. Idempotent under at-least-once delivery: the item's key is the
/// transaction id and only the rows actually inserted are added to the totals, so a redelivered event
/// (even after a close claimed its item) changes nothing.
struct TotalsConsumer: Sendable {
    static let name = "reconciliation.totals"
    static let eventType = "transaction.approved"
    static let countedTypes: Set<String> = ["SALE", "PRE_AUTH", "PRE_AUTH_COMPLETE", "REFUND", "VOID"]
    static let batchEventsMax = 500
    /// The payload members `item` reads: only these are parsed (`DomainEvent.payload(keeping:)`).
    static let payloadKeys = JSONValue.KeySelection(["status", "type", "amount", "currency", "terminalId", "cardScheme",
                                                     "maskedPan", "authorizationCode", "originalTransactionId"])

    let database: any Database

    var consumer: EventConsumer {
        let database = database
        return EventConsumer(name: Self.name, eventTypes: [Self.eventType], batchEventsMax: Self.batchEventsMax) { batch in
            let items = batch.compactMap { Self.item($0.event) }
            guard !items.isEmpty else { return }
            let columns = ItemColumns(items)
            let voids = items.filter { $0.type == "VOID" }
            guard !voids.isEmpty else {
                _ = try await database.execute(Self.applySQL(columns))   // one statement: atomic on its own
                return
            }
            try await database.transaction { tx in
                try await tx.execute(Self.applySQL(columns))
                // A VOID marks its original voided in our copy (the export shows what Transactions shows).
                try await tx.execute(Self.markVoidedSQL(ItemColumns(voids)))
            }
        }
    }

    /// What one approved transaction adds to the open period.
    struct Item: Equatable {
        let merchantId, mode, transactionId, type: String
        let amount: Int64
        let currency: String
        let terminalId, cardScheme, maskedPan, authorizationCode, originalTransactionId: String?
        /// ISO 8601 with milliseconds, as the items always stored it.
        let occurredAt: String
        let sourceEventId: String
    }

    /// The items' columns as array literals (`SQLArrayLiteral`), one parameter each: the statement's text is the same
    /// for every batch size. WHY not one JSON document: building, printing and (in PostgreSQL, twice) parsing it as
    /// jsonb cost more than the insert it fed.
    struct ItemColumns {
        let merchantIds, modes, transactionIds, types, amounts, currencies, terminalIds, cardSchemes, maskedPans: String
        let authorizationCodes, originalTransactionIds, occurredAt, sourceEventIds: String

        init(_ items: [Item]) {
            merchantIds = SQLArrayLiteral.text(items.map(\.merchantId))
            modes = SQLArrayLiteral.text(items.map(\.mode))
            transactionIds = SQLArrayLiteral.text(items.map(\.transactionId))
            types = SQLArrayLiteral.text(items.map(\.type))
            amounts = SQLArrayLiteral.integers(items.map(\.amount))
            currencies = SQLArrayLiteral.text(items.map(\.currency))
            terminalIds = SQLArrayLiteral.text(items.map(\.terminalId))
            cardSchemes = SQLArrayLiteral.text(items.map(\.cardScheme))
            maskedPans = SQLArrayLiteral.text(items.map(\.maskedPan))
            authorizationCodes = SQLArrayLiteral.text(items.map(\.authorizationCode))
            originalTransactionIds = SQLArrayLiteral.text(items.map(\.originalTransactionId))
            occurredAt = SQLArrayLiteral.text(items.map(\.occurredAt))
            sourceEventIds = SQLArrayLiteral.text(items.map(\.sourceEventId))
        }
    }

    /// The item an event contributes, or nil when it does not count (declined, card reads, balance inquiries).
    /// WHY never throw on a malformed payload: a transaction that cannot be read here would be parked and
    /// retried for nothing; it is skipped, as it cannot be counted, and the admin check shows no difference
    /// because it never entered the totals.
    static func item(_ event: DomainEvent) -> Item? {
        let payload = event.payload(keeping: payloadKeys)
        guard event.type == eventType, payload["status"]?.stringValue == "APPROVED",
              let type = payload["type"]?.stringValue, countedTypes.contains(type),
              let amount = payload["amount"]?.intValue, amount >= 0,
              let currency = payload["currency"]?.stringValue else { return nil }
        return Item(merchantId: event.tenant.merchantId, mode: event.tenant.mode.rawValue, transactionId: event.resourceId,
                    type: type, amount: amount, currency: currency, terminalId: payload["terminalId"]?.stringValue,
                    cardScheme: payload["cardScheme"]?.stringValue, maskedPan: payload["maskedPan"]?.stringValue,
                    authorizationCode: payload["authorizationCode"]?.stringValue,
                    originalTransactionId: payload["originalTransactionId"]?.stringValue,
                    occurredAt: Timestamp.iso8601(event.occurredAt, fractionalSeconds: true), sourceEventId: event.id.rawValue)
    }

    /// Insert the new items; add exactly the inserted ones to their totals rows (created on first use).
    /// Totals rows are updated in (merchant, mode, currency) order, the order a close locks them in.
    /// WHY no DISTINCT ON: an item twice in one batch (a redelivered event) is inserted once, as `ON CONFLICT DO
    /// NOTHING` skips a row that conflicts with one the same statement inserted, and only inserted rows are summed.
    /// Sorting every batch to drop duplicates cost more than the rare duplicate.
    static func applySQL(_ items: ItemColumns) -> SQL {
        """
        WITH incoming AS (
            SELECT * FROM unnest(\(items.merchantIds)::text[],
                \(items.modes)::text[], \(items.transactionIds)::text[], \(items.types)::text[], \(items.amounts)::bigint[],
                \(items.currencies)::text[], \(items.terminalIds)::text[], \(items.cardSchemes)::text[],
                \(items.maskedPans)::text[], \(items.authorizationCodes)::text[], \(items.originalTransactionIds)::text[],
                \(items.occurredAt)::timestamptz[], \(items.sourceEventIds)::text[]) AS item(
                merchant_id, mode, transaction_id, type, amount, currency, terminal_id, card_scheme, masked_pan,
                authorization_code, original_transaction_id, occurred_at, source_event_id)
        ), inserted AS (
            INSERT INTO reconciliation_items (merchant_id, mode, transaction_id, type, status, amount, currency,
                terminal_id, card_scheme, masked_pan, authorization_code, original_transaction_id, occurred_at,
                source_event_id)
            SELECT merchant_id, mode, transaction_id, type, 'APPROVED', amount, currency, terminal_id, card_scheme,
                masked_pan, authorization_code, original_transaction_id, occurred_at, source_event_id FROM incoming
            ON CONFLICT (merchant_id, mode, transaction_id) DO NOTHING
            RETURNING merchant_id, mode, currency, type, amount, occurred_at
        ), sums AS (
            SELECT merchant_id, mode, currency, max(occurred_at) AS last_activity_at, \(literal: TransactionTotals.sumsSQL)
            FROM inserted GROUP BY merchant_id, mode, currency
        )
        INSERT INTO reconciliation_totals AS t (merchant_id, mode, currency, sale_count, sale_amount, refund_count,
            refund_amount, void_count, void_amount, pre_auth_count, pre_auth_amount, last_activity_at)
        SELECT merchant_id, mode, currency, sale_count, sale_amount, refund_count, refund_amount, void_count,
            void_amount, pre_auth_count, pre_auth_amount, last_activity_at
        FROM sums ORDER BY merchant_id, mode, currency
        ON CONFLICT (merchant_id, mode, currency) DO UPDATE SET
            sale_count = t.sale_count + EXCLUDED.sale_count, sale_amount = t.sale_amount + EXCLUDED.sale_amount,
            refund_count = t.refund_count + EXCLUDED.refund_count, refund_amount = t.refund_amount + EXCLUDED.refund_amount,
            void_count = t.void_count + EXCLUDED.void_count, void_amount = t.void_amount + EXCLUDED.void_amount,
            pre_auth_count = t.pre_auth_count + EXCLUDED.pre_auth_count,
            pre_auth_amount = t.pre_auth_amount + EXCLUDED.pre_auth_amount,
            last_activity_at = greatest(t.last_activity_at, EXCLUDED.last_activity_at)
        """
    }

    static func markVoidedSQL(_ items: ItemColumns) -> SQL {
        """
        UPDATE reconciliation_items AS original SET status = 'VOIDED'
        FROM unnest(\(items.merchantIds)::text[], \(items.modes)::text[], \(items.types)::text[],
                    \(items.originalTransactionIds)::text[]) AS item(merchant_id, mode, type, original_transaction_id)
        WHERE item.type = 'VOID' AND original.merchant_id = item.merchant_id AND original.mode = item.mode
          AND original.transaction_id = item.original_transaction_id
        """
    }
}
