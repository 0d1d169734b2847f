import Foundation
import Kernel

/// Time-based one-time codes for operator accounts: RFC 6238 TOTP with HMAC-SHA-256 (the RFC's
/// SHA-256 variant, `algorithm=SHA256` in the otpauth URI), 6 digits, 30-second steps.
/// SHA-256 rather than SHA-1 because Kernel's CryptoService offers HMAC-SHA-256 only, and the
/// feature module must not carry its own hash primitives.
enum DeviceOTP {
    static let digits = 6
    static let stepSeconds: Int64 = 30
    /// Codes from one step before or after now are accepted, for clock drift between phone and server.
    static let driftSteps: Int64 = 1
    static let seedBytes = 32

    /// The RFC 4226 truncation of HMAC(seed, counter) to `digits` decimal digits.
    static func code(seed: [UInt8], step: Int64, crypto: any CryptoService, digits: Int = digits) -> String {
        var counter = [UInt8](repeating: 0, count: 8)
        for index in 0..<8 { counter[7 - index] = UInt8(truncatingIfNeeded: UInt64(bitPattern: step) >> (8 * UInt64(index))) }
        let mac = crypto.hmacSHA256(key: seed, message: counter)
        let offset = Int(mac[mac.count - 1] & 0x0F)
        let binary = (UInt32(mac[offset] & 0x7F) << 24) | (UInt32(mac[offset + 1]) << 16)
            | (UInt32(mac[offset + 2]) << 8) | UInt32(mac[offset + 3])
        var modulus: UInt32 = 1
        for _ in 0..<digits { modulus *= 10 }
        let value = String(binary % modulus)
        return String(repeating: "0", count: digits - value.count) + value
    }

    /// The matching step for `code` at `unixSeconds`, or nil. The caller rejects steps already used.
    static func matchingStep(code: String, seed: [UInt8], unixSeconds: Int64, crypto: any CryptoService) -> Int64? {
        guard code.utf8.count == digits, code.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        let now = unixSeconds / stepSeconds
        for step in (now - driftSteps)...(now + driftSteps) {
            let expected = Array(Self.code(seed: seed, step: step, crypto: crypto).utf8)
            if crypto.constantTimeEquals(expected, Array(code.utf8)) { return step }
        }
        return nil
    }

    /// `otpauth://` URI for authenticator apps.
    static func provisioningURI(seed: [UInt8], issuer: String, account: String) -> String {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        let label = (issuer + ":" + account).addingPercentEncoding(withAllowedCharacters: allowed) ?? "atlas"
        let issuerText = issuer.addingPercentEncoding(withAllowedCharacters: allowed) ?? "atlas"
        return "otpauth://totp/\(label)?secret=\(base32(seed))&issuer=\(issuerText)&algorithm=SHA256&digits=\(digits)&period=\(stepSeconds)"
    }

    /// RFC 4648 base32 without padding (what authenticator apps expect for `secret`).
    static func base32(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)
        var output: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for byte in bytes {
            buffer = (buffer << 8) | UInt32(byte)
            bits += 8
            while bits >= 5 {
                output.append(alphabet[Int((buffer >> UInt32(bits - 5)) & 0x1F)])
                bits -= 5
            }
        }
        if bits > 0 { output.append(alphabet[Int((buffer << UInt32(5 - bits)) & 0x1F)]) }
        return String(decoding: output, as: UTF8.self)
    }
}
