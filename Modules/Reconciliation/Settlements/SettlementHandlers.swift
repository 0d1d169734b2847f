import Foundation
import Kernel

/// `GET /v1/settlements`, `/v1/settlements/{id}`, `/v1/settlements/{id}/transactions` and the export.
struct SettlementHandlers: Sendable {
    /// Every paging and export limit, named (commerce-api §3.4, §9).
    struct Limits: Sendable, Hashable {
        var settlementsPageDefault = 25
        var settlementsPageMax = 100
        var itemsPageDefault = 50
        var itemsPageMax = 200
        /// Items read per query while an export is written, so the database never returns a whole settlement at once.
        var exportChunkItemsMax = 1_000
    }

    static let itemTypes: Set<String> = ["SALE", "REFUND", "VOID", "PRE_AUTH_COMPLETE"]

    let store: SettlementStore
    let limits: Limits

    func list(_ request: Request, context: RequestContext) async throws -> Response {
        let tenant = try context.requireTenant()
        let query = request.queryParameters
        let limit = try QueryParameters.limit(query["limit"], fallback: limits.settlementsPageDefault,
                                                       max: limits.settlementsPageMax)
        var filter = SettlementStore.ListFilter(limit: limit)
        filter.from = try QueryParameters.timestamp(query["from"], field: "from")
        filter.to = try QueryParameters.timestamp(query["to"], field: "to")
        if let currency = query["currency"] { filter.currency = try ReconciliationValidation.currency(currency, field: "currency") }
        filter.beforeId = try ReconciliationValidation.cursor(query["cursor"], prefix: .settlement)
        let found = try await store.list(filter, tenant: tenant)
        let page = Array(found.prefix(limit))
        let hasMore = found.count > limit
        return .json(["data": .array(page.map(\.json)), "hasMore": .bool(hasMore),
                      "nextCursor": hasMore ? .string("cursor_" + (page.last?.id ?? "")) : .null])
    }

    func get(_ request: Request, context: RequestContext) async throws -> Response {
        .json(try await settlement(request, tenant: try context.requireTenant()).json)
    }

    func transactions(_ request: Request, context: RequestContext) async throws -> Response {
        let tenant = try context.requireTenant()
        let query = request.queryParameters
        let limit = try QueryParameters.limit(query["limit"], fallback: limits.itemsPageDefault,
                                                       max: limits.itemsPageMax)
        var filter = SettlementStore.ItemFilter(limit: limit)
        if let type = query["type"] {
            guard Self.itemTypes.contains(type) else {
                throw AtlasError.invalidField("type", "type must be SALE, REFUND, VOID or PRE_AUTH_COMPLETE", constraint: "enum")
            }
            filter.type = type
        }
        filter.afterId = try ReconciliationValidation.cursor(query["cursor"], prefix: .transaction)
        let settlement = try await settlement(request, tenant: tenant)
        let found = try await store.items(of: settlement.id, filter, tenant: tenant)
        let page = Array(found.prefix(limit))
        let hasMore = found.count > limit
        return .json(["data": .array(page.map(\.json)), "hasMore": .bool(hasMore),
                      "nextCursor": hasMore ? .string("cursor_" + (page.last?.transactionId ?? "")) : .null])
    }

    /// Every line of the settlement in one response (not paginated), read in chunks of
    /// `exportChunkItemsMax`. The HTTP server sends a body it holds whole, so the body itself is built in
    /// memory; see docs/reconciliation.md.
    func export(_ request: Request, context: RequestContext) async throws -> Response {
        let tenant = try context.requireTenant()
        guard let format = request.queryParameters["format"] else { throw AtlasError.missingField("format") }
        guard let exportFormat = SettlementExport.Format(rawValue: format) else {
            throw AtlasError.invalidField("format", "format must be csv or jsonl", constraint: "enum")
        }
        let settlement = try await settlement(request, tenant: tenant)
        var writer = SettlementExport(format: exportFormat)
        var filter = SettlementStore.ItemFilter(limit: limits.exportChunkItemsMax)
        while true {
            let chunk = try await store.items(of: settlement.id, filter, tenant: tenant)
            for item in chunk.prefix(filter.limit) { writer.append(item) }
            guard chunk.count > filter.limit, let last = chunk.prefix(filter.limit).last else { break }
            filter.afterId = last.transactionId
        }
        var headers = HTTPHeaders()
        headers.add("Content-Type", exportFormat.contentType)
        headers.add("Content-Disposition", "attachment; filename=\"\(settlement.id).\(exportFormat.rawValue)\"")
        return Response(status: 200, headers: headers, body: writer.body)
    }

    private func settlement(_ request: Request, tenant: TenantContext) async throws -> SettlementRecord {
        let id = request.pathParameter("id") ?? ""
        guard TypedID(rawValue: id).matches(.settlement), let found = try await store.find(id, tenant: tenant) else {
            throw AtlasError.notFound("Settlement not found")
        }
        return found
    }
}

/// Writes export lines: CSV with the documented header, or JSONL with the same keys.
struct SettlementExport: Sendable {
    enum Format: String, Sendable {
        case csv, jsonl

        var contentType: String {
            switch self {
            case .csv: "text/csv; charset=utf-8"
            case .jsonl: "application/x-ndjson"
            }
        }
    }

    let format: Format
    private(set) var body: [UInt8] = []

    init(format: Format) {
        self.format = format
        if format == .csv { body += Array((SettlementItem.exportColumns.joined(separator: ",") + "\n").utf8) }
    }

    mutating func append(_ item: SettlementItem) {
        switch format {
        case .csv: body += Array((item.exportValues.map(Self.csvField).joined(separator: ",") + "\n").utf8)
        case .jsonl:
            body += item.exportJSON.serialized()
            body.append(UInt8(ascii: "\n"))
        }
    }

    /// RFC 4180 quoting for a field holding a comma, a quote or a line break (none of today's values do).
    static func csvField(_ value: String) -> String {
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
