import Foundation
import Kernel
import Testing
@testable import Rounding

/// Acceptance cases A3–A14, A26–A35 over HTTP, with the documented error bodies.
@Suite struct HTTPTransactionTests {
    func fixture() async throws -> RoundingFixture { try await RoundingFixture.shared.value }

    /// A3: the quickstart response, exactly as §1.2 plus chainPosition/auditHash.
    @Test func quickstartSale() async throws {
        let f = try await fixture()
        let m = try await f.newMerchant()
        let response = await f.post("/transaction", key: m.merchant, RoundingFixture.sale(m.id))
        #expect(response.status == 200)
        let body = try #require(response.bodyJSON)
        #expect(body["success"] == true)
        let transaction = try #require(body["transaction"])
        let id = try #require(transaction["id"]?.stringValue)
        #expect(id.range(of: #"^TXN-2026-04-14-[0-9A-F]{8}$"#, options: .regularExpression) != nil)
        #expect(transaction["calculation"] == [
            "subtotal_cents": 523, "tax_total_cents": 200, "ledger_total_cents": 723, "cash_total_cents": 725,
            "rounding_delta_cents": 2, "payment_method": "cash", "cash_rounding_mode": "swedish_rounding",
            "jurisdiction": "US-AZ", "rounding_applied": true,
        ])
        #expect(transaction["compliance"] == ["compliance_status": "PASS"])
        #expect(transaction["fraud_score"] == 0)
        #expect(transaction["risk_level"] == "NONE")
        #expect(transaction["chainPosition"] == 1)
        #expect(transaction["auditHash"]?.stringValue?.range(of: "^[0-9a-f]{64}$", options: .regularExpression) != nil)
        guard case .object(let keys) = transaction else { return }
        #expect(Set(keys.keys) == ["id", "calculation", "compliance", "fraud_score", "risk_level", "chainPosition", "auditHash"])
    }

    /// A4: state AZ instead of the ZIP gives the same calculation.
    @Test func stateInsteadOfZip() async throws {
        let f = try await fixture()
        let m = try await f.newMerchant()
        let transaction = try await f.sell(m, ["state": "AZ", "zip_code": .null])
        #expect(transaction["calculation"]?["cash_total_cents"] == 725)
        #expect(transaction["calculation"]?["jurisdiction"] == "US-AZ")
        #expect(transaction["compliance"]?["compliance_status"] == "PASS")
    }

    /// A5, A7, A8 and vectors 59–61: only cash is rounded; EBT carries the 7 CFR 278.2 flag.
    @Test(arguments: ["ebt", "card", "mobile"]) func nonCashIsNeverRounded(method: String) async throws {
        let f = try await fixture()
        let m = try await f.newMerchant()
        let calculation = try #require(try await f.sell(m, ["payment_method": .string(method), "state": "AZ"])["calculation"])
        #expect(calculation["cash_total_cents"] == 723)
        #expect(calculation["rounding_delta_cents"] == 0)
        #expect(calculation["rounding_applied"] == false)
        #expect(calculation["cash_rounding_mode"] == "none")
        #expect((calculation["ebt_compliance_flag"] != nil) == (method == "ebt"))
        if method == "ebt" { #expect(calculation["ebt_compliance_flag"] == "7 CFR 278.2 compliance flag for EBT transactions") }
    }

    /// A6: EBT with a rounding mode is a validation error naming the field.
    @Test func ebtWithRoundingModeIsRejected() async throws {
        let f = try await fixture()
        let m = try await f.newMerchant()
        let response = await f.post("/transaction", key: m.merchant, RoundingFixture.sale(m.id, [
            "payment_method": "ebt", "state": "AZ", "cash_rounding_mode": "swedish_rounding"]))
        #expect(response.isError(400, "VALIDATION_ERROR", "cash_rounding_mode must be none for EBT transactions (7 CFR 278.2)"))
    }

    /// A9, A10 and every enum: wrong or missing values are 400 VALIDATION_ERROR naming the field.
    @Test func validationErrorsNameTheField() async throws {
        let f = try await fixture()
        let m = try await f.newMerchant()
        let cases: [(JSONValue, String)] = [
            (RoundingFixture.sale(m.id, removing: ["merchant_id"]), "merchant_id is required"),
            (RoundingFixture.sale(m.id, removing: ["subtotal_cents"]), "subtotal_cents is required"),
            (RoundingFixture.sale(m.id, removing: ["tax_total_cents"]), "tax_total_cents is required"),
            (RoundingFixture.sale(m.id, removing: ["payment_method"]), "payment_method is required"),
            (RoundingFixture.sale(m.id, ["payment_method": "check"]), "payment_method must be one of cash, card, ebt, mobile"),
            (RoundingFixture.sale(m.id, ["cash_rounding_mode": "nearest_dime"]),
             "cash_rounding_mode must be one of swedish_rounding, mandatory_round_down, mandatory_round_up, symmetrical_rounding, nearest_nickel, none"),
            (RoundingFixture.sale(m.id, ["subtotal_cents": "523"]), "subtotal_cents must be an integer"),
            (RoundingFixture.sale(m.id, ["subtotal_cents": -1]), "subtotal_cents must be an integer number of cents from 0 to 100000000000000"),
            (RoundingFixture.sale(m.id, ["zip_code": "8500"]), "zip_code must be a 5-digit ZIP code"),
            (RoundingFixture.sale(m.id, ["state": "Arizona"]), "state must be a 2-letter state code such as AZ"),
            (RoundingFixture.sale(m.id, ["is_split_tender": true]), "tenders is required"),
            (RoundingFixture.sale(m.id, ["is_split_tender": true, "tenders": [["type": "check", "amount_cents": 723]]]),
             "tenders[0].type must be one of cash, card, ebt, mobile"),
            (RoundingFixture.sale(m.id, ["is_split_tender": true, "tenders": [["type": "cash", "amount_cents": 700]]]),
             "tenders add up to 700 but the ledger total is 723"),
            (RoundingFixture.sale(m.id, ["tenders": [["type": "cash", "amount_cents": 723]]]),
             "is_split_tender must be true when tenders are sent"),
            (RoundingFixture.sale(m.id, ["cash_rounding_mode": "swedish_rounding", "jurisdiction": "EU-DE"]),
             "jurisdiction must look like US-AZ"),
        ]
        for (body, message) in cases {
            let response = await f.post("/transaction", key: m.merchant, body)
            #expect(response.isError(400, "VALIDATION_ERROR", message), "\(message): got \(response.bodyText)")
        }
        let notJSON = await f.client.send(.post, "/api/v1/transaction", headers: ["x-api-key": m.merchant,
                                                                                   "Content-Type": "application/json"],
                                          body: Array("{nope".utf8))
        #expect(notJSON.isError(400, "VALIDATION_ERROR", "Request body is not valid JSON"))
    }

    /// A43: a body without `Content-Type: application/json` is rejected with 400.
    @Test func contentTypeIsRequired() async throws {
        let f = try await fixture()
        let m = try await f.newMerchant()
        let body = RoundingFixture.sale(m.id).serialized()
        let missing = await f.client.send(.post, "/api/v1/transaction", headers: ["x-api-key": m.merchant], body: body)
        #expect(missing.isError(400, "VALIDATION_ERROR", "Content-Type must be application/json"))
        let text = await f.client.send(.post, "/api/v1/transaction",
                                       headers: ["x-api-key": m.merchant, "Content-Type": "text/plain"], body: body)
        #expect(text.isError(400, "VALIDATION_ERROR", "Content-Type must be application/json"))
    }

    /// A11, A12: the testing override path.
    @Test func modeOverrides() async throws {
        let f = try await fixture()
        let m = try await f.newMerchant()
        let up = try #require(try await f.sell(m, ["cash_rounding_mode": "mandatory_round_up", "jurisdiction": "US-AZ"])["calculation"])
        #expect(up["cash_total_cents"] == 725)
        #expect(up["rounding_delta_cents"] == 2)
        #expect(up["cash_rounding_mode"] == "mandatory_round_up")
        let down = try #require(try await f.sell(m, ["cash_rounding_mode": "mandatory_round_down"])["calculation"])
        #expect(down["cash_total_cents"] == 720)
        #expect(down["rounding_delta_cents"] == -3)
    }

    /// Vector 62: a state without law is not rounded.
    @Test func stateWithoutLaw() async throws {
        let f = try await fixture()
        let m = try await f.newMerchant()
        let calculation = try #require(try await f.sell(m, ["state": "TX", "zip_code": .null])["calculation"])
        #expect(calculation["cash_total_cents"] == 723)
        #expect(calculation["cash_rounding_mode"] == "none")
        #expect(calculation["jurisdiction"] == "US-TX")
    }

    /// Unknown ZIP: unverified jurisdiction fallback → WARN with a note (inferred, docs/rounding.md).
    @Test func unknownZipWarns() async throws {
        let f = try await fixture()
        let m = try await f.newMerchant()
        let transaction = try await f.sell(m, ["zip_code": "00000"])
        #expect(transaction["compliance"]?["compliance_status"] == "WARN")
        #expect(transaction["compliance"]?["notes"] == ["unverified jurisdiction fallback: unknown ZIP code"])
    }

    /// A13: Indiana uses the merchant's configured method (admin endpoint), default symmetrical.
    @Test func indianaUsesTheMerchantsMethod() async throws {
        let f = try await fixture()
        let m = try await f.newMerchant()
        let before = try #require(try await f.sell(m, ["state": "IN", "zip_code": .null, "subtotal_cents": 522])["calculation"])
        #expect(before["jurisdiction"] == "US-IN")
        #expect(before["cash_rounding_mode"] == "symmetrical_rounding")
        let denied = await f.post("/admin/merchant/\(m.id)/indiana-method", key: m.merchant, ["rounding_mode": "mandatory_round_down"])
        #expect(denied.isError(403, "FORBIDDEN", "Insufficient permissions for this endpoint"))
        let invalid = await f.post("/admin/merchant/\(m.id)/indiana-method", key: m.admin, ["rounding_mode": "mandatory_round_up"])
        #expect(invalid.isError(400, "VALIDATION_ERROR",
                                "rounding_mode must be one of symmetrical_rounding, swedish_rounding, mandatory_round_down, none"))
        let set = await f.post("/admin/merchant/\(m.id)/indiana-method", key: m.admin, ["rounding_mode": "mandatory_round_down"])
        #expect(set.status == 200)
        #expect(set.bodyJSON?["indiana_rounding_mode"] == "mandatory_round_down")
        let after = try #require(try await f.sell(m, ["state": "IN", "zip_code": .null, "subtotal_cents": 524])["calculation"])
        #expect(after["cash_rounding_mode"] == "mandatory_round_down")
        #expect(after["cash_total_cents"] == 720)
        // Other states ignore the merchant's Indiana setting.
        let arizona = try #require(try await f.sell(m)["calculation"])
        #expect(arizona["cash_rounding_mode"] == "swedish_rounding")
    }

    /// A14 and vector 64: split tender rounds the cash part only.
    @Test func splitTender() async throws {
        let f = try await fixture()
        let m = try await f.newMerchant()
        let even = try #require(try await f.sell(m, ["subtotal_cents": 1000, "tax_total_cents": 80, "is_split_tender": true,
            "tenders": [["type": "cash", "amount_cents": 600], ["type": "ebt", "amount_cents": 480]]])["calculation"])
        #expect(even["rounding_delta_cents"] == 0)
        #expect(even["cash_total_cents"] == 1080)
        #expect(even["ebt_compliance_flag"] != nil)
        let odd = try #require(try await f.sell(m, ["subtotal_cents": 1000, "tax_total_cents": 83, "is_split_tender": true,
            "tenders": [["type": "cash", "amount_cents": 603], ["type": "ebt", "amount_cents": 480]]])["calculation"])
        #expect(odd["rounding_delta_cents"] == 2)
        #expect(odd["cash_portion_cents"] == 603)
        #expect(odd["cash_portion_rounded_cents"] == 605)
        #expect(odd["tax_total_cents"] == 83)
    }

    /// A26: consecutive positions from 1, 64-hex hashes.
    @Test func chainPositionsAdvance() async throws {
        let f = try await fixture()
        let m = try await f.newMerchant()
        let first = try await f.sell(m)
        let second = try await f.sell(m)
        #expect(first["chainPosition"] == 1)
        #expect(second["chainPosition"] == 2)
        #expect(first["auditHash"] != second["auditHash"])
    }

    /// Merchant keys act for their own merchant only; partner and admin keys for any merchant.
    @Test func merchantIdMustMatchUnlessPartnerOrAdmin() async throws {
        let f = try await fixture()
        let m = try await f.newMerchant()
        let other = try await f.newMerchant()
        let mismatch = await f.post("/transaction", key: m.merchant, RoundingFixture.sale(other.id))
        #expect(mismatch.isError(403, "FORBIDDEN", "merchant_id does not match the API key's merchant"))
        let auditor = await f.post("/transaction", key: m.auditor, RoundingFixture.sale(m.id))
        #expect(auditor.isError(403, "FORBIDDEN", "Insufficient permissions for this endpoint"))
        let partner = await f.post("/transaction", key: m.partner, RoundingFixture.sale("POS-VENDOR-STORE-17"))
        #expect(partner.status == 200)
        #expect(partner.bodyJSON?["transaction"]?["chainPosition"] == 1)
        let id = try #require(partner.bodyJSON?["transaction"]?["id"]?.stringValue)
        // The sale lives in POS-VENDOR-STORE-17's chain: m's merchant key cannot see it, the partner can.
        #expect(await f.get("/transaction/\(id)/receipt", key: m.merchant).isError(404, "NOT_FOUND", "Transaction not found"))
        #expect(await f.get("/transaction/\(id)/receipt", key: m.partner).status == 200)
        let admin = await f.post("/transaction", key: m.admin, RoundingFixture.sale(other.id))
        #expect(admin.status == 200)
    }

    /// A27–A29: receipts in the three formats; the WA disclosure.
    @Test func receipts() async throws {
        let f = try await fixture()
        let m = try await f.newMerchant()
        let sale = try await f.sell(m)
        let id = try #require(sale["id"]?.stringValue)
        let merchant = await f.get("/transaction/\(id)/receipt", key: m.merchant)
        #expect(merchant.status == 200)
        let receipt = try #require(merchant.bodyJSON?["receipt"])
        #expect(merchant.bodyJSON?["format"] == "merchant")
        #expect(receipt["cash_total_cents"] == 725)
        #expect(receipt["rounding_disclosure"]?.stringValue?.contains("AZ HB 2938") == true)
        #expect(receipt["rounding_disclosure"]?.stringValue?.contains("from $7.23 to $7.25 (+$0.02)") == true)
        let audit = await f.get("/transaction/\(id)/receipt?format=audit", key: m.merchant)
        #expect(audit.bodyJSON?["audit"]?["chainPosition"] == sale["chainPosition"])
        #expect(audit.bodyJSON?["audit"]?["auditHash"] == sale["auditHash"])
        #expect(audit.bodyJSON?["audit"]?["fraud_score"] == 0)
        let pos = await f.get("/transaction/\(id)/receipt?format=pos", key: m.merchant)
        #expect(pos.bodyJSON == ["transaction_id": .string(id), "subtotal_cents": 523, "tax_total_cents": 200,
                                 "ledger_total_cents": 723, "cash_total_cents": 725, "rounding_delta_cents": 2])
        #expect(await f.get("/transaction/\(id)/receipt?format=pdf", key: m.merchant)
            .isError(400, "VALIDATION_ERROR", "format must be one of merchant, audit, pos"))
        #expect(await f.get("/transaction/TXN-NOPE/receipt", key: m.merchant).isError(404, "NOT_FOUND", "Transaction not found"))
        // Washington requires a disclosure even when a card payment is not rounded.
        let card = try await f.sell(m, ["zip_code": "98101", "payment_method": "card"])
        let wa = await f.get("/transaction/\(card["id"]!.stringValue!)/receipt", key: m.merchant)
        #expect(wa.bodyJSON?["receipt"]?["disclosure_required"] == true)
        #expect(wa.bodyJSON?["receipt"]?["rounding_disclosure"] == "WA SHB 2334 cash rounding disclosure: no rounding was applied to this payment.")
    }

    /// A30, A31, vectors 65–66: voids mirror the original; wrong reasons are 400; double voids 409.
    @Test func voids() async throws {
        let f = try await fixture()
        let m = try await f.newMerchant()
        let sale = try await f.sell(m)
        let id = try #require(sale["id"]?.stringValue)
        let bad = await f.post("/transaction/void", key: m.merchant,
                               ["original_transaction_id": .string(id), "void_reason": "changed_mind", "voided_by": "EMP-001"])
        #expect(bad.isError(400, "VALIDATION_ERROR",
                            "void_reason must be one of customer_changed_mind, pricing_error, duplicate_transaction, employee_error, fraud_suspected"))
        let missing = await f.post("/transaction/void", key: m.merchant, ["original_transaction_id": "TXN-NOPE",
                                   "void_reason": "customer_changed_mind", "voided_by": "EMP-001"])
        #expect(missing.isError(404, "NOT_FOUND", "Transaction not found"))
        let response = await f.post("/transaction/void", key: m.merchant, ["original_transaction_id": .string(id),
                                    "void_reason": "customer_changed_mind", "voided_by": "EMP-001"])
        #expect(response.status == 200)
        let void = try #require(response.bodyJSON?["void"])
        #expect(void["id"]?.stringValue?.hasPrefix("VOID-2026-04-14-") == true)
        #expect(void["linked_id"] == .string(id))
        #expect(void["original_transaction_id"] == .string(id))
        #expect(void["calculation"]?["ledger_total_cents"] == -723)
        #expect(void["calculation"]?["cash_total_cents"] == -725)
        #expect(void["calculation"]?["rounding_delta_cents"] == -2)
        #expect(void["chainPosition"] == 2)
        #expect(void["previousHash"] == sale["auditHash"])
        let again = await f.post("/transaction/void", key: m.merchant, ["original_transaction_id": .string(id),
                                 "void_reason": "customer_changed_mind", "voided_by": "EMP-001"])
        #expect(again.isError(409, "CONFLICT", "Transaction is already voided"))
        // Vector 66: 722 → 720 is voided as −722 → −720, delta +2.
        let down = try await f.sell(m, ["subtotal_cents": 522])
        let downVoid = await f.post("/transaction/void", key: m.merchant, ["original_transaction_id": down["id"]!,
                                    "void_reason": "pricing_error", "voided_by": "EMP-002"])
        #expect(downVoid.bodyJSON?["void"]?["calculation"]?["cash_total_cents"] == -720)
        #expect(downVoid.bodyJSON?["void"]?["calculation"]?["rounding_delta_cents"] == 2)
        let receipt = await f.get("/transaction/\(id)/receipt", key: m.merchant)
        #expect(receipt.bodyJSON?["receipt"]?["status"] == "voided")
    }

    /// A32, A33: refunds are linked, flagged (never blocked) when the normalization check fails.
    @Test func refunds() async throws {
        let f = try await fixture()
        let m = try await f.newMerchant()
        let sale = try await f.sell(m)
        let id = try #require(sale["id"])
        let wrongReason = await f.post("/transaction/refund", key: m.merchant, ["original_transaction_id": id, "refund_amount": 725,
                                       "void_reason": "customer_changed_mind", "voided_by": "EMP-001"])
        #expect(wrongReason.isError(400, "VALIDATION_ERROR",
                                    "void_reason must be one of defective_product, customer_dissatisfied, wrong_item, price_adjustment"))
        let tooMuch = await f.post("/transaction/refund", key: m.merchant, ["original_transaction_id": id, "refund_amount": 726,
                                   "void_reason": "defective_product", "voided_by": "EMP-001"])
        #expect(tooMuch.isError(400, "VALIDATION_ERROR", "refund_amount exceeds the refundable amount of 725 cents"))
        let full = await f.post("/transaction/refund", key: m.merchant, ["original_transaction_id": id, "refund_amount": 725,
                                "void_reason": "defective_product", "voided_by": "EMP-001"])
        #expect(full.status == 200)
        let refund = try #require(full.bodyJSON?["refund"])
        #expect(refund["linked_id"] == id)
        #expect(refund["refund_amount_cents"] == 725)
        #expect(refund["ledger_total_cents"] == -723)
        #expect(refund["rounding_delta_cents"] == -2)
        #expect(refund["normalization_check"]?["status"] == "PASS")
        #expect(refund["normalization_flagged"] == false)
        // 722 → 720 refunded at the ledger value 722: the rounding is not reversed → flagged, still 200.
        let down = try await f.sell(m, ["subtotal_cents": 522])
        let flagged = await f.post("/transaction/refund", key: m.merchant, ["original_transaction_id": down["id"]!,
                                   "refund_amount": 722, "void_reason": "customer_dissatisfied", "voided_by": "EMP-001"])
        #expect(flagged.status == 200)
        #expect(flagged.bodyJSON?["refund"]?["normalization_check"]?["status"] == "FAIL")
        #expect(flagged.bodyJSON?["refund"]?["normalization_flagged"] == true)
        // Partial refunds: the completing one carries the rounding reversal.
        let third = try await f.sell(m)
        let partial = await f.post("/transaction/refund", key: m.merchant, ["original_transaction_id": third["id"]!,
                                   "refund_amount": 700, "void_reason": "wrong_item", "voided_by": "EMP-001"])
        #expect(partial.bodyJSON?["refund"]?["rounding_delta_cents"] == 0)
        let rest = await f.post("/transaction/refund", key: m.merchant, ["original_transaction_id": third["id"]!,
                                "refund_amount": 25, "void_reason": "wrong_item", "voided_by": "EMP-001"])
        #expect(rest.bodyJSON?["refund"]?["rounding_delta_cents"] == -2)
        #expect(rest.bodyJSON?["refund"]?["normalization_check"]?["status"] == "PASS")
        let voidAfterRefund = await f.post("/transaction/void", key: m.merchant, ["original_transaction_id": third["id"]!,
                                           "void_reason": "customer_changed_mind", "voided_by": "EMP-001"])
        #expect(voidAfterRefund.isError(409, "CONFLICT", "Transaction has refunds and can no longer be voided"))
    }

    /// A34, A35: overrides are new records; the original stays unchanged; the report lists them.
    @Test func overrides() async throws {
        let f = try await fixture()
        let m = try await f.newMerchant()
        let sale = try await f.sell(m)
        let id = try #require(sale["id"])
        let underscore = await f.post("/transaction/override", key: m.merchant, ["transaction_id": id, "employee_id": "EMP-001",
                                      "employee_name": "Jane Manager", "reason": "customer_request", "new_cash_total_cents": 720])
        #expect(underscore.isError(400, "VALIDATION_ERROR",
                                   "reason must be one of customer-request, manager-discretion, pricing-error, system-error"))
        let noName = await f.post("/transaction/override", key: m.merchant, ["transaction_id": id, "employee_id": "EMP-001",
                                  "reason": "customer-request", "new_cash_total_cents": 720])
        #expect(noName.isError(400, "VALIDATION_ERROR", "employee_name is required"))
        let response = await f.post("/transaction/override", key: m.merchant, ["transaction_id": id, "employee_id": "EMP-001",
                                    "employee_name": "Jane Manager", "reason": "customer-request", "new_cash_total_cents": 720])
        #expect(response.status == 200)
        let override = try #require(response.bodyJSON?["override"])
        #expect(override["overrideHash"]?.stringValue?.count == 64)
        #expect(override["calculated_cash_total_cents"] == 725)
        #expect(override["new_cash_total_cents"] == 720)
        #expect(override["override_delta_cents"] == -5)
        #expect(override["employee_name"] == "Jane Manager")
        let audit = await f.get("/transaction/\(id.stringValue!)/receipt?format=audit", key: m.merchant)
        #expect(audit.bodyJSON?["audit"]?["calculation"]?["cash_total_cents"] == 725)
        #expect(audit.bodyJSON?["audit"]?["auditHash"] == sale["auditHash"])
        #expect(audit.bodyJSON?["receipt"]?["cash_total_cents"] == 720)
        #expect(audit.bodyJSON?["receipt"]?["overridden"] == true)
        let report = await f.get("/overrides/report", key: m.merchant)
        #expect(report.bodyJSON?["total_overrides"] == 1)
        guard case .array(let list)? = report.bodyJSON?["overrides"], let first = list.first else {
            Issue.record("no overrides in report"); return
        }
        #expect(first["transaction_id"] == id)
        #expect(first["reason"] == "customer-request")
        #expect(first["delta_cents"] == -5)
        #expect(first["employee_id"] == "EMP-001")
    }
}
