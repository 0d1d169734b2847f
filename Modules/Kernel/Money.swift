/// Money is integer minor units with an ISO 4217 currency. Never a floating point value:
/// binary fractions cannot represent cents exactly, and rounding drift is a compliance bug.
public struct Money: Sendable, Hashable, Codable, CustomStringConvertible {
    public let minorUnits: Int64
    public let currency: Currency

    public init(minorUnits: Int64, currency: Currency) {
        self.minorUnits = minorUnits
        self.currency = currency
    }

    /// Adds two amounts of one currency; nil on a currency mismatch or Int64 overflow.
    public func adding(_ other: Money) -> Money? {
        guard other.currency == currency else { return nil }
        let (sum, overflow) = minorUnits.addingReportingOverflow(other.minorUnits)
        return overflow ? nil : Money(minorUnits: sum, currency: currency)
    }

    /// Subtracts an amount of the same currency; nil on a currency mismatch or Int64 overflow.
    public func subtracting(_ other: Money) -> Money? {
        guard other.currency == currency else { return nil }
        let (difference, overflow) = minorUnits.subtractingReportingOverflow(other.minorUnits)
        return overflow ? nil : Money(minorUnits: difference, currency: currency)
    }

    public var negated: Money? {
        minorUnits == .min ? nil : Money(minorUnits: -minorUnits, currency: currency)
    }

    /// Decimal text such as "-12.34" for USD or "500" for JPY; exact, no floating point.
    public var decimalString: String {
        let exponent = currency.minorUnitExponent
        guard exponent > 0 else { return String(minorUnits) }
        let magnitude = minorUnits.magnitude
        var divisor: UInt64 = 1
        for _ in 0..<exponent { divisor *= 10 }
        let whole = magnitude / divisor
        var fraction = String(magnitude % divisor)
        while fraction.count < exponent { fraction = "0" + fraction }
        return (minorUnits < 0 ? "-" : "") + "\(whole).\(fraction)"
    }

    public var description: String { "\(decimalString) \(currency.code)" }
}

/// An ISO 4217 currency: three upper-case letters and the exponent of its minor unit.
public struct Currency: Sendable, Hashable, Codable, CustomStringConvertible {
    public let code: String
    public let minorUnitExponent: Int

    /// Known currencies and their minor-unit exponents (ISO 4217). Unknown codes are rejected
    /// instead of guessed, because a wrong exponent multiplies an amount by 10 or 100.
    public static let exponentsByCode: [String: Int] = [
        "USD": 2, "EUR": 2, "GBP": 2, "CAD": 2, "AUD": 2, "NZD": 2, "CHF": 2, "SEK": 2, "NOK": 2,
        "DKK": 2, "PLN": 2, "CZK": 2, "HUF": 2, "MXN": 2, "BRL": 2, "INR": 2, "CNY": 2, "HKD": 2,
        "SGD": 2, "ZAR": 2, "ILS": 2, "TRY": 2, "RON": 2, "BGN": 2, "AED": 2, "SAR": 2, "THB": 2,
        "MYR": 2, "PHP": 2, "IDR": 2, "TWD": 2, "NGN": 2, "KES": 2, "EGP": 2, "ARS": 2, "COP": 2,
        "PEN": 2, "UAH": 2, "RUB": 2, "PKR": 2,
        "JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "UGX": 0, "XAF": 0, "XOF": 0, "PYG": 0,
        "BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "TND": 3, "LYD": 3, "IQD": 3,
    ]

    public static let usd = Currency(uncheckedCode: "USD", exponent: 2)
    public static let eur = Currency(uncheckedCode: "EUR", exponent: 2)

    /// Parses a code such as "USD" (case-sensitive, as ISO 4217 writes it); nil when unknown.
    public init?(code: String) {
        guard let exponent = Currency.exponentsByCode[code] else { return nil }
        self.code = code
        self.minorUnitExponent = exponent
    }

    private init(uncheckedCode: String, exponent: Int) {
        self.code = uncheckedCode
        self.minorUnitExponent = exponent
    }

    public var description: String { code }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let code = try container.decode(String.self)
        guard let currency = Currency(code: code) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "unknown ISO 4217 currency")
        }
        self = currency
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(code)
    }
}
