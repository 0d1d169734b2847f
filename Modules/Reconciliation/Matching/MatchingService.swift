import AcquirerContract
import Kernel

/// `GET /v1/settlements/{id}/matching` and `atlas admin reconciliation-match`: fetch the acquirer's
/// settlement file for one settlement and match it against our lines.
struct MatchingService: Sendable {
    let services: ModuleServices
    let settlements: SettlementStore
    let close: CloseDayStore

    init(services: ModuleServices) {
        self.services = services
        settlements = SettlementStore(database: services.database)
        close = CloseDayStore(database: services.database, eventLog: services.eventLog)
    }

    func handle(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let id = request.pathParameter("id") ?? ""
        return .json(try await match(id, tenant: context.tenant).json)
    }

    func match(_ settlementId: String, tenant: TenantContext) async throws -> MatchReport {
        guard TypedID(rawValue: settlementId).matches(.settlement),
              let settlement = try await settlements.find(settlementId, tenant: tenant) else {
            throw AtlasError.notFound("Settlement not found")
        }
        guard let source = services.acquirers?.settlementFiles(for: tenant.mode) else {
            throw AtlasError(kind: .unavailable, status: 503, code: "ACQUIRER_NOT_CONFIGURED",
                             message: "No acquirer reports \(tenant.mode.rawValue) settlements")
        }
        let lines = try await close.lines(of: settlement.id, tenant: tenant)
        let submission = SettlementSubmission(settlementId: settlement.id, tenant: tenant, currency: settlement.currency,
                                              closedAt: settlement.closedAt, netAmountMinorUnits: settlement.netAmount,
                                              lines: lines, attempt: settlement.attempt)
        let file = try await source.settlementFile(submission)
        do {
            return SettlementMatcher.match(ours: lines, theirs: try SettlementMatcher.parse(file))
        } catch {
            throw AtlasError(kind: .unavailable, status: 502, code: "ACQUIRER_FILE_INVALID",
                             message: "The acquirer's settlement file could not be read (\(error))")
        }
    }
}
