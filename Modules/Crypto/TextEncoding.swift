import Kernel

/// Strict base64url (RFC 4648 §5, no padding), as JOSE (RFC 7515 §2) requires.
/// Encoding reuses Kernel's `Encoding.base64URL`. Decoding is stricter than Kernel's
/// `Encoding.base64URLDecode` (which also accepts `+`, `/` and `=` anywhere): here only the
/// url-safe alphabet is accepted, without padding, and unused trailing bits must be zero, so
/// every byte string has exactly one accepted encoding.
public enum Base64URL {
    public static func encode(_ bytes: [UInt8]) -> String { Encoding.base64URL(bytes) }

    public static func decode(_ text: String) -> [UInt8]? {
        var values: [UInt8] = []
        values.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            guard let value = sextet(byte) else { return nil }
            values.append(value)
        }
        guard values.count % 4 != 1 else { return nil }
        guard trailingBitsAreZero(values) else { return nil }
        return assemble(values)
    }

    private static func sextet(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return byte - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return byte - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0") + 52
        case UInt8(ascii: "-"): return 62
        case UInt8(ascii: "_"): return 63
        default: return nil
        }
    }

    /// A final group of 2 sextets carries 8 bits (4 unused), of 3 sextets 16 bits (2 unused).
    private static func trailingBitsAreZero(_ values: [UInt8]) -> Bool {
        switch values.count % 4 {
        case 2: return values[values.count - 1] & 0x0F == 0
        case 3: return values[values.count - 1] & 0x03 == 0
        default: return true
        }
    }

    private static func assemble(_ values: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(values.count * 3 / 4)
        var index = 0
        while index < values.count {
            let end = min(index + 4, values.count)
            var accumulator: UInt32 = 0
            for value in values[index..<end] { accumulator = accumulator << 6 | UInt32(value) }
            let sextets = end - index
            accumulator <<= UInt32(6 * (4 - sextets))
            for position in 0..<(sextets - 1) { output.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(16 - 8 * position))) }
            index = end
        }
        return output
    }
}

/// Lower-case hex. Decoding accepts either case and nothing else (no sign, spaces or `0x`;
/// Kernel's `Encoding.hexDecode` goes through `UInt8(_:radix:)`, which also accepts a `+`).
public enum Hex {
    public static func encode(_ bytes: [UInt8]) -> String { Encoding.hex(bytes) }

    public static func decode(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            output.append(high << 4 | low)
            index += 2
        }
        return output
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return digit - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
