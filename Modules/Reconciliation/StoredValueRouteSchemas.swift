import Kernel

/// The contract of every route in `StoredValueRoutes` (terminal-api A.1), for the Terminal OpenAPI document.
/// Credentials, roles and 401/403/429 are added by the access guard.
enum StoredValueRouteSchemas {
    typealias Schema = JSONSchema

    static let uint32 = Schema.integer(minimum: 0, maximum: Int64(UInt32.max))
    static let unixSeconds = uint32.described("Unix seconds (uint32)")
    static let hex6 = Schema.string(pattern: "^[0-9a-fA-F]{12}$")
    static let cardIdPath = RouteSchema.Parameter.path("cardId", hex6.example("a1b2c3d4e5f6"), "6-byte card id as 12 hex digits")
    static let status = Schema.enumeration(CardStatus.allCases.map(\.rawValue))
    static let operatorId = Schema.string(lengthMin: 1, lengthMax: CardLimits.operatorIdBytesMax)

    static let register = RouteSchema(
        "Register a new card (station)", operationId: "registerCard", tags: ["Cards"],
        body: .json(.object([
            .required("cardId", hex6), .required("userId", uint32.described("An active member (uint32)")),
            .required("name", Schema.string(lengthMin: 1, lengthMax: CardLimits.nameBytesMax).described("At most 32 bytes of UTF-8")),
            .required("createdAt", unixSeconds), .required("keyVersion", .integer(minimum: 0, maximum: 255)),
        ]), example: ["cardId": "a1b2c3d4e5f6", "userId": 1001, "name": "Ibu Sari", "createdAt": 1_764_000_000, "keyVersion": 1]),
        responses: [
            .created(.object([.required("cardId", hex6), .required("userId", uint32), .required("status", status),
                              .required("balance", .integer()), .required("createdAt", unixSeconds)])),
            .error(409, "card_already_registered"), .error(422, "invalid_user: not an active member"),
        ])
    static let read = RouteSchema(
        "A card's state (any role, scout included)", operationId: "getCard", tags: ["Cards"], path: [cardIdPath],
        responses: [.ok(.ref("Card")), .error(404, "card_not_found (also for another tenant's card)")])
    static let topUp = RouteSchema(
        "Top up a card online (station)", operationId: "topUpCard", tags: ["Cards"], path: [cardIdPath],
        body: .json(.object([
            .required("amount", Schema.integer(minimum: 1, maximum: Int64(UInt32.max)).described("Minor units")),
            .required("operatorId", operatorId), .required("timestamp", unixSeconds),
        ]), example: ["amount": 100_000, "operatorId": "opr_1", "timestamp": 1_764_000_000]),
        responses: [
            .ok(.object([.required("cardId", hex6), .required("balanceBefore", .integer()), .required("balanceAfter", .integer()),
                         .required("amount", .integer()), .required("timestamp", unixSeconds)])),
            .error(404, "card_not_found"), .error(422, "balance_ceiling_exceeded or card_blocked"),
        ])
    static let block = RouteSchema(
        "Block a card (station): BLOCKED_ADMIN", operationId: "blockCard", tags: ["Cards"], path: [cardIdPath],
        body: .json(.object([
            .required("reason", .enumeration(BlockBody.reasons)), .required("operatorId", operatorId),
            .required("timestamp", unixSeconds),
        ]), example: ["reason": "lost", "operatorId": "opr_1", "timestamp": 1_764_000_000]),
        responses: [
            .ok(.object([.required("cardId", hex6), .required("status", status), .required("blockedAt", unixSeconds),
                         .required("reason", .enumeration(BlockBody.reasons))])),
            .error(404, "card_not_found"), .error(409, "already_blocked"),
        ])
    static let reissue = RouteSchema(
        "Reissue a blocked card (station)", operationId: "reissueCard",
        description: "BLOCKED_TAMPER and BLOCKED_FRAUD need a one-time authCode from `atlas admin card-reissue-code`.",
        tags: ["Cards"], path: [cardIdPath],
        body: .json(.object([
            .required("operatorId", operatorId), .optional("authCode", Schema.string(lengthMax: CardLimits.authCodeBytesMax)),
            .required("timestamp", unixSeconds),
        ]), example: ["operatorId": "opr_1", "authCode": "rac_0123456789abcdef0123456789abcdef", "timestamp": 1_764_000_000]),
        responses: [
            .ok(.object([.required("cardId", hex6), .required("reissueGranted", .boolean),
                         .required("newKeyVersion", .integer(minimum: 0, maximum: 255)), .required("timestamp", unixSeconds)])),
            .error(403, "reissue_not_authorised"), .error(404, "card_not_found"),
            .error(422, "card_not_blocked or invalid_user"),
        ])
    static let reconcile = RouteSchema(
        "Submit a batch of offline card events", operationId: "reconcile",
        description: "At most \(ReconcileLimits.batchEventsMax) events, each card's counters ascending. Rejections and "
            + "review flags are listed per event in `flags`; 409 duplicate_counter when every event was reconciled before.",
        tags: ["Reconciliation"],
        body: .json(.object([
            .required("terminalId", Schema.integer(minimum: 0, maximum: Int64(UInt16.max)).described("The caller's terminal number")),
            .required("events", .array(of: .object([
                .required("cardId", hex6), .required("counter", Schema.integer(minimum: 0)),
                .required("type", .enumeration(OfflineEventType.allCases.map(\.rawValue))),
                .required("amount", uint32), .required("balanceAfter", uint32), .required("timestamp", unixSeconds),
                .required("hash", hex6.described("6-byte chain hash")),
            ]), itemsMax: ReconcileLimits.batchEventsMax)),
        ]), example: ["terminalId": 2, "events": [["cardId": "a1b2c3d4e5f6", "counter": 18, "type": "debit", "amount": 15_000,
                                                   "balanceAfter": 335_000, "timestamp": 1_764_000_100, "hash": "0a1b2c3d4e5f"]]]),
        responses: [
            .ok(.object([
                .required("accepted", .integer(minimum: 0)), .required("rejected", .integer(minimum: 0)),
                .required("flagged", .integer(minimum: 0)),
                .required("flags", .array(of: .object([.required("cardId", hex6), .required("counter", .integer()),
                                                       .required("reason", .string())]))),
            ])),
            .error(409, "duplicate_counter: every event already reconciled"),
        ])
    static let report = RouteSchema(
        "Report a terminal-side incident", operationId: "terminalReport", tags: ["Reconciliation"],
        body: .json(.object([
            .required("terminalId", Schema.integer(minimum: 0, maximum: Int64(UInt16.max))),
            .optional("cardId", hex6.nullable()), .required("eventType", .enumeration(ReportHandlers.eventTypes)),
            .optional("details", Schema.string(lengthMax: ReportHandlers.detailsBytesMax).nullable()),
            .optional("counter", Schema.integer(minimum: 0).nullable()), .required("timestamp", unixSeconds),
        ]), example: ["terminalId": 2, "cardId": "a1b2c3d4e5f6", "eventType": "replay", "details": "counter went back",
                      "counter": 18, "timestamp": 1_764_000_000]),
        responses: [.noContent("Stored (and acted on)")])

    static let components: [String: Schema] = [
        "Card": .object([
            .required("cardId", hex6), .required("userId", uint32), .required("status", status),
            .required("balance", Schema.integer().described("Minor units; below zero only by an uncovered offline debit")),
            .required("counter", .integer(minimum: 0)), .required("createdAt", unixSeconds),
            .required("lastActivity", unixSeconds.nullable()),
        ]),
    ]
}
