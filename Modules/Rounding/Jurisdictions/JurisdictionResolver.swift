public import CashRoundingContract
import Kernel

/// The outcome of resolving a location: the rule in force and how sure we are of the place.
public struct JurisdictionResolution: Sendable, Hashable {
    /// The most local rule in force (the federal default when nothing else is).
    public let rule: JurisdictionRule
    /// Two-letter state of the place, when known (from the ZIP table or the request).
    public let state: String?
    /// The ZIP table entry, when the location was resolved from a known ZIP.
    public let zipLocation: ZipLocation?
    /// False when the place could not be verified (unknown/malformed ZIP, unknown state, no location):
    /// the documented "unverified jurisdiction fallback", reported as `compliance_status: WARN`.
    public let verified: Bool
    public let notes: [String]

    public var complianceStatus: ComplianceStatus { verified ? .pass : .warn }

    /// `jurisdiction` of a transaction: the rule's id ("US-AZ"), else "US-" + the known state for a
    /// state without law ("US-TX"), else "US".
    public var jurisdictionID: String {
        if rule.level != .federal { return rule.jurisdictionID }
        return state.map { "US-" + $0 } ?? rule.jurisdictionID
    }
}

/// Resolves a place to the rule in force: ZIP → city → county → state → federal default; the first
/// rule in force wins, so the most local law applies.
public struct JurisdictionResolver: Sendable {
    public let rules: JurisdictionRuleTable
    private let zipTableProvider: @Sendable () -> USZipTable

    /// `zipTable` is a closure so the ZIP table is only parsed when a ZIP is actually looked up.
    public init(rules: JurisdictionRuleTable = .enacted,
                zipTable: @escaping @Sendable () -> USZipTable = { USZipTable.shared }) {
        self.rules = rules
        self.zipTableProvider = zipTable
    }

    /// Resolves a request location. A known ZIP wins over state/county/city. An unknown or malformed
    /// ZIP falls back to the request's state/county/city when given, else to the federal default;
    /// both are unverified (WARN).
    public func resolve(_ location: CashRoundingLocation, on date: CivilDate) -> JurisdictionResolution {
        var notes: [String] = []
        if let zipCode = nonEmpty(location.zipCode) {
            if let place = zipTableProvider().location(zipCode: zipCode) {
                return resolution(for: place, on: date)
            }
            notes.append("unverified jurisdiction fallback: unknown ZIP code")
        }
        guard let state = nonEmpty(location.state)?.uppercased() else {
            if notes.isEmpty { notes.append("unverified jurisdiction fallback: no location given") }
            return JurisdictionResolution(rule: rules.federalDefault, state: nil, zipLocation: nil, verified: false,
                                          notes: notes)
        }
        guard USStateCodes.all.contains(state) else {
            notes.append("unverified jurisdiction fallback: unknown state code")
            return JurisdictionResolution(rule: rules.federalDefault, state: nil, zipLocation: nil, verified: false,
                                          notes: notes)
        }
        let rule = cascade(zipCode: nil, state: state, county: nonEmpty(location.county),
                           city: nonEmpty(location.city), on: date)
        return JurisdictionResolution(rule: rule, state: state, zipLocation: nil, verified: notes.isEmpty, notes: notes)
    }

    /// `GET /jurisdiction/zip/{zip}`: nil when the ZIP is malformed or unknown (→ 404).
    public func resolve(zipCode: String, on date: CivilDate) -> JurisdictionResolution? {
        zipTableProvider().location(zipCode: zipCode).map { resolution(for: $0, on: date) }
    }

    /// The rule for an explicit `jurisdiction` such as "US-AZ" (override path). Throws when the id
    /// is malformed or names no US state; a state without law gets the federal default.
    public func resolve(jurisdictionID: String, on date: CivilDate) throws(CashRoundingError) -> JurisdictionResolution {
        let normalized = jurisdictionID.uppercased()
        if normalized == "US" {
            return JurisdictionResolution(rule: rules.federalDefault, state: nil, zipLocation: nil, verified: true,
                                          notes: [])
        }
        let state = String(normalized.dropFirst(3))
        guard normalized.hasPrefix("US-"), USStateCodes.all.contains(state) else {
            throw .invalidJurisdiction(jurisdictionID)
        }
        let rule = cascade(zipCode: nil, state: state, county: nil, city: nil, on: date)
        return JurisdictionResolution(rule: rule, state: state, zipLocation: nil, verified: true, notes: [])
    }

    private func resolution(for place: ZipLocation, on date: CivilDate) -> JurisdictionResolution {
        let rule = cascade(zipCode: place.zipCode, state: place.state, county: nonEmpty(place.county),
                           city: nonEmpty(place.city), on: date)
        return JurisdictionResolution(rule: rule, state: place.state, zipLocation: place, verified: true, notes: [])
    }

    /// ZIP → city → county → state → federal: the first scope with a rule in force on `date`.
    private func cascade(zipCode: String?, state: String, county: String?, city: String?,
                         on date: CivilDate) -> JurisdictionRule {
        let levels = rules.levelsPresent
        var scopes: [JurisdictionScope] = []
        if let zipCode, levels.contains(.zip) { scopes.append(JurisdictionScope(zipCode: zipCode)) }
        if let county, let city, levels.contains(.city) {
            scopes.append(JurisdictionScope(state: state, county: county, city: city))
        }
        if let county, levels.contains(.county) { scopes.append(JurisdictionScope(state: state, county: county)) }
        scopes.append(JurisdictionScope(state: state))
        for scope in scopes {
            if let rule = rules.rule(for: scope, on: date) { return rule }
        }
        return rules.federalDefault
    }

    private func nonEmpty(_ text: String?) -> String? {
        guard let trimmed = text?.trimmingSpaces, !trimmed.isEmpty else { return nil }
        return trimmed
    }
}

extension String {
    var trimmingSpaces: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { $0 != " " && $0 != "\t" }),
              let last = scalars.lastIndex(where: { $0 != " " && $0 != "\t" }) else { return "" }
        return String(scalars[first...last])
    }
}

/// USPS two-letter codes: 50 states, DC, territories and military (AA/AE/AP).
public enum USStateCodes {
    public static let all: Set<String> = [
        "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY", "LA",
        "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK",
        "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY", "DC",
        "PR", "GU", "VI", "AS", "MP", "FM", "MH", "PW", "AA", "AE", "AP",
    ]
}
