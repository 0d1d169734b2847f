import AtlasTestSupport
import Foundation
import Kernel
import Testing

/// Currencies and exchange rates (spec B.1, B.3 B33): field rules, the default source, conversion by date.
@Suite(.serialized) struct CurrencyTests {
    @Test func exchangeRatesAndConversion() async throws {
        let fixture = try await AccountingFixture.make()
        defer { fixture.close() }
        _ = try await fixture.company()
        let currencies = await fixture.send(.get, "/api/v1/currencies/?limit=500")
        #expect((currencies.json["total"]?.intValue ?? 0) > 50)
        #expect(await fixture.send(.get, "/api/v1/currencies/JPY").json["decimal_places"]?.intValue == 0)
        #expect(await fixture.send(.get, "/api/v1/currencies/XXX").status == 404)

        // B33.
        let zero = await fixture.send(.post, "/api/v1/exchange-rates/", ["from_currency": "EUR", "to_currency": "USD", "rate": 0,
                                                                         "effective_date": "2026-01-01"])
        #expect(zero.status == 422 && zero.firstErrorField == "rate")
        let short = await fixture.send(.post, "/api/v1/exchange-rates/", ["from_currency": "US", "to_currency": "EUR", "rate": "1.1",
                                                                          "effective_date": "2026-01-01"])
        #expect(short.status == 422 && short.firstErrorField == "from_currency")
        let created = await fixture.send(.post, "/api/v1/exchange-rates/", ["from_currency": "EUR", "to_currency": "USD",
                                                                            "rate": "1.0825", "effective_date": "2026-01-01"])
        #expect(created.status == 201 && created.json["source"] == "manual" && created.json["rate"] == "1.0825")
        _ = await fixture.send(.post, "/api/v1/exchange-rates/", ["from_currency": "EUR", "to_currency": "USD", "rate": "1.10",
                                                                  "effective_date": "2026-03-01"])
        #expect(await fixture.send(.post, "/api/v1/exchange-rates/", ["from_currency": "EUR", "to_currency": "USD", "rate": "2",
                                                                      "effective_date": "2026-03-01"]).status == 409)
        let january = await fixture.send(.get, "/api/v1/currencies/convert?from_currency=EUR&to_currency=USD&amount=100.00&date=2026-02-01")
        #expect(january.json["converted_amount"] == "108.25" && january.json["effective_date"] == "2026-01-01")
        let march = await fixture.send(.get, "/api/v1/currencies/convert?from_currency=EUR&to_currency=USD&amount=100&date=2026-03-15")
        #expect(march.json["converted_amount"] == "110.00")
        #expect(await fixture.send(.get, "/api/v1/currencies/convert?from_currency=USD&to_currency=EUR&amount=1").status == 404)
        #expect(await fixture.send(.get, "/api/v1/currencies/convert?from_currency=EUR&to_currency=USD&amount=1.001").status == 422)
        #expect(await fixture.send(.get, "/api/v1/currencies/convert?from_currency=USD&to_currency=USD&amount=5")
                    .json["converted_amount"] == "5.00")
        let id = try #require(created.json["id"]?.stringValue)
        #expect(await fixture.send(.get, "/api/v1/exchange-rates/").json["total"]?.intValue == 2)
        #expect(await fixture.send(.delete, "/api/v1/exchange-rates/\(id)").status == 204)
        #expect(await fixture.send(.get, "/api/v1/exchange-rates/\(id)").status == 404)
    }

    /// B.2 rule 26 "exchange rates are stored by date": a foreign-currency journal line without `exchange_rate` takes
    /// the latest rate effective on or before the entry date; without one it is refused on its `exchange_rate` (422).
    @Test func aForeignCurrencyLineTakesTheRateEffectiveOnTheEntryDate() async throws {
        let fixture = try await AccountingFixture.make()
        defer { fixture.close() }
        let company = try await fixture.company()
        let accounts = try await fixture.accounts(company)
        for (rate, date) in [("1.0825", "2026-01-01"), ("1.10", "2026-03-01")] {
            #expect(await fixture.send(.post, "/api/v1/exchange-rates/", ["from_currency": "EUR", "to_currency": "USD",
                                                                          "rate": .string(rate), "effective_date": .string(date)])
                        .status == 201)
        }
        func body(_ date: String, euros: String, dollars: String) -> JSONValue {
            ["entry_date": .string(date), "description": "Supplier in euros",
             "lines": [["account_id": .string(accounts["6100"] ?? ""), "entry_type": "debit", "amount": .string(euros), "currency": "EUR"],
                       AccountingFixture.line(accounts["1010"] ?? "", "credit", .string(dollars))]]
        }
        let february = await fixture.send(.post, "/api/v1/journal-entries/", body("2026-02-10", euros: "100.00", dollars: "108.25"))
        #expect(february.status == 201, "\(february.bodyText)")
        #expect(february.json["lines"]?.firstLine?["exchange_rate"] == "1.0825")
        #expect(february.json["lines"]?.firstLine?["base_amount"] == "108.25")
        let march = await fixture.send(.post, "/api/v1/journal-entries/", body("2026-03-15", euros: "100.00", dollars: "110.00"))
        #expect(march.status == 201 && march.json["lines"]?.firstLine?["base_amount"] == "110.00")
        // The February rate makes the March amounts unbalanced; before any rate there is nothing to take.
        let unbalanced = await fixture.send(.post, "/api/v1/journal-entries/", body("2026-02-10", euros: "100.00", dollars: "110.00"))
        #expect(unbalanced.status == 422 && unbalanced.firstErrorField == "lines")
        let none = await fixture.send(.post, "/api/v1/journal-entries/", body("2025-12-31", euros: "100.00", dollars: "108.25"))
        #expect(none.status == 422 && none.firstErrorField == "lines[0].exchange_rate")
        // An explicit rate still wins.
        var explicit = body("2025-12-31", euros: "100.00", dollars: "120.00")
        if case .object(var object) = explicit, case .array(var lines)? = object["lines"], case .object(var first) = lines[0] {
            first["exchange_rate"] = "1.2"
            lines[0] = .object(first)
            object["lines"] = .array(lines)
            explicit = .object(object)
        }
        #expect(await fixture.send(.post, "/api/v1/journal-entries/", explicit).status == 201)
        // Post the February entry: the ledger balances in the base currency.
        let id = try #require(february.json["id"]?.stringValue)
        #expect(await fixture.send(.post, "/api/v1/journal-entries/\(id)/post").status == 200)
        #expect(await fixture.balance(try #require(accounts["6100"])) == "108.25")
    }
}
