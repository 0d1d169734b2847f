/// Live or test. Every row and every credential carries one; a test credential never sees live data.
public enum Mode: String, Sendable, Hashable, Codable {
    case live
    case test

    public var isLive: Bool { self == .live }
}

/// Which merchant and mode a request acts for. Every query a module runs is scoped by both.
public struct TenantContext: Sendable, Hashable {
    public let merchantId: String
    public let mode: Mode

    public init(merchantId: String, mode: Mode) {
        self.merchantId = merchantId
        self.mode = mode
    }

    public var livemode: Bool { mode.isLive }
}

/// The authenticated caller that Auth attaches to a request. Other modules see only this.
public struct Principal: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, Codable {
        case apiKey = "api_key"
        case roleKey = "role_key"
        case oauthClient = "oauth_client"
        case user
        case device
    }

    public let kind: Kind
    /// The principal's own id (key id, client id, user id, device id); never a secret.
    public let id: String
    public let tenant: TenantContext
    public let organizationId: String?
    public let scopes: Set<String>
    /// A role such as "merchant", "auditor", "admin", "partner", "owner", "terminal".
    public let role: String?
    /// A non-secret fingerprint of the credential (e.g. first 12 hex of SHA-256), for audit logs.
    public let credentialFingerprint: String
    /// The terminal a credential is bound to, when it is (terminal keys, OAuth tokens, devices).
    public let terminalId: String?

    public init(kind: Kind, id: String, tenant: TenantContext, organizationId: String? = nil,
                scopes: Set<String>, role: String? = nil, credentialFingerprint: String,
                terminalId: String? = nil) {
        self.kind = kind
        self.id = id
        self.tenant = tenant
        self.organizationId = organizationId
        self.scopes = scopes
        self.role = role
        self.credentialFingerprint = credentialFingerprint
        self.terminalId = terminalId
    }

    public func hasScope(_ scope: String) -> Bool { scopes.contains(scope) }
}
