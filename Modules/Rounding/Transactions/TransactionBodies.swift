import CashRoundingContract
import Foundation
import Kernel

/// `POST /transaction` body (§1.1). Every field is optional at decode time so the checks run in the
/// documented order and name the field (`merchant_id is required`); wrong JSON types are reported by
/// the decoder (`subtotal_cents must be an integer`).
struct TransactionBody: Decodable {
    let merchantId: String?
    let subtotalCents: Int64?
    let taxTotalCents: Int64?
    let paymentMethod: String?
    let zipCode: String?
    let state: String?
    let county: String?
    let city: String?
    let cashRoundingMode: String?
    let jurisdiction: String?
    let storeId: String?
    let terminalId: String?
    let employeeId: String?
    let isSplitTender: Bool?
    let tenders: [TenderBody]?

    enum CodingKeys: String, CodingKey {
        case merchantId = "merchant_id", subtotalCents = "subtotal_cents", taxTotalCents = "tax_total_cents"
        case paymentMethod = "payment_method", zipCode = "zip_code", state, county, city
        case cashRoundingMode = "cash_rounding_mode", jurisdiction, storeId = "store_id", terminalId = "terminal_id"
        case employeeId = "employee_id", isSplitTender = "is_split_tender", tenders
    }

    struct TenderBody: Decodable {
        let type: String?
        let amountCents: Int64?
        enum CodingKeys: String, CodingKey { case type, amountCents = "amount_cents" }
    }
}

/// A validated sale.
struct SaleInput: Sendable {
    var merchantId: String
    var subtotalCents: Int64
    var taxTotalCents: Int64
    var paymentMethod: TenderType
    var location: CashRoundingLocation
    var modeOverride: CashRoundingMode?
    var jurisdiction: String?
    var storeId: String?
    var terminalId: String?
    var employeeId: String?
    var tenders: [TenderAmount]

    var ledgerTotalCents: Int64 { subtotalCents + taxTotalCents }

    init(_ body: TransactionBody) throws(AtlasError) {
        merchantId = try FieldCheck.identifier(body.merchantId, "merchant_id")
        subtotalCents = try FieldCheck.cents(body.subtotalCents, "subtotal_cents")
        taxTotalCents = try FieldCheck.cents(body.taxTotalCents, "tax_total_cents")
        paymentMethod = try FieldCheck.oneOf(body.paymentMethod, "payment_method", TenderType.roundingPaymentMethods)
        location = CashRoundingLocation(zipCode: try SaleInput.zip(body.zipCode), state: try SaleInput.state(body.state),
                                        county: try FieldCheck.optionalText(body.county, "county"),
                                        city: try FieldCheck.optionalText(body.city, "city"))
        modeOverride = try body.cashRoundingMode.map { raw throws(AtlasError) in
            try FieldCheck.oneOf(raw, "cash_rounding_mode", CashRoundingMode.requestModes)
        }
        jurisdiction = try FieldCheck.optionalIdentifier(body.jurisdiction, "jurisdiction")
        storeId = try FieldCheck.optionalIdentifier(body.storeId, "store_id")
        terminalId = try FieldCheck.optionalIdentifier(body.terminalId, "terminal_id")
        employeeId = try FieldCheck.optionalIdentifier(body.employeeId, "employee_id")
        tenders = try SaleInput.tenders(body)
    }

    static func zip(_ value: String?) throws(AtlasError) -> String? {
        guard let value else { return nil }
        let digits = value.utf8.filter { $0 >= 48 && $0 <= 57 }.count
        let valid = (value.utf8.count == 5 && digits == 5)
            || (value.utf8.count == 10 && digits == 9 && value.utf8[value.utf8.index(value.utf8.startIndex, offsetBy: 5)] == 45)
        guard valid else {
            throw AtlasError.invalidField("zip_code", "zip_code must be a 5-digit ZIP code", constraint: "format")
        }
        return value
    }

    static func state(_ value: String?) throws(AtlasError) -> String? {
        guard let value else { return nil }
        guard value.utf8.count == 2, value.unicodeScalars.allSatisfy({ $0.properties.isAlphabetic && $0.isASCII }) else {
            throw AtlasError.invalidField("state", "state must be a 2-letter state code such as AZ", constraint: "format")
        }
        return value.uppercased()
    }

    /// `is_split_tender: true` needs a non-empty `tenders`; `tenders` without it is refused too, so a
    /// client never believes it split a payment that was rounded as a whole.
    static func tenders(_ body: TransactionBody) throws(AtlasError) -> [TenderAmount] {
        let split = body.isSplitTender ?? false
        guard let lines = body.tenders else {
            if split { throw AtlasError.missingField("tenders") }
            return []
        }
        guard split else {
            throw AtlasError.invalidField("is_split_tender", "is_split_tender must be true when tenders are sent",
                                          constraint: "required")
        }
        guard !lines.isEmpty, lines.count <= FieldCheck.tendersMax else {
            throw AtlasError.invalidField("tenders", "tenders must hold 1 to \(FieldCheck.tendersMax) items", constraint: "size")
        }
        var result: [TenderAmount] = []
        for (index, line) in lines.enumerated() {
            let type: TenderType = try FieldCheck.oneOf(line.type, "tenders[\(index)].type", TenderType.roundingPaymentMethods)
            let amount = try FieldCheck.cents(line.amountCents, "tenders[\(index)].amount_cents")
            result.append(TenderAmount(type: type, amountMinorUnits: amount))
        }
        return result
    }

    func engineRequest(merchantMode: CashRoundingMode?) -> CashRoundingRequest {
        CashRoundingRequest(ledgerTotalMinorUnits: ledgerTotalCents, paymentMethod: paymentMethod, tenders: tenders,
                            location: location, modeOverride: modeOverride, jurisdictionOverride: jurisdiction,
                            merchantSelectedMode: merchantMode)
    }

    /// The request as recorded in the chain.
    var recordJSON: JSONValue {
        func optional(_ text: String?) -> JSONValue { text.map(JSONValue.string) ?? .null }
        return [
            "subtotal_cents": .int(subtotalCents), "tax_total_cents": .int(taxTotalCents),
            "payment_method": .string(paymentMethod.rawValue), "zip_code": optional(location.zipCode),
            "state": optional(location.state), "county": optional(location.county), "city": optional(location.city),
            "cash_rounding_mode": optional(modeOverride?.rawValue), "jurisdiction": optional(jurisdiction),
            "store_id": optional(storeId), "terminal_id": optional(terminalId), "employee_id": optional(employeeId),
            "is_split_tender": .bool(!tenders.isEmpty),
            "tenders": .array(tenders.map { ["type": .string($0.type.rawValue), "amount_cents": .int($0.amountMinorUnits)] }),
        ]
    }
}

struct VoidBody: Decodable {
    let originalTransactionId: String?
    let voidReason: String?
    let voidedBy: String?
    enum CodingKeys: String, CodingKey {
        case originalTransactionId = "original_transaction_id", voidReason = "void_reason", voidedBy = "voided_by"
    }
}

struct RefundBody: Decodable {
    let originalTransactionId: String?
    let refundAmount: Int64?
    let voidReason: String?
    let voidedBy: String?
    enum CodingKeys: String, CodingKey {
        case originalTransactionId = "original_transaction_id", refundAmount = "refund_amount"
        case voidReason = "void_reason", voidedBy = "voided_by"
    }
}

struct OverrideBody: Decodable {
    let transactionId: String?
    let employeeId: String?
    let employeeName: String?
    let reason: String?
    let newCashTotalCents: Int64?
    enum CodingKeys: String, CodingKey {
        case transactionId = "transaction_id", employeeId = "employee_id", employeeName = "employee_name", reason
        case newCashTotalCents = "new_cash_total_cents"
    }
}

/// Reasons exactly as the spec lists them.
enum VoidReason: String, CaseIterable {
    case customerChangedMind = "customer_changed_mind", pricingError = "pricing_error"
    case duplicateTransaction = "duplicate_transaction", employeeError = "employee_error"
    case fraudSuspected = "fraud_suspected"
}

enum RefundReason: String, CaseIterable {
    case defectiveProduct = "defective_product", customerDissatisfied = "customer_dissatisfied"
    case wrongItem = "wrong_item", priceAdjustment = "price_adjustment"
}

enum OverrideReason: String, CaseIterable {
    case customerRequest = "customer-request", managerDiscretion = "manager-discretion"
    case pricingError = "pricing-error", systemError = "system-error"
}
