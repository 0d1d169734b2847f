import Kernel

/// The credential flavours an `X-Api-Key` (or `Bearer sk_…`) can carry, told apart by prefix.
enum APIKeyFlavor: Sendable, Equatable {
    /// `sk_live_…` / `sk_test_…`: Commerce and payments API keys.
    case secret(Mode)
    /// `centsless_…`, `centsless_partner_…`, `centsless_admin_…`: cash-rounding role keys.
    case role

    static let secretLivePrefix = "sk_live_"
    static let secretTestPrefix = "sk_test_"
    static let rolePrefix = "centsless_"

    /// Random bytes in a new key; 24 bytes = 192 bits, written as 48 hex characters.
    static let randomBytesCount = 24
    /// Longest key text accepted before hashing, so garbage headers cost nothing.
    static let keyLengthMax = 128

    static func classify(_ key: String) -> APIKeyFlavor? {
        guard key.utf8.count <= keyLengthMax else { return nil }
        if key.hasPrefix(secretLivePrefix) { return .secret(.live) }
        if key.hasPrefix(secretTestPrefix) { return .secret(.test) }
        if key.hasPrefix(rolePrefix) { return .role }
        return nil
    }

    /// The prefix a new key gets: the mode for secret keys, the role for role keys.
    static func prefix(kind: APIKeyKind, mode: Mode, role: String?) -> String {
        switch kind {
        case .secret: return mode == .live ? secretLivePrefix : secretTestPrefix
        case .role:
            switch role {
            case "partner": return "centsless_partner_"
            case "admin": return "centsless_admin_"
            default: return rolePrefix
            }
        }
    }
}

enum APIKeyKind: String, Sendable, Codable {
    case secret
    case role
}
