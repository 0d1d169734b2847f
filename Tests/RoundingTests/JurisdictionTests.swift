import CashRoundingContract
import Foundation
import Kernel
import Testing
@testable import Rounding
import RoundingZipData

func day(_ text: String) -> CivilDate { CivilDate(iso8601: text)! }

@Suite struct ZipTableTests {
    @Test func tableHoldsTheFullUSSet() {
        #expect(USZipTable.shared.count > 33_000)
        #expect(USZipTable.shared.count == 42_789)
    }

    @Test func knownZipsResolveToTheirPlace() throws {
        let phoenix = try #require(USZipTable.shared.location(zipCode: "85001"))
        #expect(phoenix == ZipLocation(zipCode: "85001", state: "AZ", county: "Maricopa County", city: "Phoenix"))
        #expect(USZipTable.shared.location(zipCode: "00501")?.state == "NY")
        #expect(USZipTable.shared.location(zipCode: "99950")?.state == "AK")
        #expect(USZipTable.shared.location(zipCode: "46204")?.state == "IN")
        #expect(USZipTable.shared.location(zipCode: "85001-1234")?.city == "Phoenix")
    }

    @Test func malformedAndUnknownZipsAreNil() {
        for zip in ["", "8500", "850011", "8500A", "00000", "85001-12", "85001_1234", "-8500", "８５００１"] {
            #expect(USZipTable.shared.location(zipCode: zip) == nil, "\(zip)")
        }
        #expect(!USZipTable.shared.contains(zipCode: "00000"))
    }

    /// A table parsed afresh answers like the shared one. (Its load time is a benchmark figure, printed by
    /// bench/rounding.sh — "ZIP table first load" — not a timed unit test, which flaked on a loaded machine.)
    @Test func aFreshlyParsedTableMatchesTheSharedOne() {
        let fresh = USZipTable(tsv: usZipTableTSV)
        for zip in ["85001", "10001", "60601", "90210", "00000", "99999"] {
            #expect(fresh.location(zipCode: zip) == USZipTable.shared.location(zipCode: zip), "\(zip)")
            #expect(fresh.contains(zipCode: zip) == USZipTable.shared.contains(zipCode: zip), "\(zip)")
        }
    }
}

@Suite struct CivilDateTests {
    @Test func convertsUnixDays() {
        #expect(CivilDate(daysSinceEpoch: 0) == day("1970-01-01"))
        #expect(CivilDate(Date(timeIntervalSince1970: 1_735_689_600)) == day("2025-01-01"))
        #expect(CivilDate(Date(timeIntervalSince1970: 1_735_689_599)) == day("2024-12-31"))
        #expect(CivilDate(Date(timeIntervalSince1970: -1)) == day("1969-12-31"))
        #expect(CivilDate(Date(timeIntervalSince1970: 1_735_689_600), utcOffsetSeconds: -25_200) == day("2024-12-31"))
        #expect(day("2024-02-29").iso8601 == "2024-02-29")
        #expect(CivilDate(iso8601: "2025-02-29") == nil)
        #expect(CivilDate(iso8601: "2025-1-01") == nil)
        #expect(day("2025-01-01") < day("2025-07-01"))
    }

    @Test func roundTripsEveryDayForCenturies() {
        var previous = CivilDate(daysSinceEpoch: -40_000)
        for days in -39_999...60_000 {
            let current = CivilDate(daysSinceEpoch: days)
            #expect(previous < current)
            previous = current
        }
    }
}

@Suite struct JurisdictionRuleTableTests {
    let table = JurisdictionRuleTable.enacted

    @Test func allEightEnactedStatesAreRows() {
        let expected: [String: (CashRoundingMode, RoundingEnforcement, String)] = [
            "AZ": (.swedishRounding, .mandatory, "AZ HB 2938"), "IN": (.symmetricalRounding, .permissive, "IN SB 243"),
            "TN": (.symmetricalRounding, .voluntary, "TN HB 1744"), "WA": (.symmetricalRounding, .permissive, "WA SHB 2334"),
            "NM": (.none, .none, "NM HB 291"), "UT": (.none, .none, "UT HB 597"),
            "ID": (.swedishRounding, .permissive, "ID S 1350"), "OR": (.symmetricalRounding, .permissive, "OR HB 4178"),
        ]
        #expect(table.rules.count == 8)
        for rule in table.rules {
            let want = expected[rule.lookupKey]
            #expect(want != nil)
            #expect(rule.mode == want?.0 && rule.enforcement == want?.1 && rule.legislation == want?.2)
            #expect(rule.status == .enacted && rule.level == .state && rule.jurisdictionID == "US-" + rule.lookupKey)
            #expect(!rule.coverage.isEmpty && !rule.statutoryMethod.isEmpty && rule.sourceURL.hasPrefix("https://"))
        }
        #expect(table.rule(for: JurisdictionScope(state: "AZ"), on: day("2026-04-14"))?.effectiveDate == day("2025-01-01"))
        #expect(table.rule(for: JurisdictionScope(state: "IN"), on: day("2026-04-14"))?.effectiveDate == day("2025-07-01"))
        #expect(table.rule(for: JurisdictionScope(state: "WA"), on: day("2026-04-14"))?.receiptDisclosureRequired == true)
    }

    @Test func rulesApplyOnlyFromTheirEffectiveDate() {
        #expect(table.rule(for: JurisdictionScope(state: "AZ"), on: day("2024-12-31")) == nil)
        #expect(table.rule(for: JurisdictionScope(state: "AZ"), on: day("2025-01-01")) != nil)
        #expect(table.rule(for: JurisdictionScope(state: "IN"), on: day("2025-06-30")) == nil)
        #expect(table.rule(for: JurisdictionScope(state: "IN"), on: day("2025-07-01")) != nil)
    }

    /// A law change is a row: an amended AZ rule from 2027 replaces the old one from that day only;
    /// pending rules never apply.
    @Test func amendmentsAreNewRows() {
        let old = JurisdictionRuleTable.enactedStateRules[0]
        var amended = old
        amended.mode = .mandatoryRoundDown
        amended.effectiveDate = day("2027-01-01")
        var pending = old
        pending.mode = .mandatoryRoundUp
        pending.status = .pending
        pending.effectiveDate = day("2026-06-01")
        let custom = JurisdictionRuleTable(rules: [old, amended, pending])
        let scope = JurisdictionScope(state: "AZ")
        #expect(custom.rule(for: scope, on: day("2026-12-31"))?.mode == .swedishRounding)
        #expect(custom.rule(for: scope, on: day("2027-01-01"))?.mode == .mandatoryRoundDown)
        var expiring = old
        expiring.expiryDate = day("2026-01-01")
        #expect(JurisdictionRuleTable(rules: [expiring]).rule(for: scope, on: day("2026-01-01")) == nil)
    }

    @Test func jsonMatchesTheZipEndpoint() {
        let rule = table.rule(for: JurisdictionScope(state: "AZ"), on: day("2026-04-14"))!
        let json = rule.jsonObject(includeLookupKey: true)
        #expect(json["jurisdiction_id"] == "US-AZ")
        #expect(json["jurisdiction_level"] == "state")
        #expect(json["rounding_mode"] == "swedish_rounding")
        #expect(json["enforcement"] == "mandatory")
        #expect(json["legislation"] == "AZ HB 2938")
        #expect(json["status"] == "enacted")
        #expect(json["effective_date"] == "2025-01-01")
        #expect(json["lookup_key"] == "AZ")
        #expect(json["source_url"]?.stringValue?.hasPrefix("https://") == true)
        #expect(json["notes"]?.stringValue != nil)
    }
}

@Suite struct JurisdictionResolverTests {
    let resolver = JurisdictionResolver()
    let today = day("2026-04-14")

    @Test func zipResolvesToTheStateRule() throws {
        let resolution = try #require(resolver.resolve(zipCode: "85001", on: today))
        #expect(resolution.rule.jurisdictionID == "US-AZ" && resolution.rule.mode == .swedishRounding)
        #expect(resolution.verified && resolution.complianceStatus == .pass)
        #expect(resolver.resolve(zipCode: "00000", on: today) == nil)
    }

    @Test func stateWithoutLawGetsTheFederalDefault() throws {
        let resolution = try #require(resolver.resolve(zipCode: "73301", on: today))
        #expect(resolution.rule.level == .federal && resolution.rule.mode == .none)
        #expect(resolution.rule.jsonObject()["status"] == "no_legislation")
        #expect(resolution.jurisdictionID == "US-TX")
        #expect(resolution.complianceStatus == .pass)
    }

    @Test func unknownZipFallsBackWithWarn() {
        let noState = resolver.resolve(CashRoundingLocation(zipCode: "00000"), on: today)
        #expect(noState.rule.level == .federal && noState.complianceStatus == .warn)
        #expect(noState.notes.first?.contains("unverified jurisdiction fallback") == true)
        let withState = resolver.resolve(CashRoundingLocation(zipCode: "99999", state: "AZ"), on: today)
        #expect(withState.rule.jurisdictionID == "US-AZ" && withState.complianceStatus == .warn)
        #expect(resolver.resolve(CashRoundingLocation(), on: today).complianceStatus == .warn)
        #expect(resolver.resolve(CashRoundingLocation(state: "ZZ"), on: today).complianceStatus == .warn)
    }

    @Test func zipWinsOverRequestState() {
        let resolution = resolver.resolve(CashRoundingLocation(zipCode: "85001", state: "TX"), on: today)
        #expect(resolution.rule.jurisdictionID == "US-AZ")
    }

    /// ZIP → city → county → state → federal, with local rows added to the table.
    @Test func mostLocalRuleInForceWins() {
        let state = JurisdictionRuleTable.enactedStateRules[0]
        func local(_ scope: JurisdictionScope, _ mode: CashRoundingMode, from: String = "2025-01-01") -> JurisdictionRule {
            var rule = state
            rule.scope = scope
            rule.mode = mode
            rule.effectiveDate = day(from)
            return rule
        }
        let table = JurisdictionRuleTable(rules: [
            state,
            local(JurisdictionScope(state: "AZ", county: "Maricopa County"), .mandatoryRoundDown),
            local(JurisdictionScope(state: "AZ", county: "Maricopa", city: "Phoenix"), .mandatoryRoundUp),
            local(JurisdictionScope(zipCode: "85004"), .nearestDime),
            local(JurisdictionScope(zipCode: "85001"), .none, from: "2030-01-01"),
        ])
        let resolver = JurisdictionResolver(rules: table)
        #expect(resolver.resolve(zipCode: "85004", on: today)?.rule.mode == .nearestDime)
        #expect(resolver.resolve(zipCode: "85001", on: today)?.rule.mode == .mandatoryRoundUp)
        #expect(resolver.resolve(zipCode: "85001", on: day("2030-01-01"))?.rule.mode == CashRoundingMode.none)
        #expect(resolver.resolve(CashRoundingLocation(state: "az", county: "maricopa county"), on: today).rule.mode
            == .mandatoryRoundDown)
        #expect(resolver.resolve(CashRoundingLocation(state: "AZ", county: "Pima"), on: today).rule.mode == .swedishRounding)
        #expect(resolver.resolve(zipCode: "85701", on: today)?.rule.mode == .swedishRounding)  // Tucson, Pima
    }

    @Test func explicitJurisdictionIDs() throws {
        #expect(try resolver.resolve(jurisdictionID: "US-AZ", on: today).rule.mode == .swedishRounding)
        #expect(try resolver.resolve(jurisdictionID: "us-in", on: today).rule.jurisdictionID == "US-IN")
        #expect(try resolver.resolve(jurisdictionID: "US-TX", on: today).jurisdictionID == "US-TX")
        #expect(throws: CashRoundingError.invalidJurisdiction("AZ")) { try resolver.resolve(jurisdictionID: "AZ", on: today) }
        #expect(throws: CashRoundingError.self) { try resolver.resolve(jurisdictionID: "US-ZZ", on: today) }
    }
}
