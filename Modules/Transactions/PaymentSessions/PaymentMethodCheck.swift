import Foundation
import Kernel

/// The card of a `/functions/v1` confirmation, checked before any acquirer call. The number is held only
/// for the call: it is never stored, logged or echoed (brand and last four are kept).
struct PaymentCard: Sendable {
    let number: String
    let brand: String
    let last4: String
}

/// A US bank account of an ACH confirmation. The account number is held only for the debit: the payment keeps the
/// routing number and the last four digits.
struct BankAccount: Sendable, Hashable {
    let routingNumber: String
    let accountNumber: String
    var last4: String { String(accountNumber.suffix(4)) }
}

/// What a confirmation pays with, once checked.
enum ConfirmedPaymentMethod: Sendable {
    case card(PaymentCard)
    case bankAccount(BankAccount)
}

/// Validates `payment_method` of a confirmation (AP-ERR validation codes: `invalid_expiry`,
/// `missing_required_param`). Pure: the clock's `now` is passed in.
enum PaymentMethodCheck {
    static let cvcDigitsMin = 3
    static let cvcDigitsMax = 4
    static let expiryYearMax = 2_099

    struct CardBody: Decodable, Sendable {
        let number: String?
        let exp_month: Int?
        let exp_year: Int?
        let cvc: String?
    }

    struct BankAccountBody: Decodable, Sendable {
        let routing_number: String?
        let account_number: String?
        let account_holder_name: String?
        let account_holder_type: String?
    }

    struct PaymentMethodBody: Decodable, Sendable {
        let type: String?
        let card: CardBody?
        let bank_account: BankAccountBody?
    }

    /// The types a confirmation can pay with; the others a session may list (apple_pay, google_pay, paypal) are
    /// refused by name.
    static let confirmableTypes = ["card", "bank_account"]
    static let accountNumberDigits = 4...17
    static let holderTypes = ["individual", "company"]

    /// The body's `payment_method.type` (card when absent), before any check: it picks the processor.
    static func requestedType(_ method: PaymentMethodBody?) -> String { method?.type ?? "card" }

    /// Checks the method against the session: a card, or a bank account (automatic capture only: an ACH debit
    /// cannot be held and captured later).
    static func check(_ method: PaymentMethodBody?, allowedTypes: [String], captureMethod: String,
                      now: Date) throws(AtlasError) -> ConfirmedPaymentMethod {
        guard let method else { throw .missingField("payment_method") }
        let type = requestedType(method)
        guard confirmableTypes.contains(type) else {
            throw .invalidField("payment_method.type", "Only card and bank_account payment methods can be confirmed",
                                constraint: "enum")
        }
        guard allowedTypes.contains(type) else {
            throw .invalidField("payment_method.type", "The session does not accept \(type) payments", constraint: "enum")
        }
        guard type == "bank_account" else { return .card(try card(method, now: now)) }
        guard captureMethod == "automatic" else {
            throw .invalidField("payment_method.type", "Bank account payments are captured at once; use capture_method automatic",
                                constraint: "captureMethod")
        }
        return .bankAccount(try bankAccount(method.bank_account))
    }

    /// Routing number: 9 digits with the ABA check digit; account number: 4 to 17 digits. Neither is echoed.
    static func bankAccount(_ body: BankAccountBody?) throws(AtlasError) -> BankAccount {
        guard let body else { throw .missingField("payment_method.bank_account") }
        guard let routing = body.routing_number else { throw .missingField("payment_method.bank_account.routing_number") }
        guard isValidRoutingNumber(routing) else {
            throw AtlasError(kind: .invalidField, status: 400, code: "INVALID_ROUTING_NUMBER",
                             message: "The routing number must be 9 digits with a valid check digit",
                             details: ErrorDetails(field: "payment_method.bank_account.routing_number", constraint: "aba"))
        }
        guard let account = body.account_number else { throw .missingField("payment_method.bank_account.account_number") }
        guard accountNumberDigits.contains(account.utf8.count), account.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
            throw AtlasError(kind: .invalidField, status: 400, code: "INVALID_ACCOUNT_NUMBER",
                             message: "The account number must be 4 to 17 digits",
                             details: ErrorDetails(field: "payment_method.bank_account.account_number", constraint: "pattern"))
        }
        try PaymentSessions.checkText(body.account_holder_name, "payment_method.bank_account.account_holder_name",
                                      max: PaymentSessions.textLengthMax)
        if let holder = body.account_holder_type, !holderTypes.contains(holder) {
            throw .invalidField("payment_method.bank_account.account_holder_type",
                                "account_holder_type must be individual or company", constraint: "enum")
        }
        return BankAccount(routingNumber: routing, accountNumber: account)
    }

    /// ABA: 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) is a multiple of 10.
    static func isValidRoutingNumber(_ text: String) -> Bool {
        let digits = text.utf8.map { Int($0) - 48 }
        guard digits.count == 9, digits.allSatisfy({ (0...9).contains($0) }) else { return false }
        let weights = [3, 7, 1, 3, 7, 1, 3, 7, 1]
        return zip(digits, weights).map { pair in pair.0 * pair.1 }.reduce(0, +) % 10 == 0
    }

    static func card(_ method: PaymentMethodBody, now: Date) throws(AtlasError) -> PaymentCard {
        guard let card = method.card else { throw .missingField("payment_method.card") }
        guard let number = card.number else { throw .missingField("payment_method.card.number") }
        guard PAN.isValid(number) else {
            throw AtlasError(kind: .invalidField, status: 400, code: "INVALID_NUMBER",
                             message: "The card number must be 12 to 19 digits and pass the Luhn check",
                             details: ErrorDetails(field: "payment_method.card.number", constraint: "luhn"))
        }
        try checkExpiry(month: card.exp_month, year: card.exp_year, now: now)
        guard let cvc = card.cvc else { throw .missingField("payment_method.card.cvc") }
        guard (cvcDigitsMin...cvcDigitsMax).contains(cvc.utf8.count), cvc.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
            throw AtlasError(kind: .invalidField, status: 400, code: "INVALID_CVC", message: "The CVC must be 3 or 4 digits",
                             details: ErrorDetails(field: "payment_method.card.cvc", constraint: "pattern"))
        }
        return PaymentCard(number: number, brand: PAN.scheme(number).lowercased(), last4: String(number.suffix(4)))
    }

    /// A card is valid through the last day of its expiry month (UTC).
    static func checkExpiry(month: Int?, year: Int?, now: Date) throws(AtlasError) {
        guard let month else { throw .missingField("payment_method.card.exp_month") }
        guard let year else { throw .missingField("payment_method.card.exp_year") }
        let calendar = Calendar(identifier: .gregorian)
        let today = calendar.dateComponents(in: TimeZone(secondsFromGMT: 0) ?? .current, from: now)
        let thisYear = today.year ?? 0
        let thisMonth = today.month ?? 0
        guard (1...12).contains(month), (thisYear...expiryYearMax).contains(year),
              year > thisYear || month >= thisMonth else {
            throw AtlasError(kind: .invalidField, status: 400, code: "INVALID_EXPIRY",
                             message: "The card's expiry date is invalid or in the past",
                             details: ErrorDetails(field: "payment_method.card.exp_month", constraint: "expiry"))
        }
    }
}
