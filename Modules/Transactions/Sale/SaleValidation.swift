import CashRoundingContract
import Foundation
import Kernel

/// `card` object of a request. In test mode it stands in for the card the terminal would read; the
/// number is validated (Luhn), masked and forgotten: it is never stored, logged or echoed.
struct CardInput: Decodable, Sendable {
    let number: String
    let expiryMonth: Int?
    let expiryYear: Int?
}

struct LocationInput: Decodable, Sendable, Hashable {
    let zipCode: String?
    let state: String?
    let county: String?
    let city: String?

    var kernel: CashRoundingLocation { CashRoundingLocation(zipCode: zipCode, state: state, county: county, city: city) }
}

/// The body of `POST /v1/transaction/sale`, validated field by field.
struct SaleRequest: Decodable, Sendable {
    let type: String
    let amount: Int64?
    let currency: String
    let cashbackAmount: Int64?
    let tipAmount: Int64?
    let entryMode: String?
    let referenceId: String?
    let originalTransactionId: String?
    let metadata: JSONValue?
    let terminalId: String?
    let tender: String?
    let card: CardInput?
    let location: LocationInput?
}

extension SaleRequest {
    /// The body read from the JSON document (`Request.decodeJSON(_:fastPath:)`), or nil when anything in it is not
    /// what this expects, and Foundation's decoder reads it instead (and reports its errors). It builds what the
    /// synthesized `Decodable` builds: unknown members ignored, null as absent for optional members. Integers are
    /// taken below 2^53 only: a larger one written as 1e16 or 9007199254740993.0 is where two parsers may round
    /// differently.
    static func fromDocument(_ document: JSONValue) -> SaleRequest? {
        guard case .object(let members) = document,
              case .string(let type)? = members["type"], case .string(let currency)? = members["currency"],
              let amount = FastField.integer(members["amount"]), let cashback = FastField.integer(members["cashbackAmount"]),
              let tip = FastField.integer(members["tipAmount"]),
              let entryMode = FastField.string(members["entryMode"]), let referenceId = FastField.string(members["referenceId"]),
              let original = FastField.string(members["originalTransactionId"]),
              let terminalId = FastField.string(members["terminalId"]), let tender = FastField.string(members["tender"]),
              let metadata = FastField.metadata(members["metadata"]),
              let card = FastField.card(members["card"]), let location = FastField.location(members["location"])
        else { return nil }
        return SaleRequest(type: type, amount: amount, currency: currency, cashbackAmount: cashback, tipAmount: tip,
                           entryMode: entryMode, referenceId: referenceId, originalTransactionId: original,
                           metadata: metadata, terminalId: terminalId, tender: tender, card: card, location: location)
    }
}

/// One optional member of the fast path: `.some(nil)` when absent or null, `.some(value)` when of the expected type,
/// nil (go to Foundation's decoder) otherwise.
private enum FastField {
    static let exactIntegerMagnitudeMax: UInt64 = 1 << 53

    static func integer(_ value: JSONValue?) -> Int64?? {
        switch value {
        case nil, .null?: .some(nil)
        case .int(let number)? where number.magnitude < exactIntegerMagnitudeMax: .some(number)
        default: nil
        }
    }

    static func string(_ value: JSONValue?) -> String?? {
        switch value {
        case nil, .null?: .some(nil)
        case .string(let text)?: .some(text)
        default: nil
        }
    }

    /// Any JSON but null (absent), with no integer of 2^53 or more at any depth.
    static func metadata(_ value: JSONValue?) -> JSONValue?? {
        guard let value, value != .null else { return .some(nil) }
        return hasOnlyExactIntegers(value) ? .some(value) : nil
    }

    private static func hasOnlyExactIntegers(_ value: JSONValue) -> Bool {
        switch value {
        case .int(let number): number.magnitude < exactIntegerMagnitudeMax
        case .array(let items): items.allSatisfy(hasOnlyExactIntegers)
        case .object(let members): members.values.allSatisfy(hasOnlyExactIntegers)
        case .null, .bool, .double, .string: true
        }
    }

    static func card(_ value: JSONValue?) -> CardInput?? {
        guard let value, value != .null else { return .some(nil) }
        guard case .object(let members) = value, case .string(let number)? = members["number"],
              let month = integer(members["expiryMonth"]), let year = integer(members["expiryYear"]) else { return nil }
        return .some(CardInput(number: number, expiryMonth: month.map { Int($0) }, expiryYear: year.map { Int($0) }))
    }

    static func location(_ value: JSONValue?) -> LocationInput?? {
        guard let value, value != .null else { return .some(nil) }
        guard case .object(let members) = value, let zipCode = string(members["zipCode"]), let state = string(members["state"]),
              let county = string(members["county"]), let city = string(members["city"]) else { return nil }
        return .some(LocationInput(zipCode: zipCode, state: state, county: county, city: city))
    }
}

/// A request after validation: typed, with defaults filled in.
struct ValidatedSale: Sendable {
    let type: TransactionType
    let amount: Int64
    let currency: Currency
    let cashbackAmount: Int64
    let tipAmount: Int64
    let entryMode: EntryMode
    let referenceId: String?
    let originalTransactionId: String?
    let metadata: JSONValue?
    let terminalId: String?
    /// One of `TenderType.commerceTenders`. Card goes to the acquirer; cash is rounded; stored value debits a balance Atlas holds.
    let tender: TenderType
    let cardNumber: String?
    let location: LocationInput?

    /// What the customer's card (or cash drawer) is charged: amount + tip + cashback.
    var totalAmount: Int64 { amount + tipAmount + cashbackAmount }
}

enum SaleValidation {
    /// Checks every rule that needs only the request (400s). State rules live in `TransactionRules`.
    static func validate(_ body: SaleRequest) throws(AtlasError) -> ValidatedSale {
        guard let type = TransactionType(rawValue: body.type) else {
            throw .invalidField("type", "type must be one of \(TransactionType.allCases.map(\.rawValue).joined(separator: ", "))",
                                constraint: "enum", value: .string(String(body.type.prefix(64))))
        }
        guard let amount = body.amount else {
            throw TransactionErrors.invalidAmount("amount is required", constraint: "required", value: nil)
        }
        try checkAmount(amount, type: type)
        guard let currency = Currency(code: body.currency) else {
            throw TransactionErrors.invalidCurrency(body.currency)
        }
        let cashback = try optionalAmount(body.cashbackAmount, field: "cashbackAmount")
        let tip = try optionalAmount(body.tipAmount, field: "tipAmount")
        if cashback > 0 && type != .sale {
            throw .invalidField("cashbackAmount", "cashbackAmount is allowed on SALE transactions only",
                                constraint: "saleOnly", value: .int(cashback))
        }
        if tip > 0 && !(type == .sale || type == .preAuthComplete) {
            throw .invalidField("tipAmount", "tipAmount is allowed on SALE and PRE_AUTH_COMPLETE only",
                                constraint: "notAllowed", value: .int(tip))
        }
        let entryMode = try parseEntryMode(body.entryMode)
        try checkReference(body.referenceId)
        let original = try checkOriginal(body.originalTransactionId, type: type)
        try checkMetadata(body.metadata)
        try checkTerminal(body.terminalId)
        let tender = try parseTender(body.tender, type: type, cashback: cashback)
        let cardNumber = try checkCard(body.card, tender: tender)
        return ValidatedSale(type: type, amount: amount, currency: currency, cashbackAmount: cashback, tipAmount: tip,
                             entryMode: entryMode, referenceId: body.referenceId, originalTransactionId: original,
                             metadata: body.metadata, terminalId: body.terminalId, tender: tender,
                             cardNumber: cardNumber, location: body.location)
    }

    static func checkAmount(_ amount: Int64, type: TransactionType) throws(AtlasError) {
        if type.isZeroAmount {
            guard amount == 0 else {
                throw TransactionErrors.invalidAmount("amount must be 0 for \(type.rawValue)", constraint: "equals0",
                                                      value: amount)
            }
        } else if type == .void {
            guard amount >= 0 else {
                throw TransactionErrors.invalidAmount("amount must not be negative", constraint: "minimum", value: amount)
            }
        } else {
            guard amount > 0 else {
                throw TransactionErrors.invalidAmount("The 'amount' field must be a positive integer", constraint: "minimum",
                                                      value: amount)
            }
        }
    }

    static func optionalAmount(_ value: Int64?, field: String) throws(AtlasError) -> Int64 {
        guard let value else { return 0 }
        guard value >= 0 else {
            throw .invalidField(field, "\(field) must not be negative", constraint: "minimum", value: .int(value))
        }
        return value
    }

    static func parseEntryMode(_ text: String?) throws(AtlasError) -> EntryMode {
        guard let text else { return .auto }
        guard let mode = EntryMode(rawValue: text) else {
            throw .invalidField("entryMode", "entryMode must be CONTACTLESS, CONTACT or AUTO", constraint: "enum",
                                value: .string(String(text.prefix(32))))
        }
        return mode
    }

    static func checkReference(_ referenceId: String?) throws(AtlasError) {
        guard let referenceId else { return }
        guard referenceId.count <= SaleLimits.referenceIdLengthMax else {
            throw .invalidField("referenceId", "referenceId must be at most \(SaleLimits.referenceIdLengthMax) characters",
                                constraint: "maxLength")
        }
        guard !referenceId.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw .invalidField("referenceId", "referenceId must not contain control characters", constraint: "format")
        }
    }

    static func checkOriginal(_ id: String?, type: TransactionType) throws(AtlasError) -> String? {
        guard type.needsOriginal else {
            if id != nil {
                throw .invalidField("originalTransactionId", "originalTransactionId is only allowed on REFUND, VOID and PRE_AUTH_COMPLETE",
                                    constraint: "notAllowed")
            }
            return nil
        }
        guard let id else { throw .missingField("originalTransactionId") }
        guard TypedID(rawValue: id).matches(.transaction) else {
            throw .invalidField("originalTransactionId", "originalTransactionId must be a txn_ id", constraint: "format")
        }
        return id
    }

    static func checkMetadata(_ metadata: JSONValue?) throws(AtlasError) {
        guard let metadata, metadata != .null else { return }
        guard case .object(let object) = metadata else {
            throw .invalidField("metadata", "metadata must be an object", constraint: "type")
        }
        guard object.count <= SaleLimits.metadataKeysMax else {
            throw .invalidField("metadata", "metadata may have at most \(SaleLimits.metadataKeysMax) keys", constraint: "maxProperties")
        }
        for (key, value) in object {
            guard !key.isEmpty, key.count <= SaleLimits.metadataKeyLengthMax else {
                throw .invalidField("metadata", "metadata keys must be 1 to \(SaleLimits.metadataKeyLengthMax) characters",
                                    constraint: "keyLength")
            }
            switch value {
            case .string(let text) where text.count > SaleLimits.metadataValueLengthMax:
                throw .invalidField("metadata.\(key)", "metadata values must be at most \(SaleLimits.metadataValueLengthMax) characters",
                                    constraint: "maxLength")
            case .object, .array:
                throw .invalidField("metadata.\(key)", "metadata values must be strings, numbers, booleans or null",
                                    constraint: "type")
            default: break
            }
        }
        guard metadata.serialized().count <= SaleLimits.metadataBytesMax else {
            throw .invalidField("metadata", "metadata must serialize to at most \(SaleLimits.metadataBytesMax) bytes",
                                constraint: "maxLength")
        }
    }

    static func checkTerminal(_ terminalId: String?) throws(AtlasError) {
        guard let terminalId else { return }
        guard !terminalId.isEmpty, terminalId.count <= SaleLimits.terminalIdLengthMax,
              terminalId.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0.value < 0x7F }) else {
            throw .invalidField("terminalId", "terminalId must be 1 to 64 printable ASCII characters", constraint: "format")
        }
    }

    static func parseTender(_ text: String?, type: TransactionType, cashback: Int64) throws(AtlasError) -> TenderType {
        guard let text else { return .card }
        guard let tender = TenderType(commerceCode: text) else { throw TransactionErrors.unknownTender(String(text.prefix(32))) }
        switch (tender, type) {
        case (.cash, .preAuth), (.cash, .preAuthComplete), (.cash, .cardRead), (.cash, .balanceInquiry),
             (.storedValue, .preAuth), (.storedValue, .preAuthComplete):
            throw .invalidField("tender", "\(tender.commerceCode) tender is not allowed for \(type.rawValue)", constraint: "notAllowed")
        default: break
        }
        if tender != .card && cashback > 0 {
            throw .invalidField("cashbackAmount", "cashbackAmount needs a CARD tender", constraint: "cardOnly", value: .int(cashback))
        }
        return tender
    }

    static func checkCard(_ card: CardInput?, tender: TenderType) throws(AtlasError) -> String? {
        guard let card else { return nil }
        guard tender != .cash else {
            throw .invalidField("card", "card is not allowed with a CASH tender", constraint: "notAllowed")
        }
        guard PAN.isValid(card.number) else {
            // Never echo the number: not in details, not in the message.
            throw AtlasError(kind: .invalidField, status: 400, code: "INVALID_CARD_NUMBER",
                             message: "card.number must be 12 to 19 digits and pass the Luhn check",
                             details: ErrorDetails(field: "card.number", constraint: "luhn"))
        }
        if let month = card.expiryMonth, !(1...12).contains(month) {
            throw .invalidField("card.expiryMonth", "card.expiryMonth must be 1 to 12", constraint: "range", value: .int(Int64(month)))
        }
        // Two-digit (YY) or four-digit (YYYY) years, as card readers report them.
        if let year = card.expiryYear, !(0...99).contains(year), !(2000...2099).contains(year) {
            throw .invalidField("card.expiryYear", "card.expiryYear must be YY (0 to 99) or YYYY (2000 to 2099)",
                                constraint: "range", value: .int(Int64(year)))
        }
        return card.number
    }
}
