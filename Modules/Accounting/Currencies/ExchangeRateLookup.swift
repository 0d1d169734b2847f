import Kernel

/// Exchange rates by date (spec B.2 rule 26): the latest rate effective on or before a date, per pair, direct only
/// (an inverse would need an inexact division). Used by `convert` and by journal lines in a foreign currency that
/// give no `exchange_rate` of their own.
enum ExchangeRateLookup {
    /// At most this many foreign currencies are looked up for one entry (one query each).
    static let currenciesMax = 20

    static func latest(from: Currency, to: Currency, on date: String, companyId: String, mode: Mode,
                       executor: any SQLExecutor) async throws -> ExchangeRateRecord? {
        try await executor.queryFirst("""
            SELECT \(literal: ExchangeRateRecord.columns) FROM accounting_exchange_rates
            WHERE company_id = \(companyId) AND mode = \(mode) AND from_currency = \(from.code)
              AND to_currency = \(to.code) AND effective_date <= \(date)::date
            ORDER BY effective_date DESC LIMIT 1
            """).map(ExchangeRateRecord.init(row:))
    }

    /// Rates into `base` on `date` for the foreign currencies of lines without an `exchange_rate`, by currency code.
    /// A currency without a rate is simply absent: `JournalLineRules.validate` names the line (422).
    static func rates(for inputs: [JournalLineRules.Input], base: Currency, on date: String, companyId: String, mode: Mode,
                      executor: any SQLExecutor) async throws -> [String: DecimalFactor] {
        let codes = Set(inputs.compactMap { $0.exchange_rate == nil ? $0.currency : nil }).filter { $0 != base.code }
        var rates: [String: DecimalFactor] = [:]
        for code in codes.sorted().prefix(currenciesMax) {
            guard let currency = Currency(code: code) else { continue }
            if let record = try await latest(from: currency, to: base, on: date, companyId: companyId, mode: mode, executor: executor) {
                rates[code] = record.rate
            }
        }
        return rates
    }
}
