import Foundation

/// Typed, prefixed, sortable identifiers such as `txn_01JQXYZ123456…`.
///
/// The part after the prefix is a ULID: 48 bits of Unix milliseconds and 80 random bits in
/// Crockford base32 (26 characters), so ids sort by creation time as text and as bytes.
public struct TypedID: Sendable, Hashable, Codable, CustomStringConvertible, Comparable {
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }

    /// Builds "prefix_ULID" in one string allocation (no intermediate ULID string to concatenate).
    public static func generate(prefix: IDPrefix, clock: any WallClock = SystemWallClock()) -> TypedID {
        let random = ULID.RandomBits.draw()
        let unixMillis = clock.unixMillis()
        let prefixBytes = prefix.rawValue.utf8.count
        let rawValue = String(unsafeUninitializedCapacity: prefixBytes + 1 + ULID.length) { buffer in
            var written = 0
            for byte in prefix.rawValue.utf8 {
                buffer[written] = byte
                written += 1
            }
            buffer[written] = UInt8(ascii: "_")
            ULID.write(unixMillis: unixMillis, randomHigh: random.high, randomLow: random.low,
                       into: UnsafeMutableBufferPointer(rebasing: buffer[(written + 1)...]))
            return written + 1 + ULID.length
        }
        return TypedID(rawValue: rawValue)
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
    static let alphabetText: StaticString = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    static let alphabet: [UInt8] = alphabetText.withUTF8Buffer { Array($0) }
    public static let length = 26

    public static func generate(unixMillis: Int64) -> String {
        let random = RandomBits.draw()
        return encode(unixMillis: unixMillis, randomHigh: random.high, randomLow: random.low)
    }

    /// The 80 random bits of one id, taken from the kernel CSPRNG through `RandomPool` (ids are minted on every
    /// sale, and `SystemRandomNumberGenerator` would make one getrandom syscall per 8 bytes).
    /// glibc's `arc4random_buf` (2.36+) is a getrandom loop that falls back to /dev/urandom and aborts
    /// rather than ever returning predictable bytes.
    struct RandomBits {
        var high: UInt16
        var low: UInt64

        /// 8 bytes for `low` then 2 for `high`.
        static let byteCount = 10

        static func draw() -> RandomBits {
            withUnsafeTemporaryAllocation(byteCount: byteCount, alignment: 8) { raw in
                RandomPool.fill(raw)
                return RandomBits(high: raw.loadUnaligned(fromByteOffset: 8, as: UInt16.self),
                                  low: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
            }
        }
    }

    /// Encodes 48 bits of time and 80 bits of randomness as 26 characters.
    public static func encode(unixMillis: Int64, randomHigh: UInt16, randomLow: UInt64) -> String {
        String(unsafeUninitializedCapacity: length) { buffer in
            write(unixMillis: unixMillis, randomHigh: randomHigh, randomLow: randomLow, into: buffer)
            return length
        }
    }

    /// Writes the 26 characters into the first `length` bytes of `output`.
    static func write(unixMillis: Int64, randomHigh: UInt16, randomLow: UInt64, into output: UnsafeMutableBufferPointer<UInt8>) {
        precondition(unixMillis >= 0 && unixMillis < (1 << 48), "ULID time must fit 48 bits")
        precondition(output.count >= length, "ULID output buffer too small")
        // 128-bit value as (high 64, low 64).
        let high = (UInt64(unixMillis) << 16) | UInt64(randomHigh)
        let low = randomLow
        alphabetText.withUTF8Buffer { alphabet in
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
        }
    }

    public static func isValid(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == length, let first = bytes.first, first <= UInt8(ascii: "7") else { return false }
        return bytes.allSatisfy { alphabet.contains($0) }
    }
}
