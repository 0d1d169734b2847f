public import Foundation
public import Kernel

/// OAuth administration (admin CLI and tests). Everything here is tenant-scoped except signing keys.
extension AuthService {
    /// Creates a client `cli_<ULID>` for a merchant and mode and returns its secret (shown once).
    /// `scopes` defaults to every Commerce scope; `terminalIds` nil means any of the merchant's terminals.
    public func createOAuthClient(merchantId: String, mode: Mode, scopes: Set<String>? = nil,
                                  terminalIds: Set<String>? = nil, name: String? = nil) async throws
        -> (id: String, secret: String) {
        let created = try await oauth.clients.create(merchantId: merchantId, mode: mode, scopes: scopes ?? commerceScopes,
                                                     allowedTerminalIds: terminalIds, name: name)
        await auditOAuthClientEvent("oauth_client.created", client: created.record)
        return (created.record.id, created.secret)
    }

    /// Issues a new secret; the previous one keeps working for exactly 24 hours (until the returned
    /// time), then gets `invalid_client`. nil when the client does not exist in that merchant and mode.
    public func rotateOAuthClientSecret(clientId: String, merchantId: String, mode: Mode) async throws
        -> (secret: String, previousSecretExpiresAt: Date)? {
        guard let rotated = try await oauth.clients.rotateSecret(clientId: clientId, merchantId: merchantId, mode: mode)
        else { return nil }
        if let record = try await oauth.clients.find(id: clientId, merchantId: merchantId, mode: mode) {
            await auditOAuthClientEvent("oauth_client.secret_rotated", client: record)
        }
        return (rotated.secret, rotated.previousExpiresAt)
    }

    /// Disables (or re-enables) a client: its secrets and its unexpired tokens stop working at once.
    public func setOAuthClientDisabled(clientId: String, merchantId: String, mode: Mode, disabled: Bool) async throws
        -> Bool {
        guard try await oauth.clients.setStatus(clientId: clientId, merchantId: merchantId, mode: mode,
                                                status: disabled ? "disabled" : "active") else { return false }
        oauth.standing.invalidate(clientId: clientId)
        try await database.notify(channel: CredentialCache.channel, payload: clientId)
        return true
    }

    /// Retires the active signing key (it stays in the JWKS until its tokens have expired) and
    /// activates a new one; returns the new kid. Platform-wide.
    public func rotateOAuthSigningKey() async throws -> String {
        let key = try await oauth.signingKeys.rotate()
        await audit.record(AuditEntry(merchantId: nil, mode: nil, occurredAt: clock.now(), event: "signing_key.rotated",
                                      principalKind: nil, principalId: nil, credentialFingerprint: nil,
                                      detail: ["kid": .string(key.kid)]))
        return key.kid
    }

    /// Sets the `iss` of new tokens and the one verification expects (default from ATLAS_OAUTH_ISSUER).
    public func configureOAuth(issuer: String) {
        oauth.settings.update { $0.issuer = issuer }
        oauth.verifier.verified.removeAll()  // tokens verified against the old issuer must be checked again
    }

    func auditOAuthClientEvent(_ event: String, client: OAuthClientRecord) async {
        await audit.record(AuditEntry(merchantId: client.merchantId, mode: client.mode, occurredAt: clock.now(), event: event,
                                      principalKind: Principal.Kind.oauthClient.rawValue, principalId: client.id,
                                      credentialFingerprint: nil))
    }
}
