import Kernel

/// The contract of the device routes (spec §2 rows 1, 8–10; §3.3) and of the device channel, for the generated
/// OpenAPI documents. Limits come from `TerminalLimits` and the enums from the values the handlers validate with.
enum TerminalRouteSchemas {
    typealias Schema = JSONSchema
    private static let terminalId = TransactionsRouteSchemas.terminalId
        .described("Only for a credential bound to no terminal (a bound one uses its own; naming another is 403)")

    static let components: [String: Schema] = [
        "DeviceLine": .object([
            .required("text", .string(lengthMax: TerminalLimits.lineTextLengthMax)),
            .optional("alignment", TransactionsRouteSchemas.enumeration(LineAlignment.allCases)),
            .optional("fontSize", TransactionsRouteSchemas.enumeration(LineFontSize.allCases)),
            .optional("bold", .boolean),
        ]),
        "DeviceSuccess": .object([.required("success", .boolean)]),
    ]

    private static let terminalErrors: [ResponseSchema] = [
        .error(409, "TERMINAL_BUSY: too many commands wait for this terminal's answers"),
        .error(502, "TERMINAL_ERROR: the terminal could not run the command"),
        .error(503, "TERMINAL_OFFLINE: a live-mode terminal with no connected device channel"),
        .error(504, "TERMINAL_TIMEOUT: the terminal did not answer in time"),
    ]

    static let health = RouteSchema(
        "Terminal health, battery, connectivity and firmware", operationId: "getDeviceHealth",
        description: "Asks the terminal (or, in test mode with no terminal connected, the sandbox terminal) for its health.",
        tags: ["Device"], query: [.query("terminalId", terminalId)],
        responses: [ResponseSchema.ok(.object([
            .required("connected", .boolean), .required("terminalId", .string()),
            .optional("serialNumber", .string()), .optional("firmwareVersion", .string()),
            .optional("batteryLevel", Schema.integer(minimum: 0, maximum: 100).nullable().described("null for mains power")),
            .optional("connectivity", .object([
                .required("method", TransactionsRouteSchemas.enumeration(ConnectivityMethod.allCases)),
                .optional("signalStrength", Schema.integer().nullable().described("dBm; null for wired links")),
                .optional("networkName", Schema.string().nullable()),
            ])),
            .optional("lastTransactionTime", TransactionsRouteSchemas.dateTime.nullable()),
            .optional("uptime", Schema.integer(minimum: 0).described("Seconds since the terminal last booted")),
        ]), example: ["connected": true, "terminalId": "TID-00012345", "serialNumber": "SN-9876543210",
                      "firmwareVersion": "1.4.2", "batteryLevel": 87,
                      "connectivity": ["method": "WIFI", "signalStrength": -42, "networkName": "StoreNetwork-5G"],
                      "lastTransactionTime": "2026-03-28T09:14:22Z", "uptime": 86400])]
            + terminalErrors)

    static let display = RouteSchema(
        "Show text lines on the terminal's screen", operationId: "displayOnTerminal", tags: ["Device"],
        body: .json(.object([
            .required("lines", .array(of: .ref("DeviceLine"), itemsMax: TerminalLimits.displayLinesMax)
                .described("1 to \(TerminalLimits.displayLinesMax) lines")),
            .optional("duration", Schema.integer(minimum: 0, maximum: TerminalLimits.displayDurationMillisecondsMax)
                .described("Milliseconds; 0 or omitted keeps the text until replaced")),
            .optional("clearPrevious", .boolean), .optional("terminalId", terminalId),
        ]), example: ["lines": [["text": "Welcome", "alignment": "CENTER", "fontSize": "LARGE", "bold": true]],
                      "duration": 10000, "clearPrevious": true]),
        responses: [ResponseSchema.ok(.ref("DeviceSuccess"))] + terminalErrors)

    static let input = RouteSchema(
        "Prompt the cardholder for input (blocks until an answer, a cancel or timeoutMs)", operationId: "requestInput",
        description: "A timeout is not an error: 200 with value null and timedOut true.",
        tags: ["Device"],
        body: .json(.object([
            .required("prompt", .string(lengthMin: 1, lengthMax: TerminalLimits.promptLengthMax)),
            .required("inputType", TransactionsRouteSchemas.enumeration(InputType.allCases)),
            .optional("options", Schema.array(of: .string(lengthMin: 1, lengthMax: TerminalLimits.selectionOptionLengthMax),
                                              itemsMax: TerminalLimits.selectionOptionsMax).described("Required for SELECTION")),
            .optional("minLength", .integer(minimum: 0, maximum: TerminalLimits.inputLengthMax)),
            .optional("maxLength", .integer(minimum: 0, maximum: TerminalLimits.inputLengthMax)),
            .optional("timeoutMs", Schema.integer(minimum: TerminalLimits.inputTimeoutMilliseconds.lowerBound,
                                                  maximum: TerminalLimits.inputTimeoutMilliseconds.upperBound)
                .described("Default \(TerminalLimits.inputTimeoutMillisecondsDefault)")),
            .optional("terminalId", terminalId),
        ]), example: ["prompt": "Enter your phone number", "inputType": "PHONE", "timeoutMs": 30000]),
        responses: [ResponseSchema.ok(.object([
            .required("value", Schema.string().nullable().described("null when cancelled or timed out")),
            .required("cancelled", .boolean), .required("timedOut", .boolean),
        ]), example: ["value": "+15555550100", "cancelled": false, "timedOut": false])] + terminalErrors)

    static let print = RouteSchema(
        "Print on the terminal's thermal printer", operationId: "printOnTerminal", tags: ["Device"],
        body: .json(.object([
            .required("lines", .array(of: .ref("DeviceLine"), itemsMax: TerminalLimits.printLinesMax)
                .described("1 to \(TerminalLimits.printLinesMax) lines")),
            .optional("cutPaper", .boolean), .optional("terminalId", terminalId),
        ]), example: ["lines": [["text": "Thank you", "alignment": "CENTER", "bold": true]], "cutPaper": true]),
        responses: [ResponseSchema.ok(.ref("DeviceSuccess"), "Print job accepted")] + terminalErrors)

    static let channel = RouteSchema(
        "The device channel a terminal keeps open (WebSocket)", operationId: "openDeviceChannel",
        description: """
            A WebSocket (RFC 6455) upgrade for terminals, with a credential bound to a terminal (X-Api-Key, Bearer, or \
            the `apiKey` query parameter). The terminal sends `hello` (its report), then `status` reports and \
            `result` messages answering the server's `command` messages (display, input, print, health) by their `id`. \
            Protocol: docs/terminals.md.
            """,
        tags: ["Device"],
        query: [.query("apiKey", .string(), "A terminal-bound secret key, for clients that cannot set headers")],
        // The handshake is the session's (same headers, same 400/426 answers).
        headers: SessionRouteSchema.session.headerParameters,
        responses: [ResponseSchema(status: 101, description: "Switching Protocols: the channel is open", contentType: nil, body: nil)]
            + SessionRouteSchema.session.responses.filter { $0.status != 101 })
}
