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
        /// Items per keyset page of a streamed export: the page being sent and those being read are held, so an
        /// export of any size holds about `exportReadAheadPages + 1` pages (≈ 3 MB of CSV) in memory. Each page
        /// costs a transaction of four round trips, so pages much smaller than this spend more on them than on
        /// the COPY.
        var exportPageItems = 10_000
        /// Pages read at once while one is sent, each on its own connection. WHY more than one: a page's COPY is
        /// one PostgreSQL backend's work on one core, and it, not the socket, set the export's pace.
        var exportReadAheadPages = 2
    }

    static let itemTypes: Set<String> = ["SALE", "REFUND", "VOID", "PRE_AUTH_COMPLETE"]

    let store: SettlementStore
    let limits: Limits

    func list(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let tenant = context.tenant
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

    func get(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        .json(try await settlement(request, tenant: context.tenant).json)
    }

    func transactions(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let tenant = context.tenant
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

    /// Every line of the settlement in one response (not paginated), streamed: the server pulls keyset pages of
    /// `exportPageItems` lines from `SettlementExportProducer` as the client reads (docs/reconciliation.md).
    /// Bad input and an unknown settlement are answered before the body starts.
    func export(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let tenant = context.tenant
        guard let format = request.queryParameters["format"] else { throw AtlasError.missingField("format") }
        guard let exportFormat = SettlementExport.Format(rawValue: format) else {
            throw AtlasError.invalidField("format", "format must be csv or jsonl", constraint: "enum")
        }
        let settlement = try await settlement(request, tenant: tenant)
        var headers = HTTPHeaders()
        headers.add("Content-Type", exportFormat.contentType)
        headers.add("Content-Disposition", "attachment; filename=\"\(settlement.id).\(exportFormat.rawValue)\"")
        let producer = SettlementExportProducer(store: store, settlementId: settlement.id, tenant: tenant,
                                                format: exportFormat, pageItems: limits.exportPageItems,
                                                readAheadPages: limits.exportReadAheadPages)
        return .streamed(status: 200, headers: headers, producer: producer)
    }

    private func settlement(_ request: Request, tenant: TenantContext) async throws -> SettlementRecord {
        let id = request.pathParameter("id") ?? ""
        guard TypedID(rawValue: id).matches(.settlement), let found = try await store.find(id, tenant: tenant) else {
            throw AtlasError.notFound("Settlement not found")
        }
        return found
    }
}

/// One settlement's export, pulled by the HTTP server one keyset page at a time (transaction id order). A
/// settlement's lines never change once claimed (`settlement_id` is set once), so pages read by separate
/// queries add up to exactly the settlement, with nothing held open between them. Where each page starts is
/// read first (`SettlementStore.pageEnds`, while the first page is already being read), so up to
/// `readAheadPages` pages are read at once while the server sends the one before them: the database's cores
/// and the socket overlap. Both formats are written by PostgreSQL (`SettlementStore.exportPage`, a COPY per page).
actor SettlementExportProducer: ResponseBodyProducer {
    private let store: SettlementStore
    private let settlementId: String
    private let tenant: TenantContext
    private let format: SettlementExport.Format
    private let pageItems: Int
    private let readAheadPages: Int
    private var started = false
    /// The id each page starts after (nil: the first page), once known.
    private var pageStarts: [String?]?
    /// The next page (index into `pageStarts`) whose read has not started.
    private var nextPageToRead = 0
    /// Pages being read or read and not yet sent, in page order.
    private var reads: [Task<[UInt8], any Error>] = []

    init(store: SettlementStore, settlementId: String, tenant: TenantContext, format: SettlementExport.Format,
         pageItems: Int, readAheadPages: Int) {
        precondition(pageItems > 0 && readAheadPages > 0, "an export page holds at least one line, and one is read ahead")
        self.store = store
        self.settlementId = settlementId
        self.tenant = tenant
        self.format = format
        self.pageItems = pageItems
        self.readAheadPages = readAheadPages
    }

    deinit { for read in reads { read.cancel() } }

    /// The next page's lines (the first piece starts with the CSV header); nil after the last page.
    func nextBodyPiece() async throws -> [UInt8]? {
        let starts = try await knownPageStarts()
        readAhead(starts)
        guard !reads.isEmpty else { return nil }
        var body = try await reads.removeFirst().value
        readAhead(starts)
        if !started {
            started = true
            if format == .csv { body = SettlementExport.csvHeader + body }
        }
        // Only a last page is empty (a settlement of an exact number of pages), and an empty piece would end a
        // chunked body early: the body ends here instead.
        return body.isEmpty ? nil : body
    }

    /// Where each page starts: the first page's read begins before the query that finds the others.
    private func knownPageStarts() async throws -> [String?] {
        if let pageStarts { return pageStarts }
        reads.append(read(after: nil))
        nextPageToRead = 1
        let ends = try await store.pageEnds(of: settlementId, every: pageItems, tenant: tenant)
        let starts: [String?] = [nil] + ends.map { Optional($0) }
        pageStarts = starts
        return starts
    }

    private func readAhead(_ starts: [String?]) {
        while reads.count < readAheadPages, nextPageToRead < starts.count {
            reads.append(read(after: starts[nextPageToRead]))
            nextPageToRead += 1
        }
    }

    private func read(after afterId: String?) -> Task<[UInt8], any Error> {
        let (store, settlementId, tenant, format, pageItems) = (store, settlementId, tenant, format, pageItems)
        return Task {
            try await store.exportPage(of: settlementId, format: format, afterId: afterId, limit: pageItems, tenant: tenant).lines
        }
    }
}

/// Writes export lines: CSV with the documented header, or JSONL with the same keys. The export itself is
/// written by PostgreSQL (`SettlementStore.exportPage`); this writer is the definition its bytes are tested
/// against.
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

    init(format: Format, includeHeader: Bool = true) {
        self.format = format
        if format == .csv && includeHeader { body += Self.csvHeader }
    }

    static let csvHeader = Array((SettlementItem.exportColumns.joined(separator: ",") + "\n").utf8)

    mutating func append(_ item: SettlementItem) {
        switch format {
        case .csv:
            for (index, value) in item.exportValues.enumerated() {
                if index > 0 { body.append(UInt8(ascii: ",")) }
                Self.appendCSVField(value, to: &body)
            }
            body.append(UInt8(ascii: "\n"))
        case .jsonl:
            body += item.exportJSON.serialized()
            body.append(UInt8(ascii: "\n"))
        }
    }

    /// RFC 4180 quoting for a field holding a comma, a quote or a line break (none of today's values do); bytes
    /// go straight into the body (a line of a 100,000-line export allocates nothing of its own).
    static func appendCSVField(_ value: String, to body: inout [UInt8]) {
        let needsQuoting = value.utf8.contains {
            $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r")
        }
        guard needsQuoting else {
            body.append(contentsOf: value.utf8)
            return
        }
        body.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            body.append(byte)
            if byte == UInt8(ascii: "\"") { body.append(byte) }
        }
        body.append(UInt8(ascii: "\""))
    }

    /// PostgreSQL's JSON writes U+0008 and U+000C as `\b` and `\f`, `JSONValue.serialized()` as `\u0008` and
    /// `\u000c`; every other byte is the same from both. Rewrites those two escapes (in JSON text a backslash
    /// only ever starts an escape); a page without a backslash, the usual one, is returned as is after one
    /// `memchr` over it (a Swift byte loop took 90 ms for a 10,000-line page in a debug build).
    static func escapingLikeJSONValue(_ json: [UInt8]) -> [UInt8] {
        let backslash = UInt8(ascii: "\\")
        let hasBackslash = json.withUnsafeBytes { bytes in
            bytes.baseAddress.map { memchr($0, Int32(backslash), bytes.count) != nil } ?? false
        }
        guard hasBackslash else { return json }
        var output: [UInt8] = []
        output.reserveCapacity(json.count)
        var index = 0
        while index < json.count {
            guard json[index] == backslash, index + 1 < json.count else {
                output.append(json[index])
                index += 1
                continue
            }
            switch json[index + 1] {
            case UInt8(ascii: "b"): output += Self.backspaceEscape
            case UInt8(ascii: "f"): output += Self.formFeedEscape
            default: output += json[index...index + 1]
            }
            index += 2
        }
        return output
    }

    static let backspaceEscape = Array("\\u0008".utf8)
    static let formFeedEscape = Array("\\u000c".utf8)
}
