import Foundation
import IdempotencyContract
import Kernel

/// `GET /v1/device/health`, `POST /v1/device/display`, `/v1/device/input` and `/v1/device/print` (spec §3.3): each
/// validates its body, picks the terminal's endpoint (its connected channel; else the channel another instance holds,
/// through the relay; else, in test mode, the sandbox terminal; else 503 TERMINAL_OFFLINE) and answers what the
/// terminal answered. `/v1/session`'s display and input actions run the same handlers.
struct TerminalsService: Sendable {
    let channels: TerminalChannels
    /// Reaches a terminal whose channel another instance holds.
    let relay: TerminalRelay
    let store: TerminalStore
    let limits: TerminalLimits
    let clock: any WallClock
    /// The sandbox terminals' boot time (their `uptime` counts from it).
    let sandboxBootedAt: Date

    // MARK: Routes

    func health(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let address = try terminalAddress(requested: request.queryParameters["terminalId"], context: context)
        let endpoint = try await resolveEndpoint(for: address)
        let command = TerminalCommand(kind: .health, payload: [:], waitMilliseconds: limits.commandTimeoutMilliseconds)
        let result = try Self.answer(try await run(command, on: endpoint, context: context))
        let report: DeviceReport
        do {
            report = try DeviceReport.parse(result)
        } catch {
            throw TerminalErrors.failed("MALFORMED_HEALTH")
        }
        // Written only while that channel still holds the row (a relayed answer names the holder's channel).
        if let holder = (endpoint as? TerminalChannel)?.id ?? (endpoint as? RelayedTerminal)?.channelId {
            try await store.updateReport(address, report: report, channelId: holder, now: clock.now())
        }
        var body = report.json
        body["connected"] = .bool(result["connected"]?.boolValue ?? true)
        body["terminalId"] = .string(address.terminalId)
        let lastTransaction = try await store.lastTransactionTime(address)
        body["lastTransactionTime"] = lastTransaction.map { JSONValue.string(Timestamp.iso8601($0)) } ?? .null
        return .json(.object(body))
    }

    func display(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let body = try request.decodeJSON(DisplayBody.self)
        let command = try TerminalCommands.display(body, limits: limits)
        return try await succeed(command, requested: body.terminalId, context: context)
    }

    func print(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let body = try request.decodeJSON(PrintBody.self)
        let command = try TerminalCommands.print(body, limits: limits)
        return try await succeed(command, requested: body.terminalId, context: context)
    }

    /// Blocks until the cardholder answers, cancels, or `timeoutMs` passes (then `timedOut: true`, not an error: A38).
    func input(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let body = try request.decodeJSON(InputBody.self)
        let command = try TerminalCommands.input(body, limits: limits)
        let endpoint = try await resolveEndpoint(for: try terminalAddress(requested: body.terminalId, context: context))
        let outcome = try await run(command, on: endpoint, context: context)
        if outcome == .timedOut { return .json(InputAnswer.timedOut.json) }
        guard let answer = InputAnswer.parse(try Self.answer(outcome)) else { throw TerminalErrors.failed("MALFORMED_INPUT") }
        return .json(answer.json)
    }

    /// `/v1/session` actions `display` and `input`: the message (the route's body plus `action`) runs through the
    /// route's handler; the answer comes back as an event named after the action.
    func sessionAction(_ action: String, message: String, context: AuthenticatedContext) async throws -> JSONValue {
        // The session's own guard asked for transactions:write; the device routes ask for terminal:write.
        guard context.principal.hasScope("terminal:write") else {
            throw AtlasError.forbidden("display and input need the terminal:write scope")
        }
        let request = Request(method: .post, target: "/v1/device/\(action)", headers: ["Content-Type": "application/json"],
                              body: Array(message.utf8))
        let response: Response
        if action == "input" {
            response = try await input(request, context: context)
        } else {
            response = try await display(request, context: context)
        }
        guard case .object(var event) = response.bodyJSON ?? .null else { throw AtlasError.internalError() }
        event["event"] = .string(action)
        return .object(event)
    }

    // MARK: Terminal and endpoint

    /// The credential's terminal wins; a request naming another is refused (as sales do). An unbound credential
    /// names the terminal in `terminalId`.
    func terminalAddress(requested: String?, context: AuthenticatedContext) throws -> TerminalAddress {
        let tenant = context.tenant
        if let bound = context.principal.terminalId {
            if let requested, requested != bound { throw AtlasError.forbidden("This credential is bound to another terminal") }
            return TerminalAddress(tenant: tenant, terminalId: bound)
        }
        guard let requested else { throw AtlasError.missingField("terminalId") }
        try SaleValidation.checkTerminal(requested)
        return TerminalAddress(tenant: tenant, terminalId: requested)
    }

    /// The simulator rule: a connected channel always wins, on this instance or (through the relay) on the instance
    /// the registry names with a running lease; a test-mode terminal with none is the sandbox terminal; a live
    /// terminal with none is offline.
    func resolveEndpoint(for address: TerminalAddress) async throws -> any TerminalEndpoint {
        if let channel = channels.channel(for: address) { return channel }
        if let relayed = try await relay.remoteEndpoint(for: address) { return relayed }
        guard address.tenant.mode == .test else { throw TerminalErrors.offline }
        return SandboxTerminal(terminalId: address.terminalId, bootedAt: sandboxBootedAt, clock: clock)
    }

    private func succeed(_ command: TerminalCommand, requested: String?, context: AuthenticatedContext) async throws -> Response {
        let endpoint = try await resolveEndpoint(for: try terminalAddress(requested: requested, context: context))
        let result = try Self.answer(try await run(command, on: endpoint, context: context))
        guard result["success"]?.boolValue == true else { throw TerminalErrors.failed("NOT_DONE") }
        return .json(["success": true])
    }

    /// Runs the command. TERMINAL_BUSY is transient: the Idempotency-Key is released (nothing stored), so a retry
    /// with the same key runs, as on sales.
    private func run(_ command: TerminalCommand, on endpoint: any TerminalEndpoint,
                     context: AuthenticatedContext) async throws -> CommandOutcome {
        do throws(AtlasError) {
            return try await endpoint.run(command)
        } catch {
            if error.code == TerminalErrors.busy.code { await context.idempotency?.release() }
            throw error
        }
    }

    /// The terminal's result, or the error its outcome stands for.
    static func answer(_ outcome: CommandOutcome) throws(AtlasError) -> JSONValue {
        switch outcome {
        case .answered(let result): return result
        case .failed(let code, _): throw TerminalErrors.failed(code)
        case .timedOut: throw TerminalErrors.timeout
        case .offline: throw TerminalErrors.offline
        case .busy: throw TerminalErrors.busy
        }
    }
}
