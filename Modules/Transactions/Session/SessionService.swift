import Foundation
import Kernel

/// `/v1/session` (spec §3.2): a WebSocket on which the POS sends JSON actions and receives the sale's lifecycle
/// as events: `waiting_for_card`, `card_detected`, `processing`, then `result` (the transaction, as the HTTP sale
/// answers it) or `error` (the surface's error body). A sale runs through `TransactionService.sale`, the engine of
/// `POST /v1/transaction/sale`, with a `SaleProgress` in its context; validation, limits, idempotency-free
/// behaviour and error codes are therefore the HTTP route's. With `granular: true` it runs `initiate` instead and
/// ends with `online_authorization` (the EMV data); the `complete` action then runs `POST /v1/transaction/complete`'s
/// engine and answers `result`.
///
/// Each action runs in its own task, so an `abort` or `complete` is handled while a sale runs (at most
/// `SessionLimits.actionsInFlightMax` at once). Events go through the session's `SessionStream`: numbered (`seq`),
/// kept for a resume, sent in order. The first event of a connection is `session` (its resume token); a POS that
/// reconnects with `?resumeToken=…&lastSeq=…` gets every kept event after `lastSeq` (`SessionStreams`). A sale
/// outlives its connection: it runs to its end in a task of its own and its events wait in the buffer.
/// `heartbeat` events come every `heartbeatIntervalSeconds` (the server also pings an idle socket).
/// `display` and `input` go to the terminal through the device routes' handlers (docs/terminals.md).
struct SessionService: Sendable {
    let transactions: TransactionService
    let devices: TerminalsService
    var limits = SessionLimits()
    /// This route's sessions, shared by all its connections (a resume finds its session here).
    let streams = SessionStreams()

    /// A client message: `action` and the sale fields the spec lists.
    struct Action: Decodable {
        var action: String?
        var amount: Int64?
        var currency: String?
        var entryMode: String?
        var referenceId: String?
        var transactionId: String?
        var granular: Bool?
        var responseCode: String?
        var authorizationCode: String?
    }

    static let actions = ["sale", "pre_auth", "card_read", "complete", "display", "input", "abort"]

    func run(_ request: Request, _ context: AuthenticatedContext, _ connection: any WebSocketConnection) async {
        guard let stream = session(request, tenant: context.tenant, context: context, connection) else { return }
        let resumed = request.queryParameters["resumeToken"] != nil
        let (generation, previous) = stream.attach(connection, lastSeq: Self.lastSeq(request), resumed: resumed)
        previous?.close(code: Self.takenOverCode, reason: "Session resumed on another connection")
        let heartbeat = Task { await beat(stream, generation: generation) }
        await withDiscardingTaskGroup { group in
            for await message in connection.messages {
                if let wait = stream.admitAction(at: transactions.services.clock.now()) {
                    // Not numbered and not kept: a flood must not push a sale's events out of the resume buffer.
                    _ = stream.sendUnnumbered(Self.rateLimitedEvent(retryAfterSeconds: wait, context: context),
                                              generation: generation)
                    continue
                }
                guard stream.beginAction() else {
                    stream.emit(Self.errorEvent(Self.sessionBusy, context: context))
                    continue
                }
                // The action's work runs in a task of its own: nothing that happens to this connection or its
                // handler (cancellation included) stops a sale half-way. The group only waits for it.
                let work = Task { await perform(message, context: context, stream: stream) }
                group.addTask { await work.value }
            }
            heartbeat.cancel()
            // The actions still running finish (their events go to this connection while it takes them, else
            // to the buffer); the session then waits `resumeWindowSeconds` for a resume.
        }
        stream.detach(generation: generation, at: transactions.services.clock.now())
    }

    /// The session this connection continues (`?resumeToken=`) or a new one. A bad token is an error event,
    /// then close 1008: the POS must learn its events are gone rather than silently start over.
    private func session(_ request: Request, tenant: TenantContext, context: AuthenticatedContext,
                        _ connection: any WebSocketConnection) -> SessionStream? {
        let now = transactions.services.clock.now()
        guard let token = request.queryParameters["resumeToken"] else {
            return streams.open(tenant: tenant, limits: limits, now: now)
        }
        let lastSeq = request.queryParameters["lastSeq"]
        if let lastSeq, Int64(lastSeq).map({ $0 < 0 }) ?? true {
            refuse(AtlasError.invalidField("lastSeq", "lastSeq must be a non-negative integer", constraint: "minimum"),
                   context: context, connection)
            return nil
        }
        guard let stream = streams.resume(token: token, tenant: tenant, now: now) else {
            refuse(Self.resumeTokenNotFound, context: context, connection)
            return nil
        }
        return stream
    }

    private func refuse(_ error: AtlasError, context: AuthenticatedContext, _ connection: any WebSocketConnection) {
        _ = try? connection.send(json: Self.errorEvent(error, context: context))
        connection.close(code: .policyViolation, reason: error.code)
    }

    static func lastSeq(_ request: Request) -> Int64? { request.queryParameters["lastSeq"].flatMap { Int64($0) } }

    /// `{"event":"heartbeat","timestamp","lastSeq"}` every interval while this attach holds the connection.
    private func beat(_ stream: SessionStream, generation: Int) async {
        let interval = Duration.milliseconds(Int64(limits.heartbeatIntervalSeconds * 1000))
        while (try? await Task.sleep(for: interval)) != nil {
            let event: JSONValue = ["event": "heartbeat", "timestamp": .string(Timestamp.iso8601(transactions.services.clock.now())),
                                    "lastSeq": .int(stream.lastSeq)]
            guard stream.sendUnnumbered(event, generation: generation) else { return }
        }
    }

    /// One action, start to end; its events (or its error) go to the stream.
    private func perform(_ message: WebSocketMessage, context: AuthenticatedContext, stream: SessionStream) async {
        defer { stream.endAction() }
        do {
            for event in try await handle(message, context: context, stream: stream) { stream.emit(event) }
        } catch let error as AtlasError {
            stream.emit(Self.errorEvent(error, context: context))
        } catch {
            stream.emit(Self.errorEvent(.internalError(), context: context))
        }
    }

    private func handle(_ message: WebSocketMessage, context: AuthenticatedContext,
                        stream: SessionStream) async throws -> [JSONValue] {
        guard case .text(let text) = message,
              let action = try? JSONCoding.decoder().decode(Action.self, from: Data(text.utf8)) else {
            throw AtlasError.malformedBody("Each message must be a JSON object with an action")
        }
        guard let name = action.action else { throw AtlasError.missingField("action") }
        switch name {
        case "sale", "pre_auth", "card_read":
            return [try await sale(action, type: name == "sale" ? "SALE" : name == "pre_auth" ? "PRE_AUTH" : "CARD_READ",
                                   context: context, stream: stream)]
        case "abort":
            guard let id = action.transactionId else { throw AtlasError.missingField("transactionId") }
            let response = try await transactions.abort(id, tenant: context.tenant)
            return [Self.resultEvent(response, transactionId: id)]
        case "complete":
            guard action.transactionId != nil else { throw AtlasError.missingField("transactionId") }
            return [try await complete(action, context: context)]
        case "display", "input":
            return [try await devices.sessionAction(name, message: text, context: context)]
        default:
            throw AtlasError.invalidField("action", "action must be one of \(Self.actions.joined(separator: ", "))",
                                          constraint: "enum", value: .string(name))
        }
    }

    /// Runs the sale through the HTTP route's engine (`initiate`'s when granular); the stages arrive as events
    /// while it runs.
    private func sale(_ action: Action, type: String, context: AuthenticatedContext, stream: SessionStream) async throws -> JSONValue {
        var body: [String: JSONValue] = ["type": .string(type)]
        if let amount = action.amount { body["amount"] = .int(amount) }
        if let currency = action.currency { body["currency"] = .string(currency) }
        if let entryMode = action.entryMode { body["entryMode"] = .string(entryMode) }
        if let referenceId = action.referenceId { body["referenceId"] = .string(referenceId) }
        let granular = action.granular == true
        let path = granular ? "/v1/transaction/initiate" : "/v1/transaction/sale"
        let request = Request(method: .post, target: path, headers: ["Content-Type": "application/json"],
                              body: JSONValue.object(body).serialized())
        var saleContext = context
        saleContext.setValue(SaleProgress { stage, transactionId in
            stream.emit(["event": .string(stage.rawValue), "transactionId": .string(transactionId)])
        }, for: SaleProgressSlot.self)
        guard granular else { return Self.resultEvent(try await transactions.sale(request, context: saleContext), transactionId: nil) }
        let pending = try await transactions.initiate(request, context: saleContext).bodyJSON ?? .null
        return ["event": "online_authorization", "transactionId": pending["transactionId"] ?? .null,
                "emv": pending["emv"] ?? .null, "expiresAt": pending["expiresAt"] ?? .null, "transaction": pending]
    }

    /// The issuer's answer for a granular sale, through `POST /v1/transaction/complete`'s engine.
    private func complete(_ action: Action, context: AuthenticatedContext) async throws -> JSONValue {
        var body: [String: JSONValue] = [:]
        if let id = action.transactionId { body["transactionId"] = .string(id) }
        if let code = action.responseCode { body["responseCode"] = .string(code) }
        if let code = action.authorizationCode { body["authorizationCode"] = .string(code) }
        let request = Request(method: .post, target: "/v1/transaction/complete", headers: ["Content-Type": "application/json"],
                              body: JSONValue.object(body).serialized())
        return Self.resultEvent(try await transactions.complete(request, context: context), transactionId: action.transactionId)
    }

    static func resultEvent(_ response: Response, transactionId: String?) -> JSONValue {
        let transaction = response.bodyJSON ?? .null
        let id = transaction["transactionId"]?.stringValue ?? transactionId
        return ["event": "result", "transactionId": id.map { .string($0) } ?? .null, "transaction": transaction]
    }

    /// The error as the HTTP route would render it, under `error`.
    static func errorEvent(_ error: AtlasError, context: AuthenticatedContext) -> JSONValue {
        let rendered = context.errorRenderer.render(error, requestId: context.requestId)
        return ["event": "error", "status": .int(Int64(rendered.status)), "error": rendered.bodyJSON ?? .null]
    }

    static func unsupported(_ what: String) -> AtlasError {
        AtlasError(kind: .custom, status: 501, code: "NOT_IMPLEMENTED", message: "\(what) is not available on this session yet")
    }

    /// Close code for a connection whose session a newer connection resumed (private-use range).
    static let takenOverCode = WebSocketCloseCode(rawValue: 4001)

    /// §6 `RATE_LIMITED` (429, transient) as an error event; `retryAfter` stands for HTTP's `Retry-After` header
    /// (whole seconds, at least 1).
    static func rateLimitedEvent(retryAfterSeconds: TimeInterval, context: AuthenticatedContext) -> JSONValue {
        let seconds = max(1, Int(retryAfterSeconds.rounded(.up)))
        guard case .object(var event) = errorEvent(.rateLimited(retryAfterSeconds: seconds), context: context) else {
            preconditionFailure("error events are objects")
        }
        event["retryAfter"] = .int(Int64(seconds))
        return .object(event)
    }

    static let sessionBusy = AtlasError(kind: .conflict, status: 409, code: "SESSION_BUSY",
                                        message: "Too many actions are running on this session")

    static let resumeTokenNotFound = AtlasError(
        kind: .notFound, status: 404, code: "RESUME_TOKEN_NOT_FOUND",
        message: "The resume token is unknown, expired, or belongs to another merchant or mode",
        details: ErrorDetails(field: "resumeToken", constraint: "exists"))
}
