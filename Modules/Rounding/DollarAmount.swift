import Foundation
import Kernel

/// A dollar amount parsed from the JSON number's own digits (never through Double), e.g. `tip_amount`.
/// Accepts a JSON number or a string of the same form (`3.50`, `"3.501"`); exponents are expanded by
/// the decoder (`3.5e-3` = 0.0035). FLSA ceiling: any fraction of a cent rounds **up** (3.501 → 351¢).
struct DollarAmount: Decodable, Sendable, Hashable {
    /// The amount in cents after ceiling rounding.
    let cents: Int64
    /// The decimal text as received (normalised by the decoder), kept in the audit record.
    let submitted: String
    /// True when a fraction of a cent was rounded up.
    let fractionRoundedUp: Bool

    init(cents: Int64, submitted: String, fractionRoundedUp: Bool) {
        self.cents = cents
        self.submitted = submitted
        self.fractionRoundedUp = fractionRoundedUp
    }

    init(from decoder: any Decoder) throws {
        let field = decoder.codingPath.map(\.stringValue).joined(separator: ".")
        let container = try decoder.singleValueContainer()
        let text: String
        if let string = try? container.decode(String.self) {
            text = string
        } else if let decimal = try? container.decode(Decimal.self) {
            text = decimal.description
        } else if container.decodeNil() {
            throw AtlasError.missingField(field)
        } else {
            throw DollarAmount.invalid(field)
        }
        guard let parsed = DollarAmount.parse(text) else { throw DollarAmount.invalid(field) }
        self = parsed
    }

    static func invalid(_ field: String) -> AtlasError {
        AtlasError.invalidField(field, "\(field) must be a dollar amount such as 3.50", constraint: "format")
    }

    /// Parses `-?digits(.digits)?` exactly into cents, rounding any remaining fraction up (towards +∞).
    static func parse(_ text: String) -> DollarAmount? {
        var digits = Substring(text)
        let negative = digits.hasPrefix("-")
        if negative { digits = digits.dropFirst() }
        let parts = digits.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let whole = parts[0]
        let fraction = parts.count > 1 ? parts[1] : ""
        guard !whole.isEmpty, whole.count <= 13, whole.allSatisfy(\.isASCIIDigit),
              parts.count == 1 || !fraction.isEmpty, fraction.allSatisfy(\.isASCIIDigit),
              let wholeValue = Int64(whole) else { return nil }
        let centsDigits = String((fraction + "00").prefix(2))
        let beyond = fraction.dropFirst(2)
        let hasRemainder = beyond.contains { $0 != "0" }
        let magnitude = wholeValue * 100 + Int64(centsDigits)!
        var cents = negative ? -magnitude : magnitude
        if hasRemainder { cents += 1 }  // ceiling: towards +∞ (callers refuse negative amounts anyway)
        return DollarAmount(cents: cents, submitted: text, fractionRoundedUp: hasRemainder)
    }

    /// "3.51" for 351 cents.
    static func format(cents: Int64) -> String {
        let sign = cents < 0 ? "-" : ""
        let magnitude = cents.magnitude
        let fraction = magnitude % 100
        return "\(sign)\(magnitude / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
