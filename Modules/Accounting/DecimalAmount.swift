import Kernel

/// Money on the accounting surface is decimal text ("330.00") read into integer minor units of one
/// currency and written back from them (`Money.decimalString`). WHY not Double: binary fractions cannot
/// hold cents exactly, and ledger sums must be exact.
enum DecimalAmount {
    /// The largest amount one field accepts: 10^15 minor units (10 trillion dollars). Sums of many lines
    /// stay far below Int64's limit, so totals never overflow.
    static let minorUnitsMax: Int64 = 1_000_000_000_000_000

    enum Failure: Error, Equatable {
        case notDecimal
        case tooManyDecimals(allowed: Int)
        case tooLarge
    }

    /// Parses `[-]digits[.digits]` into minor units of a currency with `exponent` decimals. Extra trailing
    /// zeros are fine ("100.000" is 100.00); a non-zero digit beyond the exponent is refused.
    static func parse(_ text: String, exponent: Int) -> Result<Int64, Failure> {
        var bytes = Substring(text).utf8[...]
        var negative = false
        if bytes.first == UInt8(ascii: "-") {
            negative = true
            bytes = bytes.dropFirst()
        }
        let parts = bytes.split(separator: UInt8(ascii: "."), maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, !whole.isEmpty, whole.allSatisfy(isDigit) else { return .failure(.notDecimal) }
        var fraction = parts.count == 2 ? Array(parts[1]) : []
        guard parts.count == 1 || (!fraction.isEmpty && fraction.allSatisfy(isDigit)) else { return .failure(.notDecimal) }
        while fraction.count > exponent, fraction.last == UInt8(ascii: "0") { fraction.removeLast() }
        guard fraction.count <= exponent else { return .failure(.tooManyDecimals(allowed: exponent)) }
        var value: Int64 = 0
        for digit in whole.drop(while: { $0 == UInt8(ascii: "0") }) {
            guard let next = append(value, digit), next <= minorUnitsMax else { return .failure(.tooLarge) }
            value = next
        }
        for index in 0..<exponent {
            let digit = index < fraction.count ? fraction[index] : UInt8(ascii: "0")
            guard let next = append(value, digit), next <= minorUnitsMax else { return .failure(.tooLarge) }
            value = next
        }
        return .success(negative ? -value : value)
    }

    /// Minor units as decimal text of `currency` ("-12.34", "500" for JPY).
    static func format(_ minorUnits: Int64, _ currency: Currency) -> String {
        Money(minorUnits: minorUnits, currency: currency).decimalString
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private static func append(_ value: Int64, _ digit: UInt8) -> Int64? {
        let (times10, overflowA) = value.multipliedReportingOverflow(by: 10)
        let (sum, overflowB) = times10.addingReportingOverflow(Int64(digit - UInt8(ascii: "0")))
        return overflowA || overflowB ? nil : sum
    }
}

/// A positive exact decimal factor, `mantissa / 10^scale`: an exchange rate (units of the base currency per
/// unit of the line's currency; spec: units of `to` per 1 `from`), an invoice line's quantity or tax rate.
struct DecimalFactor: Sendable, Hashable {
    static let scaleMax = 10
    static let one = DecimalFactor(mantissa: 1, scale: 0)

    let mantissa: Int64
    let scale: Int

    /// Parses "1.0825"; nil unless it is a positive decimal with at most `scaleMax` decimals.
    init?(_ text: String) {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, !whole.isEmpty, whole.utf8.count <= 8,
              whole.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        var fraction = parts.count == 2 ? String(parts[1]) : ""
        guard parts.count == 1 || (!fraction.isEmpty
              && fraction.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })) else { return nil }
        while fraction.hasSuffix("0") { fraction.removeLast() }
        guard fraction.count <= Self.scaleMax, let mantissa = Int64(whole + fraction), mantissa > 0 else { return nil }
        self.init(mantissa: mantissa, scale: fraction.count)
    }

    init(mantissa: Int64, scale: Int) {
        precondition(mantissa > 0 && scale >= 0 && scale <= Self.scaleMax, "an exchange rate is positive with ≤ 10 decimals")
        self.mantissa = mantissa
        self.scale = scale
    }

    /// "1.0825" (canonical: no trailing zeros).
    var text: String {
        guard scale > 0 else { return String(mantissa) }
        var digits = String(mantissa)
        while digits.count <= scale { digits = "0" + digits }
        let split = digits.index(digits.endIndex, offsetBy: -scale)
        return String(digits[..<split]) + "." + String(digits[split...])
    }

    /// This factor as a percentage of `minorUnits` (10 → 10 %), rounded half away from zero.
    func percentOf(_ minorUnits: Int64) -> Int64? {
        convert(minorUnits, fromExponent: 2, toExponent: 0)
    }

    /// `minorUnits` of a currency with `fromExponent` decimals in minor units of a currency with `toExponent`
    /// decimals, rounded half away from zero; nil when the result would exceed `DecimalAmount.minorUnitsMax`.
    /// Exact: 128-bit integer products, never floating point.
    func convert(_ minorUnits: Int64, fromExponent: Int, toExponent: Int) -> Int64? {
        precondition(minorUnits >= 0, "converted amounts are magnitudes")
        var numerator = UInt64(minorUnits)
        var denominatorExponent = scale
        if toExponent >= fromExponent {
            for _ in 0..<(toExponent - fromExponent) {
                let (next, overflow) = numerator.multipliedReportingOverflow(by: 10)
                if overflow { return nil }
                numerator = next
            }
        } else {
            denominatorExponent += fromExponent - toExponent
        }
        var denominator: UInt64 = 1
        for _ in 0..<denominatorExponent { denominator *= 10 }
        let product = numerator.multipliedFullWidth(by: UInt64(mantissa))
        guard product.high < denominator else { return nil }
        let (quotient, remainder) = denominator.dividingFullWidth(product)
        let rounded = remainder >= denominator - remainder ? quotient + 1 : quotient
        guard rounded <= UInt64(DecimalAmount.minorUnitsMax) else { return nil }
        return Int64(rounded)
    }
}

/// A money field as the client sent it: a decimal string ("100.00", the documented form), a JSON integer
/// (whole units) or a JSON number, kept as its shortest round-trip text ("100.5") and then read exactly like
/// a string. The value is never computed in floating point.
struct AmountText: Decodable, Sendable, Hashable {
    let text: String

    init(_ text: String) { self.text = text }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            self.text = text
        } else if let integer = try? container.decode(Int64.self) {
            text = String(integer)
        } else if let number = try? container.decode(Double.self), number.isFinite {
            text = "\(number)"
        } else {
            throw DecodingError.typeMismatch(String.self, DecodingError.Context(
                codingPath: decoder.codingPath, debugDescription: "a decimal string such as \"100.00\""))
        }
    }

    /// Minor units of `currency`, positive, within `DecimalAmount.minorUnitsMax`; 422 naming `field` otherwise.
    func positiveMinorUnits(_ currency: Currency, field: String) throws(AtlasError) -> Int64 {
        let value = try minorUnits(currency, field: field)
        guard value > 0 else { throw AtlasError.invalidField(field, "\(field) must be greater than 0") }
        return value
    }

    func minorUnits(_ currency: Currency, field: String) throws(AtlasError) -> Int64 {
        switch DecimalAmount.parse(text, exponent: currency.minorUnitExponent) {
        case .success(let value): return value
        case .failure(.notDecimal):
            throw AtlasError.invalidField(field, "\(field) must be a decimal amount such as \"100.00\"")
        case .failure(.tooManyDecimals(let allowed)):
            throw AtlasError.invalidField(field, "\(field) has more than \(allowed) decimals for \(currency.code)")
        case .failure(.tooLarge):
            throw AtlasError.invalidField(field, "\(field) exceeds the largest accepted amount")
        }
    }
}
