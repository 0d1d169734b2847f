import AtlasTestSupport
import Auth
import Bootstrap
import Foundation
import Kernel
import Postgres
import Rounding
import Testing
@testable import Transactions

/// The cross-instance command relay (docs/terminals.md, "Several instances"): the terminal's channel is on instance A
/// (the harness's server), the POS calls instance B (a second app on the same database, its own module, channels and
/// relay mailbox), and B's answer is the terminal's.
@Suite struct TerminalRelayTests {
    typealias Harness = TerminalChannelTests.Harness

    /// Instance B: another `atlas serve` on the same database and clock.
    struct Other {
        let module: TransactionsModule
        let client: InProcessClient

        init(_ fixture: TransactionFixture, limits: TerminalLimits) {
            var settings = TransactionsSettings()
            settings.terminalLimits = limits
            module = TransactionsModule(settings: settings)
            let application = AtlasBootstrap.assemble(modules: [AuthModule(), module, RoundingModule()],
                                                      database: fixture.database, clock: fixture.clock, logger: TestLogger.quiet)
            client = InProcessClient(application.router())
        }

        func post(_ path: String, _ body: JSONValue, key: String) async -> Response {
            var headers = HTTPHeaders()
            headers.add("X-Api-Key", key)
            return await client.send(.post, path, headers: headers, json: body)
        }

        func get(_ path: String, key: String) async -> Response {
            var headers = HTTPHeaders()
            headers.add("X-Api-Key", key)
            return await client.send(.get, path, headers: headers)
        }
    }

    static let limits = TerminalLimits(inputGraceMilliseconds: 300)

    @Test func displayInputHealthAndPrintOnAnotherInstanceReachTheTerminal() async throws {
        let harness = try await Harness.make(limits: Self.limits)
        defer { Task { await harness.close() } }
        let other = Other(harness.fixture, limits: Self.limits)
        let (client, _) = try await harness.connect()
        let key = harness.key

        let display = Task { await other.post("/v1/device/display", ["lines": [["text": "Hello from B"]]], key: key) }
        let shown = try await TerminalChannelTests.answerNext(client, kind: "display") { _ in
            ["type": "result", "result": ["success": true]]
        }
        #expect(shown["payload"]?["lines"]?[0]?["text"] == "Hello from B")
        let displayed = await display.value
        #expect(displayed.status == 200, "\(displayed.bodyText)")
        #expect(displayed.json == ["success": true])

        let input = Task { await other.post("/v1/device/input", ["prompt": "Tip?", "inputType": "NUMERIC"], key: key) }
        _ = try await TerminalChannelTests.answerNext(client, kind: "input") { _ in
            ["type": "result", "result": ["value": "42", "cancelled": false, "timedOut": false]]
        }
        #expect(await input.value.json == ["value": "42", "cancelled": false, "timedOut": false])

        let health = Task { await other.get("/v1/device/health?terminalId=\(TerminalChannelTests.terminalId)", key: key) }
        _ = try await TerminalChannelTests.answerNext(client, kind: "health") { _ in
            ["type": "result", "result": ["serialNumber": "SN-9876543210", "firmwareVersion": "1.4.9", "batteryLevel": 12,
                                          "connectivity": ["method": "WIFI", "signalStrength": -50, "networkName": "Shop"],
                                          "uptime": 7]]
        }
        let answered = await health.value
        #expect(answered.status == 200, "\(answered.bodyText)")
        #expect(answered.json["firmwareVersion"] == "1.4.9")
        #expect(answered.json["batteryLevel"] == 12)
        #expect(answered.json["connected"] == true)
        #expect(try await harness.record()?.report.firmwareVersion == "1.4.9")

        // 100 lines of 200 characters: far over a NOTIFY payload, so the command travels in a parked row.
        let lines: [JSONValue] = (0..<100).map { index in ["text": .string("\(index)" + String(repeating: "x", count: 197))] }
        let print = Task { await other.post("/v1/device/print", ["lines": .array(lines), "cutPaper": true], key: key) }
        let job = try await TerminalChannelTests.answerNext(client, kind: "print") { _ in
            ["type": "result", "result": ["success": true]]
        }
        #expect(job["payload"]?["lines"]?[99]?["text"]?.stringValue?.hasPrefix("99x") == true)
        #expect(job["payload"]?["cutPaper"] == true)
        #expect(await print.value.json == ["success": true])
        #expect(try await harness.fixture.count("SELECT count(*) AS n FROM transactions_terminal_relay_bodies") == 0)

        // The terminal's error comes back as it does locally.
        let failing = Task { await other.post("/v1/device/display", ["lines": [["text": "x"]]], key: key) }
        _ = try await TerminalChannelTests.answerNext(client, kind: "display") { _ in
            ["type": "result", "error": ["code": "SCREEN_BROKEN", "message": "no"]]
        }
        TerminalDeviceTests.expectError(await failing.value, 502, "TERMINAL_ERROR")
        #expect(other.module.relayMailbox.waitingCount == 0)
        try await onThread { try client.sendClose(code: 1000) }
        #expect(try await harness.eventually { try await harness.events("terminal.offline") == 1 })
    }

    @Test func aDisconnectedOrSilentHolderIsTerminalOffline() async throws {
        var limits = Self.limits
        limits.relayAcknowledgeTimeoutMilliseconds = 500
        let harness = try await Harness.make(limits: limits)
        defer { Task { await harness.close() } }
        let other = Other(harness.fixture, limits: limits)
        let (client, _) = try await harness.connect()
        let display: JSONValue = ["lines": [["text": "x"]]]

        // The registry says online, but the instance it names does not listen (crashed with its lease running):
        // no acknowledgement → 503.
        let holder = try await harness.fixture.database.queryFirst("""
            SELECT relay_instance FROM transactions_terminals WHERE terminal_id = \(TerminalChannelTests.terminalId)
            """)?.decode("relay_instance", as: String.self)
        #expect(holder == harness.fixture.transactions.relayMailbox.instanceId)
        try await harness.fixture.database.execute("""
            UPDATE transactions_terminals SET relay_instance = \(String(repeating: "0", count: 32))
            WHERE terminal_id = \(TerminalChannelTests.terminalId)
            """)
        TerminalDeviceTests.expectError(await other.post("/v1/device/display", display, key: harness.key), 503, "TERMINAL_OFFLINE")
        #expect(other.module.relayMailbox.waitingCount == 0)
        try await harness.fixture.database.execute("""
            UPDATE transactions_terminals SET relay_instance = \(holder) WHERE terminal_id = \(TerminalChannelTests.terminalId)
            """)

        // A lease that ran out (the sweep has not come yet): offline at once, nothing is sent.
        harness.fixture.clock.advance(seconds: limits.presenceLeaseSeconds + 1)
        TerminalDeviceTests.expectError(await other.post("/v1/device/display", display, key: harness.key), 503, "TERMINAL_OFFLINE")

        // The terminal disconnects: offline from B as from A.
        try await onThread { try client.sendClose(code: 1000) }
        #expect(try await harness.eventually { try await harness.events("terminal.offline") == 1 })
        TerminalDeviceTests.expectError(await other.post("/v1/device/display", display, key: harness.key), 503, "TERMINAL_OFFLINE")
        TerminalDeviceTests.expectError(await other.get("/v1/device/health", key: harness.key), 503, "TERMINAL_OFFLINE")
    }

    @Test func aRelayedInputTimesOutAsALocalOne() async throws {
        let harness = try await Harness.make(limits: Self.limits)
        defer { Task { await harness.close() } }
        let other = Other(harness.fixture, limits: Self.limits)
        let (client, _) = try await harness.connect()
        let input = Task {
            await other.post("/v1/device/input", ["prompt": "Tip?", "inputType": "NUMERIC", "timeoutMs": 1000], key: harness.key)
        }
        let prompt = try await TerminalChannelTests.answerNext(client, kind: "input") { _ in nil }
        let answered = await input.value
        #expect(answered.status == 200, "\(answered.bodyText)")
        #expect(answered.json == ["value": nil, "cancelled": false, "timedOut": true])
        // The holder told the terminal to drop the prompt, as for a local command.
        let cancel = try await onThread { try TerminalChannelTests.readJSON(client) }
        #expect(cancel == ["type": "cancel", "id": prompt["id"] ?? .null])
        try await onThread { try client.sendClose(code: 1000) }
        #expect(try await harness.eventually { try await harness.events("terminal.offline") == 1 })
    }

    @Test func twentyConcurrentRelayedCommandsEachGetTheirOwnAnswer() async throws {
        var limits = Self.limits
        limits.pendingCommandsPerTerminalMax = 32
        let harness = try await Harness.make(limits: limits)
        defer { Task { await harness.close() } }
        let other = Other(harness.fixture, limits: limits)
        let (client, _) = try await harness.connect()
        let count = 20
        let answers = Collected<(Int, Response)>()
        let requests = Task {
            await withTaskGroup(of: Void.self) { group in
                for index in 0..<count {
                    group.addTask {
                        let response = await other.post("/v1/device/input", ["prompt": .string("Q\(index)"), "inputType": "TEXT"],
                                                        key: harness.key)
                        answers.add((index, response))
                    }
                }
            }
        }
        // The terminal reads all twenty prompts, then answers them in reverse order, each with its own prompt.
        try await onThread {
            var commands: [JSONValue] = []
            for _ in 0..<count { commands.append(try TerminalChannelTests.readJSON(client)) }
            for command in commands.reversed() {
                let prompt = command["payload"]?["prompt"]?.stringValue ?? ""
                try TerminalChannelTests.send(client, ["type": "result", "id": command["id"] ?? .null,
                                                       "result": ["value": .string("A-" + prompt), "cancelled": false,
                                                                  "timedOut": false]])
            }
        }
        await requests.value
        let all = answers.all
        #expect(all.count == count)
        for (index, response) in all {
            #expect(response.status == 200, "\(response.bodyText)")
            #expect(response.json["value"] == .string("A-Q\(index)"))
        }
        #expect(other.module.relayMailbox.waitingCount == 0)
        try await onThread { try client.sendClose(code: 1000) }
        #expect(try await harness.eventually { try await harness.events("terminal.offline") == 1 })
    }

    @Test func aLiveCardReadOnAnotherInstanceReachesTheTerminal() async throws {
        let harness = try await Harness.make(limits: Self.limits)
        defer { Task { await harness.close() } }
        let other = Other(harness.fixture, limits: Self.limits)
        let (client, _) = try await harness.connect()
        let initiated = Task { await other.post("/v1/transaction/initiate", LiveCardReadTests.sale, key: harness.key) }
        let command = try await TerminalChannelTests.answerNext(client, kind: "card_read") { _ in LiveCardReadTests.read() }
        #expect(command["payload"]?["amount"] == 2500)
        let response = await initiated.value
        #expect(response.status == 200, "\(response.bodyText)")
        #expect(response.string("status") == "AWAITING_COMPLETION")
        #expect(response.json["emv"]?["tags"]?["9F02"] == "000000002500")
        try await onThread { try client.sendClose(code: 1000) }
        #expect(try await harness.eventually { try await harness.events("terminal.offline") == 1 })
    }

    /// 409 TERMINAL_BUSY past `relayWaitingMax` (the requester's bound) and past `relayServingMax` (the holder's).
    @Test func relayBoundsAreTerminalBusy() async throws {
        var holderLimits = Self.limits
        holderLimits.relayServingMax = 1
        let harness = try await Harness.make(limits: holderLimits)
        defer { Task { await harness.close() } }
        var requesterLimits = Self.limits
        requesterLimits.relayWaitingMax = 1
        let requesters = [Other(harness.fixture, limits: requesterLimits), Other(harness.fixture, limits: Self.limits)]
        let (client, _) = try await harness.connect()
        let prompt: JSONValue = ["prompt": "Tip?", "inputType": "NUMERIC"]
        for other in requesters {
            let first = Task { await other.post("/v1/device/input", prompt, key: harness.key) }
            let command = try await TerminalChannelTests.answerNext(client, kind: "input") { _ in nil }
            // The first one waits on the terminal: a second one is over the requester's or the holder's bound.
            TerminalDeviceTests.expectError(await other.post("/v1/device/input", prompt, key: harness.key), 409, "TERMINAL_BUSY")
            try await onThread {
                try TerminalChannelTests.send(client, ["type": "result", "id": command["id"] ?? .null,
                                                       "result": ["value": "7", "cancelled": false, "timedOut": false]])
            }
            #expect(await first.value.json == ["value": "7", "cancelled": false, "timedOut": false])
            #expect(other.module.relayMailbox.waitingCount == 0)
        }
        try await onThread { try client.sendClose(code: 1000) }
        #expect(try await harness.eventually { try await harness.events("terminal.offline") == 1 })
    }

    /// A parked relay message nobody took (its reader crashed) is deleted by the presence sweep after its retention.
    @Test func unreadParkedMessagesArePurgedByTheSweep() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let store = TerminalStore(database: fixture.database, eventLog: fixture.services.eventLog)
        let tenant = TenantContext(merchantId: fixture.merchantId, mode: .live)
        try await store.insertRelayBody(id: "rlb_old", tenant: tenant, body: "{}", now: fixture.clock.now())
        let presence = fixture.transactions.terminalPresence(services: fixture.services)
        fixture.clock.advance(seconds: TerminalLimits().relayBodyRetentionSeconds - 1)
        try await store.insertRelayBody(id: "rlb_new", tenant: tenant, body: "{}", now: fixture.clock.now())
        _ = try await presence.sweep()
        #expect(try await fixture.count("SELECT count(*) AS n FROM transactions_terminal_relay_bodies") == 2)
        fixture.clock.advance(seconds: 2)
        _ = try await presence.sweep()
        // Only the old one; and a body is read back only for its own merchant and mode.
        #expect(try await store.takeRelayBody(id: "rlb_old", tenant: tenant) == nil)
        #expect(try await store.takeRelayBody(id: "rlb_new", tenant: TenantContext(merchantId: fixture.merchantId, mode: .test)) == nil)
        #expect(try await store.takeRelayBody(id: "rlb_new", tenant: tenant) == "{}")
    }

    /// A reply naming another terminal (or another merchant or mode) than the command asked is ignored.
    @Test func aReplyForAnotherTerminalIsIgnored() async {
        let mailbox = RelayMailbox(limits: TerminalLimits())
        let asked = TerminalAddress(tenant: TenantContext(merchantId: "mer_1", mode: .live), terminalId: "T1")
        #expect(mailbox.reserve("rly_1", expecting: asked) == .admitted)
        for stranger in [TerminalAddress(tenant: TenantContext(merchantId: "mer_1", mode: .test), terminalId: "T1"),
                         TerminalAddress(tenant: TenantContext(merchantId: "mer_2", mode: .live), terminalId: "T1"),
                         TerminalAddress(tenant: asked.tenant, terminalId: "T2")] {
            mailbox.settle("rly_1", .answered(["success": true]), from: stranger)
        }
        mailbox.settle("rly_1", .timedOut, from: asked)
        #expect(await mailbox.wait("rly_1") == .timedOut)
        mailbox.forget("rly_1")
        #expect(mailbox.waitingCount == 0)
    }
}
