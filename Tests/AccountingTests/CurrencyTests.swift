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
}
