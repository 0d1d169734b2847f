import Foundation

/// Typed, prefixed, sortable identifiers such as `txn_01JQXYZ123456…`.
///
/// The part after the prefix is a ULID: 48 bits of Unix milliseconds and 80 random bits in
/// Crockford base32 (26 characters), so ids sort by creation time as text and as bytes.
public struct TypedID: Sendable, Hashable, Codable, CustomStringConvertible, Comparable {
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }

    public static func generate(prefix: IDPrefix, clock: any WallClock = SystemWallClock()) -> TypedID {
        TypedID(rawValue: prefix.rawValue + "_" + ULID.generate(unixMillis: clock.unixMillis()))
    }

    /// The prefix before the first underscore, e.g. "txn".
    public var prefix: String { String(rawValue.prefix { $0 != "_" }) }

    /// True when the id has the expected prefix and a well-formed ULID body.
    public func matches(_ prefix: IDPrefix) -> Bool {
        let expected = prefix.rawValue + "_"
        guard rawValue.hasPrefix(expected) else { return false }
        return ULID.isValid(String(rawValue.dropFirst(expected.count)))
    }

    public var description: String { rawValue }
    public static func < (lhs: TypedID, rhs: TypedID) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// The id prefixes Atlas issues. Feature modules may add their own with `IDPrefix(rawValue:)`.
public struct IDPrefix: RawRepresentable, Sendable, Hashable {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let transaction = IDPrefix(rawValue: "txn")
    public static let settlement = IDPrefix(rawValue: "stl")
    public static let event = IDPrefix(rawValue: "evt")
    public static let webhook = IDPrefix(rawValue: "wh")
    public static let request = IDPrefix(rawValue: "req")
    public static let client = IDPrefix(rawValue: "cli")
    public static let merchant = IDPrefix(rawValue: "mer")
    public static let organization = IDPrefix(rawValue: "org")
    public static let user = IDPrefix(rawValue: "usr")
    public static let apiKey = IDPrefix(rawValue: "key")
}

/// ULID text encoding (https://github.com/ulid/spec), Crockford base32 without I, L, O, U.
public enum ULID {
    static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)
    public static let length = 26

    public static func generate(unixMillis: Int64) -> String {
        var random = SystemRandomNumberGenerator()
        return encode(unixMillis: unixMillis, randomHigh: UInt16.random(in: .min ... .max, using: &random),
                      randomLow: UInt64.random(in: .min ... .max, using: &random))
    }

    /// Encodes 48 bits of time and 80 bits of randomness as 26 characters.
    public static func encode(unixMillis: Int64, randomHigh: UInt16, randomLow: UInt64) -> String {
        precondition(unixMillis >= 0 && unixMillis < (1 << 48), "ULID time must fit 48 bits")
        // 128-bit value as (high 64, low 64).
        let high = (UInt64(unixMillis) << 16) | UInt64(randomHigh)
        let low = randomLow
        var output = [UInt8](repeating: 0, count: length)
        for index in 0..<length {
            // Character i holds bits [128 - 5*(26-i) ... ) counted from the least significant end.
            let shift = 5 * (length - 1 - index)
            let value: UInt64
            if shift >= 64 {
                value = (high >> UInt64(shift - 64)) & 0x1F
            } else if shift > 59 {
                value = ((low >> UInt64(shift)) | (high << UInt64(64 - shift))) & 0x1F
            } else {
                value = (low >> UInt64(shift)) & 0x1F
            }
            output[index] = alphabet[Int(value)]
        }
        return String(decoding: output, as: UTF8.self)
    }

    public static func isValid(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == length, let first = bytes.first, first <= UInt8(ascii: "7") else { return false }
        return bytes.allSatisfy { alphabet.contains($0) }
    }
}
