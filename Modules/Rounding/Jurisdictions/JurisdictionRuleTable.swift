import CashRoundingContract
import Kernel

/// The rules as data: an indexed list of `JurisdictionRule` rows. A lookup takes a place key and a
/// day and returns the row in force that day, so a law that starts (or ends) later is just a row
/// with other dates. Build a custom table for tests or to load pending rules from the database later.
public struct JurisdictionRuleTable: Sendable {
    public let rules: [JurisdictionRule]
    /// The rule when nothing local is in force: no rounding.
    public let federalDefault: JurisdictionRule
    /// Index key → row numbers, newest effective date first.
    private let rowsByKey: [String: [Int]]
    /// Levels that have at least one row; the resolver skips building keys for absent levels.
    public let levelsPresent: Set<JurisdictionLevel>

    public init(rules: [JurisdictionRule], federalDefault: JurisdictionRule = JurisdictionRuleTable.federalDefaultRule) {
        self.rules = rules
        self.federalDefault = federalDefault
        var index: [String: [Int]] = [:]
        for (row, rule) in rules.enumerated() { index[rule.scope.indexKey, default: []].append(row) }
        for key in index.keys {
            index[key]?.sort { (rules[$0].effectiveDate ?? .distantPast) > (rules[$1].effectiveDate ?? .distantPast) }
        }
        rowsByKey = index
        levelsPresent = Set(rules.map(\.level))
    }

    /// The rule in force on `date` for exactly this scope (no cascade), or nil.
    public func rule(for scope: JurisdictionScope, on date: CivilDate) -> JurisdictionRule? {
        rule(indexKey: scope.indexKey, on: date)
    }

    func rule(indexKey: String, on date: CivilDate) -> JurisdictionRule? {
        guard let rows = rowsByKey[indexKey] else { return nil }
        for row in rows where rules[row].isInForce(on: date) { return rules[row] }
        return nil
    }

    /// The state-level rule whose `jurisdiction_id` is `jurisdictionID` ("US-AZ"), in force on
    /// `date`; "US" gives the federal default. For the explicit-override request path.
    public func rule(jurisdictionID: String, on date: CivilDate) -> JurisdictionRule? {
        let normalized = jurisdictionID.uppercased()
        if normalized == "US" { return federalDefault }
        guard normalized.hasPrefix("US-"), normalized.count == 5 else { return nil }
        return rule(indexKey: String(normalized.dropFirst(3)), on: date)
    }

    /// The federal default (inferred from the docs): `none`, no enforcement, no legislation.
    public static let federalDefaultRule = JurisdictionRule(
        scope: JurisdictionScope(), jurisdictionID: "US", mode: .none, enforcement: .none, legislation: nil,
        status: .noLegislation, effectiveDate: nil, statutoryMethod: "None", coverage: "None",
        notes: "No enacted state or local cash-rounding law; ledger total passed through unchanged.",
        sourceURL: "https://docs.centsless.org/concepts/rounding-methods")

    /// The enacted-state table (INTRO, ES). Dates other than AZ (2025-01-01) and IN (2025-07-01)
    /// are not documented; 2025-01-01 is assumed. See docs/rounding.md for every inferred value.
    public static let enacted = JurisdictionRuleTable(rules: enactedStateRules)

    static let enactedStatesSourceURL = "https://docs.centsless.org/concepts/enacted-states"

    static let enactedStateRules: [JurisdictionRule] = [
        stateRule("AZ", "HB 2938", .swedishRounding, .mandatory, "2025-01-01", method: "Swedish rounding",
                  coverage: "All retail cash", notes: "Mandatory Swedish rounding of the cash transaction total."),
        stateRule("IN", "SB 243", .symmetricalRounding, .permissive, "2025-07-01",
                  method: "Three-tier operator choice", coverage: "All cash + govt taxes",
                  notes: "Operator chooses one of the approved methods (configured per merchant); "
                      + "symmetrical_rounding when none is configured.",
                  merchantModes: [.symmetricalRounding, .swedishRounding, .mandatoryRoundDown, .none]),
        stateRule("TN", "HB 1744", .symmetricalRounding, .voluntary, "2025-01-01",
                  method: "Symmetrical (safe harbor)", coverage: "Retail cash",
                  notes: "Voluntary safe harbor: a merchant that rounds must use symmetrical rounding."),
        stateRule("WA", "SHB 2334", .symmetricalRounding, .permissive, "2025-01-01", method: "Symmetrical",
                  coverage: "In-person cash", notes: "Receipts must disclose the rounding adjustment.",
                  disclosure: true),
        stateRule("NM", "HB 291", .none, .none, "2025-01-01", method: "Delegated to Dept",
                  coverage: "Tax/MVD fees only", notes: "Narrow: applies to tax and MVD fees only; retail cash is not rounded."),
        stateRule("UT", "HB 597", .none, .none, "2025-01-01", method: "Not prescribed",
                  coverage: "Alcohol sales only", notes: "Narrow: alcohol sales only; other retail cash is not rounded."),
        stateRule("ID", "S 1350", .swedishRounding, .permissive, "2025-01-01", method: "Swedish rounding",
                  coverage: "All retail cash", notes: "Permissive Swedish rounding of retail cash totals."),
        stateRule("OR", "HB 4178", .symmetricalRounding, .permissive, "2025-01-01", method: "Symmetrical",
                  coverage: "All retail cash", notes: "Permissive symmetrical rounding of retail cash totals."),
    ]

    static func stateRule(_ state: String, _ bill: String, _ mode: CashRoundingMode, _ enforcement: RoundingEnforcement,
                          _ effective: String, method: String, coverage: String, notes: String,
                          merchantModes: [CashRoundingMode] = [], disclosure: Bool = false) -> JurisdictionRule {
        JurisdictionRule(
            scope: JurisdictionScope(state: state), jurisdictionID: "US-" + state, mode: mode, enforcement: enforcement,
            legislation: state + " " + bill, status: .enacted, effectiveDate: CivilDate(iso8601: effective),
            statutoryMethod: method, coverage: coverage, notes: notes, sourceURL: enactedStatesSourceURL,
            merchantSelectableModes: merchantModes, receiptDisclosureRequired: disclosure)
    }
}

extension CivilDate {
    static let distantPast = CivilDate(daysSinceEpoch: -1_000_000)
}
