import Foundation
import Kernel

/// Consumes `transaction.settled` (appended by Reconciliation when a close claims a transaction) and
/// writes the transaction's `settlement_id`. WHY here: only Transactions writes its table; the void rule
/// (`TransactionRules.checkVoid`) reads this column under the original's row lock.
///
/// Idempotent without an applied-ids record: a row already carrying a settlement id is left alone, so a
/// redelivered batch changes nothing. One statement per batch.
struct SettledTransactionsConsumer: Sendable {
    static let name = "transactions.settlement"
    static let eventType = "transaction.settled"
    static let batchEventsMax = 500

    let database: any Database

    var consumer: EventConsumer {
        let database = database
        return EventConsumer(name: Self.name, eventTypes: [Self.eventType], batchEventsMax: Self.batchEventsMax) { batch in
            guard let statement = Self.statement(batch) else { return }
            try await database.execute(statement)
        }
    }

    /// The batch as one `UPDATE … FROM jsonb_to_recordset(…)` (one bound value, any batch size); nil when
    /// no event of the batch names a settlement.
    static func statement(_ batch: [LoggedEvent]) -> SQL? {
        let rows: [JSONValue] = batch.compactMap { logged in
            let event = logged.event
            guard event.type == eventType, let settlementId = event.payload["settlementId"]?.stringValue else { return nil }
            return ["transaction_id": .string(event.resourceId), "settlement_id": .string(settlementId),
                    "merchant_id": .string(event.tenant.merchantId), "mode": .string(event.tenant.mode.rawValue)]
        }
        guard !rows.isEmpty else { return nil }
        let document = SQLValue.json(String(decoding: JSONValue.array(rows).serialized(), as: UTF8.self))
        return """
            UPDATE transactions AS t SET settlement_id = settled.settlement_id
            FROM jsonb_to_recordset(\(document)) AS settled(transaction_id text, settlement_id text, merchant_id text, mode text)
            WHERE t.id = settled.transaction_id AND t.merchant_id = settled.merchant_id AND t.mode = settled.mode
              AND t.settlement_id IS NULL
            """
    }
}
