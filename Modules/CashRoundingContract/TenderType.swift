/// How a customer pays: the one list of tenders for every module. Only `cash` is ever rounded.
///
/// Each API accepts its own subset and spells it its own way, and both spellings are public contract:
/// the cash-rounding API (`payment_method`, split-tender `type`) uses the raw value, lower case
/// (`roundingPaymentMethods`); the Commerce API (`tender`) and the transactions table use `commerceCode`,
/// upper case (`commerceTenders`).
public enum TenderType: String, Sendable, Hashable, Codable, CaseIterable {
    case cash
    case card
    case ebt
    case mobile
    /// A balance Atlas holds (gift card, prepaid account); Commerce API only.
    case storedValue = "stored_value"

    /// What `/api/v1` cash rounding accepts, in the order its error messages list them.
    public static let roundingPaymentMethods: [TenderType] = [.cash, .card, .ebt, .mobile]

    /// What `/v1/transaction/sale` accepts as `tender`.
    public static let commerceTenders: [TenderType] = [.card, .cash, .storedValue]

    /// The Commerce spelling (also the transactions table's `tender`); EBT and mobile are never sent there.
    public var commerceCode: String {
        switch self {
        case .cash: "CASH"
        case .card: "CARD"
        case .ebt: "EBT"
        case .mobile: "MOBILE"
        case .storedValue: "STORED_VALUE"
        }
    }

    /// The Commerce tender spelled `code`, or nil when `code` is not one of `commerceTenders`.
    public init?(commerceCode code: String) {
        switch code {
        case "CARD": self = .card
        case "CASH": self = .cash
        case "STORED_VALUE": self = .storedValue
        default: return nil
        }
    }
}
