import Foundation
import Kernel

/// A delivery the worker has claimed, with what it needs to send it.
struct ClaimedDelivery: Sendable {
    let id: String
    let endpointId: String
    let url: String
    let mode: Mode
    let merchantId: String
    let secrets: [String]
    /// `Atlas-Delivery`: the attempt this send is, from 1.
    let attempt: Int
    let eventId: String
    let eventType: String
    let sequence: Int64
    let payload: JSONValue
    let occurredAt: Date

    /// `{"id","type","created","livemode","data","sequence"}`, keys sorted, the same bytes on every attempt.
    var body: [UInt8] {
        JSONValue.object([
            "id": .string(eventId), "type": .string(eventType), "created": .int(Int64(occurredAt.timeIntervalSince1970)),
            "livemode": .bool(mode.isLive), "data": payload, "sequence": .int(sequence),
        ]).serialized()
    }
}

/// SQL of deliveries, recorded events and the attempt log.
struct DeliveryStore: Sendable {
    let database: any Database
    let eventLog: any EventLogWriter

    // MARK: Fan-out

    /// Records a batch of logged events and creates one delivery per matching enabled endpoint of the event's
    /// merchant and mode, in ONE statement: events already recorded (a redelivered batch) are skipped, so a
    /// batch applies once; each recorded event gets the next `sequence` of its resource, in log order.
    /// Events of tenants without any endpoint are not recorded. Returns the deliveries created.
    @discardableResult
    func fanOut(_ events: [LoggedEvent], now: Date) async throws -> Int {
        guard !events.isEmpty else { return 0 }
        let input = JSONValue.array(events.enumerated().map { index, logged in
            let event = logged.event
            return [
                "ord": .int(Int64(index)), "event_id": .string(event.id.rawValue), "event_type": .string(event.type),
                "merchant_id": .string(event.tenant.merchantId), "mode": .string(event.tenant.mode.rawValue),
                "resource_id": .string(event.resourceId), "payload": event.payload,
                "occurred_at": .string(Timestamp.iso8601(event.occurredAt, fractionalSeconds: true)),
            ]
        })
        let batch = SQLValue.json(String(decoding: input.serialized(), as: UTF8.self))
        return try await database.execute("""
            WITH input AS (
                SELECT * FROM jsonb_to_recordset(\(batch)) AS t(ord integer, event_id text, event_type text, merchant_id text,
                    mode text, resource_id text, payload jsonb, occurred_at timestamptz)
            ), fresh AS (
                SELECT i.* FROM input i
                WHERE NOT EXISTS (SELECT 1 FROM webhooks_events e WHERE e.event_id = i.event_id)
                  AND EXISTS (SELECT 1 FROM webhooks_endpoints p WHERE p.merchant_id = i.merchant_id AND p.mode = i.mode)
            ), numbered AS (
                SELECT f.*, row_number() OVER (PARTITION BY merchant_id, mode, resource_id ORDER BY ord) AS n,
                       count(*) OVER (PARTITION BY merchant_id, mode, resource_id) AS total
                FROM fresh f
            ), bumped AS (
                INSERT INTO webhooks_resource_sequences AS s (merchant_id, mode, resource_id, last_sequence)
                SELECT DISTINCT merchant_id, mode, resource_id, total FROM numbered
                ON CONFLICT (merchant_id, mode, resource_id) DO UPDATE SET last_sequence = s.last_sequence + EXCLUDED.last_sequence
                RETURNING merchant_id, mode, resource_id, last_sequence
            ), recorded AS (
                INSERT INTO webhooks_events (event_id, merchant_id, mode, event_type, resource_id, sequence, payload, occurred_at)
                SELECT n.event_id, n.merchant_id, n.mode, n.event_type, n.resource_id, b.last_sequence - n.total + n.n,
                       n.payload, n.occurred_at
                FROM numbered n JOIN bumped b USING (merchant_id, mode, resource_id)
                RETURNING event_id, merchant_id, mode, event_type
            )
            INSERT INTO webhooks_deliveries (id, endpoint_id, merchant_id, mode, event_id, status, next_attempt_at,
                created_at, updated_at)
            SELECT 'whd_' || replace(gen_random_uuid()::text, '-', ''), p.id, r.merchant_id, r.mode, r.event_id, 'pending',
                   \(now), \(now), \(now)
            FROM recorded r JOIN webhooks_endpoints p ON p.merchant_id = r.merchant_id AND p.mode = r.mode
                AND p.status = 'enabled' AND (cardinality(p.event_types) = 0 OR r.event_type = ANY (p.event_types))
            ON CONFLICT (endpoint_id, event_id) DO NOTHING
            """)
    }

    /// A `webhook.test` event for one endpoint only (recorded here, not in the event log: no other module
    /// or endpoint must see it). Returns the event and delivery ids, or nil when the endpoint is not found.
    func testEvent(endpointId: String, tenant: TenantContext, now: Date) async throws -> (eventId: String, deliveryId: String)? {
        let eventId = TypedID.generate(prefix: .event).rawValue
        let payload: JSONValue = ["object": ["id": .string(endpointId), "object": "webhook_endpoint"], "test": true]
        let row = try await database.queryFirst("""
            WITH endpoint AS (
                SELECT id FROM webhooks_endpoints
                WHERE id = \(endpointId) AND merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)
            ), bumped AS (
                INSERT INTO webhooks_resource_sequences AS s (merchant_id, mode, resource_id, last_sequence)
                SELECT \(tenant.merchantId), \(tenant.mode), id, 1 FROM endpoint
                ON CONFLICT (merchant_id, mode, resource_id) DO UPDATE SET last_sequence = s.last_sequence + 1
                RETURNING last_sequence
            ), recorded AS (
                INSERT INTO webhooks_events (event_id, merchant_id, mode, event_type, resource_id, sequence, payload, occurred_at)
                SELECT \(eventId), \(tenant.merchantId), \(tenant.mode), 'webhook.test', \(endpointId), last_sequence,
                       \(SQLValue.json(String(decoding: payload.serialized(), as: UTF8.self))), \(now)
                FROM bumped
                RETURNING event_id
            )
            INSERT INTO webhooks_deliveries (id, endpoint_id, merchant_id, mode, event_id, status, next_attempt_at,
                created_at, updated_at)
            SELECT 'whd_' || replace(gen_random_uuid()::text, '-', ''), \(endpointId), \(tenant.merchantId), \(tenant.mode),
                   event_id, 'pending', \(now), \(now), \(now)
            FROM recorded
            RETURNING id, event_id
            """)
        guard let row else { return nil }
        return (try row.decode("event_id"), try row.decode("id"))
    }

    // MARK: The worker

    /// Due deliveries of enabled endpoints: at most `perEndpointMax` per endpoint (so one endpoint's
    /// backlog never fills the page), `limit` in all, oldest due first. Read without locks; `claim` decides.
    func due(now: Date, perEndpointMax: Int, limit: Int, attemptsMax: Int) async throws -> [(id: String, endpointId: String)] {
        try await database.query("""
            SELECT d.id, d.endpoint_id FROM webhooks_endpoints p
            CROSS JOIN LATERAL (
                SELECT id, endpoint_id, next_attempt_at FROM webhooks_deliveries d
                WHERE d.endpoint_id = p.id AND d.attempts < \(attemptsMax)
                  AND ((d.status = 'pending' AND d.next_attempt_at <= \(now))
                       OR (d.status = 'delivering' AND d.lease_until < \(now)))
                ORDER BY d.next_attempt_at LIMIT \(perEndpointMax)
            ) d
            WHERE p.status = 'enabled'
            ORDER BY d.next_attempt_at LIMIT \(limit)
            """).map { (try $0.decode("id"), try $0.decode("endpoint_id")) }
    }

    /// Takes the given deliveries if they are still due (another instance may have taken some: the
    /// condition is checked again on the row), counting the attempt and leasing them until `leaseUntil`.
    func claim(_ ids: [String], now: Date, leaseUntil: Date, attemptsMax: Int) async throws -> [ClaimedDelivery] {
        guard !ids.isEmpty else { return [] }
        let idList = ids.joined(separator: ",")
        let rows = try await database.query("""
            UPDATE webhooks_deliveries d SET status = 'delivering', attempts = d.attempts + 1, lease_until = \(leaseUntil),
                updated_at = \(now)
            FROM webhooks_endpoints p, webhooks_events v
            WHERE d.id = ANY (string_to_array(\(idList), ',')) AND p.id = d.endpoint_id AND v.event_id = d.event_id
              AND p.status = 'enabled' AND d.attempts < \(attemptsMax)
              AND ((d.status = 'pending' AND d.next_attempt_at <= \(now)) OR (d.status = 'delivering' AND d.lease_until < \(now)))
            RETURNING d.id, d.endpoint_id, d.attempts, d.merchant_id, d.mode, p.url, p.secret, p.previous_secret,
                p.previous_secret_expires_at, v.event_id, v.event_type, v.sequence, v.payload::text AS payload, v.occurred_at
            """)
        return try rows.map { row in
            guard let mode = Mode(rawValue: try row.decode("mode")) else {
                throw DatabaseError(kind: .decoding, message: "unknown mode")
            }
            var secrets: [String] = [try row.decode("secret")]
            if let previous = try row.decode("previous_secret", as: String?.self),
               let expires = try row.decode("previous_secret_expires_at", as: Date?.self), expires > now {
                secrets.append(previous)
            }
            let payloadText: String = try row.decode("payload")
            let payload = try JSONDecoder().decode(JSONValue.self, from: Data(payloadText.utf8))
            return ClaimedDelivery(id: try row.decode("id"), endpointId: try row.decode("endpoint_id"), url: try row.decode("url"),
                                   mode: mode, merchantId: try row.decode("merchant_id"), secrets: secrets,
                                   attempt: try row.decode("attempts"), eventId: try row.decode("event_id"),
                                   eventType: try row.decode("event_type"), sequence: try row.decode("sequence"),
                                   payload: payload, occurredAt: try row.decode("occurred_at"))
        }
    }

    /// One finished attempt: the attempt log row, the delivery's next state and, on 410, the endpoint
    /// disabled with an event saying so; one transaction. Fenced: nothing is written when the delivery is
    /// no longer this attempt's (its lease lapsed and another instance took it).
    func record(_ delivery: ClaimedDelivery, action: WebhookDeliveryMachine.Action, status: WebhookDeliveryMachine.Status,
                nextAttemptAt: Date?, startedAt: Date, latencyMilliseconds: Int, statusCode: Int?, error: String?,
                responseBody: String?, now: Date) async throws {
        let outcome: String
        switch action {
        case .succeeded: outcome = "succeeded"
        case .retry: outcome = "retrying"
        case .deadLetter: outcome = "dead"
        case .disableEndpoint: outcome = "endpoint_disabled"
        case .send: preconditionFailure("record follows a finished attempt")
        }
        let eventLog = eventLog
        let written = try await database.transaction { tx in
            let updated = try await tx.execute("""
                UPDATE webhooks_deliveries SET status = \(status.rawValue), next_attempt_at = coalesce(\(nextAttemptAt)::timestamptz, next_attempt_at),
                    lease_until = NULL, last_status_code = \(statusCode)::integer, last_error = \(error)::text, updated_at = \(now)
                WHERE id = \(delivery.id) AND status = 'delivering' AND attempts = \(delivery.attempt)
                """)
            guard updated == 1 else { return false }
            try await tx.execute("""
                INSERT INTO webhooks_attempts (delivery_id, endpoint_id, merchant_id, mode, event_id, attempt, started_at,
                    latency_ms, status_code, error, response_body, outcome)
                VALUES (\(delivery.id), \(delivery.endpointId), \(delivery.merchantId), \(delivery.mode), \(delivery.eventId),
                    \(delivery.attempt), \(startedAt), \(latencyMilliseconds), \(statusCode)::integer, \(error)::text,
                    \(responseBody)::text, \(outcome))
                """)
            if action == .disableEndpoint {
                let disabled = try await tx.execute("""
                    UPDATE webhooks_endpoints SET status = 'disabled', disabled_reason = 'gone', updated_at = \(now)
                    WHERE id = \(delivery.endpointId) AND status = 'enabled'
                    """)
                if disabled == 1 {
                    let tenant = TenantContext(merchantId: delivery.merchantId, mode: delivery.mode)
                    try await eventLog.append([DomainEvent(type: "webhook_endpoint.disabled", tenant: tenant,
                                                           resourceId: delivery.endpointId, occurredAt: now,
                                                           payload: ["object": ["id": .string(delivery.endpointId),
                                                                                "reason": "gone", "statusCode": 410]])],
                                              in: tx)
                }
            }
            return true
        }
        if written && action == .disableEndpoint { eventLog.appendCommitted() }
    }

    /// Deliveries whose last attempt's worker died after the last attempt: into the dead letter.
    func buryLapsed(now: Date, attemptsMax: Int) async throws {
        try await database.execute("""
            UPDATE webhooks_deliveries SET status = 'dead', lease_until = NULL,
                last_error = 'the worker stopped during the last attempt', updated_at = \(now)
            WHERE status = 'delivering' AND lease_until < \(now) AND attempts >= \(attemptsMax)
            """)
    }

    // MARK: Replay

    struct ReplaySelection: Sendable {
        var eventId: String?
        var deadOnly = false
        var since: Date?
        var until: Date?
    }

    /// Puts the selected deliveries of one endpoint back to pending with a new attempt counter (the same
    /// event id, so receivers dedupe); those in flight are left alone. Mirrors `WebhookDeliveryMachine.replay`.
    func replay(endpointId: String, _ selection: ReplaySelection, tenant: TenantContext, now: Date) async throws -> Int {
        let deadStatus: String? = selection.deadOnly ? "dead" : nil
        return try await database.execute("""
            UPDATE webhooks_deliveries SET status = 'pending', attempts = 0, next_attempt_at = \(now), lease_until = NULL,
                updated_at = \(now)
            WHERE endpoint_id = \(endpointId) AND merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)
              AND status <> 'delivering'\(and: "event_id = ?", selection.eventId)\(and: "status = ?", deadStatus)\
            \(and: "created_at >= ?", selection.since)\(and: "created_at < ?", selection.until)
            """)
    }

    // MARK: Reading

    func deliveries(endpointId: String, status: String?, tenant: TenantContext, beforeId: String?,
                    limit: Int) async throws -> [Row] {
        try await database.query("""
            SELECT d.id, d.event_id, v.event_type, d.status, d.attempts, d.next_attempt_at, d.last_status_code, d.last_error,
                   d.created_at, d.updated_at
            FROM webhooks_deliveries d JOIN webhooks_events v ON v.event_id = d.event_id
            WHERE d.endpoint_id = \(endpointId) AND d.merchant_id = \(tenant.merchantId) AND d.mode = \(tenant.mode)\
            \(and: "d.status = ?", status)\(and: "d.id < ?", beforeId)
            ORDER BY d.id DESC LIMIT \(limit + 1)
            """)
    }

    func attempts(endpointId: String?, eventId: String?, tenant: TenantContext, beforeId: Int64?,
                  limit: Int) async throws -> [Row] {
        try await database.query("""
            SELECT id, delivery_id, endpoint_id, event_id, attempt, started_at, latency_ms, status_code, error, response_body,
                   outcome
            FROM webhooks_attempts
            WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)\(and: "endpoint_id = ?", endpointId)\
            \(and: "event_id = ?", eventId)\(and: "id < ?", beforeId)
            ORDER BY id DESC LIMIT \(limit + 1)
            """)
    }

    /// Attempt log retention (30 days by default).
    func pruneAttempts(olderThan cutoff: Date, batchMax: Int) async throws -> Int {
        try await database.execute("""
            DELETE FROM webhooks_attempts WHERE id IN (
                SELECT id FROM webhooks_attempts WHERE started_at < \(cutoff) LIMIT \(batchMax))
            """)
    }
}
