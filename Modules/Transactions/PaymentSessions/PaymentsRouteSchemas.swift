import Kernel

/// The `/functions/v1` contract (spec §11) of every payments route, for the generated OpenAPI document.
/// Limits come from the values the handlers validate with (`PaymentSessions`, `PaymentMethodCheck`,
/// `CheckoutSessions`). Credentials, rate-limit headers and Idempotency-Key come from the middleware.
enum PaymentsRouteSchemas {
    typealias Schema = JSONSchema
    typealias Shared = TransactionsRouteSchemas

    static let sessionPath: [RouteSchema.Parameter] = [.path("id", Shared.sessionId)]
    static let sessionResponses: [ResponseSchema] = [
        .ok(.ref("PaymentSession")), .error(404, "No such session"),
        .error(409, "SESSION_UNEXPECTED_STATE: the session is not in the state this step needs"),
    ]

    static let createSession = RouteSchema(
        "Create a payment session (an existing external_id answers its session)", operationId: "createPaymentSession",
        tags: ["Payment sessions"],
        body: .json(.ref("CreatePaymentSession"), example: ["amount": 2000, "currency": "USD", "external_id": "order-1001"]),
        responses: [ResponseSchema.ok(.ref("PaymentSession"))
                        .linking(["getPaymentSession", "updatePaymentSession", "confirmPaymentSession",
                                  "cancelPaymentSession"], path: "id", fromBodyMember: "id")])
    static let getSession = RouteSchema(
        "A payment session with its latest payment attempt", operationId: "getPaymentSession", tags: ["Payment sessions"],
        path: sessionPath, responses: [.ok(.ref("PaymentSession")), .error(404, "No such session")])
    static let updateSession = RouteSchema(
        "Update a session that still requires a payment method; absent fields stay unchanged",
        operationId: "updatePaymentSession", tags: ["Payment sessions"], path: sessionPath,
        body: .json(.object([
            .optional("amount", Shared.amount), .optional("currency", Shared.currency), .optional("description", Shared.text),
            .optional("customer", Shared.customer), .optional("metadata", Shared.metadata),
        ])),
        responses: [.ok(.ref("PaymentSession")), .error(404, "No such session"),
                    .error(409, "The session no longer requires a payment method")])
    static let confirm = RouteSchema(
        "Pay a session with a card (authorized, and captured at once unless capture_method is manual) or a US bank account (ACH, captured at once)",
        operationId: "confirmPaymentSession",
        description: "Test cards (docs/transactions.md): 4242424242424242 succeeds, 4000000000000002 is declined "
            + "(402 card_error, card_declined); a decline leaves the session open for another card. Test bank accounts "
            + "on routing number 110000000: 000123456789 succeeds, 000111111116 fails verification (402 card_error, "
            + "bank_account_verification_failed), 000111111113 is closed (402 card_error, account_closed). A session "
            + "past its expires_at is 409.",
        tags: ["Payment sessions"], path: sessionPath,
        body: .json(.ref("ConfirmPaymentSession"), example: [
            "payment_method": ["type": "card", "card": ["number": "4242424242424242", "exp_month": 12, "exp_year": 2030,
                                                        "cvc": "123"]],
        ]),
        responses: sessionResponses + [.error(402, "card_error: the card was declined or the bank account refused"),
                                       .error(503, "api_error: no card acquirer (acquirer_not_configured) or, in live mode, "
                                                   + "no ACH processor (ach_not_configured)")])
    static let capture = RouteSchema(
        "Capture an authorized session (capture_method manual), all of it or amount_to_capture",
        operationId: "capturePaymentSession", tags: ["Payment sessions"], path: sessionPath,
        body: .json(.object([.optional("amount_to_capture", Shared.amount)]), required: false),
        responses: sessionResponses + [.error(402, "card_error: the capture failed")])
    static let cancel = RouteSchema(
        "Cancel a session that is open or authorized and not captured (the authorization is released)",
        operationId: "cancelPaymentSession", tags: ["Payment sessions"], path: sessionPath, responses: sessionResponses)
    static let createCheckout = RouteSchema(
        "Create a checkout session for line items, paid through a payment session of its own",
        operationId: "createCheckoutSession", tags: ["Checkout sessions"],
        body: .json(.ref("CreateCheckoutSession"), example: [
            "mode": "payment", "currency": "USD", "line_items": [["price": 1500, "quantity": 2]],
            "success_url": "https://shop.example/ok", "cancel_url": "https://shop.example/cancel",
        ]),
        responses: [ResponseSchema.ok(.ref("CheckoutSession"))
                        .linking(["getCheckoutSession"], path: "id", fromBodyMember: "id")])
    static let getCheckout = RouteSchema(
        "A checkout session; status and payment_status follow its payment session", operationId: "getCheckoutSession",
        tags: ["Checkout sessions"], path: [.path("id", checkoutId)],
        responses: [.ok(.ref("CheckoutSession")), .error(404, "No such checkout session")])

    static let checkoutId = Schema.string(pattern: "^chk_\(Shared.ulid)$")
    static let nullableString = Shared.nullableString
    static let unixSeconds = Schema.integer(minimum: 0).described("Unix seconds")

    static let payment = Schema.object([
        .required("id", .string()), .required("object", .enumeration(["payment"])), .required("session_id", Shared.sessionId),
        .required("amount", .integer()), .required("amount_captured", .integer()), .required("currency", .string()),
        .required("status", .enumeration(["authorized", "succeeded", "failed", "canceled"])),
        .required("payment_method_type", .enumeration(PaymentMethodCheck.confirmableTypes)),
        .required("card", Schema.object([.required("brand", .string()), .required("last4", .string())]).nullable()),
        .required("bank_account", Schema.object([.required("routing_number", .string(pattern: "^[0-9]{9}$")),
                                                 .required("last4", .string(pattern: "^[0-9]{4}$"))]).nullable()),
        .required("failure_code", nullableString), .required("decline_code", nullableString),
        .required("created", unixSeconds),
    ])

    static let components: [String: Schema] = [
        "CreatePaymentSession": .object([
            .required("amount", Shared.amount), .required("currency", Shared.currency),
            .optional("external_id", .string(lengthMax: PaymentSessions.externalIdLengthMax)),
            .optional("capture_method", .enumeration(PaymentSessions.captureMethods.sorted())),
            .optional("customer", Shared.customer), .optional("success_url", Shared.url), .optional("cancel_url", Shared.url),
            .optional("payment_method_types", .array(of: .enumeration(PaymentSessions.paymentMethodTypes.sorted()))),
            .optional("metadata", Shared.metadata), .optional("merchant_reference", Shared.text),
            .optional("callback_urls", .map(of: Shared.url)), .optional("description", Shared.text),
            .optional("expires_at", unixSeconds.described("30 minutes to 24 hours ahead; absent: the session never expires. "
                                                          + "Past it an unpaid session is canceled (session.expired)")),
        ]),
        "PaymentSession": .object([
            .required("id", Shared.sessionId), .required("object", .enumeration(["payment_session"])),
            .required("status", .enumeration(["requires_payment_method", "requires_action", "processing", "succeeded",
                                              "failed", "canceled"])),
            .required("amount", .integer()), .required("currency", .string()),
            .required("capture_method", .string()), .required("payment_method_types", .array(of: .string())),
            .required("external_id", nullableString), .required("description", nullableString),
            .required("customer_email", nullableString), .required("customer_name", nullableString),
            .required("success_url", nullableString), .required("cancel_url", nullableString),
            .required("merchant_reference", nullableString), .required("callback_urls", Schema.map(of: .string()).nullable()),
            .required("metadata", Schema.any), .required("livemode", .boolean), .required("created_at", Shared.dateTime),
            .required("amount_received", .integer(minimum: 0)),
            .required("expires_at", unixSeconds.nullable()),
            .required("cancellation_reason", Schema.enumeration(["requested", "expired"]).nullable()),
            .required("latest_payment", payment.nullable().described("The latest confirmation attempt")),
            .optional("client_secret", Schema.string().described("Only in the answer that created the session")),
        ]),
        "ConfirmPaymentSession": .object([
            .required("payment_method", .object([
                .optional("type", Schema.enumeration(PaymentMethodCheck.confirmableTypes).described("card when absent")),
                .optional("bank_account", Schema.object([
                    .required("routing_number", .string(pattern: "^[0-9]{9}$")),
                    .required("account_number", .string(pattern: "^[0-9]{4,17}$")),
                    .optional("account_holder_name", Shared.text),
                    .optional("account_holder_type", .enumeration(PaymentMethodCheck.holderTypes)),
                ]).described("Required when type is bank_account. The account number is never stored or echoed")),
                .optional("card", .object([
                    .required("number", Shared.cardNumber),
                    .required("exp_month", .integer(minimum: 1, maximum: 12)),
                    .required("exp_year", .integer(minimum: 2000, maximum: Int64(PaymentMethodCheck.expiryYearMax))),
                    .required("cvc", .string(pattern: "^[0-9]{3,4}$")),
                ]).described("Never stored or echoed: brand and last four are kept")),
            ])),
        ]),
        "CreateCheckoutSession": .object([
            .optional("mode", Schema.enumeration(CheckoutSessions.modes).described("subscription is refused (400)")),
            .required("currency", Shared.currency),
            .required("line_items", .array(of: .object([
                .required("price", Shared.amount.described("The unit amount in minor units")),
                .required("quantity", .integer(minimum: 1, maximum: CheckoutSessions.quantityMax)),
                .optional("description", Shared.text),
            ]), itemsMax: CheckoutSessions.lineItemsMax)),
            .optional("success_url", Shared.url), .optional("cancel_url", Shared.url),
            .optional("customer", .string(lengthMax: PaymentSessions.externalIdLengthMax)),
            .optional("customer_email", .string(lengthMax: PaymentSessions.emailLengthMax)),
            .optional("allow_promotion_codes", .boolean),
            .optional("discounts", Schema.array(of: .object([.optional("coupon", .string())]), itemsMax: 0)
                .described("No coupons exist: any entry is refused")),
            .optional("expires_at", unixSeconds.described("30 minutes to 24 hours ahead; 24 hours when absent")),
            .optional("metadata", Shared.metadata),
        ]),
        "CheckoutSession": .object([
            .required("id", checkoutId), .required("object", .enumeration(["checkout.session"])),
            .required("url", .string()), .required("mode", .enumeration(["payment"])),
            .required("status", .enumeration(["open", "complete", "expired"])),
            .required("payment_status", .enumeration(["unpaid", "paid"])),
            .required("amount_total", .integer()), .required("currency", .string()),
            .required("line_items", .object([
                .required("object", .enumeration(["list"])), .required("has_more", .boolean),
                .required("data", .array(of: .object([
                    .required("object", .enumeration(["item"])), .required("price", .integer()),
                    .required("quantity", .integer()), .required("description", nullableString),
                    .required("amount_total", .integer()),
                ]))),
            ])),
            .required("customer", nullableString), .required("customer_email", nullableString),
            .required("success_url", nullableString), .required("cancel_url", nullableString),
            .required("allow_promotion_codes", .boolean), .required("expires_at", unixSeconds),
            .required("payment_session", Shared.sessionId), .required("metadata", Schema.any),
            .required("livemode", .boolean), .required("created", unixSeconds),
        ]),
    ]
}
