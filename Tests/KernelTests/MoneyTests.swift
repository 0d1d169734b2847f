import Testing
@testable import Kernel

@Suite struct MoneyTests {
    @Test func decimalStringUsesTheCurrencyExponent() {
        #expect(Money(minorUnits: 1234, currency: .usd).decimalString == "12.34")
        #expect(Money(minorUnits: -5, currency: .usd).decimalString == "-0.05")
        #expect(Money(minorUnits: 500, currency: Currency(code: "JPY")!).decimalString == "500")
        #expect(Money(minorUnits: 1, currency: Currency(code: "KWD")!).decimalString == "0.001")
        #expect(Money(minorUnits: .min, currency: .usd).decimalString == "-92233720368547758.08")
    }

    @Test func arithmeticRefusesMixedCurrenciesAndOverflow() {
        let dollars = Money(minorUnits: 100, currency: .usd)
        #expect(dollars.adding(Money(minorUnits: 1, currency: .eur)) == nil)
        #expect(dollars.adding(Money(minorUnits: 50, currency: .usd))?.minorUnits == 150)
        #expect(Money(minorUnits: .max, currency: .usd).adding(dollars) == nil)
        #expect(Money(minorUnits: .min, currency: .usd).subtracting(dollars) == nil)
        #expect(Money(minorUnits: .min, currency: .usd).negated == nil)
    }

    @Test func unknownCurrenciesAreRejected() {
        #expect(Currency(code: "usd") == nil)
        #expect(Currency(code: "XXX") == nil)
        #expect(Currency(code: "USD")?.minorUnitExponent == 2)
    }
}

@Suite struct IdentifierTests {
    @Test func ulidEncodesKnownValues() {
        #expect(ULID.encode(unixMillis: 0, randomHigh: 0, randomLow: 0) == "00000000000000000000000000")
        #expect(ULID.encode(unixMillis: (1 << 48) - 1, randomHigh: .max, randomLow: .max) == "7ZZZZZZZZZZZZZZZZZZZZZZZZZ")
        // The spec's example timestamp 1469918176385 encodes as 01ARYZ6S41 (ulid/spec README).
        #expect(ULID.encode(unixMillis: 1_469_918_176_385, randomHigh: 0, randomLow: 0).hasPrefix("01ARYZ6S41"))
    }

    @Test func idsArePrefixedSortableAndValid() {
        let clock = ManualWallClock()
        let first = TypedID.generate(prefix: .transaction, clock: clock)
        clock.advance(seconds: 0.002)
        let second = TypedID.generate(prefix: .transaction, clock: clock)
        #expect(first.rawValue.hasPrefix("txn_"))
        #expect(first.rawValue.count == 4 + 26)
        #expect(first < second)
        #expect(first.matches(.transaction))
        #expect(!first.matches(.settlement))
        #expect(!TypedID(rawValue: "txn_not-a-ulid").matches(.transaction))
    }
}

@Suite struct EncodingTests {
    @Test func base64URLRoundTripsEveryLength() {
        for length in 0...40 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            let encoded = Encoding.base64URL(bytes)
            #expect(!encoded.contains("=") && !encoded.contains("+") && !encoded.contains("/"))
            #expect(Encoding.base64URLDecode(encoded) == bytes)
        }
        #expect(Encoding.base64URL(Array("foobar".utf8)) == "Zm9vYmFy")
        #expect(Encoding.base64URL(Array("fo".utf8)) == "Zm8")
        #expect(Encoding.base64URLDecode("Zm9v!") == nil)
        #expect(Encoding.base64URLDecode("A") == nil)
    }

    @Test func hexRoundTrips() {
        #expect(Encoding.hex([0, 255, 16]) == "00ff10")
        #expect(Encoding.hexDecode("00ff10") == [0, 255, 16])
        #expect(Encoding.hexDecode("0g") == nil)
        #expect(Encoding.hexDecode("abc") == nil)
    }
}

@Suite struct JSONValueTests {
    @Test func serializesCompactSortedAndEscaped() {
        let value: JSONValue = ["b": 1, "a": ["x\n\"y\u{01}", true, nil]]
        #expect(String(decoding: value.serialized(), as: UTF8.self) == #"{"a":["x\n\"y\u0001",true,null],"b":1}"#)
    }

    @Test func keepsIntegersExact() throws {
        let decoded = try JSONCoding.decoder().decode(JSONValue.self, from: Array("9007199254740993".utf8).data)
        #expect(decoded == .int(9_007_199_254_740_993))
    }
}

extension Array where Element == UInt8 {
    var data: Foundation.Data { Foundation.Data(self) }
}

import Foundation
