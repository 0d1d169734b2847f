import AccessContract
import AtlasTestSupport
import Auth
import Bootstrap
import CashRoundingContract
import EventLog
import Kernel
import Testing
import Transactions

/// What the composition root decides for the whole product: the scopes and roles Auth accepts, the
/// admin commands, the settings read from the environment, and the tender spellings of each API.
@Suite struct CompositionTests {
    @Test func theProductDeclaresTheCommerceScopesAndRoundingRolesAuthAccepts() {
        let catalog = AccessCatalog(modules: AtlasModules.all())
        #expect(Set(catalog.scopes(on: .commerce)) == CommerceScopes.all)
        #expect(catalog.scopes(on: .commerce).count == CommerceScopes.all.count)
        #expect(catalog.roles(on: .rounding) == ["merchant", "auditor", "admin", "partner"])
    }

    @Test func everyAdminCommandHasOneOwner() {
        let names = AtlasModules.adminCommands.flatMap(\.names)
        #expect(Set(names).count == names.count)
        for name in ["create-organization", "create-merchant", "create-key", "create-role-key", "create-oauth-client",
                     "rotate-oauth-client-secret", "create-terminal", "rotate-signing-key", "create-user", "suspend-user",
                     "activate-user", "set-user-role", "set-org-tier", "set-tenant-slug", "create-device",
                     "reset-device-secret", "suspend-device", "activate-device", "revoke-device-sessions",
                     "create-operator", "suspend-operator", "activate-operator", "rotate-grant-key", "events-parked",
                     "events-retry", "events-skip"] {
            #expect(names.contains(name), "admin \(name)")
        }
    }

    @Test func moduleSettingsComeFromTheEnvironment() throws {
        let defaults = try AtlasConfiguration.fromEnvironment([:])
        #expect(defaults.transactions.batching && defaults.transactions.deferredIdempotencyClaims)
        #expect(defaults.idempotencyBatching)
        #expect(defaults.auth.oauthIssuer == "https://auth.atlas.local")
        #expect(defaults.databasePreparedStatementsMax == 128)
        #expect(defaults.eventLogLimits.retention.retentionSeconds == 7 * 24 * 3600 && !defaults.eventLogProbeConsumer)
        let switched = try AtlasConfiguration.fromEnvironment([
            "ATLAS_TXN_BATCHING": "0", "ATLAS_IDEMPOTENCY_DEFERRED": "false", "ATLAS_IDEMPOTENCY_BATCHING": "0",
            "ATLAS_OAUTH_ISSUER": "https://auth.example.com", "ATLAS_DB_PREPARED_STATEMENTS_MAX": "0",
            "ATLAS_GIT_COMMIT": "abc123", "ATLAS_EVENT_LOG_RETENTION_SECONDS": "3600", "ATLAS_EVENT_LOG_PROBE_CONSUMER": "1",
        ])
        #expect(!switched.transactions.batching && !switched.transactions.deferredIdempotencyClaims)
        #expect(!switched.idempotencyBatching)
        #expect(switched.auth.oauthIssuer == "https://auth.example.com")
        #expect(switched.databasePreparedStatementsMax == 0)
        #expect(switched.gitCommit == "abc123")
        #expect(switched.eventLogLimits.retention.retentionSeconds == 3600 && switched.eventLogProbeConsumer)
        #expect(try AtlasConfiguration.fromEnvironment(["ATLAS_TXN_BATCHING": "1"]).transactions.batching)
        #expect(throws: AtlasConfiguration.Invalid.self) {
            try AtlasConfiguration.fromEnvironment(["ATLAS_DB_PREPARED_STATEMENTS_MAX": "many"])
        }
    }

    @Test func oneTenderEnumSpelledTheWayEachAPIDocumentsIt() {
        #expect(TenderType.roundingPaymentMethods.map(\.rawValue) == ["cash", "card", "ebt", "mobile"])
        #expect(TenderType.commerceTenders.map(\.commerceCode) == ["CARD", "CASH", "STORED_VALUE"])
        for tender in TenderType.commerceTenders { #expect(TenderType(commerceCode: tender.commerceCode) == tender) }
        #expect(TenderType(commerceCode: "EBT") == nil)
        #expect(TenderType(commerceCode: "cash") == nil)
    }
}
