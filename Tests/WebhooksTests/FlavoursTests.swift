import AtlasTestSupport
import Auth
import Bootstrap
import Foundation
import Kernel
import Postgres
import Testing
@testable import Webhooks

/// The Accounting `/api/v1/webhooks` surface and the accounting and payments delivery flavours: the endpoints
/// API for admins and owners, tenant and mode isolation of accounting events, and each flavour's signature
/// checked by `bench/webhooks/verify.py` (the `standardwebhooks` library and an independent HMAC).
@Suite(.serialized) struct FlavoursTests {
    @Test func adminsManageAccountingEndpointsInTheAccountingFormat() async throws {
        let fixture = try await WebhooksFixture.make()
        defer { fixture.close() }
        let admin = "Bearer " + (try await fixture.userToken(.admin))
        let created = await fixture.send(.post, "/api/v1/webhooks", key: admin, json: [
            "url": "https://127.0.0.1:4443/books", "event_types": ["invoice.paid", "bill.approved"],
            "company_id": "7D444840-9DC0-11D1-B245-5FFDCE74FAD2",
        ], idempotencyKey: "acct-create")
        #expect(created.status == 201, "\(created.bodyText)")
        let json = try #require(created.bodyJSON)
        let id = try #require(json["id"]?.stringValue)
        let secret = try #require(json["secret"]?.stringValue)
        #expect(secret.hasPrefix("whsec_") && json["event_types"] == ["bill.approved", "invoice.paid"])
        #expect(json["company_id"] == "7d444840-9dc0-11d1-b245-5ffdce74fad2" && json["eventTypes"] == nil)
        let replayed = await fixture.send(.post, "/api/v1/webhooks", key: admin, json: [
            "url": "https://127.0.0.1:4443/books", "event_types": ["invoice.paid", "bill.approved"],
            "company_id": "7D444840-9DC0-11D1-B245-5FFDCE74FAD2",
        ], idempotencyKey: "acct-create")
        #expect(replayed.status == 201 && replayed.bodyJSON?["secret"] == .null && replayed.bodyJSON?["id"]?.stringValue == id)
        let listed = await fixture.send(.get, "/api/v1/webhooks?page=1&page_size=10", key: admin)
        #expect(listed.status == 200 && listed.bodyJSON?["total"] == 1 && listed.bodyJSON?["has_next"] == false)
        let patched = await fixture.send(.patch, "/api/v1/webhooks/\(id)", key: admin, json: ["event_types": ["*"]])
        #expect(patched.status == 200 && patched.bodyJSON?["event_types"] == ["*"])
        let rotated = await fixture.send(.post, "/api/v1/webhooks/\(id)/rotate-secret", key: admin)
        #expect(rotated.status == 200 && rotated.bodyJSON?["previous_secret_expires_at"] != nil)
        #expect(await fixture.send(.post, "/api/v1/webhooks/\(id)/disable", key: admin).bodyJSON?["status"] == "disabled")
        #expect(await fixture.send(.post, "/api/v1/webhooks/\(id)/enable", key: admin).bodyJSON?["status"] == "enabled")
        let test = await fixture.send(.post, "/api/v1/webhooks/\(id)/test", key: admin)
        #expect(test.status == 202 && test.bodyJSON?["type"] == "webhook.test" && test.bodyJSON?["event_id"] != nil)
        // The Commerce API neither lists nor reaches it.
        let commerceKey = try await fixture.key(mode: .live)
        let commerceList = await fixture.send(.get, "/v1/webhook-endpoints", key: commerceKey)
        #expect(commerceList.status == 200 && commerceList.bodyJSON?["data"] == .array([]))
        #expect(await fixture.send(.get, "/v1/webhook-endpoints/\(id)", key: commerceKey).status == 404)
        let deleted = await fixture.send(.delete, "/api/v1/webhooks/\(id)", key: admin)
        #expect(deleted.status == 204)
        let gone = await fixture.send(.get, "/api/v1/webhooks/\(id)", key: admin)
        #expect(gone.status == 404 && gone.bodyJSON?["status_code"] == 404 && gone.bodyJSON?["detail"] != nil)
    }

    /// Deliveries, the attempt log (per endpoint and per event) and replay on `/api/v1`, in the accounting body:
    /// snake_case fields, `{items, total, page, page_size, has_next}` pages, `{detail, status_code, errors}` errors.
    @Test func accountingDeliveriesAttemptsAndReplay() async throws {
        let fixture = try await WebhooksFixture.make()
        defer { fixture.close() }
        let admin = "Bearer " + (try await fixture.userToken(.admin))
        // Nothing listens on this port: every attempt fails with a refused connection.
        let created = await fixture.send(.post, "/api/v1/webhooks", key: admin, json: ["url": "https://127.0.0.1:9/books"])
        let id = try #require(created.bodyJSON?["id"]?.stringValue, "\(created.bodyText)")
        let paid = fixture.event("invoice.paid", resource: "inv_1", mode: .live, payload: ["invoice_id": "inv_1"])
        try await fixture.fanOut([paid, fixture.event("invoice.sent", resource: "inv_2", mode: .live)])
        #expect(try await fixture.deliverDue(fixture.worker) == 2)

        let deliveries = await fixture.send(.get, "/api/v1/webhooks/\(id)/deliveries?page_size=1", key: admin)
        #expect(deliveries.status == 200 && deliveries.bodyJSON?["total"] == 2 && deliveries.bodyJSON?["has_next"] == true,
                "\(deliveries.bodyText)")
        guard case .array(let rows)? = deliveries.bodyJSON?["items"], let first = rows.first else {
            Issue.record("items: \(deliveries.bodyText)")
            return
        }
        #expect(rows.count == 1 && first["endpoint_id"]?.stringValue == id && first["status"] == "pending")
        #expect(first["attempts"] == 1 && first["last_error"] != .null && first["eventId"] == nil)
        let secondPage = await fixture.send(.get, "/api/v1/webhooks/\(id)/deliveries?page=2&page_size=1", key: admin)
        #expect(secondPage.bodyJSON?["has_next"] == false && secondPage.bodyJSON?["page"] == 2)

        let attempts = await fixture.send(.get, "/api/v1/webhooks/\(id)/attempts?event_id=\(paid.id.rawValue)", key: admin)
        #expect(attempts.status == 200 && attempts.bodyJSON?["total"] == 1, "\(attempts.bodyText)")
        #expect(firstOf(attempts.bodyJSON?["items"])?["outcome"] == "retrying" && firstOf(attempts.bodyJSON?["items"])?["latency_ms"] != nil)
        let perEvent = await fixture.send(.get, "/api/v1/webhook-events/\(paid.id.rawValue)/attempts", key: admin)
        #expect(perEvent.status == 200 && perEvent.bodyJSON?["total"] == 1, "\(perEvent.bodyText)")

        let replayed = await fixture.send(.post, "/api/v1/webhooks/\(id)/replay", key: admin,
                                          json: ["event_id": .string(paid.id.rawValue)])
        #expect(replayed.status == 202 && replayed.bodyJSON?["replayed"] == 1, "\(replayed.bodyText)")
        let row = try #require(try await fixture.database.queryFirst(
            "SELECT attempts FROM webhooks_deliveries WHERE endpoint_id = \(id) AND event_id = \(paid.id.rawValue)"))
        #expect(try row.decode("attempts", as: Int.self) == 0, "a new attempt counter")

        // Bad inputs: 422 in the accounting error body, the field in its own spelling.
        let cases: [(HTTPMethod, String, JSONValue?, Int, String?)] = [
            (.post, "/api/v1/webhooks/\(id)/replay", ["event_id": .string(paid.id.rawValue), "dead_lettered": true], 422, "event_id"),
            (.post, "/api/v1/webhooks/\(id)/replay", ["dead_lettered": false], 422, "dead_lettered"),
            (.post, "/api/v1/webhooks/\(id)/replay", ["until": "2026-01-01T00:00:00Z"], 422, "since"),
            (.get, "/api/v1/webhooks/\(id)/deliveries?status=lost", nil, 422, "status"),
            (.get, "/api/v1/webhooks/\(id)/deliveries?page_size=101", nil, 422, "page_size"),
            (.get, "/api/v1/webhooks/\(id)/attempts?event_id=nope", nil, 422, "event_id"),
            (.get, "/api/v1/webhooks/wh_01JQABC1230000000000000000/deliveries", nil, 404, nil),
            (.get, "/api/v1/webhook-events/nope/attempts", nil, 404, nil),
        ]
        for (method, path, json, status, field) in cases {
            fixture.clock.advance(seconds: 1)  // under the per-user rate limit
            let response = await fixture.send(method, path, key: admin, json: json)
            #expect(response.status == status && response.bodyJSON?["status_code"]?.intValue == Int64(status),
                    "\(path): \(response.bodyText)")
            if let field {
                #expect(firstOf(response.bodyJSON?["errors"])?["field"]?.stringValue == field, "\(path): \(response.bodyText)")
            }
        }
        let bookkeeper = "Bearer " + (try await fixture.userToken(.bookkeeper))
        #expect(await fixture.send(.get, "/api/v1/webhooks/\(id)/deliveries", key: bookkeeper).status == 403)
        #expect(await fixture.send(.get, "/api/v1/webhook-events/\(paid.id.rawValue)/attempts", key: nil).status == 401)
    }

    private func firstOf(_ list: JSONValue?) -> JSONValue? {
        if case .array(let items)? = list { items.first } else { nil }
    }

    @Test func rolesAndBadInputsAnswerInTheAccountingErrorBody() async throws {
        let fixture = try await WebhooksFixture.make()
        defer { fixture.close() }
        let owner = "Bearer " + (try await fixture.userToken(.owner))
        let bookkeeper = "Bearer " + (try await fixture.userToken(.bookkeeper))
        let body: JSONValue = ["url": "https://127.0.0.1:4443/books"]
        #expect(await fixture.send(.post, "/api/v1/webhooks", key: bookkeeper, json: body).status == 403)
        #expect(await fixture.send(.get, "/api/v1/webhooks", key: nil).status == 401)
        let commerceKey = try await fixture.key()
        #expect(await fixture.send(.get, "/api/v1/webhooks", key: commerceKey).status == 401)
        let cases: [(JSONValue, String)] = [
            (["url": "https://127.0.0.1:4443/b", "event_types": ["transaction.settled"]], "event_types"),
            (["url": "https://127.0.0.1:4443/b", "company_id": "not-a-uuid"], "company_id"),
            (["url": "http://127.0.0.1:4443/b"], "url"),
            (["event_types": ["invoice.paid"]], "url"),
        ]
        for (json, field) in cases {
            let response = await fixture.send(.post, "/api/v1/webhooks", key: owner, json: json)
            #expect(response.status == 422 || response.status == 400, "\(response.bodyText)")
            guard case .array(let errors)? = response.bodyJSON?["errors"] else {
                Issue.record("no errors array: \(response.bodyText)")
                continue
            }
            #expect(errors.first?["field"]?.stringValue == field, "\(response.bodyText)")
        }
        let commerceAccountingType = await fixture.send(.post, "/v1/webhook-endpoints", key: commerceKey,
                                                        json: ["url": "http://127.0.0.1:9/x", "eventTypes": ["invoice.paid"]])
        #expect(commerceAccountingType.status == 400 && commerceAccountingType.bodyJSON?["details"]?["field"] == "eventTypes")
    }

    @Test func accountingEventsReachOnlyTheirOrganizationsEndpointsOfTheirMode() async throws {
        let fixture = try await WebhooksFixture.make()
        defer { fixture.close() }
        let admin = "Bearer " + (try await fixture.userToken(.admin))
        let companyOne = UUID().uuidString.lowercased()
        let companyTwo = UUID().uuidString.lowercased()
        func create(_ json: JSONValue) async throws -> String {
            let response = await fixture.send(.post, "/api/v1/webhooks", key: admin, json: json)
            return try #require(response.bodyJSON?["id"]?.stringValue, "\(response.bodyText)")
        }
        let everyCompany = try await create(["url": "https://127.0.0.1:4443/all"])
        let onlyOne = try await create(["url": "https://127.0.0.1:4443/one", "company_id": .string(companyOne)])
        let commerce = try await fixture.createEndpoint(url: "https://127.0.0.1:4443/c", key: try await fixture.key(mode: .live)).id
        let otherOrganization = try await fixture.auth.createOrganization(name: "Elsewhere")
        let otherMerchant = try await fixture.auth.createMerchant(organizationId: otherOrganization, name: "Far shop")
        let stranger = "Bearer " + (try await fixture.userToken(.owner, organization: otherOrganization, merchant: otherMerchant))
        let strangers = await fixture.send(.post, "/api/v1/webhooks", key: stranger, json: ["url": "https://127.0.0.1:4443/far"])
        let strangersId = try #require(strangers.bodyJSON?["id"]?.stringValue)
        #expect(await fixture.send(.get, "/api/v1/webhooks/\(everyCompany)", key: stranger).status == 404)

        func event(_ type: String, tenant: String, mode: Mode = .live, company: String) -> DomainEvent {
            DomainEvent(type: type, tenant: TenantContext(merchantId: tenant, mode: mode), resourceId: UUID().uuidString,
                        occurredAt: fixture.clock.now(), payload: ["invoice_id": "i", "company_id": .string(company)])
        }
        let linked = event("invoice.created", tenant: fixture.merchantId, company: companyOne)
        let unlinked = event("invoice.paid", tenant: fixture.organizationId, company: companyTwo)
        let testMode = event("invoice.sent", tenant: fixture.merchantId, mode: .test, company: companyOne)
        let sibling = event("bill.approved", tenant: fixture.otherMerchantId, company: companyOne)
        let far = event("payment.received", tenant: otherMerchant, company: companyOne)
        let sale = fixture.event("transaction.settled", mode: .live)
        try await fixture.fanOut([linked, unlinked, testMode, sibling, far, sale])
        let rows = try await fixture.database.query("SELECT endpoint_id, event_id FROM webhooks_deliveries")
        var received: [String: Set<String>] = [:]
        for row in rows { received[try row.decode("endpoint_id"), default: []].insert(try row.decode("event_id")) }
        #expect(received[everyCompany] == [linked.id.rawValue, unlinked.id.rawValue])
        #expect(received[onlyOne] == [linked.id.rawValue])
        #expect(received[commerce] == [sale.id.rawValue])
        #expect(received[strangersId] == [far.id.rawValue])
    }

    @Test func accountingAndPaymentsSignaturesVerifyIndependently() async throws {
        let fixture = try await WebhooksFixture.make()
        defer { fixture.close() }
        let builder = DeliveryRequestBuilder(signer: WebhookSigner(crypto: fixture.application.services.crypto))
        let signer = builder.signer
        let secrets = [signer.newSecret(), signer.newSecret()]
        let logPath = NSTemporaryDirectory() + "flavour-\(UUID().uuidString).jsonl"
        defer { try? FileManager.default.removeItem(atPath: logPath) }
        for flavour in [WebhookFlavour.accounting, .payments] {
            let delivery = ClaimedDelivery(
                id: "whd_1", endpointId: "wh_1", flavour: flavour, url: "https://example.com", mode: .live, merchantId: "mer_1",
                secrets: secrets, secretError: nil, attempt: 2, eventId: "evt_01JQXYZW000100000000000000",
                eventType: flavour == .payments ? "payment.captured" : "invoice.paid", sequence: 4,
                payload: ["object": ["id": "pay_1", "amount": 4990]], occurredAt: Date())
            let body = builder.body(delivery)
            let timestamp = Int64(Date().timeIntervalSince1970)
            let headers = builder.headers(delivery, body: body, timestamp: timestamp)
            #expect(headers["Atlas-Signature"] == nil && headers["x-atlas-signature"]?.split(separator: ",").count == 2)
            if flavour == .accounting {
                #expect(headers["X-Atlas-Event-Type"] == "invoice.paid" && headers["X-Atlas-Delivery"] == "2")
            }
            let line = JSONValue.object([
                "path": "/", "headers": .array(headers.map { .array([.string($0.name), .string($0.value)]) }),
                "body": .string(Data(body).base64EncodedString()),
            ])
            try (String(decoding: line.serialized(), as: UTF8.self) + "\n").write(toFile: logPath, atomically: true, encoding: .utf8)
            for secret in secrets {
                let verdict = try WebhookReceiver.verify(logPath: logPath, secret: secret, flavour: flavour.rawValue)
                #expect(verdict.hasPrefix("PASS 1"), "\(flavour): \(verdict)")
            }
            var tampered = body
            tampered[tampered.count - 2] ^= 1
            let badLine = JSONValue.object([
                "path": "/", "headers": .array(headers.map { .array([.string($0.name), .string($0.value)]) }),
                "body": .string(Data(tampered).base64EncodedString()),
            ])
            try (String(decoding: badLine.serialized(), as: UTF8.self) + "\n").write(toFile: logPath, atomically: true, encoding: .utf8)
            #expect(!(try WebhookReceiver.verify(logPath: logPath, secret: secrets[0], flavour: flavour.rawValue)).hasPrefix("PASS"))
        }
    }

    @Test func paymentsEndpointsGetFiveAttemptsOnTheirScheduleAndTheirPayload() async throws {
        let fixture = try await WebhooksFixture.make()
        defer { fixture.close() }
        let receiver = try WebhookReceiver()
        let key = try await fixture.key()
        let created = await fixture.send(.post, "/v1/webhook-endpoints", key: key,
                                         json: ["url": .string(receiver.url("/fail")), "format": "payments"])
        #expect(created.status == 201 && created.bodyJSON?["format"] == "payments", "\(created.bodyText)")
        let id = try #require(created.bodyJSON?["id"]?.stringValue)
        let secret = try #require(created.bodyJSON?["secret"]?.stringValue)
        try await fixture.fanOut([fixture.event("payment.captured", payload: ["object": ["id": "pay_1", "amount": 4990]]),
                                  fixture.event("transaction.settled")])
        let worker = fixture.worker
        for wait in [0.0, 300, 1_800, 7_200, 86_400] {
            fixture.clock.advance(seconds: wait * 1.1 + 1)
            #expect(try await fixture.deliverDue(worker) == 1)
            // Standard Webhooks refuses timestamps 5 minutes from the real clock: verify while the manual one is near.
            if wait == 0 { #expect(try receiver.verifyAll(secret: secret, flavour: "payments").hasPrefix("PASS 1")) }
        }
        fixture.clock.advance(seconds: 200_000)
        #expect(try await fixture.deliverDue(worker) == 0, "five attempts in all")
        let row = try #require(try await fixture.deliveryRow(endpointId: id))
        #expect(try row.decode("status", as: String.self) == "dead" && (try row.decode("attempts", as: Int.self)) == 5)
        let requests = try receiver.requests()
        #expect(requests.count == 5 && requests.allSatisfy { $0.header("Atlas-Signature") == nil })
        let bad = await fixture.send(.post, "/v1/webhook-endpoints", key: key, json: ["url": "http://127.0.0.1:9/x", "format": "soap"])
        #expect(bad.status == 400 && bad.bodyJSON?["details"]?["field"] == "format")
    }
}
