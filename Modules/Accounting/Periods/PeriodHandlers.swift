import Foundation
import Kernel

/// `/periods`: list, close, reopen, verify the chain (issue 11 "Period close"; spec B.2 rules 24–25, B.3 B35).
/// The API shape is inferred (the product has no period endpoints): documented in docs/accounting.md.
struct PeriodHandlers: Sendable {
    static let reasonLengthMax = 500

    let store: PeriodStore
    let scope: CompanyScope
    let clock: any WallClock

    func list(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        let page = try AccountingPage(request.queryParameters)
        let company = try await scope.resolve(request, caller)
        let periods = try await store.list(companyId: company.id, mode: caller.mode)
        let items = periods.dropFirst(page.offset).prefix(page.limit).map(\.json)
        return .json(page.envelope(Array(items), total: periods.count))
    }

    /// `POST /periods/close {period_start, period_end}` (body or query).
    func close(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        let body = try request.optionalJSONObject()
        let query = request.queryParameters
        for field in ["period_start", "period_end", "company_id"] {
            if let value = body[field], value != .null, value.stringValue == nil {
                throw AtlasError.invalidField(field, "\(field) must be a string")
            }
        }
        let start = try AccountingInput.requiredDate(body["period_start"]?.stringValue ?? query["period_start"], field: "period_start")
        let end = try AccountingInput.requiredDate(body["period_end"]?.stringValue ?? query["period_end"], field: "period_end")
        guard start <= end else { throw AtlasError.invalidField("period_end", "period_end must not be before period_start") }
        let company = try await scope.resolve(request, caller, bodyCompanyId: body["company_id"]?.stringValue)
        let period = try await store.close(company, mode: caller.mode, start: start, end: end, userId: caller.userId,
                                           now: clock.now())
        return .json(period.json, status: 201)
    }

    /// `POST /periods/{id}/reopen {reason}`.
    func reopen(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        guard let id = AccountingInput.uuid(request.pathParameter("id")) else { throw AccountingInput.notFound("Period") }
        let reason = try request.actionReason(lengthMax: Self.reasonLengthMax)
        switch try await store.reopen(id, organizationId: caller.organizationId, mode: caller.mode, reason: reason,
                                      userId: caller.userId, now: clock.now()) {
        case .notFound: throw AccountingInput.notFound("Period")
        case .reopened(let period): return .json(period.json)
        }
    }

    /// `GET /periods/verify-chain`: recomputes each closed period's hash and the chain; lists the breaks.
    func verify(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        let company = try await scope.resolve(request, caller)
        let (checked, breaks) = try await store.verify(companyId: company.id, mode: caller.mode)
        return .json(["company_id": .string(company.id), "periods_checked": .int(Int64(checked)), "is_valid": .bool(breaks.isEmpty),
                      "breaks": .array(breaks.map { ["period_id": .string($0.periodId), "reason": .string($0.reason)] })])
    }

    /// `atlas admin accounting-verify-periods`: every company's live and test chains.
    static var adminCommand: AdminCommand {
        AdminCommand(name: "accounting-verify-periods",
                     usage: "admin accounting-verify-periods  (recompute every closed period's hash chain; report breaks)") { _, services in
            let store = PeriodStore(database: services.database, crypto: services.crypto, eventLog: services.eventLog)
            let companies = try await services.database.query("SELECT id FROM accounting_companies ORDER BY id")
            var breaksTotal = 0
            for row in companies {
                let companyId: String = try row.decode("id")
                for mode in [Mode.live, Mode.test] {
                    let (checked, breaks) = try await store.verify(companyId: companyId, mode: mode)
                    for chainBreak in breaks {
                        print("break company=\(companyId) mode=\(mode.rawValue) period=\(chainBreak.periodId): \(chainBreak.reason)")
                    }
                    if checked > 0 { print("company=\(companyId) mode=\(mode.rawValue): \(checked) closed periods checked") }
                    breaksTotal += breaks.count
                }
            }
            print("accounting period chains: \(breaksTotal == 0 ? "intact" : "\(breaksTotal) breaks")")
            if breaksTotal > 0 { throw CommandUsageError("the period hash chain is broken") }
        }
    }
}
