import AtlasTestSupport
import Foundation
import Kernel
import Testing
@testable import Transactions

/// `/v1/device/health`, `/display`, `/input`, `/print` through the HTTP routes (in process, real PostgreSQL), in test
/// mode answered by the sandbox terminal: spec §3.3 and A35–A39, every documented 400, the offline terminal's 503.
@Suite struct TerminalDeviceTests {
    static func lines(_ count: Int) -> JSONValue { .array((0..<count).map { ["text": .string("Line \($0)")] }) }

    /// Expects the Commerce error body with `code`, and `field`/`constraint` in details when given.
    static func expectError(_ response: Response, _ status: Int, _ code: String, field: String? = nil, constraint: String? = nil,
                            sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(response.status == status, "\(response.bodyText)", sourceLocation: sourceLocation)
        #expect(response.errorCode == code, "\(response.bodyText)", sourceLocation: sourceLocation)
        #expect(response.string("requestId") != nil, sourceLocation: sourceLocation)
        if let field { #expect(response.json["details"]?["field"]?.stringValue == field, sourceLocation: sourceLocation) }
        if let constraint {
            #expect(response.json["details"]?["constraint"]?.stringValue == constraint, sourceLocation: sourceLocation)
        }
    }

    @Test func a35DisplayTakesOneToTenLines() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let key = fixture.terminalKey
        Self.expectError(await fixture.post("/v1/device/display", ["lines": []], key: key), 400, "INVALID_REQUEST",
                         field: "lines", constraint: "minItems")
        Self.expectError(await fixture.post("/v1/device/display", ["lines": Self.lines(11)], key: key), 400, "INVALID_REQUEST",
                         field: "lines", constraint: "maxItems")
        for count in [1, 10] {
            let ok = await fixture.post("/v1/device/display", ["lines": Self.lines(count), "duration": 10000, "clearPrevious": true],
                                        key: key)
            #expect(ok.status == 200)
            #expect(ok.json == ["success": true])
        }
    }

    @Test func a36PrintTakesOneToAHundredLines() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let key = fixture.terminalKey
        Self.expectError(await fixture.post("/v1/device/print", ["lines": Self.lines(101)], key: key), 400, "INVALID_REQUEST",
                         field: "lines", constraint: "maxItems")
        Self.expectError(await fixture.post("/v1/device/print", ["cutPaper": true], key: key), 400, "MISSING_FIELD", field: "lines")
        for count in [1, 100] {
            let ok = await fixture.post("/v1/device/print", ["lines": Self.lines(count), "cutPaper": true], key: key)
            #expect(ok.status == 200)
            #expect(ok.json == ["success": true])
        }
    }

    @Test func everyBadLineIsA400NamingItsField() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let key = fixture.terminalKey
        let cases: [(JSONValue, String, String, String?)] = [
            (["lines": [["bold": true]]], "MISSING_FIELD", "lines[0].text", "required"),
            (["lines": [["text": "a"], ["text": .string(String(repeating: "x", count: 257))]]], "INVALID_REQUEST", "lines[1].text",
             "maxLength"),
            (["lines": [["text": "a", "alignment": "MIDDLE"]]], "INVALID_REQUEST", "lines[0].alignment", "enum"),
            (["lines": [["text": "a", "fontSize": "HUGE"]]], "INVALID_REQUEST", "lines[0].fontSize", "enum"),
            (["lines": [["text": "a"]], "duration": -1], "INVALID_REQUEST", "duration", "minimum"),
            (["lines": [["text": "a"]], "duration": 3_600_001], "INVALID_REQUEST", "duration", "maximum"),
            (["lines": "hello"], "INVALID_REQUEST", "lines", "type"),
        ]
        for (body, code, field, constraint) in cases {
            Self.expectError(await fixture.post("/v1/device/display", body, key: key), 400, code, field: field, constraint: constraint)
        }
        let notJSON = await fixture.client.send(.post, "/v1/device/print", headers: ["X-Api-Key": key, "Content-Type": "application/json"],
                                                body: Array("{".utf8))
        Self.expectError(notJSON, 400, "INVALID_REQUEST")
    }

    @Test func a37InputRules() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let key = fixture.terminalKey
        let cases: [(JSONValue, String, String, String?)] = [
            (["prompt": "Tip?", "inputType": "NUMERIC", "timeoutMs": 500], "INVALID_REQUEST", "timeoutMs", "minimum"),
            (["prompt": "Tip?", "inputType": "NUMERIC", "timeoutMs": 120_001], "INVALID_REQUEST", "timeoutMs", "maximum"),
            (["prompt": .string(String(repeating: "p", count: 101)), "inputType": "TEXT"], "INVALID_REQUEST", "prompt", "maxLength"),
            (["prompt": "", "inputType": "TEXT"], "INVALID_REQUEST", "prompt", "minLength"),
            (["prompt": "Tip?"], "MISSING_FIELD", "inputType", "required"),
            (["inputType": "TEXT"], "MISSING_FIELD", "prompt", "required"),
            (["prompt": "Tip?", "inputType": "SIGNATURE"], "INVALID_REQUEST", "inputType", "enum"),
            (["prompt": "Pick", "inputType": "SELECTION"], "MISSING_FIELD", "options", "required"),
            (["prompt": "Pick", "inputType": "SELECTION", "options": []], "INVALID_REQUEST", "options", "minItems"),
            (["prompt": "Pick", "inputType": "SELECTION", "options": ["a", ""]], "INVALID_REQUEST", "options[1]", "minLength"),
            (["prompt": "Pin", "inputType": "NUMERIC", "minLength": 6, "maxLength": 4], "INVALID_REQUEST", "minLength", "maximum"),
            (["prompt": "Pin", "inputType": "NUMERIC", "maxLength": 257], "INVALID_REQUEST", "maxLength", "maximum"),
            (["prompt": "Pin", "inputType": "NUMERIC", "minLength": -1], "INVALID_REQUEST", "minLength", "minimum"),
        ]
        for (body, code, field, constraint) in cases {
            Self.expectError(await fixture.post("/v1/device/input", body, key: key), 400, code, field: field, constraint: constraint)
        }
        // The bounds themselves are accepted (1000 with a scripted answer, so nothing waits).
        let quick = await fixture.post("/v1/device/input", ["prompt": "[sim:value=9] Rate us", "inputType": "RATING",
                                                            "timeoutMs": 1000], key: key)
        #expect(quick.json == ["value": "9", "cancelled": false, "timedOut": false])
        let prompt100 = String(repeating: "p", count: 100)
        #expect(await fixture.post("/v1/device/input", ["prompt": .string(prompt100), "inputType": "YES_NO", "timeoutMs": 120_000],
                                   key: key).status == 200)
    }

    @Test func a38InputThatNobodyAnswersTimesOut() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let started = ContinuousClock.now
        let response = await fixture.post("/v1/device/input", ["prompt": "[sim:timeout] Email for the receipt?",
                                                               "inputType": "EMAIL", "timeoutMs": 1000], key: fixture.terminalKey)
        let elapsed = ContinuousClock.now - started
        #expect(response.status == 200)
        #expect(response.json == ["value": nil, "cancelled": false, "timedOut": true])
        #expect(elapsed >= .milliseconds(1000))
        #expect(elapsed < .seconds(30))
    }

    @Test func theSandboxAnswersEachInputTypeDeterministically() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let cases: [(JSONValue, JSONValue)] = [
            (["prompt": "Name", "inputType": "TEXT"], "sandbox"),
            (["prompt": "Pin", "inputType": "NUMERIC", "minLength": 6], "123400"),
            (["prompt": "Pin", "inputType": "NUMERIC", "maxLength": 2], "12"),
            (["prompt": "Email", "inputType": "EMAIL"], "cardholder@example.com"),
            (["prompt": "Phone", "inputType": "PHONE"], "+15555550100"),
            (["prompt": "Pick", "inputType": "SELECTION", "options": ["Red", "Blue"]], "Red"),
            (["prompt": "Sure?", "inputType": "YES_NO"], "YES"),
            (["prompt": "Rate", "inputType": "RATING"], "5"),
            (["prompt": "[sim:value=blue] Colour?", "inputType": "TEXT"], "blue"),
        ]
        for (body, value) in cases {
            let response = await fixture.post("/v1/device/input", body, key: fixture.terminalKey)
            #expect(response.json == ["value": value, "cancelled": false, "timedOut": false], "\(body)")
        }
        let cancelled = await fixture.post("/v1/device/input", ["prompt": "[sim:cancel] Tip?", "inputType": "NUMERIC"],
                                           key: fixture.terminalKey)
        #expect(cancelled.json == ["value": nil, "cancelled": true, "timedOut": false])
    }

    @Test func a39HealthOfTheMainsPoweredEthernetSandbox() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let health = await fixture.get("/v1/device/health", key: fixture.terminalKey)
        #expect(health.status == 200)
        #expect(health.json["connected"] == true)
        #expect(health.json["terminalId"] == "TID-00012345")
        #expect(health.json["batteryLevel"] == .null)
        #expect(health.json["connectivity"]?["method"] == "ETHERNET")
        #expect(health.json["connectivity"]?["signalStrength"] == .null)
        #expect(health.json["connectivity"]?["networkName"] == .null)
        #expect(health.json["lastTransactionTime"] == .null)
        #expect(health.json["serialNumber"]?.stringValue?.isEmpty == false)
        #expect(health.json["firmwareVersion"] == .string(SandboxTerminal.firmwareVersion))
        #expect(health.json["uptime"]?.intValue.map { $0 >= 0 } == true)
        // A sale on the terminal becomes its lastTransactionTime.
        let sale = await fixture.sale(["type": "SALE", "amount": 2500, "currency": "NZD"], key: fixture.terminalKey)
        #expect(sale.status == 200)
        let after = await fixture.get("/v1/device/health", key: fixture.terminalKey)
        let last = try #require(after.json["lastTransactionTime"]?.stringValue)
        #expect(Timestamp.parseISO8601(last) != nil)
    }

    @Test func aLiveTerminalWithNoChannelIsOffline() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let live = try await fixture.newKey(mode: .live, terminalId: "TID-LIVE-1")
        Self.expectError(await fixture.get("/v1/device/health", key: live), 503, "TERMINAL_OFFLINE")
        Self.expectError(await fixture.post("/v1/device/display", ["lines": Self.lines(1)], key: live), 503, "TERMINAL_OFFLINE")
        Self.expectError(await fixture.post("/v1/device/print", ["lines": Self.lines(1)], key: live), 503, "TERMINAL_OFFLINE")
        Self.expectError(await fixture.post("/v1/device/input", ["prompt": "Tip?", "inputType": "NUMERIC"], key: live), 503,
                         "TERMINAL_OFFLINE")
        // Validation comes first: a bad body is still its 400.
        Self.expectError(await fixture.post("/v1/device/display", ["lines": []], key: live), 400, "INVALID_REQUEST")
        // A retry with the same Idempotency-Key runs again (a 503 is not stored).
        let first = await fixture.post("/v1/device/display", ["lines": Self.lines(1)], key: live, idempotencyKey: "retry-1")
        let second = await fixture.post("/v1/device/display", ["lines": Self.lines(1)], key: live, idempotencyKey: "retry-1")
        Self.expectError(first, 503, "TERMINAL_OFFLINE")
        Self.expectError(second, 503, "TERMINAL_OFFLINE")
    }

    @Test func whichTerminalACredentialReaches() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        // Unbound credential: terminalId is required, in the body or (health) the query.
        Self.expectError(await fixture.post("/v1/device/display", ["lines": Self.lines(1)], key: fixture.testKey), 400,
                         "MISSING_FIELD", field: "terminalId")
        Self.expectError(await fixture.get("/v1/device/health", key: fixture.testKey), 400, "MISSING_FIELD", field: "terminalId")
        Self.expectError(await fixture.post("/v1/device/display", ["lines": Self.lines(1), "terminalId": "bad id"],
                                            key: fixture.testKey), 400, "INVALID_REQUEST", field: "terminalId")
        #expect(await fixture.post("/v1/device/display", ["lines": Self.lines(1), "terminalId": "TID-7"], key: fixture.testKey)
            .status == 200)
        #expect(await fixture.get("/v1/device/health?terminalId=TID-7", key: fixture.testKey).json["terminalId"] == "TID-7")
        // A bound credential naming another terminal is refused; naming its own is fine.
        Self.expectError(await fixture.post("/v1/device/print", ["lines": Self.lines(1), "terminalId": "TID-7"],
                                            key: fixture.terminalKey), 403, "FORBIDDEN")
        #expect(await fixture.post("/v1/device/print", ["lines": Self.lines(1), "terminalId": "TID-00012345"],
                                   key: fixture.terminalKey).status == 200)
        // Scopes: terminal:read for health, terminal:write for commands.
        Self.expectError(await fixture.get("/v1/device/health?terminalId=TID-7", key: fixture.readOnlyKey), 403, "FORBIDDEN")
        Self.expectError(await fixture.post("/v1/device/display", ["lines": Self.lines(1)], key: nil), 401, "UNAUTHORIZED")
    }

    @Test func idempotencyKeysReplayAndConflict() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let body: JSONValue = ["prompt": "Rate", "inputType": "RATING"]
        let first = await fixture.post("/v1/device/input", body, key: fixture.terminalKey, idempotencyKey: "input-1")
        let replay = await fixture.post("/v1/device/input", body, key: fixture.terminalKey, idempotencyKey: "input-1")
        #expect(first.status == 200)
        #expect(replay.status == 200)
        #expect(replay.json == first.json)
        #expect(replay.headers["Idempotent-Replayed"] == "true")
        let conflict = await fixture.post("/v1/device/input", ["prompt": "Rate again", "inputType": "RATING"],
                                          key: fixture.terminalKey, idempotencyKey: "input-1")
        Self.expectError(conflict, 409, "IDEMPOTENCY_CONFLICT")
    }

    @Test func sessionDisplayAndInputGoToTheTerminal() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let events = try await SessionTests.session(fixture, key: fixture.terminalKey, [
            ["action": "display", "lines": [["text": "Hello"]]],
            ["action": "input", "prompt": "[sim:value=4] Rate", "inputType": "RATING", "timeoutMs": 1000],
            ["action": "display", "lines": []],
        ])
        #expect(events.count == 3)
        // Session events are numbered per session (`seq`, docs/transactions.md). The three actions were sent at
        // once and actions run concurrently, so the answers may come in any order (under load the refused
        // display answered before the input's round trip to the terminal); the numbering and each answer's
        // content are fixed.
        #expect(events.map { $0["seq"] } == [1, 2, 3])
        let byEvent = Dictionary(events.map { ($0["event"]?.stringValue ?? "", $0) }, uniquingKeysWith: { first, _ in first })
        #expect(byEvent["display"]?["success"] == true)
        #expect(byEvent["input"]?["value"] == "4")
        #expect(byEvent["input"]?["cancelled"] == false)
        #expect(byEvent["input"]?["timedOut"] == false)
        #expect(byEvent["error"]?["status"] == 400)
        #expect(byEvent["error"]?["error"]?["details"]?["field"] == "lines")
    }
}
