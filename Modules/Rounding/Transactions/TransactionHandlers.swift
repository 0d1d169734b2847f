import CashRoundingContract
import Foundation
import Kernel

/// `POST /transaction`, `/transaction/void`, `/transaction/refund`, `/transaction/override`.
struct TransactionHandlers: Sendable {
    /// Voids are accepted within this long after the sale; later, use a refund (docs/rounding.md).
    static let voidWindowSeconds: TimeInterval = 24 * 3600
    /// A void of a sale whose cash total is at least this many cents is flagged for manager review.
    static let voidReviewThresholdCents: Int64 = 50_000

    let service: RoundingService

    // MARK: Sale

    func sale(_ request: Request, _ context: RoundingContext) async throws -> Response {
        let caller = Caller(context, service: service)
        let input = try SaleInput(FieldCheck.decode(TransactionBody.self, from: request))
        let tenant = try await caller.tenant(forBodyMerchant: input.merchantId)
        // Validate with the pure engine before touching the database (no merchant setting yet).
        do { _ = try service.engine.round(input.engineRequest(merchantMode: nil), on: service.clock.now()) } catch {
            throw RoundingService.engineError(error)
        }
        let service = service
        let (stored, score, result) = try await service.appending { executor in
            let head = try await service.chain.lockHead(executor, tenant: tenant)
            let now = service.clock.now()
            let result: CashRoundingResult
            do { result = try service.engine.round(input.engineRequest(merchantMode: head.indianaMode), on: now) } catch let error as CashRoundingError {
                throw RoundingService.engineError(error)
            }
            var counters = head.counters
            counters.sales += 1
            if result.roundingApplied && result.deltaMinorUnits > 0 { counters.roundedUp += 1 }
            if result.roundingApplied && result.deltaMinorUnits < 0 { counters.roundedDown += 1 }
            counters.netDeltaCents += result.deltaMinorUnits
            let score = FraudScoring.score(counters)
            let draft = TransactionHandlers.saleDraft(input, result: result, score: score, caller: caller,
                                                      id: service.recordId("TXN", on: now), on: now)
            let stored = try await service.chain.append(executor, tenant: tenant, head: head, draft: draft, occurredAt: now,
                                                        counters: counters, indianaMode: head.indianaMode)
            return (stored, score, result)
        }
        let transaction: [String: JSONValue] = [
            "id": .string(stored.recordId),
            "calculation": result.calculationJSON(subtotalCents: input.subtotalCents, taxTotalCents: input.taxTotalCents,
                                                  paymentMethod: input.paymentMethod, split: !input.tenders.isEmpty),
            "compliance": stored.record["compliance"] ?? .null,
            "fraud_score": .int(Int64(score.total)), "risk_level": .string(score.riskLevel.rawValue),
            "chainPosition": .int(stored.position), "auditHash": .string(stored.auditHash),
        ]
        return .json(["success": true, "transaction": .object(transaction)])
    }

    /// Compliance: the engine's PASS/WARN, raised to WARN for a HIGH and FAIL for a CRITICAL fraud score
    /// (recorded and returned, never blocked).
    static func compliance(_ result: CashRoundingResult, score: FraudScoring.Breakdown) -> (ComplianceStatus, [String]) {
        var status = result.complianceStatus
        var notes = result.complianceNotes
        switch score.riskLevel {
        case .critical:
            status = .fail
            notes.append("fraud score \(score.total) is CRITICAL")
        case .high:
            if status == .pass { status = .warn }
            notes.append("fraud score \(score.total) is HIGH")
        default: break
        }
        return (status, notes)
    }

    static func saleDraft(_ input: SaleInput, result: CashRoundingResult, score: FraudScoring.Breakdown, caller: Caller,
                          id: String, on date: Date) -> RecordDraft {
        let (status, notes) = compliance(result, score: score)
        var compliance: [String: JSONValue] = ["compliance_status": .string(status.rawValue)]
        if !notes.isEmpty { compliance["notes"] = .array(notes.map(JSONValue.string)) }
        let rule = JurisdictionRuleTable.enacted.rule(jurisdictionID: result.jurisdictionID, on: CivilDate(date))
        let fields: [String: JSONValue] = [
            "request": input.recordJSON,
            "calculation": result.calculationJSON(subtotalCents: input.subtotalCents, taxTotalCents: input.taxTotalCents,
                                                  paymentMethod: input.paymentMethod, split: !input.tenders.isEmpty),
            "compliance": .object(compliance),
            "fraud_score": .int(Int64(score.total)), "risk_level": .string(score.riskLevel.rawValue),
            "subtotal_cents": .int(input.subtotalCents), "tax_total_cents": .int(input.taxTotalCents),
            "cash_portion_cents": .int(result.cashPortionLedgerMinorUnits),
            "cash_portion_rounded_cents": .int(result.cashPortionRoundedMinorUnits),
            "cash_rounding_mode": .string(result.mode.rawValue), "jurisdiction": .string(result.jurisdictionID),
            "legislation": result.legislation.map(JSONValue.string) ?? .null,
            "rounding_applied": .bool(result.roundingApplied),
            "receipt_disclosure_required": .bool(rule?.receiptDisclosureRequired ?? false),
            "store_id": input.storeId.map(JSONValue.string) ?? .null,
            "terminal_id": input.terminalId.map(JSONValue.string) ?? .null,
            "created_by": caller.attribution,
        ]
        return RecordDraft(recordId: id, eventType: "SALE", linkedId: nil, employeeId: input.employeeId, reasonCode: nil,
                           paymentMethod: input.paymentMethod.rawValue, complianceStatus: status.rawValue,
                           ledgerTotalCents: result.ledgerTotalMinorUnits, cashTotalCents: result.cashTotalMinorUnits,
                           roundingDeltaCents: result.deltaMinorUnits, fields: fields)
    }

    // MARK: Void

    func void(_ request: Request, _ context: RoundingContext) async throws -> Response {
        let caller = Caller(context, service: service)
        let body = try FieldCheck.decode(VoidBody.self, from: request)
        let originalId = try FieldCheck.identifier(body.originalTransactionId, "original_transaction_id")
        let reason: VoidReason = try FieldCheck.oneOf(body.voidReason, "void_reason", VoidReason.allCases)
        let voidedBy = try FieldCheck.identifier(body.voidedBy, "voided_by")
        let (tenant, sale) = try await findSale(originalId, caller: caller)
        let service = service
        let stored = try await service.appending { executor in
            let head = try await service.chain.lockHead(executor, tenant: tenant)
            let state = try await SaleState.load(executor, sale: sale, tenant: tenant)
            let now = service.clock.now()
            try TransactionHandlers.checkVoidable(state, now: now)
            let nearShift = FraudScoring.isNearShiftChange(now)
            var counters = head.counters
            counters.voids += 1
            if nearShift { counters.voidsNearShiftChange += 1 }
            let draft = TransactionHandlers.voidDraft(state, reason: reason, voidedBy: voidedBy, nearShift: nearShift,
                                                      caller: caller, id: service.recordId("VOID", on: now))
            return try await service.chain.append(executor, tenant: tenant, head: head, draft: draft, occurredAt: now,
                                                  counters: counters, indianaMode: head.indianaMode)
        }
        var void = stored.record
        void = void.setting("id", .string(stored.recordId)).setting("chainPosition", .int(stored.position))
            .setting("auditHash", .string(stored.auditHash)).setting("previousHash", .string(stored.previousHash))
        return .json(["success": true, "void": TransactionHandlers.publicView(void)])
    }

    static func checkVoidable(_ state: SaleState, now: Date) throws {
        if state.voidRecord != nil { throw RoundingService.conflict("Transaction is already voided") }
        if !state.refunds.isEmpty { throw RoundingService.conflict("Transaction has refunds and can no longer be voided") }
        let soldAt = state.sale.record["occurred_at"]?.stringValue.flatMap(Timestamp.parseISO8601) ?? now
        if now.timeIntervalSince(soldAt) > voidWindowSeconds {
            throw AtlasError.invalidField("original_transaction_id",
                                          "original_transaction_id is past the 24-hour void window; use /transaction/refund",
                                          constraint: "policy")
        }
    }

    /// The reversal: every amount of the original negated, so the rounding delta mirrors it (+2 → −2).
    /// After an override the settled cash total is what is reversed.
    static func voidDraft(_ state: SaleState, reason: VoidReason, voidedBy: String, nearShift: Bool, caller: Caller,
                          id: String) -> RecordDraft {
        let ledger = -state.ledgerTotalCents
        let cash = -state.effectiveCashTotalCents
        var calculation = state.calculation
        for (key, value) in [("subtotal_cents", -state.int("subtotal_cents")), ("tax_total_cents", -state.int("tax_total_cents")),
                             ("ledger_total_cents", ledger), ("cash_total_cents", cash), ("rounding_delta_cents", cash - ledger)] {
            calculation = calculation.setting(key, .int(value))
        }
        if let portion = state.sale.record["cash_portion_cents"]?.intValue, calculation["cash_portion_cents"] != nil {
            calculation = calculation.setting("cash_portion_cents", .int(-portion))
                .setting("cash_portion_rounded_cents", .int(-(state.sale.record["cash_portion_rounded_cents"]?.intValue ?? 0)))
        }
        let review = state.effectiveCashTotalCents.magnitude >= voidReviewThresholdCents.magnitude || reason == .fraudSuspected
        let fields: [String: JSONValue] = [
            "original_transaction_id": .string(state.sale.recordId), "void_reason": .string(reason.rawValue),
            "voided_by": .string(voidedBy), "calculation": calculation,
            "subtotal_cents": .int(-state.int("subtotal_cents")), "tax_total_cents": .int(-state.int("tax_total_cents")),
            "near_shift_change": .bool(nearShift), "manager_review_required": .bool(review),
            "original_audit_hash": .string(state.sale.auditHash), "created_by": caller.attribution,
        ]
        return RecordDraft(recordId: id, eventType: "VOID", linkedId: state.sale.recordId, employeeId: voidedBy,
                           reasonCode: reason.rawValue, paymentMethod: state.sale.record["payment_method"]?.stringValue,
                           complianceStatus: nil, ledgerTotalCents: ledger, cashTotalCents: cash,
                           roundingDeltaCents: cash - ledger, fields: fields)
    }

    // MARK: Refund

    func refund(_ request: Request, _ context: RoundingContext) async throws -> Response {
        let caller = Caller(context, service: service)
        let body = try FieldCheck.decode(RefundBody.self, from: request)
        let originalId = try FieldCheck.identifier(body.originalTransactionId, "original_transaction_id")
        let amount = try FieldCheck.cents(body.refundAmount, "refund_amount", minimum: 1)
        let reason: RefundReason = try FieldCheck.oneOf(body.voidReason, "void_reason", RefundReason.allCases)
        let voidedBy = try FieldCheck.identifier(body.voidedBy, "voided_by")
        let (tenant, sale) = try await findSale(originalId, caller: caller)
        let service = service
        let (stored, passed) = try await service.appending { executor in
            let head = try await service.chain.lockHead(executor, tenant: tenant)
            let state = try await SaleState.load(executor, sale: sale, tenant: tenant)
            if state.voidRecord != nil { throw RoundingService.conflict("Transaction is voided and cannot be refunded") }
            let now = service.clock.now()
            let refund = try RefundCalculation(state: state, refundCents: amount)
            var counters = head.counters
            counters.refunds += 1
            if !refund.normalizationPassed { counters.refundNormalizationFailures += 1 }
            let draft = TransactionHandlers.refundDraft(state, refund: refund, reason: reason, voidedBy: voidedBy,
                                                        caller: caller, id: service.recordId("RFND", on: now))
            let stored = try await service.chain.append(executor, tenant: tenant, head: head, draft: draft, occurredAt: now,
                                                        counters: counters, indianaMode: head.indianaMode)
            return (stored, refund.normalizationPassed)
        }
        if !passed {
            // Flagged and logged, never blocked (RFND). Ids only; no amounts or personal data in the log.
            service.logger.warning("refund normalization check failed",
                                   ["refund_id": .string(stored.recordId), "original_transaction_id": .string(originalId),
                                    "merchant_id": .string(tenant.merchantId)])
        }
        let view = stored.record.setting("id", .string(stored.recordId)).setting("chainPosition", .int(stored.position))
            .setting("auditHash", .string(stored.auditHash)).setting("previousHash", .string(stored.previousHash))
        return .json(["success": true, "refund": TransactionHandlers.publicView(view)])
    }

    static func refundDraft(_ state: SaleState, refund: RefundCalculation, reason: RefundReason, voidedBy: String,
                            caller: Caller, id: String) -> RecordDraft {
        let check: JSONValue = [
            "status": .string(refund.normalizationPassed ? "PASS" : "FAIL"),
            "original_delta_cents": .int(refund.originalDeltaCents), "refund_delta_cents": .int(refund.deltaCents),
            "message": .string(refund.normalizationPassed
                ? "refund rounding reverses the original rounding"
                : "refund rounding does not reverse the original rounding; flagged for review"),
        ]
        let fields: [String: JSONValue] = [
            "original_transaction_id": .string(state.sale.recordId), "refund_amount_cents": .int(refund.refundCents),
            "void_reason": .string(reason.rawValue), "voided_by": .string(voidedBy),
            "completes_refund": .bool(refund.completesRefund), "normalization_check": check,
            "normalization_flagged": .bool(!refund.normalizationPassed),
            "original_audit_hash": .string(state.sale.auditHash), "created_by": caller.attribution,
        ]
        return RecordDraft(recordId: id, eventType: "REFUND", linkedId: state.sale.recordId, employeeId: voidedBy,
                           reasonCode: reason.rawValue, paymentMethod: state.sale.record["payment_method"]?.stringValue,
                           complianceStatus: refund.normalizationPassed ? "PASS" : "WARN",
                           ledgerTotalCents: -refund.ledgerCents, cashTotalCents: -refund.refundCents,
                           roundingDeltaCents: refund.deltaCents, fields: fields)
    }

    // MARK: Override

    func override(_ request: Request, _ context: RoundingContext) async throws -> Response {
        let caller = Caller(context, service: service)
        let body = try FieldCheck.decode(OverrideBody.self, from: request)
        let transactionId = try FieldCheck.identifier(body.transactionId, "transaction_id")
        let employeeId = try FieldCheck.identifier(body.employeeId, "employee_id")
        let employeeName = try FieldCheck.text(body.employeeName, "employee_name")
        let reason: OverrideReason = try FieldCheck.oneOf(body.reason, "reason", OverrideReason.allCases)
        let newCash = try FieldCheck.cents(body.newCashTotalCents, "new_cash_total_cents")
        let (tenant, sale) = try await findSale(transactionId, caller: caller)
        let service = service
        let stored = try await service.appending { executor in
            let head = try await service.chain.lockHead(executor, tenant: tenant)
            let state = try await SaleState.load(executor, sale: sale, tenant: tenant)
            if state.voidRecord != nil { throw RoundingService.conflict("Transaction is voided and cannot be overridden") }
            let now = service.clock.now()
            let delta = newCash - state.calculatedCashTotalCents
            var counters = head.counters
            counters.overrides += 1
            // Saturates: a trap here would take the server down for every merchant.
            let (sum, overflow) = counters.overrideAbsDeltaCents.addingReportingOverflow(Int64(clamping: delta.magnitude))
            counters.overrideAbsDeltaCents = overflow ? .max : sum
            let fields: [String: JSONValue] = [
                "transaction_id": .string(transactionId), "employee_name": .string(employeeName),
                "reason": .string(reason.rawValue),
                "calculated_cash_total_cents": .int(state.calculatedCashTotalCents),
                "original_rounding_delta_cents": .int(state.int("rounding_delta_cents")),
                "previous_cash_total_cents": .int(state.effectiveCashTotalCents),
                "new_cash_total_cents": .int(newCash), "override_delta_cents": .int(delta),
                "new_rounding_delta_cents": .int(newCash - state.ledgerTotalCents),
                "original_audit_hash": .string(state.sale.auditHash), "created_by": caller.attribution,
            ]
            let draft = RecordDraft(recordId: service.recordId("OVR", on: now), eventType: "OVERRIDE", linkedId: transactionId,
                                    employeeId: employeeId, reasonCode: reason.rawValue,
                                    paymentMethod: state.sale.record["payment_method"]?.stringValue, complianceStatus: nil,
                                    ledgerTotalCents: state.ledgerTotalCents, cashTotalCents: newCash,
                                    roundingDeltaCents: newCash - state.ledgerTotalCents, fields: fields)
            return try await service.chain.append(executor, tenant: tenant, head: head, draft: draft, occurredAt: now,
                                                  counters: counters, indianaMode: head.indianaMode)
        }
        let view = stored.record.setting("id", .string(stored.recordId)).setting("chainPosition", .int(stored.position))
            .setting("auditHash", .string(stored.auditHash)).setting("overrideHash", .string(stored.auditHash))
            .setting("previousHash", .string(stored.previousHash))
        return .json(["success": true, "override": TransactionHandlers.publicView(view)])
    }

    // MARK: Shared

    /// The sale named by `id` that the caller may act on, and the tenant whose chain it lives in.
    func findSale(_ id: String, caller: Caller) async throws -> (TenantContext, ChainRecord) {
        guard let found = try await caller.requireAccess(try await ChainStore.find(service.database, recordId: id, mode: caller.mode,
                                                    merchantId: caller.lookupMerchant, eventTypes: ["SALE"]),
                                                              merchantId: { $0.merchantId }) else {
            throw RoundingService.notFound()
        }
        return (TenantContext(merchantId: found.merchantId, mode: caller.mode), found.record)
    }

    /// A stored record as returned to clients: without the attribution block.
    static func publicView(_ record: JSONValue) -> JSONValue {
        guard case .object(var object) = record else { return record }
        object.removeValue(forKey: "created_by")
        return .object(object)
    }
}
