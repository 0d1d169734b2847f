import Kernel

/// The currency and rate of a document being drafted or recorded (invoices, bills, payments both ways). A document is
/// in its contact's currency (customers and vendors carry one, rule 26), so a contact's documents, payments and balance
/// share one currency and a payment can only settle documents in its own.
enum DocumentCurrency {
    /// The contact's currency; a `currency` in the request must name it (422 on `currency`).
    static func of(_ requested: String?, contact: Contact) throws(AtlasError) -> Currency {
        if let requested, requested != contact.currency.code {
            throw AtlasError.invalidField("currency", "currency must be the \(contact.kind.rawValue)'s currency, \(contact.currency.code)")
        }
        return contact.currency
    }

    /// The rate a document is booked at: `explicit` when given; a draft's own rate while neither its currency nor its date
    /// changed (`kept`: currency, date, rate); else the rate effective on `date` (`DocumentExchange.rate`, 422 without one).
    static func rate(currency: Currency, explicit: AmountText?, date: String, dateField: String,
                     kept: (Currency, String, DecimalFactor)?, company: Company, mode: Mode,
                     executor: any SQLExecutor) async throws -> DecimalFactor {
        if explicit == nil, let kept, kept.0 == currency, kept.1 == date { return kept.2 }
        return try await DocumentExchange.rate(currency: currency, base: company.baseCurrency, explicit: explicit, date: date,
                                               dateField: dateField, companyId: company.id, mode: mode, executor: executor)
    }
}
