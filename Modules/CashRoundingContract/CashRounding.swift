public import Foundation
public import Kernel

// The cash-rounding contract. Transactions (and any other module that takes cash) rounds through
// `CashRounding` without importing Rounding; Rounding provides the implementation
// (`CashRoundingEngine`) and registers it in the bootstrap's `ContractRegistry`. Only value types
// live here, so the contract stays cheap to depend on.

/// A rounding method. Raw values are exactly the strings of the public API (`cash_rounding_mode`
/// and the jurisdiction `rounding_mode` enum), so requests and responses map 1:1.
public enum CashRoundingMode: String, Sendable, Hashable, Codable, CaseIterable {
    /// Last digit 0→0; 1,2→down to 0; 3,4→up to 5; 5→5; 6,7→down to 5; 8,9→up to 10.
    case swedishRounding = "swedish_rounding"
    /// 0–2 down, 3–7 to the nearest nickel, 8–9 up ("revenue-neutral").
    case symmetricalRounding = "symmetrical_rounding"
    /// Always down to a multiple of 5 ("favors the customer").
    case mandatoryRoundDown = "mandatory_round_down"
    /// Always up to a multiple of 5 ("favors the merchant").
    case mandatoryRoundUp = "mandatory_round_up"
    /// Nearest multiple of 5, half up.
    case nearestNickel = "nearest_nickel"
    /// Nearest cent: the identity on whole cents (jurisdiction enum only).
    case nearestCent = "nearest_cent"
    /// Nearest multiple of 10, half up (jurisdiction enum only).
    case nearestDime = "nearest_dime"
    /// The ledger total passes through unchanged.
    case none = "none"

    /// The values a request may send as `cash_rounding_mode` (the transaction enum has no
    /// `nearest_cent`/`nearest_dime`; those appear only in jurisdiction rules).
    public static let requestModes: [CashRoundingMode] = [
        .swedishRounding, .mandatoryRoundDown, .mandatoryRoundUp, .symmetricalRounding, .nearestNickel, .none,
    ]
}

/// One split-tender line: `{ "type": ..., "amount_cents": ... }`.
public struct TenderAmount: Sendable, Hashable, Codable {
    public var type: TenderType
    public var amountMinorUnits: Int64

    public init(type: TenderType, amountMinorUnits: Int64) {
        self.type = type
        self.amountMinorUnits = amountMinorUnits
    }
}

/// `compliance_status`: PASS (all checks OK), WARN (soft flag, still processed), FAIL (critical).
public enum ComplianceStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case pass = "PASS"
    case warn = "WARN"
    case fail = "FAIL"
}

/// Where the sale happens. Resolution order: ZIP → city → county → state → federal default; a
/// known ZIP wins over the other fields. All fields optional; nothing known → federal default + WARN.
public struct CashRoundingLocation: Sendable, Hashable, Codable {
    /// 5-digit ZIP (a ZIP+4 such as "85001-1234" is accepted; the +4 part is ignored).
    public var zipCode: String?
    /// 2-letter state code such as "AZ".
    public var state: String?
    public var county: String?
    public var city: String?

    public init(zipCode: String? = nil, state: String? = nil, county: String? = nil, city: String? = nil) {
        self.zipCode = zipCode
        self.state = state
        self.county = county
        self.city = city
    }
}

/// One cash-rounding question: a transaction total, how it is paid, and where.
public struct CashRoundingRequest: Sendable, Hashable {
    /// subtotal + tax, before rounding (`ledger_total_cents`); negative for a reversal.
    public var ledgerTotalMinorUnits: Int64
    public var currency: Currency
    public var paymentMethod: TenderType
    /// Split-tender lines; empty when not split. When present they must sum to the ledger total.
    public var tenders: [TenderAmount]
    public var location: CashRoundingLocation
    /// `cash_rounding_mode` ("testing only" override); must be one of `CashRoundingMode.requestModes`.
    public var modeOverride: CashRoundingMode?
    /// `jurisdiction` such as "US-AZ", sent with `modeOverride` on the explicit-override path.
    public var jurisdictionOverride: String?
    /// The merchant's configured method for operator-choice jurisdictions (Indiana SB 243).
    public var merchantSelectedMode: CashRoundingMode?

    /// A split tender is one with a `tenders` array; callers reject `is_split_tender: true` without one.
    public var isSplitTender: Bool { !tenders.isEmpty }

    public init(ledgerTotalMinorUnits: Int64, currency: Currency = .usd, paymentMethod: TenderType,
                tenders: [TenderAmount] = [], location: CashRoundingLocation = CashRoundingLocation(),
                modeOverride: CashRoundingMode? = nil, jurisdictionOverride: String? = nil,
                merchantSelectedMode: CashRoundingMode? = nil) {
        self.ledgerTotalMinorUnits = ledgerTotalMinorUnits
        self.currency = currency
        self.paymentMethod = paymentMethod
        self.tenders = tenders
        self.location = location
        self.modeOverride = modeOverride
        self.jurisdictionOverride = jurisdictionOverride
        self.merchantSelectedMode = merchantSelectedMode
    }
}

/// The outcome, shaped like the `calculation` object of `POST /transaction`.
public struct CashRoundingResult: Sendable, Hashable, Codable {
    /// `ledger_total_cents`: subtotal + tax, never changed by rounding.
    public var ledgerTotalMinorUnits: Int64
    /// `cash_total_cents`: what is paid in total (ledger + delta; for a split tender the rounded cash
    /// part plus the untouched non-cash parts).
    public var cashTotalMinorUnits: Int64
    /// `rounding_delta_cents` = cash total − ledger total (only the cash part's adjustment).
    public var deltaMinorUnits: Int64
    /// The cash part before rounding (equals the ledger total unless split).
    public var cashPortionLedgerMinorUnits: Int64
    /// The cash part after rounding.
    public var cashPortionRoundedMinorUnits: Int64
    /// `cash_rounding_mode` actually applied (`none` when nothing was rounded).
    public var mode: CashRoundingMode
    /// `jurisdiction`, e.g. "US-AZ"; "US" for the federal default.
    public var jurisdictionID: String
    /// Legislation of the rule used, e.g. "AZ HB 2938"; nil for the federal default.
    public var legislation: String?
    /// `rounding_applied`: true when a rounding method other than `none` was run on a cash part.
    public var roundingApplied: Bool
    /// `ebt_compliance_flag` text for EBT transactions (7 CFR 278.2), else nil.
    public var ebtComplianceFlag: String?
    public var complianceStatus: ComplianceStatus
    /// Why the status is not PASS, e.g. "unverified jurisdiction fallback". Safe to show.
    public var complianceNotes: [String]

    public init(ledgerTotalMinorUnits: Int64, cashTotalMinorUnits: Int64, deltaMinorUnits: Int64,
                cashPortionLedgerMinorUnits: Int64, cashPortionRoundedMinorUnits: Int64, mode: CashRoundingMode,
                jurisdictionID: String, legislation: String?, roundingApplied: Bool, ebtComplianceFlag: String?,
                complianceStatus: ComplianceStatus, complianceNotes: [String]) {
        self.ledgerTotalMinorUnits = ledgerTotalMinorUnits
        self.cashTotalMinorUnits = cashTotalMinorUnits
        self.deltaMinorUnits = deltaMinorUnits
        self.cashPortionLedgerMinorUnits = cashPortionLedgerMinorUnits
        self.cashPortionRoundedMinorUnits = cashPortionRoundedMinorUnits
        self.mode = mode
        self.jurisdictionID = jurisdictionID
        self.legislation = legislation
        self.roundingApplied = roundingApplied
        self.ebtComplianceFlag = ebtComplianceFlag
        self.complianceStatus = complianceStatus
        self.complianceNotes = complianceNotes
    }

    /// The void/reversal record: every amount negated, so the delta mirrors the original
    /// (+2 → −2). Reversals never re-resolve the jurisdiction: the original's rule is what is undone.
    public func reversal() -> CashRoundingResult {
        var reversed = self
        reversed.ledgerTotalMinorUnits = -ledgerTotalMinorUnits
        reversed.cashTotalMinorUnits = -cashTotalMinorUnits
        reversed.deltaMinorUnits = -deltaMinorUnits
        reversed.cashPortionLedgerMinorUnits = -cashPortionLedgerMinorUnits
        reversed.cashPortionRoundedMinorUnits = -cashPortionRoundedMinorUnits
        return reversed
    }
}

/// Why a rounding request is invalid; each maps to 400 `VALIDATION_ERROR`.
public enum CashRoundingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// `payment_method: "ebt"` with a `cash_rounding_mode` other than `none` (7 CFR 278.2).
    case ebtRoundingModeNotAllowed
    /// A `cash_rounding_mode` outside the request enum (e.g. `nearest_dime`).
    case modeNotAllowedInRequest(CashRoundingMode)
    /// Split tender: the `tenders` array is empty or does not add up to the ledger total.
    case tendersDoNotMatchTotal(tendersMinorUnits: Int64, ledgerMinorUnits: Int64)
    /// An amount outside ±`CashRoundingLimits.amountMagnitudeMaxMinorUnits`.
    case amountOutOfRange
    /// `jurisdiction` is not "US" or "US-" + a known 2-letter state code.
    case invalidJurisdiction(String)
    /// Cash rounding is defined for 2-decimal currencies only (USD cents).
    case unsupportedCurrency(String)

    public var field: String {
        switch self {
        case .ebtRoundingModeNotAllowed, .modeNotAllowedInRequest: "cash_rounding_mode"
        case .tendersDoNotMatchTotal: "tenders"
        case .amountOutOfRange: "subtotal_cents"
        case .unsupportedCurrency: "currency"
        case .invalidJurisdiction: "jurisdiction"
        }
    }

    public var description: String {
        switch self {
        case .ebtRoundingModeNotAllowed:
            "cash_rounding_mode must be none for EBT transactions (7 CFR 278.2)"
        case .modeNotAllowedInRequest(let mode):
            "cash_rounding_mode \(mode.rawValue) is not allowed in a transaction request"
        case .tendersDoNotMatchTotal(let tenders, let ledger):
            "tenders add up to \(tenders) but the ledger total is \(ledger)"
        case .amountOutOfRange:
            "amount is out of range"
        case .unsupportedCurrency(let code):
            "cash rounding is not supported for \(code)"
        case .invalidJurisdiction:
            "jurisdiction must look like US-AZ"
        }
    }
}

public enum CashRoundingLimits {
    /// Largest |amount| accepted: $10 trillion in cents. Keeps every rounding far from Int64 overflow.
    public static let amountMagnitudeMaxMinorUnits: Int64 = 1_000_000_000_000_000
}

/// Rounds cash tenders by jurisdiction rules. Implemented by Rounding's `CashRoundingEngine`.
public protocol CashRounding: Sendable {
    /// Full transaction semantics: cash only, split tender, EBT rules, overrides, jurisdiction.
    func round(_ request: CashRoundingRequest, on date: Date) throws(CashRoundingError) -> CashRoundingResult
}

extension CashRounding {
    /// A plain cash sale of `amountMinorUnits` at `location`: the common Transactions call.
    /// Out-of-range amounts and non-cent currencies come back unrounded with status FAIL.
    public func roundCash(amountMinorUnits: Int64, currency: Currency, location: CashRoundingLocation,
                          on date: Date) -> CashRoundingResult {
        let request = CashRoundingRequest(ledgerTotalMinorUnits: amountMinorUnits, currency: currency,
                                          paymentMethod: .cash, location: location)
        do {
            return try round(request, on: date)
        } catch {
            return CashRoundingResult(
                ledgerTotalMinorUnits: amountMinorUnits, cashTotalMinorUnits: amountMinorUnits, deltaMinorUnits: 0,
                cashPortionLedgerMinorUnits: amountMinorUnits, cashPortionRoundedMinorUnits: amountMinorUnits,
                mode: .none, jurisdictionID: "US", legislation: nil, roundingApplied: false, ebtComplianceFlag: nil,
                complianceStatus: .fail, complianceNotes: [error.description])
        }
    }
}
