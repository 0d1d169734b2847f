import AtlasTestSupport
import Auth
import Foundation
import Kernel
import Synchronization
import Testing

/// Robustness over EVERY route the app serves: each (method, pattern) in `Router.routeTable` gets a
/// seeded, deterministic corpus of bad input (broken and hostile bodies, wrong types and extreme values
/// in every known field, garbage path and query parameters, wrong Content-Type, reused Idempotency-Keys)
/// with the right credential for its surface. Every answer must be below 500 (except documented 503s)
/// and, when it is an error, carry exactly the surface's documented error body. A crash (stack overflow,
/// arithmetic trap) kills the test process, so finishing the suite is the survival check.
@Suite("Route fuzzing over the whole app router", .serialized)
struct RouteFuzzTests {
    static let suiteSeed: UInt64 = 0xA71A5_F022
    /// Random field mutations per body route (on top of the fixed corpus and extreme integers).
    static let mutationsPerRoute = 36
    /// Pause before each request (about 4 s over the corpus).
    static let pauseMilliseconds = 1
    /// Routes fuzzed at once: one, with a pause between requests, so the suite leaves CPU to the suites
    /// running beside it in `scripts/test.sh` (four at once starved their 5 s pool timeouts on 2 cores).
    static let parallelRoutes = 1

    @Test("every route answers bad input with its surface's 4xx error body, never a 5xx")
    func fuzzEveryRoute() async throws {
        let world = try await FuzzWorld.make()
        defer { world.harness.close() }
        let routes = world.harness.router.routeTable
        let routeCount = routes.count
        #expect(routeCount >= 40, "route table looks incomplete: \(routeCount)")
        let findings = Findings()
        await withTaskGroup(of: Void.self) { group in
            var pending = routes.makeIterator()
            func startNext() -> Bool {
                guard let route = pending.next() else { return false }
                group.addTask { await world.fuzz(method: route.method, pattern: route.pattern, findings: findings) }
                return true
            }
            for _ in 0..<Self.parallelRoutes where startNext() {}
            for await _ in group { _ = startNext() }
        }
        let problems = findings.problems
        let summary = findings.summary
        if let path = ProcessInfo.processInfo.environment["ATLAS_FUZZ_LOG"] {
            try? findings.log.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        }
        print("route fuzz: \(summary.requests) requests over \(routes.count) routes; statuses \(summary.statuses)")
        let report = "\(problems.count) problems:\n" + problems.prefix(60).joined(separator: "\n")
        #expect(problems.isEmpty, "\(report)")
        // Still serving, and still writing data, after the whole corpus.
        #expect(await world.harness.client.send(.get, "/api/v1/health").status == 200)
        let sale = await world.send(FuzzCase(label: "after", method: .post, target: "/v1/transaction/sale",
                                             headers: try await world.headers(for: "/v1/transaction/sale", method: .post),
                                             body: FuzzWorld.commerceSale.serialized()))
        #expect(sale.status == 201 || sale.status == 200, "sale after fuzzing: \(sale.status) \(sale.bodyText)")
    }
}

/// Problems and status counts, shared by the concurrent route tasks.
final class Findings: Sendable {
    private let state = Mutex<(problems: [String], statuses: [Int: Int], requests: Int, log: [String])>(([], [:], 0, []))

    func record(_ response: Response, _ problem: String?, route: String, label: String) {
        state.withLock { state in
            state.requests += 1
            state.log.append("\(response.status) \(route) [\(label.prefix(120))] \(response.bodyText.prefix(160))")
            state.statuses[response.status, default: 0] += 1
            if let problem {
                let body = String(response.bodyText.prefix(200))
                state.problems.append("\(route) [\(label)]: \(problem) — \(response.status) \(body)")
            }
        }
    }

    func fail(_ problem: String) { state.withLock { $0.problems.append(problem) } }

    var problems: [String] { state.withLock { $0.problems.sorted() } }
    /// Every status, route and label (for reading what the corpus reached): `ATLAS_FUZZ_LOG=/path`.
    var log: [String] { state.withLock { $0.log.sorted() } }
    var summary: (requests: Int, statuses: [Int: Int]) { state.withLock { ($0.requests, $0.statuses) } }
}

/// The harness plus one credential per surface and real entities for path parameters and bodies.
struct FuzzWorld: Sendable {
    let harness: AppHarness
    let secretKey: String
    let oauthClient: (id: String, secret: String)
    let roleKeys: [String: String]
    /// Shared by the accounting and terminal routes (logging in costs scrypt, ~70 ms of CPU each).
    let userAccess: String
    let deviceAccess: String
    let ids: [String: String]

    static let commerceSale: JSONValue = [
        "type": "SALE", "amount": 2500, "currency": "NZD", "cashbackAmount": 0, "tipAmount": 100, "entryMode": "AUTO",
        "referenceId": "ref-1", "metadata": ["order": "A-1", "count": 2], "tender": "CARD",
        "card": ["number": "4111111111111111", "expiryMonth": 12, "expiryYear": 2030],
        "location": ["zipCode": "85001", "state": "AZ", "county": "Maricopa", "city": "Phoenix"],
    ]

    static func make() async throws -> FuzzWorld {
        let harness = try await AppHarness.make(connectionsMax: 6)
        let auth = harness.auth
        var roleKeys: [String: String] = [:]
        for role in ["merchant", "auditor", "admin", "partner"] { roleKeys[role] = try await harness.roleKey(role) }
        let secretKey = try await harness.secretKey()
        let oauthClient = try await auth.createOAuthClient(merchantId: harness.merchantId, mode: .test)
        let userAccess = try await harness.userTokens().access
        let deviceAccess = try await harness.deviceTokens().access
        var ids: [String: String] = ["merchant": harness.merchantId]
        ids["apiKey"] = try await auth.createSecretKey(merchantId: harness.merchantId, mode: .test).id
        let client = harness.client
        let commerce = await client.send(.post, "/v1/transaction/sale", headers: ["X-Api-Key": secretKey], json: commerceSale)
        ids["transaction"] = commerce.bodyJSON?["transactionId"]?.stringValue ?? commerce.bodyJSON?["id"]?.stringValue
        let session = await client.send(.post, "/functions/v1/create-session", headers: ["Authorization": "Bearer \(secretKey)"],
                                        json: ["amount": 1000, "currency": "USD"])
        ids["session"] = session.bodyJSON?["id"]?.stringValue
        let checkout = await client.send(.post, "/functions/v1/checkout-sessions", headers: ["Authorization": "Bearer \(secretKey)"],
                                         json: checkoutBody)
        ids["checkout"] = checkout.bodyJSON?["id"]?.stringValue
        let merchantKey = roleKeys["merchant"]!
        let roundingSale = await client.send(.post, "/api/v1/transaction", headers: ["x-api-key": merchantKey],
                                             json: roundingSaleBody(harness.merchantId))
        ids["roundingSale"] = roundingSale.bodyJSON?["transaction"]?["id"]?.stringValue
        let tip = await client.send(.post, "/api/v1/tip/cash", headers: ["x-api-key": merchantKey],
                                    json: ["transaction_id": .string(ids["roundingSale"] ?? ""), "employee_id": "EMP-1",
                                           "employee_name": "Emp", "tip_amount": .double(3.5)])
        ids["tip"] = tip.bodyJSON?["tip_id"]?.stringValue ?? tip.bodyJSON?["id"]?.stringValue
            ?? tip.bodyJSON?["tip"]?["id"]?.stringValue
        for (name, value) in [("transaction", ids["transaction"]), ("session", ids["session"]),
                              ("roundingSale", ids["roundingSale"])] where value == nil {
            throw HarnessError("setup: no \(name) id (\(commerce.bodyText) \(session.status) \(roundingSale.status))")
        }
        return FuzzWorld(harness: harness, secretKey: secretKey, oauthClient: oauthClient, roleKeys: roleKeys,
                         userAccess: userAccess, deviceAccess: deviceAccess, ids: ids)
    }

    static let checkoutBody: JSONValue = [
        "mode": "payment", "currency": "USD", "line_items": [["price": 1500, "quantity": 2, "description": "Mug"]],
        "success_url": "https://example.com/s", "cancel_url": "https://example.com/c", "customer_email": "a@example.com",
        "allow_promotion_codes": false, "metadata": ["k": "v"],
    ]

    static func roundingSaleBody(_ merchantId: String) -> JSONValue {
        ["merchant_id": .string(merchantId), "subtotal_cents": 523, "tax_total_cents": 200, "payment_method": "cash",
         "zip_code": "85001", "state": "AZ", "county": "Maricopa", "city": "Phoenix", "store_id": "S-1",
         "terminal_id": "T-1", "employee_id": "EMP-1"]
    }

    // MARK: Per-route inputs

    /// The base body plus variants that reach other code paths (cash rounding, refunds, split tenders).
    func baseBodies(method: HTTPMethod, pattern: String) -> [JSONValue] {
        let base = baseBody(method: method, pattern: pattern)
        let transaction = JSONValue.string(ids["transaction"] ?? "")
        switch (method, pattern) {
        case (.post, "/v1/transaction/sale"):
            return [base,
                    ["type": "SALE", "amount": 1999, "currency": "USD", "tender": "CASH", "tipAmount": 1, "cashbackAmount": 0,
                     "location": ["zipCode": "85001", "state": "AZ"]],
                    ["type": "REFUND", "amount": 100, "currency": "NZD", "originalTransactionId": transaction],
                    ["type": "PRE_AUTH_COMPLETE", "amount": 100, "currency": "NZD", "originalTransactionId": transaction],
                    ["type": "SALE", "amount": 100, "currency": "NZD", "tender": "STORED_VALUE",
                     "card": ["number": "4111111111111111"]]]
        case (.post, "/api/v1/transaction"):
            var split = base
            split = split.setting([.key("is_split_tender")], to: true)
            split = split.setting([.key("tenders")], to: [["type": "cash", "amount_cents": 400], ["type": "card", "amount_cents": 323]])
            return [base, split]
        default:
            return [base]
        }
    }

    /// A valid (or nearly valid) body for each body-taking route; mutations start from it.
    func baseBody(method: HTTPMethod, pattern: String) -> JSONValue {
        let merchant = JSONValue.string(harness.merchantId)
        let sale = JSONValue.string(ids["roundingSale"] ?? "")
        switch (method, pattern) {
        case (.post, "/v1/api-keys"): return ["scopes": ["transactions:read"], "terminalId": "TID-1", "name": "fuzz"]
        case (.post, "/v1/transaction/sale"): return Self.commerceSale
        case (.post, "/v1/stored-value/load"): return ["cardNumber": "4111111111111111", "amount": 1000, "currency": "NZD"]
        case (.post, "/v1/token"):
            return ["grant_type": "client_credentials", "client_id": .string(oauthClient.id),
                    "client_secret": .string(oauthClient.secret), "terminal_id": .string(AppHarness.terminalId),
                    "scope": "transactions:read", "expires_in": 600]
        case (.post, "/functions/v1/create-session"):
            return ["amount": 1000, "currency": "USD", "external_id": "ext-1", "capture_method": "automatic",
                    "customer": ["email": "a@example.com", "name": "A"], "success_url": "https://example.com/s",
                    "cancel_url": "https://example.com/c", "payment_method_types": ["card"], "metadata": ["k": "v"],
                    "merchant_reference": "m-1", "callback_urls": ["success": "https://example.com/cb"], "description": "d"]
        case (.patch, "/functions/v1/sessions/:id"):
            return ["amount": 500, "currency": "USD", "description": "d", "customer": ["email": "b@example.com", "name": "B"],
                    "metadata": ["k": "v"]]
        case (.post, "/functions/v1/sessions/:id/confirm"):
            return ["payment_method": ["type": "card", "card": ["number": "4242424242424242", "exp_month": 12, "exp_year": 2099,
                                                                "cvc": "123"]]]
        case (.post, "/functions/v1/sessions/:id/capture"): return ["amount_to_capture": 500]
        case (.post, "/functions/v1/checkout-sessions"): return Self.checkoutBody
        case (.post, "/api/v1/auth/login"): return ["email": "nobody@example.com", "password": "not the password"]
        case (.post, "/api/v1/auth/refresh"): return ["refresh_token": "rt_garbage"]
        case (.post, "/api/auth/token"):
            return ["tenantSlug": .string(AppHarness.tenantSlug), "deviceId": "dev_unknown", "deviceSecret": "s",
                    "username": "nobody", "password": "p", "role": "station", "otpCode": "123456", "publicKey": "AAAA"]
        case (.post, "/api/auth/refresh"): return ["sessionId": "ses_x", "refreshToken": "drt_garbage"]
        case (.post, "/api/v1/admin/api-keys"): return ["merchant_id": merchant, "role": "merchant", "name": "fuzz"]
        case (.post, "/api/v1/transaction"): return Self.roundingSaleBody(harness.merchantId)
        case (.post, "/api/v1/transaction/void"):
            return ["original_transaction_id": sale, "void_reason": "customer request", "voided_by": "EMP-1"]
        case (.post, "/api/v1/transaction/refund"):
            return ["original_transaction_id": sale, "refund_amount": 100, "void_reason": "return", "voided_by": "EMP-1"]
        case (.post, "/api/v1/transaction/override"):
            return ["transaction_id": sale, "employee_id": "EMP-1", "employee_name": "Emp", "reason": "price match",
                    "new_cash_total_cents": 720]
        case (.post, "/api/v1/tip/cash"), (.post, "/api/v1/tip/credit-card"):
            return ["transaction_id": sale, "employee_id": "EMP-1", "employee_name": "Emp", "tip_amount": .double(2.25)]
        case (.post, "/api/v1/tip/adjust"):
            return ["tip_id": .string(ids["tip"] ?? "tip_x"), "tip_amount": .double(1.5), "employee_id": "EMP-1", "reason": "r"]
        case (.post, "/api/v1/tip/pool/create"):
            return ["pool_name": "Pool", "tip_ids": [.string(ids["tip"] ?? "tip_x")], "distribution_method": "weighted",
                    "participants": [["employeeId": "E1", "employeeName": "A", "weight": 2, "hours": .double(2.5)],
                                     ["employeeId": "E2", "employeeName": "B", "weight": 1, "hours": 1]]]
        case (.post, "/api/v1/tip/pool/distribute"): return ["pool_id": "pool_unknown"]
        case (.post, "/api/v1/export"):
            return ["export_mode": "standard", "start_date": "2026-01-01T00:00:00Z", "end_date": "2027-01-01T00:00:00Z",
                    "payment_method": "cash", "compliance_status": "PASS", "merchant_id": merchant]
        case (.post, "/api/v1/admin/merchant/:merchant_id/indiana-method"): return ["rounding_mode": "nearest_nickel"]
        default: return [:]
        }
    }

    /// The real value for a path parameter of `pattern`.
    func pathValue(_ name: String, pattern: String) -> String {
        switch name {
        case "merchant_id": return harness.merchantId
        case "zip_code": return "85001"
        default: break
        }
        if pattern.contains("api-keys") { return ids["apiKey"] ?? "key_x" }
        if pattern.contains("checkout-sessions") { return ids["checkout"] ?? "chk_x" }
        if pattern.contains("sessions") { return ids["session"] ?? "ses_x" }
        if pattern.hasPrefix("/api/v1/transaction") { return ids["roundingSale"] ?? "x" }
        return ids["transaction"] ?? "txn_x"
    }

    func target(_ pattern: String, replacing replacement: String? = nil, query: String? = nil) -> String {
        let segments = pattern.split(separator: "/", omittingEmptySubsequences: false).map { segment -> String in
            guard segment.hasPrefix(":") else { return String(segment) }
            return replacement ?? pathValue(String(segment.dropFirst()), pattern: pattern)
        }
        let path = segments.joined(separator: "/")
        return query.map { path + "?" + $0 } ?? path
    }

    /// The credential for the route's surface (and role, on cash rounding): a fresh key per route, so no
    /// route's corpus runs into another route's rate limit; users and devices are shared and the clock moves.
    func headers(for pattern: String, method: HTTPMethod) async throws -> HTTPHeaders {
        switch FuzzSurface.of(pattern) {
        case .commerce:
            // Alternate API key and OAuth JWT by route, so both verifiers see the corpus.
            if pattern.count % 2 == 0 { return ["X-Api-Key": try await harness.secretKey()] }
            return ["Authorization": "Bearer \(try await harness.oauthToken())"]
        case .payments: return ["Authorization": "Bearer \(try await harness.secretKey())"]
        case .rounding:
            let adminOnly = pattern.contains("/admin") || pattern.contains("/merchant/") || pattern.contains("void-abuse")
            return ["x-api-key": try await harness.roleKey(adminOnly ? "admin" : "merchant")]
        case .accounting:
            // Logout revokes its token: it gets its own so the other accounting routes keep theirs.
            let token = pattern.hasSuffix("/logout") ? try await harness.userTokens().access : userAccess
            return ["Authorization": "Bearer \(token)"]
        case .terminal: return ["Authorization": "Bearer \(deviceAccess)"]
        case .oauth: return HTTPHeaders()
        }
    }

    // MARK: The corpus

    func corpus(method: HTTPMethod, pattern: String, credential: HTTPHeaders) -> [FuzzCase] {
        var generator = SeededGenerator(seed: SeededGenerator.seed("\(method.rawValue) \(pattern)",
                                                                  suiteSeed: RouteFuzzTests.suiteSeed))
        var json = credential
        json.add("Content-Type", "application/json")
        let takesBody = method == .post || method == .patch || method == .put
        let bases = baseBodies(method: method, pattern: pattern)
        let base = bases[0]
        var cases: [FuzzCase] = []
        func add(_ label: String, target: String? = nil, headers: HTTPHeaders? = nil, body: [UInt8]) {
            cases.append(FuzzCase(label: label, method: method, target: target ?? self.target(pattern),
                                  headers: headers ?? json, body: body))
        }
        add("base", body: takesBody ? base.serialized() : [])
        // Credentials: none, garbage, hostile; and a method the route does not serve.
        var garbage = HTTPHeaders()
        garbage.add("Content-Type", "application/json")
        add("noCredential", headers: garbage, body: takesBody ? base.serialized() : [])
        for (label, name, value) in [("bearerGarbage", "Authorization", "Bearer garbage.garbage.garbage"),
                                     ("bearerHuge", "Authorization", "Bearer " + String(repeating: "A", count: 10_000)),
                                     ("basicNasty", "Authorization", "Basic " + FuzzValues.nastyString),
                                     ("apiKeyNasty", "X-Api-Key", "sk_test_" + FuzzValues.nastyString),
                                     ("roleKeyGarbage", "x-api-key", "centsless_garbage"),
                                     ("jwtDeepHeader", "Authorization", "Bearer " + FuzzValues.deepJWT)] {
            var headers = garbage
            headers.add(name, value)
            add("credential:\(label)", headers: headers, body: takesBody ? base.serialized() : [])
        }
        for other in [HTTPMethod.put, HTTPMethod(rawValue: "FUZZ")] where other != method {
            cases.append(FuzzCase(label: "method:\(other.rawValue)", method: other, target: target(pattern), headers: json,
                                  body: []))
        }
        if pattern.contains(":") {
            for (label, garbage) in FuzzValues.pathGarbage {
                add("path:\(label)", target: target(pattern, replacing: garbage), body: takesBody ? base.serialized() : [])
            }
        }
        if method == .get {
            for query in FuzzValues.queryGarbage { add("query:\(query.prefix(40))", target: target(pattern, query: query), body: []) }
            return cases
        }
        guard takesBody else { return cases }
        for (label, bytes) in FuzzValues.rawBodies() { add("raw:\(label)", body: bytes) }
        for contentType in ["text/plain", "application/x-www-form-urlencoded", "application/xml", "application/json; charset=latin1",
                            "", "multipart/form-data; boundary=x"] {
            var headers = credential
            if !contentType.isEmpty { headers.add("Content-Type", contentType) }
            add("contentType:\(contentType)", headers: headers, body: base.serialized())
        }
        add("noContentType", headers: credential, body: base.serialized())
        let extremes = FuzzValues.fieldValues.filter { ["int64Max", "int64Min", "1e30", "-1", "0", "1.5"].contains($0.0) }
        for (variant, body) in bases.enumerated() {
            for path in body.paths() {
                let name = "v\(variant):" + path.map(\.description).joined(separator: ".")
                add("missing:\(name)", body: body.setting(path, to: nil).serialized())
                // Every extreme integer on every field, so arithmetic overflow cannot hide behind sampling.
                for (label, value) in extremes { add("\(name)=\(label)", body: body.setting(path, to: value).serialized()) }
            }
        }
        let paths = base.paths()
        for _ in 0..<RouteFuzzTests.mutationsPerRoute {
            let body = bases[Int(generator.next() % UInt64(bases.count))]
            let bodyPaths = body.paths()
            guard !bodyPaths.isEmpty else { break }
            var mutated = body
            var labels: [String] = []
            // One to three fields changed at once.
            for _ in 0...(generator.next() % 3) {
                let path = bodyPaths[Int(generator.next() % UInt64(bodyPaths.count))]
                let (label, value) = FuzzValues.fieldValues[Int(generator.next() % UInt64(FuzzValues.fieldValues.count))]
                mutated = mutated.setting(path, to: value)
                labels.append("\(path.map(\.description).joined(separator: "."))=\(label)")
            }
            add(labels.joined(separator: ","), body: mutated.serialized())
        }
        add("extraField", body: base.setting([.key("unexpected_\(generator.next() % 1000)")], to: ["x": [1]]).serialized())
        // Idempotency: one key, two different bodies; then hostile keys.
        let key = "fuzz-\(generator.next())"
        var first = json
        first.add("Idempotency-Key", key)
        add("idem:first", headers: first, body: base.serialized())
        let changed = paths.first.map { base.setting($0, to: "changed") } ?? ["changed": true]
        add("idem:differentBody", headers: first, body: changed.serialized())
        add("idem:sameBody", headers: first, body: base.serialized())
        for (label, hostile) in [("empty", ""), ("long", String(repeating: "k", count: 10_000)), ("nasty", FuzzValues.nastyString),
                                 ("spaces", "   ")] {
            var headers = json
            headers.add("Idempotency-Key", hostile)
            add("idem:\(label)", headers: headers, body: base.serialized())
        }
        return cases
    }

    func fuzz(method: String, pattern: String, findings: Findings) async {
        let httpMethod = HTTPMethod(rawValue: method)
        let surface = FuzzSurface.of(pattern)
        let credential: HTTPHeaders
        do { credential = try await headers(for: pattern, method: httpMethod) } catch {
            findings.fail("\(method) \(pattern): no credential: \(error)")
            return
        }
        var idempotent: [String: Response] = [:]
        for fuzzCase in corpus(method: httpMethod, pattern: pattern, credential: credential) {
            // Share the two cooperative threads with the suites running beside this one.
            try? await Task.sleep(for: .milliseconds(RouteFuzzTests.pauseMilliseconds))
            let response = await send(fuzzCase)
            findings.record(response, surface.problem(with: response), route: "\(method) \(pattern)", label: fuzzCase.label)
            if fuzzCase.label.hasPrefix("idem:") { idempotent[fuzzCase.label] = response }
        }
        if httpMethod == .post, !Self.credentialIssuing.contains(pattern), let problem = Self.idempotencyProblem(idempotent) {
            findings.fail("\(method) \(pattern): \(problem)") }
    }

    /// POSTs whose success body carries a new secret shown once (an API key, a token). They have no
    /// idempotency middleware: replaying would mean storing the secret in `idempotency_keys` at rest.
    /// docs/auth.md says "every POST of every surface accepts Idempotency-Key"; see the fuzz report.
    static let credentialIssuing: Set<String> = [
        "/v1/api-keys", "/v1/api-keys/:id/rotate", "/api/v1/admin/api-keys", "/v1/token", "/api/v1/auth/login",
        "/api/v1/auth/refresh", "/api/v1/auth/logout", "/api/auth/token", "/api/auth/refresh", "/api/v1/auth/signup",
        "/api/v1/auth/switch-org",
    ]

    /// When the first keyed request succeeded, the same key with another body is refused (409/422) and
    /// the same key with the same body replays the stored response byte for byte (nothing lost or redone).
    static func idempotencyProblem(_ responses: [String: Response]) -> String? {
        guard let first = responses["idem:first"], (200..<300).contains(first.status),
              let different = responses["idem:differentBody"], let same = responses["idem:sameBody"] else { return nil }
        if ![409, 422].contains(different.status) { return "key reused with another body answered \(different.status)" }
        if same.status != first.status || same.body != first.body { return "replay differs: \(same.status) \(same.bodyText.prefix(120))" }
        return nil
    }

    func send(_ fuzzCase: FuzzCase) async -> Response {
        // User and device credentials allow ~1 request a second; move the clock so the corpus reaches the handlers.
        if [.accounting, .terminal].contains(FuzzSurface.of(fuzzCase.target)) { harness.clock.advance(seconds: 1) }
        return await harness.client.send(fuzzCase.method, fuzzCase.target, headers: fuzzCase.headers, body: fuzzCase.body)
    }
}
