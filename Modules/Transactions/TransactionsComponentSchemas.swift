import CashRoundingContract
import Kernel

/// The field rules and named component schemas the Transactions route declarations share: the sale request,
/// the transaction (`TransactionRecord.json`, `TransactionService.inFlightJSON`) and the payment session
/// (`PaymentSessions.json`).
extension TransactionsRouteSchemas {
    static let dateTime = Schema.string(format: "date-time")
    /// `TypedID.matches(.transaction)`: `txn_` and a ULID (26 Crockford base-32 characters, the first 0–7).
    static let ulid = "[0-7][0-9A-HJKMNP-TV-Z]{25}"
    static let transactionId = Schema.string(pattern: "^txn_\(ulid)$").example("txn_01JRZ8Q0M5V8XK7J4W6H3T2B9C")
    static let sessionId = Schema.string(pattern: "^sess_\(ulid)$")
    /// `SaleValidation.checkTerminal`: 1–64 printable ASCII characters without spaces.
    static let terminalId = Schema.string(pattern: "^[!-~]+$", lengthMin: 1, lengthMax: SaleLimits.terminalIdLengthMax)
    /// `PAN.isValid`: 12–19 digits passing the Luhn check (not expressible here: a failing one is INVALID_CARD_NUMBER).
    static let cardNumber = Schema.string(pattern: "^[0-9]{12,19}$").described("12 to 19 digits, Luhn-valid")
    static let currency = Schema.enumeration(Currency.exponentsByCode.keys.sorted()).described("ISO 4217 code")
    static let amount = Schema.integer(minimum: 1, maximum: SaleLimits.defaultAmountCeilingMinorUnits)
        .described("Minor units (cents)")
    static let text = Schema.string(lengthMax: PaymentSessions.textLengthMax)
    static let url = Schema.string(lengthMax: PaymentSessions.urlLengthMax)
    static let customer = Schema.object([
        .optional("email", .string(lengthMax: PaymentSessions.emailLengthMax)), .optional("name", text),
    ])
    /// `SaleValidation.checkMetadata`: flat, string values of at most 500 characters, 50 keys, 8 KiB in all.
    static let metadata = Schema.map(of: Schema.oneOf([
        .string(lengthMax: SaleLimits.metadataValueLengthMax), .number(), .boolean,
    ]).nullable()).nullable().described(
        "Up to \(SaleLimits.metadataKeysMax) keys of 1 to \(SaleLimits.metadataKeyLengthMax) characters; "
            + "at most \(SaleLimits.metadataBytesMax) bytes serialized")

    static func enumeration<Value: RawRepresentable>(_ values: [Value]) -> Schema where Value.RawValue == String {
        .enumeration(values.map(\.rawValue))
    }

    /// `{"data": […], "hasMore", "nextCursor"}`, the shape of every Commerce list.
    static func page(of item: Schema) -> Schema {
        .object([
            .required("data", .array(of: item)), .required("hasMore", .boolean),
            .required("nextCursor", Schema.string().nullable().described("Pass as `cursor` for the next page")),
        ])
    }

    static let components: [String: Schema] = saleComponents.merging([
        "SaleRequest": saleRequest,
        "Transaction": transaction,
        "Rounding": .object([
            .required("ledgerTotal", .integer()), .required("cashTotal", .integer()), .required("roundingDelta", .integer()),
            .required("mode", .string()), .required("jurisdiction", .string()), .required("complianceStatus", .string()),
        ]).described("Cash rounding of a CASH tender"),
    ]) { first, _ in first }

    static let nullableString = Schema.string().nullable()

    /// One variant per kind of `type` (`SaleValidation`): new money (SALE, PRE_AUTH: amount > 0), follow-ups
    /// (REFUND, VOID, PRE_AUTH_COMPLETE: an originalTransactionId; VOID may send 0 for the whole original) and
    /// reads (CARD_READ, BALANCE_INQUIRY: amount 0).
    /// Each variant and shared member is a named component, so generated clients get one model per shape.
    static let saleRequest = Schema.oneOf([.ref("NewMoneyRequest"), .ref("FollowUpRequest"), .ref("ReadRequest")])
    static let saleComponents: [String: Schema] = [
        "NewMoneyRequest": saleVariant([.sale, .preAuth], amount: .integer(minimum: 1), original: nil),
        "FollowUpRequest": saleVariant([.refund, .void, .preAuthComplete], amount: .integer(minimum: 0),
                                       original: .required("originalTransactionId", transactionId)),
        "ReadRequest": saleVariant([.cardRead, .balanceInquiry], amount: .integer(minimum: 0, maximum: 0), original: nil),
        "Card": .object([
            .required("number", cardNumber), .optional("expiryMonth", .integer(minimum: 1, maximum: 12)),
            .optional("expiryYear", Schema.integer(minimum: 0, maximum: 2099).described("YY (0–99) or YYYY (2000–2099)")),
        ]).described("Test mode: stands in for the card the terminal reads; never stored or echoed"),
        "Location": .object([
            .optional("zipCode", .string()), .optional("state", .string()), .optional("county", .string()),
            .optional("city", .string()),
        ]).described("Where a cash payment is rounded (defaults to the merchant's location)"),
    ]

    static func saleVariant(_ types: [TransactionType], amount: Schema, original: Schema.Property?) -> Schema {
        .object([
            .required("type", enumeration(types)), .required("amount", amount.described("Minor units")),
            .required("currency", currency),
        ] + (original.map { [$0] } ?? []) + saleOptions)
    }

    static let saleOptions: [Schema.Property] = [
        .optional("tender", Schema.enumeration(TenderType.commerceTenders.map(\.commerceCode))),
        .optional("cashbackAmount", Schema.integer(minimum: 0).described("SALE with a CARD tender only")),
        .optional("tipAmount", Schema.integer(minimum: 0).described("SALE and PRE_AUTH_COMPLETE only")),
        .optional("entryMode", enumeration(EntryMode.allCases)),
        .optional("referenceId", Schema.string(pattern: "^[^\\x00-\\x1F\\x7F]*$", lengthMax: SaleLimits.referenceIdLengthMax)),
        .optional("metadata", metadata), .optional("terminalId", terminalId),
        .optional("card", .ref("Card")), .optional("location", .ref("Location")),
    ]

    static let transaction = Schema.object([
        .required("transactionId", transactionId), .required("object", .enumeration(["transaction"])),
        .required("status", enumeration(TransactionStatus.allCases)), .required("type", enumeration(TransactionType.allCases)),
        .required("totalAmount", .integer()), .required("currency", .string()), .required("timestamp", dateTime),
        .required("livemode", .boolean),
        .optional("amount", .integer()), .optional("tipAmount", .integer()), .optional("cashbackAmount", .integer()),
        .optional("tender", Schema.enumeration(TenderType.commerceTenders.map(\.commerceCode))),
        .optional("entryMode", nullableString), .optional("referenceId", nullableString),
        .optional("originalTransactionId", nullableString), .optional("terminalId", nullableString),
        .optional("cardScheme", nullableString), .optional("maskedPan", nullableString),
        .optional("authorizationCode", nullableString), .optional("responseCode", nullableString),
        .optional("declineCode", nullableString), .optional("errorCode", nullableString),
        .optional("refundedAmount", .integer(minimum: 0)), .optional("completionTransactionId", nullableString),
        .optional("voidTransactionId", nullableString), .optional("metadata", Schema.any),
        .optional("settled", .boolean), .optional("rounding", Schema.ref("Rounding").nullable()),
        .optional("balance", Schema.integer().described("Stored value and BALANCE_INQUIRY")),
        .optional("abortRequested", Schema.boolean.described("IN_PROGRESS only")),
    ]).described("Every member but the in-progress ones is present on a final transaction (null when not applicable)")
}

