import Foundation
import Kernel
import Synchronization

/// `GET /v1/device/channel` (WebSocket): the device channel a physical terminal keeps open (docs/terminals.md).
/// The terminal says hello with its report; the server marks it online (registry + `terminal.online`, one
/// transaction), welcomes it, then sends commands and takes results, status reports and, at the end, marks it
/// offline (`terminal.offline`) unless a newer connection of the same terminal took over.
struct TerminalChannelSession: Sendable {
    let channels: TerminalChannels
    let transitions: TerminalTransitions
    let store: TerminalStore
    let relay: TerminalRelay
    let limits: TerminalLimits
    let services: ModuleServices

    func run(_ request: Request, _ context: RequestContext, _ connection: any WebSocketConnection) async {
        guard let tenant = context.principal?.tenant, let terminalId = context.principal?.terminalId else {
            connection.close(code: .policyViolation, reason: "A terminal-bound credential is required")
            return
        }
        let address = TerminalAddress(tenant: tenant, terminalId: terminalId)
        guard let report = await hello(connection) else { return }
        let channel = TerminalChannel(id: TypedID.generate(prefix: .terminalChannel, clock: services.clock).rawValue,
                                      address: address, connection: connection, limits: limits)
        guard await goOnline(channel, report: report) else {
            connection.close(code: .internalError, reason: "Registry unavailable")
            return
        }
        await serve(channel, connection)
        channel.end()
        await transitions.run(address) {
            channels.detach(channel)
            await goOffline(channel)
        }
    }

    /// Registry first (online, with its event), then the welcome, then this instance routes the terminal's commands
    /// to `channel`; the channel it replaces is closed. False when the registry could not be written.
    /// The relay listens before the registry names this instance, so no relayed command is sent to a deaf holder;
    /// without a listener the row names no instance and other instances answer TERMINAL_OFFLINE as before the relay.
    private func goOnline(_ channel: TerminalChannel, report: DeviceReport) async -> Bool {
        let relayInstance = await relay.ensureListening() ? relay.mailbox.instanceId : nil
        return await transitions.run(channel.address) { () async -> Bool in
            do {
                let now = services.clock.now()
                if try await store.markOnline(channel.address, report: report, channelId: channel.id, now: now,
                                              leaseUntil: now.addingTimeInterval(limits.presenceLeaseSeconds),
                                              relayInstance: relayInstance) {
                    services.eventLog.appendCommitted()
                }
            } catch {
                services.logger.error("device channel: could not mark the terminal online", ["error": .string("\(error)")])
                return false
            }
            channel.send(["type": "welcome", "terminalId": .string(channel.address.terminalId), "channelId": .string(channel.id),
                          "commandTimeoutMs": .int(Int64(limits.commandTimeoutMilliseconds)),
                          "messageBytesMax": .int(Int64(limits.messageBytesMax))])
            channels.attach(channel)?.close(code: Self.replacedCode, reason: "Replaced by a newer connection of this terminal")
            return true
        }
    }

    /// 4000 (private use): this connection was replaced by a newer one of the same terminal.
    static let replacedCode = WebSocketCloseCode(rawValue: 4000)

    /// The first message must be a valid hello within `helloTimeoutMilliseconds`; otherwise the connection is
    /// closed (1008, after an `error` message saying why).
    private func hello(_ connection: any WebSocketConnection) async -> DeviceReport? {
        let timer = Task {
            try? await Task.sleep(for: .milliseconds(limits.helloTimeoutMilliseconds))
            if !Task.isCancelled { connection.close(code: .policyViolation, reason: "No hello in time") }
        }
        defer { timer.cancel() }
        guard let message = await connection.receive() else { return nil }
        do {
            let object = try decode(message, connection: connection)
            guard object["type"]?.stringValue == "hello" else {
                throw AtlasError.invalidField("type", "The first message must be a hello", constraint: "enum")
            }
            return try DeviceReport.parse(object)
        } catch {
            refuse(error, connection: connection)
            connection.close(code: .policyViolation, reason: "Invalid hello")
            return nil
        }
    }

    private func serve(_ channel: TerminalChannel, _ connection: any WebSocketConnection) async {
        var lastStatusWrite = ContinuousClock.now - .seconds(3600)
        for await message in connection.messages {
            do {
                let object = try decode(message, connection: connection)
                switch object["type"]?.stringValue {
                case "result"?: try settle(object, channel: channel)
                case "status"?:
                    let report = try DeviceReport.parse(object)
                    guard ContinuousClock.now - lastStatusWrite >= .milliseconds(limits.statusIntervalMillisecondsMin) else { continue }
                    lastStatusWrite = ContinuousClock.now
                    try await store.updateReport(channel.address, report: report, channelId: channel.id, now: services.clock.now())
                default:
                    throw AtlasError.invalidField("type", "type must be result or status", constraint: "enum")
                }
            } catch ChannelEnd.closed {
                return
            } catch {
                refuse(error, connection: connection)
            }
        }
    }

    /// A `result` settles its command: `result` (the answer) or `error` ({code, message}) with the command's `id`.
    private func settle(_ object: JSONValue, channel: TerminalChannel) throws(AtlasError) {
        guard let id = object["id"]?.stringValue else { throw AtlasError.missingField("id") }
        if let error = object["error"], case .object = error {
            channel.settle(id, .failed(code: error["code"]?.stringValue ?? "UNKNOWN", message: error["message"]?.stringValue ?? ""))
        } else if let result = object["result"] {
            channel.settle(id, .answered(result))
        } else {
            throw AtlasError.missingField("result")
        }
    }

    private enum ChannelEnd: Error { case closed }

    /// A text message within `messageBytesMax` holding a JSON object; binary or oversize messages close the channel.
    private func decode(_ message: WebSocketMessage, connection: any WebSocketConnection) throws -> JSONValue {
        guard case .text(let text) = message else {
            connection.close(code: .unsupportedData, reason: "The device channel speaks JSON text")
            throw ChannelEnd.closed
        }
        guard text.utf8.count <= limits.messageBytesMax else {
            connection.close(code: .messageTooBig, reason: "Message over \(limits.messageBytesMax) bytes")
            throw ChannelEnd.closed
        }
        guard let value = try? JSONCoding.decoder().decode(JSONValue.self, from: Data(text.utf8)), case .object = value else {
            throw AtlasError.malformedBody("Each message must be a JSON object with a type")
        }
        return value
    }

    /// Tells the terminal what was wrong with its message; the channel stays open.
    private func refuse(_ error: any Error, connection: any WebSocketConnection) {
        guard let error = error as? AtlasError else { return }
        var body: [String: JSONValue] = ["type": "error", "error": .string(error.code), "message": .string(error.message)]
        if let details = error.details { body["details"] = details.json }
        try? connection.send(json: .object(body))
    }

    /// Marks the terminal offline after its channel ended (unless a newer channel holds the row). Retried a few
    /// times: the row would otherwise say online until the terminal reconnects.
    private func goOffline(_ channel: TerminalChannel) async {
        for attempt in 1...Self.offlineAttemptsMax {
            do {
                if try await store.markOffline(channel.address, channelId: channel.id, now: services.clock.now()) {
                    services.eventLog.appendCommitted()
                }
                return
            } catch {
                // A closed pool means the process is stopping: the row stays online until the terminal reconnects.
                if let error = error as? DatabaseError, error.kind == .poolClosed { return }
                services.logger.error("device channel: could not mark the terminal offline",
                                      ["attempt": .int(Int64(attempt)), "error": .string("\(error)")])
                try? await Task.sleep(for: .milliseconds(Self.offlineRetryMilliseconds * attempt))
            }
        }
    }

    static let offlineAttemptsMax = 5
    static let offlineRetryMilliseconds = 200
}

/// Refuses the device channel to a credential bound to no terminal (403 before any upgrade): the channel speaks for
/// one terminal, and an unbound key would not say which.
struct TerminalBoundCredential: Middleware {
    func respond(to request: Request, context: RequestContext, next: Handler) async throws -> Response {
        guard context.principal?.terminalId != nil else { throw TerminalErrors.notBound }
        return try await next(request, context)
    }
}
