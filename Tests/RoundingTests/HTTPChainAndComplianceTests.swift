import Foundation
import Kernel
import Postgres
import Testing
@testable import Rounding

/// The audit chain (A24–A26, concurrency, tampering), audit logs (A21–A23), fraud (A17–A20),
/// jurisdictions (A36–A37), export (A38), analytics and role enforcement.
@Suite struct HTTPChainAndComplianceTests {
    func fixture() async throws -> RoundingFixture { try await RoundingFixture.shared.value }

    /// 50 concurrent sales for one merchant → positions exactly 1…50, and the chain verifies.
    /// Own fixture and pool: 50 appends queued on the shared 8-connection pool starved the other suites'
    /// requests past the 5 s acquire timeout when the whole test suite ran on a loaded 2-core machine.
    @Test func concurrentAppendsHaveNoGapsOrForks() async throws {
        let f = try await RoundingFixture.make(connectionsMax: 16)
        defer { f.database.close() }
        let m = try await f.newMerchant()
        let positions = await withTaskGroup(of: Int64?.self) { group in
            for index in 0..<50 {
                group.addTask {
                    let response = await f.post("/transaction", key: m.merchant,
                                                RoundingFixture.sale(m.id, ["subtotal_cents": .int(Int64(500 + index))]))
                    return response.bodyJSON?["transaction"]?["chainPosition"]?.intValue
                }
            }
            var collected: [Int64] = []
            for await position in group { if let position { collected.append(position) } }
            return collected
        }
        #expect(positions.sorted() == Array(1...50))
        let verify = await f.get("/admin/verify-hash-chain", key: m.auditor)
        #expect(verify.status == 200)
        #expect(verify.bodyJSON?["total_count"] == 50)
        #expect(verify.bodyJSON?["verified_count"] == 50)
        #expect(verify.bodyJSON?["break_count"] == 0)
    }

    /// A24, A25: an untouched chain verifies; an edited row is reported with its position and ids.
    @Test func tamperingIsDetected() async throws {
        let f = try await fixture()
        let m = try await f.newMerchant()
        var ids: [String] = []
        for _ in 0..<4 { ids.append(try await f.sell(m)["id"]!.stringValue!) }
        let clean = await f.get("/admin/verify-hash-chain", key: m.admin)
        #expect(clean.bodyJSON?["break_count"] == 0)
        #expect(clean.bodyJSON?["total_count"] == 4)
        // Change the hashed record of position 2 (the cash total), as a tamperer with SQL access would.
        try await f.database.execute("""
            UPDATE rounding_records SET record_json = replace(record_json, '"cash_total_cents":725', '"cash_total_cents":720'),
                cash_total_cents = 720
            WHERE merchant_id = \(m.id) AND mode = 'test' AND chain_position = 2
            """)
        let broken = await f.get("/admin/verify-hash-chain", key: m.admin)
        #expect(broken.bodyJSON?["break_count"] == 1)
        #expect(broken.bodyJSON?["verified_count"] == 3)
        guard case .array(let breaks)? = broken.bodyJSON?["breaks"], let first = breaks.first else {
            Issue.record("no breaks listed"); return
        }
        #expect(first["chain_position"] == 2)
        #expect(first["record_id"] == .string(ids[1]))
        #expect(first["affected_entry_ids"] == [.string(ids[0]), .string(ids[1])])
        #expect(first["reason"]?.stringValue?.contains("audit_hash does not match") == true)

        // Editing only a typed column (what reports read) is caught too.
        let other = try await f.newMerchant()
        _ = try await f.sell(other)
        try await f.database.execute("""
            UPDATE rounding_records SET rounding_delta_cents = 0 WHERE merchant_id = \(other.id) AND mode = 'test'
            """)
        let column = await f.get("/admin/verify-hash-chain", key: other.admin)
        #expect(column.bodyJSON?["break_count"] == 1)
        // Deleting the newest record is caught through the head.
        let third = try await f.newMerchant()
        _ = try await f.sell(third)
        _ = try await f.sell(third)
        try await f.database.execute("""
            DELETE FROM rounding_records WHERE merchant_id = \(third.id) AND mode = 'test' AND chain_position = 2
            """)
        let truncated = await f.get("/admin/verify-hash-chain", key: third.admin)
        #expect(truncated.bodyJSON?["break_count"] == 1)
        #expect(truncated.bodyJSON?["total_count"] == 1)
    }

    /// The stored hash is SHA-256(previous hash hex ‖ canonical JSON), as docs/rounding-audit-chain.md says.
    @Test func hashesRecomputeFromTheDocumentedSerialization() async throws {
        let f = try await fixture()
        let m = try await f.newMerchant()
        _ = try await f.sell(m)
        _ = try await f.sell(m, ["employee_id": "EMP-1", "city": "Phoenix \"Downtown\" \u{00E9}"])
        let rows = try await f.database.query("""
            SELECT record_json, previous_hash, audit_hash FROM rounding_records
            WHERE merchant_id = \(m.id) AND mode = 'test' ORDER BY chain_position
            """)
        var previous = String(repeating: "0", count: 64)
        for row in rows {
            let json = try #require(row.text("record_json"))
            #expect(row.text("previous_hash") == previous)
            let parsed = try JSONDecoder().decode(JSONValue.self, from: Data(json.utf8))
            #expect(CanonicalJSON.string(parsed) == json)
            let hash = Encoding.hex(Array(SHA256Probe.digest(Array((previous + json).utf8))))
            #expect(row.text("audit_hash") == hash)
            previous = hash
        }
    }

    /// Canonical JSON matches Python's json.dumps(sort_keys=True, separators=(",",":"), ensure_ascii=False).
    @Test func canonicalJSONEscaping() {
        let value: JSONValue = ["b": "line\nbreak \"quoted\" back\\slash \u{08}\u{0C}\u{01} é", "a": [1, -2, true, nil], "C": ["z": 0]]
        #expect(CanonicalJSON.string(value) == #"{"C":{"z":0},"a":[1,-2,true,null],"b":"line\nbreak \"quoted\" back\\slash \b\f\u0001 é"}"#)
    }

    /// A21–A23: audit logs for auditors and admins, limits and filters; merchants get 403.
    @Test func auditLogs() async throws {
        let f = try await fixture()
        let m = try await f.newMerchant()
        let sale = try await f.sell(m)
        _ = await f.post("/transaction/override", key: m.merchant, ["transaction_id": sale["id"]!, "employee_id": "EMP-7",
                         "employee_name": "Jane Manager", "reason": "manager-discretion", "new_cash_total_cents": 720])
        for _ in 0..<3 { _ = try await f.sell(m) }
        let all = await f.get("/admin/audit-logs", key: m.auditor)
        #expect(all.status == 200)
        #expect(all.bodyJSON?["limit"] == 100)
        #expect(all.bodyJSON?["count"] == 5)
        let filtered = await f.get("/admin/audit-logs?limit=50&event_type=override&start_date=2026-01-01T00:00:00Z", key: m.auditor)
        guard case .array(let entries)? = filtered.bodyJSON?["entries"] else { Issue.record("no entries"); return }
        #expect(entries.count == 1)
        #expect(entries.first?["event_type"] == "override")
        #expect(entries.first?["event"] == "OVERRIDE")
        #expect(entries.first?["chainPosition"] == 2)
        #expect(entries.first?["auditHash"]?.stringValue?.count == 64)
        let byUser = await f.get("/admin/audit-logs?user_id=EMP-7", key: m.admin)
        #expect(byUser.bodyJSON?["count"] == 1)
        let limited = await f.get("/admin/audit-logs?limit=2", key: m.auditor)
        #expect(limited.bodyJSON?["count"] == 2)
        let future = await f.get("/admin/audit-logs?start_date=2027-01-01T00:00:00Z", key: m.auditor)
        #expect(future.bodyJSON?["count"] == 0)
        #expect(await f.get("/admin/audit-logs", key: m.merchant).isError(403, "FORBIDDEN", "Insufficient permissions for this endpoint"))
        #expect(await f.get("/admin/audit-logs?limit=0", key: m.auditor)
            .isError(400, "VALIDATION_ERROR", "limit must be an integer from 1 to 1000"))
        #expect(await f.get("/admin/audit-logs?event_type=SALES", key: m.auditor).status == 400)
        #expect(await f.get("/admin/audit-logs?start_date=yesterday", key: m.auditor)
            .isError(400, "VALIDATION_ERROR", "start_date must be an ISO 8601 date-time such as 2026-01-01T00:00:00Z"))
        // An auditor reads its own merchant only; an admin may name another.
        let other = try await f.newMerchant()
        #expect(await f.get("/admin/audit-logs?merchant_id=\(other.id)", key: m.auditor).status == 403)
        #expect(await f.get("/admin/audit-logs?merchant_id=\(other.id)", key: m.admin).bodyJSON?["count"] == 0)
        // A22: never more than 100 entries without `limit`.
        for _ in 0..<(101 - 5) { _ = try await f.sell(m) }
        #expect(await f.get("/admin/audit-logs", key: m.auditor).bodyJSON?["count"] == 100)
    }

    /// A17–A20 and role enforcement on the fraud endpoints.
    @Test func fraudEndpointsNeedAdmin() async throws {
        let f = try await fixture()
        let m = try await f.newMerchant()
        _ = try await f.sell(m)
        let forbidden = "Insufficient permissions for this endpoint"
        #expect(await f.get("/admin/fraud-overview", key: m.merchant).isError(403, "FORBIDDEN", forbidden))
        #expect(await f.get("/admin/fraud-overview", key: m.auditor).isError(403, "FORBIDDEN", forbidden))
        #expect(await f.get("/merchant/MERCHANT-001/risk-profile", key: m.auditor).isError(403, "FORBIDDEN", forbidden))
        #expect(await f.get("/merchant/MERCHANT-001/risk-profile", key: m.merchant).isError(403, "FORBIDDEN", forbidden))
        let profile = await f.get("/merchant/MERCHANT-001/risk-profile", key: m.admin)
        #expect(profile.status == 200)
        #expect(profile.bodyJSON?["fraud_score"] == 0)
        #expect(profile.bodyJSON?["risk_level"] == "NONE")
        let own = await f.get("/merchant/\(m.id)/risk-profile", key: m.admin)
        #expect(own.bodyJSON?["transaction_count"] == 1)
        for key in ["rounding_analysis", "override_patterns", "void_rates"] { #expect(own.bodyJSON?[key] != nil) }
        #expect(await f.get("/admin/fraud-overview", key: m.admin).status == 200)
        #expect(await f.get("/analytics/void-abuse", key: m.merchant).isError(403, "FORBIDDEN", forbidden))
        #expect(await f.get("/admin/verify-hash-chain", key: m.merchant).isError(403, "FORBIDDEN", forbidden))
        #expect(await f.get("/admin/verify-hash-chain", key: m.partner).isError(403, "FORBIDDEN", forbidden))
    }

    /// A36, A37: jurisdiction endpoints for any role key.
    @Test func jurisdictions() async throws {
        let f = try await fixture()
        let m = try await f.newMerchant()
        for key in [m.merchant, m.auditor, m.admin, m.partner] {
            let zip = await f.get("/jurisdiction/zip/85001", key: key)
            #expect(zip.status == 200)
            #expect(zip.bodyJSON?["jurisdiction_id"] == "US-AZ")
            #expect(zip.bodyJSON?["jurisdiction_level"] == "state")
            #expect(zip.bodyJSON?["rounding_mode"] == "swedish_rounding")
            #expect(zip.bodyJSON?["enforcement"] == "mandatory")
            #expect(zip.bodyJSON?["legislation"] == "AZ HB 2938")
            #expect(zip.bodyJSON?["status"] == "enacted")
            #expect(zip.bodyJSON?["effective_date"] == "2025-01-01")
        }
        #expect(await f.get("/jurisdiction/zip/00000", key: m.merchant).isError(404, "NOT_FOUND", "ZIP code not found"))
        #expect(await f.get("/jurisdiction/zip/8500x", key: m.merchant)
            .isError(400, "VALIDATION_ERROR", "zip_code must be a 5-digit ZIP code"))
        let list = await f.get("/jurisdictions", key: m.auditor)
        guard case .array(let rules)? = list.bodyJSON else { Issue.record("not an array"); return }
        #expect(rules.count == 8)
        #expect(rules.contains { $0["lookup_key"] == "AZ" && $0["rounding_mode"] == "swedish_rounding" })
    }

    /// A38: the standard export is CSV with 53 columns on every row; summary and full modes; filters.
    @Test func export() async throws {
        let f = try await fixture()
        let m = try await f.newMerchant()
        let sale = try await f.sell(m, ["employee_id": "EMP-1"])
        _ = try await f.sell(m, ["payment_method": "card"])
        _ = await f.post("/transaction/override", key: m.merchant, ["transaction_id": sale["id"]!, "employee_id": "EMP-1",
                         "employee_name": "=HYPERLINK(\"x\"), Jr.", "reason": "pricing-error", "new_cash_total_cents": 720])
        _ = await f.post("/tip/cash", key: m.merchant, ["transaction_id": sale["id"]!, "employee_id": "EMP-1",
                             "employee_name": "Sam", "tip_amount": 1]).status
        let response = await f.post("/export", key: m.merchant, ["export_mode": "standard",
                                    "start_date": "2026-01-01T00:00:00Z", "end_date": "2026-12-31T23:59:59Z"])
        #expect(response.status == 200)
        #expect(response.headers["Content-Type"]?.hasPrefix("text/csv") == true)
        let lines = response.bodyText.split(separator: "\r\n", omittingEmptySubsequences: true).map(String.init)
        #expect(lines.count == 4)  // header + SALE, SALE, OVERRIDE (tips are not transaction records)
        #expect(lines.first == ComplianceExport.standardColumns.joined(separator: ","))
        #expect(ComplianceExport.standardColumns.count == 53)
        #expect(Set(ComplianceExport.standardColumns).count == 53)
        for line in lines { #expect(Self.csvFields(line).count == 53) }
        #expect(response.bodyText.contains("\"'=HYPERLINK(\"\"x\"\"), Jr.\""))
        let summary = await f.post("/export", key: m.auditor, ["export_mode": "summary", "payment_method": "card"])
        let summaryLines = summary.bodyText.split(separator: "\r\n").map(String.init)
        #expect(summaryLines.count == 2)
        #expect(Self.csvFields(summaryLines[0]).count == 12)
        let full = await f.post("/export", key: m.merchant, ["export_mode": "full", "compliance_status": "PASS"])
        let fullLines = full.bodyText.split(separator: "\r\n").map(String.init)
        #expect(Self.csvFields(fullLines[0]).count == 54)
        #expect(await f.post("/export", key: m.merchant, ["export_mode": "everything"])
            .isError(400, "VALIDATION_ERROR", "export_mode must be one of standard, full, summary"))
        #expect(await f.post("/export", key: m.merchant, ["compliance_status": "OK"])
            .isError(400, "VALIDATION_ERROR", "compliance_status must be one of PASS, WARN, FAIL"))
        let none = await f.post("/export", key: m.merchant, ["start_date": "2027-01-01T00:00:00Z"])
        #expect(none.bodyText.split(separator: "\r\n").count == 1)
    }

    /// Splits one CSV line (RFC 4180 quoting).
    static func csvFields(_ line: String) -> [String] {
        var fields: [String] = []
        var current = ""
        var quoted = false
        var iterator = Array(line).makeIterator()
        var pending: Character? = nil
        while let character = pending ?? iterator.next() {
            pending = nil
            if quoted {
                if character == "\"" {
                    if let next = iterator.next() {
                        if next == "\"" { current.append("\"") } else { quoted = false; pending = next }
                    } else { quoted = false }
                } else { current.append(character) }
            } else if character == "\"" { quoted = true
            } else if character == "," { fields.append(current); current = ""
            } else { current.append(character) }
        }
        fields.append(current)
        return fields
    }

    /// Void analytics, override report and void-abuse, per role.
    @Test func voidAnalyticsAndReports() async throws {
        let f = try await fixture()
        let m = try await f.newMerchant()
        var ids: [JSONValue] = []
        for _ in 0..<4 { ids.append(try await f.sell(m)["id"]!) }
        for id in ids.prefix(3) {
            _ = await f.post("/transaction/void", key: m.merchant, ["original_transaction_id": id,
                             "void_reason": "employee_error", "voided_by": "EMP-9"])
        }
        let voids = await f.get("/analytics/voids", key: m.merchant)
        #expect(voids.bodyJSON?["total_voids"] == 3)
        #expect(voids.bodyJSON?["void_rate_percent"] == 75)
        #expect(voids.bodyJSON?["void_amount_cents"] == 2175)
        #expect(voids.bodyJSON?["transaction_count"] == 4)
        let abuse = await f.get("/analytics/void-abuse", key: m.auditor)
        #expect(abuse.status == 200)
        guard case .array(let high)? = abuse.bodyJSON?["high_void_rate_merchants"] else { Issue.record("no list"); return }
        #expect(high.count == 1)
        #expect(high.first?["merchant_id"] == .string(m.id))
        #expect(await f.get("/overrides/report", key: m.auditor).bodyJSON?["total_overrides"] == 0)
        #expect(await f.get("/analytics/voids?merchant_id=someone-else", key: m.merchant).status == 403)
    }
}

/// SHA-256 through the Crypto module, independent of the module under test's call path.
enum SHA256Probe {
    static func digest(_ bytes: [UInt8]) -> [UInt8] { CryptoProbe.service.sha256(bytes) }
}
