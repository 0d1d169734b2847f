import Foundation
import Kernel

/// One exchange rate of a company: `rate` units of `to` per 1 `from`, from `effective_date` on.
struct ExchangeRateRecord: Sendable {
    static let sources = ["manual", "api"]

    var id: String
    var companyId: String
    var from: Currency
    var to: Currency
    var rate: DecimalFactor
    var effectiveDate: String
    var source: String
    var createdAt: Date

    static let columns: StaticString = """
        id, company_id, from_currency, to_currency, rate::text AS rate, effective_date::text AS effective_date, source, created_at
        """

    init(row: Row) throws {
        guard let from = Currency(code: try row.decode("from_currency")), let to = Currency(code: try row.decode("to_currency")),
              let rate = DecimalFactor(try row.decode("rate", as: String.self)) else {
            throw DatabaseError(kind: .decoding, message: "unexpected currency or rate in accounting_exchange_rates")
        }
        id = try row.decode("id")
        companyId = try row.decode("company_id")
        self.from = from
        self.to = to
        self.rate = rate
        effectiveDate = try row.decode("effective_date")
        source = try row.decode("source")
        createdAt = try row.decode("created_at")
    }

    var json: JSONValue {
        ["id": .string(id), "company_id": .string(companyId), "from_currency": .string(from.code), "to_currency": .string(to.code),
         "rate": .string(rate.text), "effective_date": .string(effectiveDate), "source": .string(source),
         "created_at": .timestamp(createdAt)]
    }
}

/// `/currencies` (the ISO 4217 currencies Atlas knows, and conversion) and `/exchange-rates` (a company's rates by
/// date; spec B.1, B.3 B33). Conversion uses the latest rate effective on the date, direct only (an inverse would
/// need division, which is not exact).
struct CurrencyHandlers: Sendable {
    let database: any Database
    let scope: CompanyScope
    let clock: any WallClock

    static func json(_ currency: Currency) -> JSONValue {
        ["code": .string(currency.code), "decimal_places": .int(Int64(currency.minorUnitExponent))]
    }

    /// The currency table is the same for every organization; the `AccountingContext` still requires a signed-in user.
    func list(_ request: Request, _: AccountingContext) async throws -> Response {
        let page = try AccountingPage(request.queryParameters)
        let all = Currency.exponentsByCode.keys.sorted().compactMap(Currency.init(code:))
        return .json(page.envelope(all.dropFirst(page.offset).prefix(page.limit).map(Self.json), total: all.count))
    }

    func get(_ request: Request, _: AccountingContext) async throws -> Response {
        guard let currency = Currency(code: request.pathParameter("code") ?? "") else { throw AccountingInput.notFound("Currency") }
        return .json(Self.json(currency))
    }

    /// `GET /currencies/convert?from_currency&to_currency&amount[&date]`.
    func convert(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        let query = request.queryParameters
        let from = try Self.currency(query["from_currency"], field: "from_currency")
        let to = try Self.currency(query["to_currency"], field: "to_currency")
        guard let amountText = query["amount"] else { throw AtlasError.missingField("amount") }
        let amount = try AmountText(amountText).minorUnits(from, field: "amount")
        guard amount >= 0 else { throw AtlasError.invalidField("amount", "amount must be 0 or more") }
        let date = try AccountingInput.optionalDate(query["date"], field: "date") ?? AccountingInput.day(of: clock.now())
        let company = try await scope.resolve(request, caller)
        var rate = DecimalFactor.one
        var effective = date
        if from != to {
            guard let record = try await ExchangeRateLookup.latest(from: from, to: to, on: date, companyId: company.id,
                                                                   mode: caller.mode, executor: database) else {
                throw AccountingInput.notFound("Exchange rate \(from.code)→\(to.code) on or before \(date)")
            }
            rate = record.rate
            effective = record.effectiveDate
        }
        guard let converted = rate.convert(amount, fromExponent: from.minorUnitExponent, toExponent: to.minorUnitExponent) else {
            throw AtlasError.invalidField("amount", "amount exceeds the largest accepted amount once converted")
        }
        return .json(["from_currency": .string(from.code), "to_currency": .string(to.code),
                      "amount": .string(DecimalAmount.format(amount, from)), "converted_amount": .string(DecimalAmount.format(converted, to)),
                      "rate": .string(rate.text), "effective_date": .string(effective)])
    }

    struct RateBody: Decodable {
        let company_id: String?
        let from_currency: String
        let to_currency: String
        let rate: AmountText
        let effective_date: String
        let source: String?
    }

    func createRate(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        let body = try request.decodeJSON(RateBody.self)
        let from = try Self.currency(body.from_currency, field: "from_currency")
        let to = try Self.currency(body.to_currency, field: "to_currency")
        guard from != to else { throw AtlasError.invalidField("to_currency", "to_currency must differ from from_currency") }
        guard let rate = DecimalFactor(body.rate.text) else {
            throw AtlasError.invalidField("rate", "rate must be a decimal greater than 0 with at most \(DecimalFactor.scaleMax) decimals")
        }
        let date = try AccountingInput.requiredDate(body.effective_date, field: "effective_date")
        let source = body.source ?? "manual"
        guard ExchangeRateRecord.sources.contains(source) else { throw AtlasError.invalidField("source", "source must be manual or api") }
        let company = try await scope.resolve(request, caller, bodyCompanyId: body.company_id)
        guard let row = try await database.queryFirst("""
            INSERT INTO accounting_exchange_rates (id, company_id, mode, from_currency, to_currency, rate, effective_date, source,
                created_at)
            VALUES (\(AccountingInput.newId()), \(company.id), \(caller.mode), \(from.code), \(to.code), \(rate.text)::numeric,
                \(date)::date, \(source), \(clock.now()))
            ON CONFLICT (company_id, mode, from_currency, to_currency, effective_date) DO NOTHING
            RETURNING \(literal: ExchangeRateRecord.columns)
            """) else {
            throw AtlasError(kind: .conflict, status: 409, code: "DUPLICATE_RATE",
                             message: "A \(from.code)→\(to.code) rate for \(date) exists; delete it first",
                             details: ErrorDetails(field: "effective_date"))
        }
        return .json(try ExchangeRateRecord(row: row).json, status: 201)
    }

    func listRates(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        let page = try AccountingPage(request.queryParameters)
        let company = try await scope.resolve(request, caller)
        let total: Int = try await database.queryFirst("""
            SELECT count(*) AS n FROM accounting_exchange_rates WHERE company_id = \(company.id) AND mode = \(caller.mode)
            """)?.decode("n") ?? 0
        let items = try await database.query("""
            SELECT \(literal: ExchangeRateRecord.columns) FROM accounting_exchange_rates
            WHERE company_id = \(company.id) AND mode = \(caller.mode)
            ORDER BY effective_date DESC, from_currency, to_currency LIMIT \(page.limit) OFFSET \(page.offset)
            """).map(ExchangeRateRecord.init(row:))
        return .json(page.envelope(items.map(\.json), total: total))
    }

    func getRate(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        guard let id = AccountingInput.uuid(request.pathParameter("id")), let record = try await database.queryFirst("""
            SELECT \(literal: ExchangeRateRecord.columns) FROM accounting_exchange_rates WHERE id = \(id) AND mode = \(caller.mode)
              AND company_id IN (SELECT id FROM accounting_companies WHERE org_id = \(caller.organizationId))
            """).map(ExchangeRateRecord.init(row:)) else { throw AccountingInput.notFound("Exchange rate") }
        return .json(record.json)
    }

    func deleteRate(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        guard let id = AccountingInput.uuid(request.pathParameter("id")), try await database.execute("""
            DELETE FROM accounting_exchange_rates WHERE id = \(id) AND mode = \(caller.mode)
              AND company_id IN (SELECT id FROM accounting_companies WHERE org_id = \(caller.organizationId))
            """) == 1 else { throw AccountingInput.notFound("Exchange rate") }
        return Response(status: 204)
    }

    static func currency(_ code: String?, field: String) throws(AtlasError) -> Currency {
        guard let code else { throw AtlasError.missingField(field) }
        guard let currency = Currency(code: code) else {
            throw AtlasError.invalidField(field, "\(field) must be an ISO 4217 code such as USD")
        }
        return currency
    }
}
