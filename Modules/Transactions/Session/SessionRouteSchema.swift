import Kernel

enum SessionRouteSchema {
    static let session = RouteSchema(
        "Open a transaction session (WebSocket)", operationId: "openSession",
        description: """
            A WebSocket (RFC 6455) upgrade. The credential may be sent as X-Api-Key, Authorization: Bearer, or, on \
            this route only, as the `apiKey` query parameter. Client messages are JSON objects with `action` \
            (sale, pre_auth, card_read, complete, abort; display and input with the body of POST /v1/device/display or \
            /v1/device/input), `amount`, `currency`, `entryMode`, `referenceId`, `granular`, `transactionId`, `responseCode`, \
            `authorizationCode`. Actions run concurrently (an abort reaches a running sale). Server events carry \
            `event`: session (first on every connection: `sessionId`, `resumeToken`, `resumed`, `lastSeq`, \
            `eventsLost`), waiting_for_card, card_detected, processing, online_authorization (granular: `emv`, \
            `expiresAt`), result (with `transaction`), display and input (the device route's answer), error (with \
            `status` and the surface's error body), and \
            heartbeat (every \(Int(SessionLimits().heartbeatIntervalSeconds)) s). Every event but session and \
            heartbeat carries `seq`, numbered per session; reconnect with `resumeToken` and `lastSeq` to receive \
            every kept event after `lastSeq` (the last \(SessionLimits().bufferedEventsMax); the token works for \
            \(Int(SessionLimits().resumeWindowSeconds)) s after the connection ends). An unknown or expired token: \
            an error event RESUME_TOKEN_NOT_FOUND, then close 1008.
            """,
        tags: ["Transactions"],
        query: [.query("apiKey", .string(), "A secret key, for clients that cannot set headers on a WebSocket"),
                .query("resumeToken", .string(pattern: "^rst_[A-Za-z0-9_-]{43}$"), "Continue the session this token names"),
                .query("lastSeq", .integer(minimum: 0), "With resumeToken: the last seq the client processed")],
        headers: [.header("Upgrade", .enumeration(["websocket"]), "Must be websocket", required: true),
                  .header("Sec-WebSocket-Version", .enumeration(["13"]), "Must be 13", required: true),
                  .header("Sec-WebSocket-Key", .string(pattern: "^[A-Za-z0-9+/]{22}==$"),
                          "Base64 of 16 random bytes", required: true)],
        responses: [ResponseSchema(status: 101, description: "Switching Protocols: the session is open",
                                   contentType: nil, body: nil),
                    .error(400, "Malformed handshake (Sec-WebSocket-Key)"),
                    .error(426, "Not a WebSocket handshake, or a version other than 13")])
}
