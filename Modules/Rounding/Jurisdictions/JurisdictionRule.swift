public import CashRoundingContract
public import Kernel

/// `jurisdiction_level`. `zip` is an addition to the documented enum (federal/state/county/city)
/// so a rule scoped to one ZIP — the first step of the documented cascade — can be a table row.
public enum JurisdictionLevel: String, Sendable, Hashable, Codable, CaseIterable {
    case federal, state, county, city, zip
}

/// `enforcement`: mandatory = must round (AZ); permissive = may round (IN, WA); voluntary = safe
/// harbor, if you round use the statutory method (TN); none = no retail rounding rule.
public enum RoundingEnforcement: String, Sendable, Hashable, Codable, CaseIterable {
    case mandatory, permissive, voluntary, none
}

/// `status` of the legislation behind a rule. Only `enacted` rules are ever applied.
public enum LegislationStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case enacted, pending, proposed, failed
    case noLegislation = "no_legislation"
}

/// Where a rule applies: a state, optionally narrowed to a county, a city, or one ZIP.
/// Parts are matched case-insensitively; a trailing " County" on the county is ignored.
public struct JurisdictionScope: Sendable, Hashable, Codable {
    /// Two-letter state code; nil only for the federal default.
    public var state: String?
    public var county: String?
    public var city: String?
    public var zipCode: String?

    public init(state: String? = nil, county: String? = nil, city: String? = nil, zipCode: String? = nil) {
        self.state = state
        self.county = county
        self.city = city
        self.zipCode = zipCode
    }

    public var level: JurisdictionLevel {
        if zipCode != nil { return .zip }
        if city != nil { return .city }
        if county != nil { return .county }
        return state == nil ? .federal : .state
    }

    /// `lookup_key` of `GET /jurisdictions`: "AZ", "AZ-Maricopa County", "AZ-Maricopa County-Phoenix",
    /// a ZIP, or "US" for the federal default.
    public var lookupKey: String {
        if let zipCode { return zipCode }
        guard let state else { return "US" }
        return ([state] + [county, city].compactMap { $0 }).joined(separator: "-")
    }

    /// The index key: normalized so request spellings ("maricopa", "Maricopa County") meet.
    var indexKey: String {
        JurisdictionScope.indexKey(state: state, county: county, city: city, zipCode: zipCode)
    }

    static func indexKey(state: String?, county: String?, city: String?, zipCode: String?) -> String {
        if let zipCode { return "ZIP:" + zipCode }
        guard let state else { return "US" }
        var key = normalize(state)
        if let county { key += "|" + normalizeCounty(county) }
        if let city { key += "|" + normalize(city) }
        return key
    }

    static func normalize(_ part: String) -> String {
        part.uppercased().split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
    }

    static func normalizeCounty(_ county: String) -> String {
        let normalized = normalize(county)
        return normalized.hasSuffix(" COUNTY") ? String(normalized.dropLast(7)) : normalized
    }
}

/// One row of law: a rounding rule for a place, in force from `effectiveDate` (inclusive) until
/// `expiryDate` (exclusive). A new or amended law is a new row; history stays queryable by date.
public struct JurisdictionRule: Sendable, Hashable, Codable {
    public var scope: JurisdictionScope
    /// `jurisdiction_id`, e.g. "US-AZ"; "US" for the federal default.
    public var jurisdictionID: String
    /// The engine method (`rounding_mode`). For operator-choice rules, the default when the merchant
    /// has not configured one.
    public var mode: CashRoundingMode
    public var enforcement: RoundingEnforcement
    /// `legislation`, e.g. "AZ HB 2938"; nil for the federal default.
    public var legislation: String?
    public var status: LegislationStatus
    /// nil = always (the federal default).
    public var effectiveDate: CivilDate?
    public var expiryDate: CivilDate?
    /// The statute's method in words, as the enacted-state table states it.
    public var statutoryMethod: String
    /// What the law covers, e.g. "All retail cash", "Alcohol sales only".
    public var coverage: String
    public var notes: String
    public var sourceURL: String
    /// Methods a merchant may configure instead of `mode` (operator choice, Indiana SB 243); empty =
    /// no choice, `mode` always applies.
    public var merchantSelectableModes: [CashRoundingMode]
    /// The receipt must carry a rounding disclosure (WA SHB 2334).
    public var receiptDisclosureRequired: Bool

    public init(scope: JurisdictionScope, jurisdictionID: String, mode: CashRoundingMode,
                enforcement: RoundingEnforcement, legislation: String?, status: LegislationStatus,
                effectiveDate: CivilDate?, expiryDate: CivilDate? = nil, statutoryMethod: String, coverage: String,
                notes: String, sourceURL: String, merchantSelectableModes: [CashRoundingMode] = [],
                receiptDisclosureRequired: Bool = false) {
        self.scope = scope
        self.jurisdictionID = jurisdictionID
        self.mode = mode
        self.enforcement = enforcement
        self.legislation = legislation
        self.status = status
        self.effectiveDate = effectiveDate
        self.expiryDate = expiryDate
        self.statutoryMethod = statutoryMethod
        self.coverage = coverage
        self.notes = notes
        self.sourceURL = sourceURL
        self.merchantSelectableModes = merchantSelectableModes
        self.receiptDisclosureRequired = receiptDisclosureRequired
    }

    public var level: JurisdictionLevel { scope.level }
    public var lookupKey: String { scope.lookupKey }

    /// True when the law is enacted and `date` lies in [effectiveDate, expiryDate).
    public func isInForce(on date: CivilDate) -> Bool {
        guard status == .enacted else { return false }
        if let effectiveDate, date < effectiveDate { return false }
        if let expiryDate, date >= expiryDate { return false }
        return true
    }

    /// The method for a merchant: its configured method when the rule offers that choice, else `mode`.
    /// `accepted` is false when a configured method is not one the rule allows (then `mode` applies).
    public func mode(forMerchantSelection selection: CashRoundingMode?) -> (mode: CashRoundingMode, accepted: Bool) {
        guard let selection else { return (mode, true) }
        guard !merchantSelectableModes.isEmpty else { return (mode, true) }
        return merchantSelectableModes.contains(selection) ? (selection, true) : (mode, false)
    }

    /// The fields of `GET /jurisdiction/zip/{zip}`; `GET /jurisdictions` adds `lookup_key`.
    public func jsonObject(includeLookupKey: Bool = false) -> JSONValue {
        var object: [String: JSONValue] = [
            "jurisdiction_id": .string(jurisdictionID),
            "jurisdiction_level": .string(level.rawValue),
            "rounding_mode": .string(mode.rawValue),
            "enforcement": .string(enforcement.rawValue),
            "legislation": legislation.map(JSONValue.string) ?? .null,
            "status": .string(status.rawValue),
            "effective_date": effectiveDate.map { .string($0.iso8601) } ?? .null,
            "notes": .string(notes),
            "source_url": .string(sourceURL),
        ]
        if includeLookupKey { object["lookup_key"] = .string(lookupKey) }
        return .object(object)
    }
}
