import AtlasTestSupport
import Foundation
import HTTPServer
import Kernel
import Testing
@testable import Transactions

/// The device channel over a real socket: a raw WebSocket client (Tests/Support) plays the physical terminal against
/// a real HTTP server serving the fixture's router and PostgreSQL. Hello marks it online (`terminal.online` in the
/// event log), commands reach it with a correlation id and its answers come back through the HTTP routes, and
/// closing marks it offline (`terminal.offline`).
@Suite struct TerminalChannelTests {
    static let terminalId = "TID-CHANNEL-1"
    static let hello: JSONValue = [
        "type": "hello", "serialNumber": "SN-9876543210", "firmwareVersion": "1.4.2", "batteryLevel": 87,
        "connectivity": ["method": "WIFI", "signalStrength": -42, "networkName": "StoreNetwork-5G"], "uptime": 86400,
    ]

    /// A fixture with short timeouts, a live key bound to the terminal, and a real server on a free port.
    struct Harness {
        let fixture: TransactionFixture
        let server: HTTPServer
        let port: Int
        let key: String

        static func make(limits: TerminalLimits = TerminalLimits(inputGraceMilliseconds: 300))
            async throws -> Harness {
            var settings = TransactionsSettings()
            settings.terminalLimits = limits
            let fixture = try await TransactionFixture.make(settings: settings)
            let server = HTTPServer(configuration: HTTPServerConfiguration(host: "127.0.0.1", port: 0),
                                    responder: fixture.client.responder, logger: TestLogger.quiet)
            let port = try server.start()
            let key = try await fixture.newKey(mode: .live, terminalId: TerminalChannelTests.terminalId)
            return Harness(fixture: fixture, server: server, port: port, key: key)
        }

        func close() async {
            await server.shutdown()
            fixture.close()
        }

        /// Connects as the terminal and says hello; returns the client and the welcome.
        func connect(hello: JSONValue = TerminalChannelTests.hello) async throws -> (RawWebSocketClient, JSONValue) {
            let port = port, key = key
            return try await onThread {
                let client = try RawWebSocketClient(port: port)
                let response = try client.open("/v1/device/channel?apiKey=\(key)")
                guard response.status == 101 else { throw TestFailure("no upgrade: \(response.status) \(response.bodyText)") }
                try client.sendText(String(decoding: hello.serialized(), as: UTF8.self))
                return (client, try TerminalChannelTests.readJSON(client))
            }
        }

        func events(_ type: String) async throws -> Int64 {
            try await fixture.count("""
                SELECT count(*) AS n FROM event_log WHERE event_type = \(type) AND resource_id = \(TerminalChannelTests.terminalId)
                  AND merchant_id = \(fixture.merchantId) AND mode = 'live'
                """)
        }

        var address: TerminalAddress {
            TerminalAddress(tenant: TenantContext(merchantId: fixture.merchantId, mode: .live), terminalId: TerminalChannelTests.terminalId)
        }

        func record() async throws -> TerminalRecord? {
            try await TerminalStore(database: fixture.database, eventLog: NoEvents()).record(address)
        }

        /// Polls until `condition` holds (the channel's end is handled after the socket closes); up to 15 s for a
        /// loaded machine.
        func eventually(_ condition: () async throws -> Bool) async throws -> Bool {
            for _ in 0..<300 {
                if try await condition() { return true }
                try await Task.sleep(for: .milliseconds(50))
            }
            return false
        }
    }

    /// The next text frame as JSON (blocking; call on a thread).
    static func readJSON(_ client: RawWebSocketClient) throws -> JSONValue {
        guard let frame = client.readFrame() else { throw TestFailure("the server sent nothing") }
        guard frame.opcode == 0x1 else { throw TestFailure("not a text frame: opcode \(frame.opcode) \(frame.closeCode ?? 0)") }
        return try JSONDecoder().decode(JSONValue.self, from: Data(frame.payload))
    }

    static func send(_ client: RawWebSocketClient, _ message: JSONValue) throws {
        try client.sendText(String(decoding: message.serialized(), as: UTF8.self))
    }

    /// Reads the next command on a thread, checks its kind, answers it with `answer(command)` (nil: no answer).
    static func answerNext(_ client: RawWebSocketClient, kind: String,
                           _ answer: @escaping @Sendable (JSONValue) -> JSONValue?) async throws -> JSONValue {
        try await onThread {
            let command = try readJSON(client)
            guard command["type"] == "command", command["command"]?.stringValue == kind,
                  let id = command["id"]?.stringValue, id.hasPrefix("cmd_") else {
                throw TestFailure("unexpected message \(command)")
            }
            if case .object(var members)? = answer(command) {
                members["id"] = .string(id)
                try send(client, .object(members))
            }
            return command
        }
    }

    @Test func aTerminalConnectsReceivesADisplayCommandAndAnswersIt() async throws {
        let harness = try await Harness.make()
        defer { Task { await harness.close() } }
        let (client, welcome) = try await harness.connect()
        #expect(welcome["type"] == "welcome")
        #expect(welcome["terminalId"] == .string(Self.terminalId))
        // Online in the registry, with its event, in one transaction.
        let record = try #require(try await harness.record())
        #expect(record.isOnline)
        #expect(record.report.connectivity.method == .wifi)
        #expect(try await harness.events("terminal.online") == 1)

        let display = Task {
            await harness.fixture.post("/v1/device/display", ["lines": [["text": "Hello", "alignment": "CENTER"]]], key: harness.key)
        }
        let command = try await Self.answerNext(client, kind: "display") { _ in ["type": "result", "result": ["success": true]] }
        #expect(command["payload"]?["lines"]?[0]?["text"] == "Hello")
        #expect(command["payload"]?["lines"]?[0]?["alignment"] == "CENTER")
        let response = await display.value
        #expect(response.status == 200)
        #expect(response.json == ["success": true])

        try await onThread { try client.sendClose(code: 1000) }
        #expect(try await harness.eventually { try await harness.events("terminal.offline") == 1 })
        #expect(try await harness.record()?.isOnline == false)
        TerminalDeviceTests.expectError(await harness.fixture.post("/v1/device/display", ["lines": [["text": "x"]]], key: harness.key),
                                        503, "TERMINAL_OFFLINE")
        #expect(try await harness.events("terminal.online") == 1)
    }

    @Test func inputPrintAndHealthTravelTheChannel() async throws {
        let harness = try await Harness.make()
        defer { Task { await harness.close() } }
        let (client, _) = try await harness.connect()

        let input = Task {
            await harness.fixture.post("/v1/device/input", ["prompt": "Tip?", "inputType": "NUMERIC", "timeoutMs": 5000],
                                       key: harness.key)
        }
        let prompt = try await Self.answerNext(client, kind: "input") { _ in
            ["type": "result", "result": ["value": "42", "cancelled": false, "timedOut": false]]
        }
        #expect(prompt["payload"]?["timeoutMs"] == 5000)
        #expect(await input.value.json == ["value": "42", "cancelled": false, "timedOut": false])

        let print = Task { await harness.fixture.post("/v1/device/print", ["lines": [["text": "Receipt"]], "cutPaper": true], key: harness.key) }
        let job = try await Self.answerNext(client, kind: "print") { _ in
            ["type": "result", "error": ["code": "PAPER_OUT", "message": "No paper"]]
        }
        #expect(job["payload"]?["cutPaper"] == true)
        TerminalDeviceTests.expectError(await print.value, 502, "TERMINAL_ERROR")

        let health = Task { await harness.fixture.get("/v1/device/health", key: harness.key) }
        _ = try await Self.answerNext(client, kind: "health") { _ in
            ["type": "result", "result": ["serialNumber": "SN-9876543210", "firmwareVersion": "1.4.3", "batteryLevel": 55,
                                          "connectivity": ["method": "CELLULAR", "signalStrength": -90, "networkName": "Carrier"],
                                          "uptime": 90000]]
        }
        let answered = await health.value
        #expect(answered.status == 200)
        #expect(answered.json["connected"] == true)
        #expect(answered.json["terminalId"] == .string(Self.terminalId))
        #expect(answered.json["batteryLevel"] == 55)
        #expect(answered.json["connectivity"]?["method"] == "CELLULAR")
        #expect(answered.json["uptime"] == 90000)
        // The registry keeps the newest report.
        #expect(try await harness.record()?.report.firmwareVersion == "1.4.3")
        try await onThread { try client.sendClose(code: 1000) }
        #expect(try await harness.eventually { try await harness.events("terminal.offline") == 1 })
    }

    @Test func silentTerminalsTimeOut() async throws {
        let harness = try await Harness.make(limits: TerminalLimits(commandTimeoutMilliseconds: 300, inputGraceMilliseconds: 200))
        defer { Task { await harness.close() } }
        let (client, _) = try await harness.connect()
        let display = Task { await harness.fixture.post("/v1/device/display", ["lines": [["text": "x"]]], key: harness.key) }
        let command = try await Self.answerNext(client, kind: "display") { _ in nil }
        TerminalDeviceTests.expectError(await display.value, 504, "TERMINAL_TIMEOUT")
        let cancel = try await onThread { try Self.readJSON(client) }
        #expect(cancel == ["type": "cancel", "id": command["id"] ?? .null])

        // A38 over the channel: the terminal never answers the prompt; past timeoutMs + grace the server answers.
        let started = ContinuousClock.now
        let input = Task {
            await harness.fixture.post("/v1/device/input", ["prompt": "Tip?", "inputType": "NUMERIC", "timeoutMs": 1000],
                                       key: harness.key)
        }
        _ = try await Self.answerNext(client, kind: "input") { _ in nil }
        #expect(await input.value.json == ["value": nil, "cancelled": false, "timedOut": true])
        #expect(ContinuousClock.now - started >= .milliseconds(1200))
        // A late answer is ignored.
        try await onThread {
            try Self.send(client, ["type": "result", "id": command["id"] ?? .null, "result": ["success": true]])
        }
        try await onThread { try client.sendClose(code: 1000) }
        #expect(try await harness.eventually { try await harness.events("terminal.offline") == 1 })
    }

    @Test func aNewerConnectionReplacesTheOldOneWithoutGoingOffline() async throws {
        let harness = try await Harness.make()
        defer { Task { await harness.close() } }
        let (first, _) = try await harness.connect()
        let (second, _) = try await harness.connect()
        let closed = try await onThread { first.readUntilClose().frame }
        #expect(closed?.closeCode == 4000)
        try await Task.sleep(for: .milliseconds(200))
        #expect(try await harness.events("terminal.offline") == 0)
        #expect(try await harness.events("terminal.online") == 1)
        #expect(try await harness.record()?.isOnline == true)
        // Commands go to the newer connection.
        let display = Task { await harness.fixture.post("/v1/device/display", ["lines": [["text": "x"]]], key: harness.key) }
        _ = try await Self.answerNext(second, kind: "display") { _ in ["type": "result", "result": ["success": true]] }
        #expect(await display.value.status == 200)
        try await onThread { try second.sendClose(code: 1000) }
        #expect(try await harness.eventually { try await harness.events("terminal.offline") == 1 })
    }

    @Test func twoConnectionsAtOnceGiveOneOnlineAndOneOfflineEvent() async throws {
        let harness = try await Harness.make()
        defer { Task { await harness.close() } }
        async let first = harness.connect()
        async let second = harness.connect()
        let (clientA, _) = try await first
        let (clientB, _) = try await second
        let clients = [clientA, clientB]
        #expect(try await harness.events("terminal.online") == 1)
        // Exactly one of them was replaced (4000); the other still answers commands.
        let display = Task { await harness.fixture.post("/v1/device/display", ["lines": [["text": "x"]]], key: harness.key) }
        let frames = try await onThread { clients.map { $0.readFrame() } }
        let replaced = frames.filter { $0?.closeCode == 4000 }.count
        #expect(replaced == 1)
        let survivor = try #require(zip(clients, frames).first { $0.1?.opcode == 0x1 })
        let command = try JSONDecoder().decode(JSONValue.self, from: Data(survivor.1?.payload ?? []))
        try await onThread {
            try Self.send(survivor.0, ["type": "result", "id": command["id"] ?? .null, "result": ["success": true]])
        }
        #expect(await display.value.status == 200)
        try await onThread { try survivor.0.sendClose(code: 1000) }
        #expect(try await harness.eventually { try await harness.events("terminal.offline") == 1 })
        #expect(try await harness.events("terminal.online") == 1)
    }

    @Test func aTerminalWithTooManyCommandsWaitingIsBusy() async throws {
        let harness = try await Harness.make(limits: TerminalLimits(commandTimeoutMilliseconds: 5_000, pendingCommandsPerTerminalMax: 1))
        defer { Task { await harness.close() } }
        let (client, _) = try await harness.connect()
        let first = Task { await harness.fixture.post("/v1/device/print", ["lines": [["text": "1"]]], key: harness.key) }
        _ = try await Self.answerNext(client, kind: "print") { _ in nil }
        let second = await harness.fixture.post("/v1/device/print", ["lines": [["text": "2"]]], key: harness.key,
                                                idempotencyKey: "busy-1")
        TerminalDeviceTests.expectError(second, 409, "TERMINAL_BUSY")
        TerminalDeviceTests.expectError(await first.value, 504, "TERMINAL_TIMEOUT")
        // Busy is transient: the same Idempotency-Key runs again once the terminal has room.
        let retry = Task {
            await harness.fixture.post("/v1/device/print", ["lines": [["text": "2"]]], key: harness.key, idempotencyKey: "busy-1")
        }
        _ = try await onThread { try Self.readJSON(client) }   // the first print's cancel
        _ = try await Self.answerNext(client, kind: "print") { _ in ["type": "result", "result": ["success": true]] }
        #expect(await retry.value.status == 200)
        try await onThread { try client.sendClose(code: 1000) }
        #expect(try await harness.eventually { try await harness.events("terminal.offline") == 1 })
    }

    @Test func badHellosAndMessagesAreRefused() async throws {
        let harness = try await Harness.make()
        defer { Task { await harness.close() } }
        // A hello without connectivity: an error message naming the field, then close 1008; never online.
        var hello = Self.hello
        if case .object(var members) = hello { members["connectivity"] = nil; hello = .object(members) }
        let (client, error) = try await harness.connect(hello: hello)
        #expect(error["type"] == "error")
        #expect(error["error"] == "MISSING_FIELD")
        #expect(error["details"]?["field"] == "connectivity")
        #expect(try await onThread { client.readUntilClose().frame?.closeCode } == 1008)
        #expect(try await harness.record() == nil)
        #expect(try await harness.events("terminal.online") == 0)

        // After a good hello: an unknown message type is an error message and the channel stays open.
        let (good, _) = try await harness.connect()
        let answer = try await onThread {
            try Self.send(good, ["type": "dance"])
            return try Self.readJSON(good)
        }
        #expect(answer["error"] == "INVALID_REQUEST")
        #expect(answer["details"]?["field"] == "type")
        // An oversize message closes the channel with 1009, and the terminal goes offline.
        let code = try await onThread {
            try good.sendText("{\"type\":\"status\",\"pad\":\"" + String(repeating: "x", count: 17 * 1024) + "\"}")
            return good.readUntilClose().frame?.closeCode
        }
        #expect(code == 1009)
        #expect(try await harness.eventually { try await harness.events("terminal.offline") == 1 })
    }

    @Test func statusReportsUpdateTheRegistryAtMostOncePerInterval() async throws {
        let harness = try await Harness.make(limits: TerminalLimits(statusIntervalMillisecondsMin: 60_000))
        defer { Task { await harness.close() } }
        let (client, _) = try await harness.connect()
        guard case .object(var members) = Self.hello else { return }
        members["type"] = "status"
        members["batteryLevel"] = 50
        let first = JSONValue.object(members)
        members["batteryLevel"] = 40
        let second = JSONValue.object(members)
        try await onThread { try Self.send(client, first) }
        #expect(try await harness.eventually { try await harness.record()?.report.batteryLevel == 50 })
        // A second report within the interval is taken but not written; a health command answered after it (with
        // an error, so it writes nothing) proves the report was handled (messages are handled in order).
        try await onThread { try Self.send(client, second) }
        let health = Task { await harness.fixture.get("/v1/device/health", key: harness.key) }
        _ = try await Self.answerNext(client, kind: "health") { _ in ["type": "result", "error": ["code": "BUSY"]] }
        TerminalDeviceTests.expectError(await health.value, 502, "TERMINAL_ERROR")
        #expect(try await harness.record()?.report.batteryLevel == 50)
        // A bad status is an error message naming the field; the channel stays open.
        let error = try await onThread { () throws -> JSONValue in
            try Self.send(client, ["type": "status", "serialNumber": "SN-1"])
            return try Self.readJSON(client)
        }
        #expect(error["type"] == "error")
        #expect(error["error"] == "MISSING_FIELD")
        try await onThread { try client.sendClose(code: 1000) }
        #expect(try await harness.eventually { try await harness.events("terminal.offline") == 1 })
    }

    @Test func silentAndBinaryConnectionsAreClosed() async throws {
        let harness = try await Harness.make(limits: TerminalLimits(helloTimeoutMilliseconds: 300))
        defer { Task { await harness.close() } }
        let port = harness.port, key = harness.key
        let silent = try await onThread { () throws -> UInt16? in
            let client = try RawWebSocketClient(port: port)
            _ = try client.open("/v1/device/channel?apiKey=\(key)")
            return client.readUntilClose().frame?.closeCode
        }
        #expect(silent == 1008)
        let (client, _) = try await harness.connect()
        let binary = try await onThread { () throws -> UInt16? in
            try client.sendFrame(opcode: 0x2, payload: [1, 2, 3])
            return client.readUntilClose().frame?.closeCode
        }
        #expect(binary == 1003)
        #expect(try await harness.eventually { try await harness.events("terminal.offline") == 1 })
        #expect(try await harness.events("terminal.online") == 1)
    }

    @Test func theChannelNeedsATerminalBoundCredential() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let unbound = await fixture.client.send(.get, "/v1/device/channel?apiKey=\(fixture.testKey)", headers: SessionTests.upgradeHeaders)
        TerminalDeviceTests.expectError(unbound, 403, "FORBIDDEN")
        #expect(unbound.webSocket == nil)
        let readOnly = await fixture.client.send(.get, "/v1/device/channel?apiKey=\(fixture.readOnlyKey)",
                                                 headers: SessionTests.upgradeHeaders)
        #expect(readOnly.status == 403)
        let bound = await fixture.client.send(.get, "/v1/device/channel?apiKey=\(fixture.terminalKey)", headers: SessionTests.upgradeHeaders)
        #expect(bound.status == 101)
    }
}

/// An event log writer for reads that append nothing.
struct NoEvents: EventLogWriter {
    func append(_ events: [DomainEvent], in executor: any SQLExecutor) async throws(DatabaseError) {
        precondition(events.isEmpty, "reads append nothing")
    }
    func appendStatement(selectingFrom relation: StaticString) -> SQL { "" }
    func appendCommitted() {}
    func markApplied(eventId: TypedID, consumer: String, in executor: any SQLExecutor) async throws(DatabaseError) -> Bool { true }
}
