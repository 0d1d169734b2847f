import Foundation
import Kernel

/// `atlas admin webhooks list|attempts|replay|reencrypt-secrets`: operators' view of one merchant's endpoints
/// and attempt log, replay of its dead letter, and the re-encryption of every stored secret after a key
/// rotation. Output is one JSON object per line (secrets never printed).
struct WebhooksAdminCommands: Sendable {
    static let usage = """
        admin webhooks list --merchant ID [--mode test|live]
                 | attempts --merchant ID [--mode test|live] (--endpoint ID | --event ID) [--limit N]
                 | replay --merchant ID [--mode test|live] --endpoint ID (--event ID | --dead | --since T [--until T])
                 | reencrypt-secrets
        """
    /// Endpoints re-sealed per statement batch.
    static let reencryptBatchMax = 100

    let settings: WebhooksSettings

    var command: AdminCommand {
        AdminCommand(name: "webhooks", usage: Self.usage, positionalsMax: 1) { arguments, services in
            let sealer = SecretSealer(keyring: settings.secretKeys, crypto: services.crypto)
            let endpoints = EndpointStore(database: services.database)
            let deliveries = DeliveryStore(database: services.database, eventLog: services.eventLog, sealer: sealer)
            switch arguments.positionals.first {
            case "list": try await list(arguments, endpoints: endpoints, now: services.clock.now())
            case "attempts": try await attempts(arguments, deliveries: deliveries)
            case "replay": try await replay(arguments, deliveries: deliveries, now: services.clock.now())
            case "reencrypt-secrets": try await reencrypt(endpoints: endpoints, sealer: sealer)
            default: throw CommandUsageError("usage: atlas " + Self.usage)
            }
        }
    }

    private func tenant(_ arguments: CommandArguments) throws(CommandUsageError) -> TenantContext {
        TenantContext(merchantId: try arguments.required("merchant"), mode: try arguments.mode(default: .test))
    }

    private func list(_ arguments: CommandArguments, endpoints: EndpointStore, now: Date) async throws {
        let tenant = try tenant(arguments)
        var cursor: String?
        repeat {
            let page = try await endpoints.list(scope: EndpointScope(tenant: tenant, flavours: WebhookFlavour.allCases),
                                                beforeId: cursor, limit: WebhooksPaging.limitMax)
            for record in page.prefix(WebhooksPaging.limitMax) { print(Self.line(record.json(now: now))) }
            cursor = page.count > WebhooksPaging.limitMax ? page[WebhooksPaging.limitMax - 1].id : nil
        } while cursor != nil
    }

    private func attempts(_ arguments: CommandArguments, deliveries: DeliveryStore) async throws {
        let endpointId = arguments.value("endpoint")
        let eventId = arguments.value("event")
        guard endpointId != nil || eventId != nil else { throw CommandUsageError("give --endpoint ID or --event ID") }
        let limit = try WebhooksPaging.limit(arguments.value("limit"))
        let rows = try await deliveries.attempts(endpointId: endpointId, eventId: eventId, tenant: try tenant(arguments),
                                                 beforeId: nil, limit: limit)
        for row in rows.prefix(limit) { print(Self.line(try AttemptHandlers.json(row))) }
    }

    private func replay(_ arguments: CommandArguments, deliveries: DeliveryStore, now: Date) async throws {
        var selection = DeliveryStore.ReplaySelection()
        selection.eventId = arguments.value("event")
        selection.deadOnly = arguments.flags.contains("dead")
        if let since = arguments.value("since") {
            guard let parsed = Timestamp.parseISO8601(since) else { throw CommandUsageError("--since must be an RFC 3339 timestamp") }
            selection.since = parsed
        }
        if let until = arguments.value("until") {
            guard let parsed = Timestamp.parseISO8601(until) else { throw CommandUsageError("--until must be an RFC 3339 timestamp") }
            selection.until = parsed
        }
        let chosen = [selection.eventId != nil, selection.deadOnly, selection.since != nil].filter { $0 }.count
        guard chosen == 1, selection.until == nil || selection.since != nil else {
            throw CommandUsageError("give exactly one of --event ID, --dead or --since T [--until T]")
        }
        let count = try await deliveries.replay(endpointId: try arguments.required("endpoint"), selection,
                                                tenant: try tenant(arguments), now: now)
        // A running server's worker picks them up within its poll interval.
        print(Self.line(["replayed": .int(Int64(count))]))
    }

    private func reencrypt(endpoints: EndpointStore, sealer: SecretSealer) async throws {
        guard sealer.sealingPrefix != nil else {
            throw CommandUsageError("ATLAS_WEBHOOK_SECRET_KEYS is not set: there is no key to encrypt under")
        }
        var total = 0
        while true {
            let rewritten = try await endpoints.reencryptSecrets(sealer: sealer, batchMax: Self.reencryptBatchMax)
            total += rewritten
            if rewritten == 0 { break }
        }
        print(Self.line(["reencrypted": .int(Int64(total))]))
    }

    static func line(_ json: JSONValue) -> String { String(decoding: json.serialized(), as: UTF8.self) }
}
