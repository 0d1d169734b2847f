import Foundation
import Kernel

/// A delivery the worker has claimed, with what it needs to send it.
struct ClaimedDelivery: Sendable {
    let id: String
    let endpointId: String
    let flavour: WebhookFlavour
    let url: String
    let mode: Mode
    let merchantId: String
    /// Opened secrets, current first; empty when they could not be opened (`secretError` says why).
    let secrets: [String]
    let secretError: SecretSealError?
    /// `Atlas-Delivery`: the attempt this send is, from 1.
    let attempt: Int
    let eventId: String
    let eventType: String
    let sequence: Int64
    let payload: JSONValue
    let occurredAt: Date
}

/// One finished attempt of a claimed delivery: what the state machine decided and what the attempt log keeps.
struct FinishedAttempt: Sendable {
    let delivery: ClaimedDelivery
    let action: WebhookDeliveryMachine.Action
    let status: WebhookDeliveryMachine.Status
    let nextAttemptAt: Date?
    let startedAt: Date
    let latencyMilliseconds: Int
    let statusCode: Int?
    let error: String?
    let responseBody: String?
    let now: Date
    let failingSinceCutoff: Date

    /// The attempt log's `outcome` column.
    var outcome: String {
        switch action {
        case .succeeded: "succeeded"
        case .retry: "retrying"
        case .deadLetter: "dead"
        case .disableEndpoint: "endpoint_disabled"
        case .send: preconditionFailure("an attempt is recorded after it finished")
        }
    }
}

/// SQL of deliveries, recorded events and the attempt log.
struct DeliveryStore: Sendable {
    let database: any Database
    let eventLog: any EventLogWriter
    let sealer: SecretSealer

    // MARK: Fan-out

    /// Records a batch of logged events and creates one delivery per matching enabled endpoint of the event's
    /// merchant and mode (accounting endpoints: also events logged under their organization id, optionally of
    /// one company; each flavour only its own event types, `WebhookFlavour`), in ONE statement: events already recorded (a redelivered batch) are skipped, so a
    /// batch applies once; each recorded event gets the next `sequence` of its resource, in log order.
    /// Events of tenants without any endpoint are not recorded. Returns the deliveries created.
    ///
    /// WHY the resources' new sequences go through one JSON object (`last_sequences`) rather than a join with
    /// `bumped`: both sides are CTEs the planner estimates at one row, so the join was a nested loop comparing every
    /// event with every resource as collated text: a 250-event batch spent 120 ms there, 500 events four times that.
    /// MATERIALIZED: inlined, the object would be built again for every event.
    @discardableResult
    func fanOut(_ logged: [LoggedEvent], now: Date) async throws -> Int {
        let covered = try await tenantsWithEndpoints(Set(logged.map(\.event.tenant)))
        let events = logged.filter { covered.contains($0.event.tenant) }
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
        let accountingTypes = WebhookFlavour.list(WebhookFlavour.accountingEventTypes)
        let paymentsTypes = WebhookFlavour.list(WebhookFlavour.paymentsEventTypes)
        return try await database.execute("""
            WITH input AS (
                SELECT * FROM jsonb_to_recordset(\(batch)) AS t(ord integer, event_id text, event_type text, merchant_id text,
                    mode text, resource_id text, payload jsonb, occurred_at timestamptz)
            ), fresh AS (
                SELECT i.* FROM input i
                WHERE NOT EXISTS (SELECT 1 FROM webhooks_events e WHERE e.event_id = i.event_id)
                  AND EXISTS (SELECT 1 FROM webhooks_endpoints p WHERE p.mode = i.mode
                              AND (p.merchant_id = i.merchant_id OR p.organization_id = i.merchant_id))
            ), numbered AS (
                SELECT f.*, row_number() OVER (PARTITION BY merchant_id, mode, resource_id ORDER BY ord) AS n,
                       count(*) OVER (PARTITION BY merchant_id, mode, resource_id) AS total
                FROM fresh f
            ), bumped AS (
                INSERT INTO webhooks_resource_sequences AS s (merchant_id, mode, resource_id, last_sequence)
                SELECT DISTINCT merchant_id, mode, resource_id, total FROM numbered
                ON CONFLICT (merchant_id, mode, resource_id) DO UPDATE SET last_sequence = s.last_sequence + EXCLUDED.last_sequence
                RETURNING merchant_id, mode, resource_id, last_sequence
            ), last_sequences AS MATERIALIZED (
                SELECT jsonb_object_agg(jsonb_build_array(merchant_id, mode, resource_id)::text, last_sequence) AS by_resource
                FROM bumped
            ), recorded AS (
                INSERT INTO webhooks_events (event_id, merchant_id, mode, event_type, resource_id, sequence, payload, occurred_at)
                SELECT n.event_id, n.merchant_id, n.mode, n.event_type, n.resource_id,
                       (l.by_resource ->> jsonb_build_array(n.merchant_id, n.mode, n.resource_id)::text)::bigint - n.total + n.n,
                       n.payload, n.occurred_at
                FROM numbered n CROSS JOIN last_sequences l
                RETURNING event_id, merchant_id, mode, event_type, payload
            ), typed AS (
                SELECT r.*, CASE WHEN r.event_type = ANY (string_to_array(\(accountingTypes), ',')) THEN 'accounting'
                                 WHEN r.event_type = ANY (string_to_array(\(paymentsTypes), ',')) THEN 'payments'
                                 ELSE 'commerce' END AS flavour
                FROM recorded r
            )
            INSERT INTO webhooks_deliveries (id, endpoint_id, merchant_id, mode, event_id, status, next_attempt_at,
                created_at, updated_at)
            SELECT 'whd_' || replace(gen_random_uuid()::text, '-', ''), p.id, p.merchant_id, r.mode, r.event_id, 'pending',
                   \(now), \(now), \(now)
            FROM typed r JOIN webhooks_endpoints p ON p.mode = r.mode AND p.flavour = r.flavour
                AND (p.merchant_id = r.merchant_id OR (p.flavour = 'accounting' AND p.organization_id = r.merchant_id))
                AND (p.company_id IS NULL OR p.company_id = r.payload->>'company_id')
                AND p.status = 'enabled' AND (cardinality(p.event_types) = 0 OR r.event_type = ANY (p.event_types))
            ON CONFLICT (endpoint_id, event_id) DO NOTHING
            """)
    }

    /// Which of these tenants (merchant or organization id, and mode) have any endpoint. WHY first: most events
    /// belong to tenants without webhooks, and for them this one probe per tenant replaces serializing every
    /// payload into the fan-out statement and parsing it back (the same EXISTS the statement applies per event).
    func tenantsWithEndpoints(_ tenants: Set<TenantContext>) async throws -> Set<TenantContext> {
        guard !tenants.isEmpty else { return [] }
        let ordered = tenants.sorted { ($0.merchantId, $0.mode.rawValue) < ($1.merchantId, $1.mode.rawValue) }
        precondition(ordered.allSatisfy { !$0.merchantId.contains(",") }, "a merchant id holds no comma")
        let rows = try await database.query("""
            SELECT t.merchant_id, t.mode
            FROM unnest(string_to_array(\(ordered.map(\.merchantId).joined(separator: ",")), ','),
                        string_to_array(\(ordered.map(\.mode.rawValue).joined(separator: ",")), ',')) AS t(merchant_id, mode)
            WHERE EXISTS (SELECT 1 FROM webhooks_endpoints p WHERE p.mode = t.mode
                          AND (p.merchant_id = t.merchant_id OR p.organization_id = t.merchant_id))
            """)
        return Set(try rows.compactMap { row in
            let merchantId: String = try row.decode("merchant_id")
            return Mode(rawValue: try row.decode("mode")).map { TenantContext(merchantId: merchantId, mode: $0) }
        })
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
    func due(now: Date, perEndpointMax: Int, limit: Int, schedules: FlavourSchedules) async throws -> [(id: String, endpointId: String)] {
        try await database.query("""
            SELECT d.id, d.endpoint_id FROM webhooks_endpoints p
            CROSS JOIN LATERAL (
                SELECT id, endpoint_id, next_attempt_at FROM webhooks_deliveries d
                WHERE d.endpoint_id = p.id AND d.attempts < (CASE p.flavour WHEN 'payments' THEN \(schedules.payments.attemptsMax)::integer
                    WHEN 'accounting' THEN \(schedules.accounting.attemptsMax)::integer ELSE \(schedules.commerce.attemptsMax)::integer END)
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
    /// WHY each id probed by its key with its endpoint and event (the LATERAL; LIMIT 1 keeps it a probe per id) and
    /// the row updated by its address: with
    /// `d.id = ANY(string_to_array(…))` or a plain join, the generic plan of a table without fresh statistics walked
    /// the due deliveries and compared each with the whole id list (38 ms for 256). A row another instance changed
    /// meanwhile has a new address, so the recheck skips it: not claimed, as before.
    func claim(_ ids: [String], now: Date, leaseUntil: Date, schedules: FlavourSchedules) async throws -> [ClaimedDelivery] {
        guard !ids.isEmpty else { return [] }
        let idList = ids.joined(separator: ",")
        let rows = try await database.query("""
            UPDATE webhooks_deliveries d SET status = 'delivering', attempts = d.attempts + 1, lease_until = \(leaseUntil),
                updated_at = \(now)
            FROM unnest(string_to_array(\(idList), ',')) AS given(id)
            CROSS JOIN LATERAL (
                SELECT t.ctid AS row_address, p.flavour, p.url, p.secret, p.previous_secret, p.previous_secret_expires_at,
                    v.event_id AS logged_event_id, v.event_type, v.sequence, v.payload, v.occurred_at
                FROM webhooks_deliveries t
                JOIN webhooks_endpoints p ON p.id = t.endpoint_id AND p.status = 'enabled'
                JOIN webhooks_events v ON v.event_id = t.event_id
                WHERE t.id = given.id LIMIT 1
            ) AS found
            WHERE d.ctid = found.row_address
              AND d.attempts < (CASE found.flavour WHEN 'payments' THEN \(schedules.payments.attemptsMax)::integer
                    WHEN 'accounting' THEN \(schedules.accounting.attemptsMax)::integer ELSE \(schedules.commerce.attemptsMax)::integer END)
              AND ((d.status = 'pending' AND d.next_attempt_at <= \(now)) OR (d.status = 'delivering' AND d.lease_until < \(now)))
            RETURNING d.id, d.endpoint_id, found.flavour, d.attempts, d.merchant_id, d.mode, found.url, found.secret,
                found.previous_secret, found.previous_secret_expires_at, found.logged_event_id AS event_id, found.event_type,
                found.sequence, found.payload::text AS payload, found.occurred_at
            """)
        return try rows.map { row in
            guard let mode = Mode(rawValue: try row.decode("mode")),
                  let flavour = WebhookFlavour(rawValue: try row.decode("flavour")) else {
                throw DatabaseError(kind: .decoding, message: "unknown mode or flavour")
            }
            let endpointId: String = try row.decode("endpoint_id")
            var stored: [String] = [try row.decode("secret")]
            if let previous = try row.decode("previous_secret", as: String?.self),
               let expires = try row.decode("previous_secret_expires_at", as: Date?.self), expires > now {
                stored.append(previous)
            }
            // A secret that does not open fails this delivery's attempt (logged), not the whole claimed batch.
            var secrets: [String] = []
            var secretError: SecretSealError?
            do throws(SecretSealError) {
                secrets = try stored.map { stored throws(SecretSealError) in try sealer.open(stored, endpointId: endpointId) }
            } catch {
                secretError = error
            }
            let payloadText: String = try row.decode("payload")
            let payload = try JSONValue(parsing: payloadText)
            return ClaimedDelivery(id: try row.decode("id"), endpointId: endpointId, flavour: flavour, url: try row.decode("url"),
                                   mode: mode, merchantId: try row.decode("merchant_id"), secrets: secrets,
                                   secretError: secretError,
                                   attempt: try row.decode("attempts"), eventId: try row.decode("event_id"),
                                   eventType: try row.decode("event_type"), sequence: try row.decode("sequence"),
                                   payload: payload, occurredAt: try row.decode("occurred_at"))
        }
    }

    /// One finished attempt: the attempt log row, the delivery's next state, the endpoint's failing streak,
    /// and the endpoint disabled with an event saying so (on 410, or when it has been failing since before
    /// `failingSinceCutoff`); one transaction. Fenced: nothing is written when the delivery is no longer this
    /// attempt's (its lease lapsed and another instance took it).
    func record(_ attempt: FinishedAttempt) async throws {
        if attempt.action == .succeeded {
            _ = try await recordSucceeded([attempt])
            return
        }
        let delivery = attempt.delivery
        let disabled = try await database.transaction { tx -> Bool? in
            let updated = try await tx.execute("""
                UPDATE webhooks_deliveries SET status = \(attempt.status.rawValue),
                    next_attempt_at = coalesce(\(attempt.nextAttemptAt)::timestamptz, next_attempt_at),
                    lease_until = NULL, last_status_code = \(attempt.statusCode)::integer, last_error = \(attempt.error)::text,
                    updated_at = \(attempt.now)
                WHERE id = \(delivery.id) AND status = 'delivering' AND attempts = \(delivery.attempt)
                """)
            guard updated == 1 else { return nil }
            try await tx.execute("""
                INSERT INTO webhooks_attempts (delivery_id, endpoint_id, merchant_id, mode, event_id, attempt, started_at,
                    latency_ms, status_code, error, response_body, outcome)
                VALUES (\(delivery.id), \(delivery.endpointId), \(delivery.merchantId), \(delivery.mode), \(delivery.eventId),
                    \(delivery.attempt), \(attempt.startedAt), \(attempt.latencyMilliseconds), \(attempt.statusCode)::integer,
                    \(attempt.error)::text, \(attempt.responseBody)::text, \(attempt.outcome))
                """)
            return try await updateEndpointHealth(attempt, in: tx)
        }
        if disabled == true { eventLog.appendCommitted() }
    }

    /// Gives back claimed deliveries that were never sent (they waited too long in the worker's queue): pending
    /// again, due now, with the claim's attempt uncounted. Fenced by the attempt number, as recording is.
    func release(_ deliveries: [ClaimedDelivery], now: Date) async throws {
        guard !deliveries.isEmpty else { return }
        try await database.execute("""
            UPDATE webhooks_deliveries d SET status = 'pending', attempts = d.attempts - 1, lease_until = NULL,
                next_attempt_at = \(now), updated_at = \(now)
            FROM unnest(string_to_array(\(deliveries.map(\.id).joined(separator: ",")), ','),
                        string_to_array(\(deliveries.map { String($0.attempt) }.joined(separator: ",")), ',')::integer[])
                AS given(id, attempt)
            WHERE d.id = given.id AND d.status = 'delivering' AND d.attempts = given.attempt
            """)
    }

    /// Successful attempts, many in ONE statement (the worker's group commit: one round trip and one commit
    /// for a batch instead of four statements and a commit each): each delivery `succeeded`, its attempt log
    /// row, and its endpoint's failing streak ended. Fenced per delivery like `record`; returns the ids written.
    func recordSucceeded(_ attempts: [FinishedAttempt]) async throws -> Set<String> {
        guard !attempts.isEmpty else { return [] }
        precondition(attempts.allSatisfy { $0.action == .succeeded }, "only successes are recorded together")
        let input = JSONValue.array(attempts.map { attempt in
            let delivery = attempt.delivery
            var row: [String: JSONValue] = [
                "id": .string(delivery.id), "attempt": .int(Int64(delivery.attempt)), "endpoint_id": .string(delivery.endpointId),
                "merchant_id": .string(delivery.merchantId), "mode": .string(delivery.mode.rawValue),
                "event_id": .string(delivery.eventId),
                "started_at": .string(Timestamp.iso8601(attempt.startedAt, fractionalSeconds: true)),
                "latency_ms": .int(Int64(attempt.latencyMilliseconds)),
                "now": .string(Timestamp.iso8601(attempt.now, fractionalSeconds: true)),
            ]
            if let statusCode = attempt.statusCode { row["status_code"] = .int(Int64(statusCode)) }
            if let body = attempt.responseBody { row["response_body"] = .string(body) }
            return .object(row)
        })
        let rows = try await database.query("""
            WITH input AS (
                SELECT * FROM jsonb_to_recordset(\(SQLValue.json(String(decoding: input.serialized(), as: UTF8.self))))
                    AS t(id text, attempt integer, endpoint_id text, merchant_id text, mode text, event_id text,
                         started_at timestamptz, latency_ms integer, status_code integer, response_body text, now timestamptz)
            ), updated AS (
                UPDATE webhooks_deliveries d SET status = 'succeeded', lease_until = NULL, last_status_code = i.status_code,
                    last_error = NULL, updated_at = i.now
                FROM input i
                WHERE d.id = i.id AND d.status = 'delivering' AND d.attempts = i.attempt
                RETURNING d.id, i.endpoint_id, i.merchant_id, i.mode, i.event_id, i.attempt, i.started_at, i.latency_ms,
                    i.status_code, i.response_body
            ), logged AS (
                INSERT INTO webhooks_attempts (delivery_id, endpoint_id, merchant_id, mode, event_id, attempt, started_at,
                    latency_ms, status_code, error, response_body, outcome)
                SELECT id, endpoint_id, merchant_id, mode, event_id, attempt, started_at, latency_ms, status_code, NULL,
                       response_body, 'succeeded'
                FROM updated
            ), healed AS (
                UPDATE webhooks_endpoints SET failing_since = NULL
                WHERE failing_since IS NOT NULL AND id IN (SELECT endpoint_id FROM updated)
            )
            SELECT id FROM updated
            """)
        return Set(try rows.map { try $0.decode("id", as: String.self) })
    }

    /// A failure starts the endpoint's failing streak (or continues it; a success ends it in `recordSucceeded`). 410, or a streak
    /// older than the cutoff, disables the endpoint and appends `webhook_endpoint.disabled`. True when disabled.
    private func updateEndpointHealth(_ attempt: FinishedAttempt, in tx: any SQLExecutor) async throws -> Bool {
        let delivery = attempt.delivery, action = attempt.action, startedAt = attempt.startedAt, now = attempt.now
        let statusCode = attempt.statusCode, failingSinceCutoff = attempt.failingSinceCutoff
        precondition(action != .succeeded, "successes are recorded by recordSucceeded")
        let gone = action == .disableEndpoint
        let row = try await tx.queryFirst("""
            UPDATE webhooks_endpoints SET failing_since = coalesce(failing_since, \(startedAt)),
                status = CASE WHEN \(gone) OR coalesce(failing_since, \(startedAt)) <= \(failingSinceCutoff) THEN 'disabled'
                              ELSE status END,
                disabled_reason = CASE WHEN \(gone) THEN 'gone'
                                       WHEN coalesce(failing_since, \(startedAt)) <= \(failingSinceCutoff) THEN 'failing'
                                       ELSE disabled_reason END,
                updated_at = \(now)
            WHERE id = \(delivery.endpointId) AND status = 'enabled'
            RETURNING status, disabled_reason, failing_since
            """)
        guard let row, try row.decode("status", as: String.self) == "disabled" else { return false }
        let reason: String = try row.decode("disabled_reason")
        let failingSince: Date = try row.decode("failing_since")
        var object: [String: JSONValue] = ["id": .string(delivery.endpointId), "object": "webhook_endpoint",
                                           "reason": .string(reason),
                                           "failingSince": .string(Timestamp.iso8601(failingSince))]
        if gone, let statusCode { object["statusCode"] = .int(Int64(statusCode)) }
        let tenant = TenantContext(merchantId: delivery.merchantId, mode: delivery.mode)
        try await eventLog.append([DomainEvent(type: "webhook_endpoint.disabled", tenant: tenant, resourceId: delivery.endpointId,
                                               occurredAt: now, payload: ["object": .object(object)])], in: tx)
        return true
    }

    /// Deliveries whose last attempt's worker died after the last attempt: into the dead letter.
    func buryLapsed(now: Date, schedules: FlavourSchedules) async throws {
        try await database.execute("""
            UPDATE webhooks_deliveries d SET status = 'dead', lease_until = NULL,
                last_error = 'the worker stopped during the last attempt', updated_at = \(now)
            FROM webhooks_endpoints p
            WHERE p.id = d.endpoint_id AND d.status = 'delivering' AND d.lease_until < \(now)
              AND d.attempts >= (CASE p.flavour WHEN 'payments' THEN \(schedules.payments.attemptsMax)::integer
                    WHEN 'accounting' THEN \(schedules.accounting.attemptsMax)::integer ELSE \(schedules.commerce.attemptsMax)::integer END)
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

    /// Newest first, `limit + 1` rows (the extra one says another page follows): before the `beforeId` cursor
    /// (Commerce pages) or from `offset` (Accounting pages, which also show `deliveryCount`).
    func deliveries(endpointId: String, status: String?, tenant: TenantContext, beforeId: String?, offset: Int = 0,
                    limit: Int) async throws -> [Row] {
        try await database.query("""
            SELECT d.id, d.event_id, v.event_type, d.status, d.attempts, d.next_attempt_at, d.last_status_code, d.last_error,
                   d.created_at, d.updated_at
            FROM webhooks_deliveries d JOIN webhooks_events v ON v.event_id = d.event_id
            WHERE d.endpoint_id = \(endpointId) AND d.merchant_id = \(tenant.merchantId) AND d.mode = \(tenant.mode)\
            \(and: "d.status = ?", status)\(and: "d.id < ?", beforeId)
            ORDER BY d.id DESC LIMIT \(limit + 1) OFFSET \(offset)
            """)
    }

    func deliveryCount(endpointId: String, status: String?, tenant: TenantContext) async throws -> Int64 {
        try await database.queryFirst("""
            SELECT count(*) AS n FROM webhooks_deliveries
            WHERE endpoint_id = \(endpointId) AND merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)\
            \(and: "status = ?", status)
            """)?.decode("n", as: Int64.self) ?? 0
    }

    /// Newest first, like `deliveries`.
    func attempts(endpointId: String?, eventId: String?, tenant: TenantContext, beforeId: Int64?, offset: Int = 0,
                  limit: Int) async throws -> [Row] {
        try await database.query("""
            SELECT id, delivery_id, endpoint_id, event_id, attempt, started_at, latency_ms, status_code, error, response_body,
                   outcome
            FROM webhooks_attempts
            WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)\(and: "endpoint_id = ?", endpointId)\
            \(and: "event_id = ?", eventId)\(and: "id < ?", beforeId)
            ORDER BY id DESC LIMIT \(limit + 1) OFFSET \(offset)
            """)
    }

    func attemptCount(endpointId: String?, eventId: String?, tenant: TenantContext) async throws -> Int64 {
        try await database.queryFirst("""
            SELECT count(*) AS n FROM webhooks_attempts
            WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)\(and: "endpoint_id = ?", endpointId)\
            \(and: "event_id = ?", eventId)
            """)?.decode("n", as: Int64.self) ?? 0
    }

    /// Attempt log retention (30 days by default).
    func pruneAttempts(olderThan cutoff: Date, batchMax: Int) async throws -> Int {
        try await database.execute("""
            DELETE FROM webhooks_attempts WHERE id IN (
                SELECT id FROM webhooks_attempts WHERE started_at < \(cutoff) LIMIT \(batchMax))
            """)
    }
}
