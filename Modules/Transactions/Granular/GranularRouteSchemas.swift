import Kernel

/// The contract of `POST /v1/transaction/initiate` and `/complete` for the generated OpenAPI documents.
enum GranularRouteSchemas {
    typealias Schema = JSONSchema
    typealias Shared = TransactionsRouteSchemas

    static let initiate = RouteSchema(
        "Granular mode: read the card and return its EMV data for the POS's own authorization",
        operationId: "initiateTransaction",
        description: """
            Takes the body of createSale with type SALE or PRE_AUTH and a CARD tender. The card is read (test mode: \
            the sandbox terminal's simulated chip; live mode: the named terminal, over its device channel, with a \
            card_read command) and the transaction waits AWAITING_COMPLETION for \
            \(Int(GranularState.completionTimeoutSeconds)) s: the POS sends `emv.iccData` (ISO 8583 field 55) to its \
            acquirer, then reports the issuer's answer to completeTransaction. Past `expiresAt` the transaction ends \
            as ERROR with errorCode COMPLETION_TIMEOUT.
            """,
        tags: ["Transactions"],
        body: .json(.ref("NewMoneyRequest"), example: ["type": "SALE", "amount": 2500, "currency": "NZD"]),
        responses: [ResponseSchema.ok(.ref("GranularTransaction"), "The card was read; the transaction awaits completion")
                        .linking(["getTransaction", "abortTransaction"], path: "id", fromBodyMember: "transactionId"),
                    .error(409, "The terminal is busy"),
                    .error(502, "Live mode: the terminal could not read the card or answered malformed data (TERMINAL_ERROR)"),
                    .error(503, "Live mode: no terminal is connected to read the card (TERMINAL_OFFLINE)"),
                    .error(504, "Live mode: the terminal did not answer the card read in time (TERMINAL_TIMEOUT)")])

    static let complete = RouteSchema(
        "Granular mode: report the issuer's answer and get the final transaction", operationId: "completeTransaction",
        description: """
            responseCode "00" approves (authorizationCode required); any other ISO 8583 code declines with the \
            matching declineCode (05 DECLINED, 51 INSUFFICIENT_FUNDS, 54 EXPIRED_CARD, …). The answer is the \
            body createSale answers. 409 TRANSACTION_EXPIRED past the deadline, TRANSACTION_NOT_IN_PROGRESS once \
            final, NOT_AWAITING_COMPLETION for an orchestrated transaction still running.
            """,
        tags: ["Transactions"],
        body: .json(.object([
            .required("transactionId", Shared.transactionId),
            .required("responseCode", Schema.string(pattern: GranularValidation.responseCodePattern)
                .described("ISO 8583 field 39 from the issuer")),
            .optional("authorizationCode", Schema.string(pattern: "^[0-9A-Z]{1,\(GranularValidation.authorizationCodeLengthMax)}$")
                .described("ISO 8583 field 38; required when responseCode is 00")),
        ]), example: ["transactionId": "txn_01JRZ8Q0M5V8XK7J4W6H3T2B9C", "responseCode": "00", "authorizationCode": "A1B2C3"]),
        responses: [.ok(.ref("Transaction")), .error(404, "Transaction not found"),
                    .error(409, "Expired, already final, or not a granular transaction")])

    static let components: [String: Schema] = [
        "GranularTransaction": .openObject([
            .required("transactionId", Shared.transactionId), .required("object", .enumeration(["transaction"])),
            .required("status", .enumeration([TransactionStatus.awaitingCompletion.rawValue])),
            .required("type", .enumeration(TransactionsRouteSchemas.granularTypeNames)),
            .required("totalAmount", .integer()), .required("currency", .string()),
            .required("timestamp", Shared.dateTime), .required("livemode", .boolean),
            .required("expiresAt", Shared.dateTime.described("complete before this, or the transaction expires")),
            .required("emv", .ref("EMVData")),
        ]).described("A transaction awaiting the POS's completion, with the card's EMV data"),
        "EMVData": .openObject([
            .required("applicationId", Schema.string(pattern: "^[0-9A-F]{10,32}$")), .required("applicationLabel", .string()),
            .required("cardScheme", .string()), .required("maskedPan", .string(pattern: "^[*]{8,15}[0-9]{4}$")),
            .required("cryptogramType", .enumeration(["ARQC"])),
            .required("applicationCryptogram", Schema.string(pattern: "^[0-9A-F]{16}$").described("Tag 9F26")),
            .required("applicationTransactionCounter", Schema.string(pattern: "^[0-9A-F]{4}$").described("Tag 9F36")),
            .required("unpredictableNumber", Schema.string(pattern: "^[0-9A-F]{8}$").described("Tag 9F37")),
            .required("tags", Schema.map(of: .string(pattern: "^[0-9A-F]*$")).described("EMV tag (hex) → value (hex)")),
            .required("iccData", Schema.string(pattern: "^[0-9A-F]*$").described("BER-TLV of `tags`: ISO 8583 field 55")),
        ]).described("The chip data of the card read; never the PAN (tag 5A is left out)"),
    ]
}

extension TransactionsRouteSchemas {
    static let granularTypeNames = TransactionService.granularTypes.map(\.rawValue).sorted()
}
