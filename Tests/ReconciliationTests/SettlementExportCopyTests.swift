import AtlasTestSupport
import Foundation
import Kernel
import Postgres
import Testing
@testable import Reconciliation

/// The export as PostgreSQL writes it (`SettlementStore.exportPage`, COPY per keyset page): byte for byte what the
/// Swift `SettlementExport` writer makes of the same items, also for values that need CSV quoting or JSON escapes,
/// across page boundaries, and only for the settlement's own merchant and mode.
@Suite struct SettlementExportCopyTests {
    static let base = Date(timeIntervalSince1970: 1_780_000_000)

    /// Values every writer must quote or escape, and empty or NULL optional ones.
    static let awkwardCodes: [String?] = [
        "A,1", "say \"hi\"", "two\nlines", "cr\rlf\r\n", "", nil, "back\\slash", "bell\u{7}bs\u{8}ff\u{C}tab\t",
        "\u{1}\u{2}\u{1F}\u{7F}", "ünïcødé € 🧾", "\\b not a backspace", "plain",
    ]

    static let cardSchemes: [String?] = ["VISA", nil, "", "M,C \"X\""]

    /// A settlement of `count` SALEs written straight into the module's tables: sale `i` has an awkward
    /// authorization code and card scheme (cycling through `awkwardCodes` and `cardSchemes`), and a timestamp with a
    /// fraction of a second (the export writes whole seconds). One PRE_AUTH too, which is never exported.
    static func settlement(_ fixture: ReconciliationFixture, count: Int, merchantId: String? = nil,
                           mode: Mode = .test) async throws -> String {
        let id = TypedID.generate(prefix: .settlement).rawValue
        let merchant = merchantId ?? fixture.merchantId
        try await fixture.database.execute("""
            INSERT INTO reconciliation_settlements (id, merchant_id, mode, terminal_id, currency, status, submission,
                sale_count, sale_amount, refund_count, refund_amount, void_count, void_amount, pre_auth_count,
                pre_auth_amount, net_amount, closed_at)
            VALUES (\(id), \(merchant), \(mode), 'ALL', 'NZD', 'SETTLED', 'SUBMITTED', 0, 0, 0, 0, 0, 0, 1, 5, 0, \(base))
            """)
        for i in 0...count {
            try await fixture.database.execute("""
                INSERT INTO reconciliation_items (merchant_id, mode, transaction_id, type, status, amount, currency,
                    card_scheme, masked_pan, authorization_code, occurred_at, source_event_id, settlement_id)
                VALUES (\(merchant), \(mode), \("txn_\(id.suffix(8))_" + String(1000 + i)), \(i == 0 ? "PRE_AUTH" : "SALE"),
                    'APPROVED', \(100 + i), 'NZD', \(cardSchemes[i % cardSchemes.count]), \(i % 3 == 0 ? nil : "************4242"),
                    \(awkwardCodes[i % awkwardCodes.count]), \(base.addingTimeInterval(Double(i) + 0.999)), \("evt_\(id)_\(i)"), \(id))
                """)
        }
        return id
    }

    /// What the Swift writer makes of the settlement's items, read back through the row decoder.
    static func written(_ format: SettlementExport.Format, _ fixture: ReconciliationFixture, settlement id: String)
        async throws -> [UInt8] {
        let store = SettlementStore(database: fixture.database)
        let tenant = TenantContext(merchantId: fixture.merchantId, mode: .test)
        let items = try await store.items(of: id, SettlementStore.ItemFilter(limit: 10_000), tenant: tenant)
        var writer = SettlementExport(format: format)
        for item in items { writer.append(item) }
        return writer.body
    }

    /// Pulls every piece of a producer, as the HTTP server does.
    static func pieces(of producer: SettlementExportProducer) async throws -> [[UInt8]] {
        var pieces: [[UInt8]] = []
        while let piece = try await producer.nextBodyPiece() {
            pieces.append(piece)
            if pieces.count > 1_000 { throw HarnessError("the export never ended") }
        }
        return pieces
    }

    @Test func quotedAndEscapedValuesMatchTheSwiftWriter() async throws {
        let fixture = try await ReconciliationFixture.make()
        defer { fixture.close() }
        let id = try await Self.settlement(fixture, count: 30)
        let csv = await fixture.get("/v1/settlements/\(id)/export?format=csv")
        #expect(csv.status == 200)
        let expectedCSV = try await Self.written(.csv, fixture, settlement: id)
        #expect(csv.body == expectedCSV)
        #expect(csv.bodyText.contains("\"A,1\"") && csv.bodyText.contains("\"say \"\"hi\"\"\""))
        #expect(csv.bodyText.contains("\"two\nlines\""))
        let jsonl = await fixture.get("/v1/settlements/\(id)/export?format=jsonl")
        #expect(jsonl.status == 200)
        let expectedJSONL = try await Self.written(.jsonl, fixture, settlement: id)
        #expect(jsonl.body == expectedJSONL)
        #expect(jsonl.bodyText.contains("bs\\u0008ff\\u000ctab\\t"))
        #expect(jsonl.bodyText.split(separator: "\n").count == 30)
    }

    /// Pages of 4 lines: every line exactly once, in order, one piece per page, for a settlement that ends mid-page
    /// and for one of an exact number of pages (its last, empty read ends the body without an empty piece), with one,
    /// two and five pages read at once (`readAheadPages`; five is more than some settlements have pages).
    @Test func smallPagesLoseAndRepeatNothing() async throws {
        let fixture = try await ReconciliationFixture.make()
        defer { fixture.close() }
        let store = SettlementStore(database: fixture.database)
        let tenant = TenantContext(merchantId: fixture.merchantId, mode: .test)
        for (count, pages) in [(30, 8), (24, 6), (1, 1)] {
            let id = try await Self.settlement(fixture, count: count)
            for format in [SettlementExport.Format.csv, .jsonl] {
                let expected = try await Self.written(format, fixture, settlement: id)
                for readAhead in [1, 2, 5] {
                    let producer = SettlementExportProducer(store: store, settlementId: id, tenant: tenant, format: format,
                                                            pageItems: 4, readAheadPages: readAhead)
                    let pieces = try await Self.pieces(of: producer)
                    #expect(pieces.count == pages, "\(count) lines, \(format), \(readAhead) read ahead")
                    #expect(Array(pieces.joined()) == expected, "\(count) lines, \(format), \(readAhead) read ahead")
                }
            }
        }
    }

    @Test func anEmptySettlementIsTheHeaderOnly() async throws {
        let fixture = try await ReconciliationFixture.make()
        defer { fixture.close() }
        let id = try await Self.settlement(fixture, count: 0)
        let csv = await fixture.get("/v1/settlements/\(id)/export?format=csv")
        #expect(csv.status == 200)
        #expect(csv.body == SettlementExport.csvHeader)
        let jsonl = await fixture.get("/v1/settlements/\(id)/export?format=jsonl")
        #expect(jsonl.status == 200)
        #expect(jsonl.body.isEmpty)
    }

    /// Another merchant's or the other mode's key gets 404 for the settlement; and the page query itself is
    /// scoped, so a page read under another tenant is empty even with the right settlement id.
    @Test func anotherTenantOrModeGetsNothing() async throws {
        let fixture = try await ReconciliationFixture.make()
        defer { fixture.close() }
        let id = try await Self.settlement(fixture, count: 5)
        let liveId = try await Self.settlement(fixture, count: 3, mode: .live)
        let otherKey = try await fixture.otherMerchantKey()
        for format in ["csv", "jsonl"] {
            #expect(await fixture.get("/v1/settlements/\(id)/export?format=\(format)", key: otherKey).status == 404)
            #expect(await fixture.get("/v1/settlements/\(id)/export?format=\(format)", key: fixture.liveKey).status == 404)
            #expect(await fixture.get("/v1/settlements/\(liveId)/export?format=\(format)").status == 404)
            #expect(await fixture.get("/v1/settlements/\(liveId)/export?format=\(format)", key: fixture.liveKey).status == 200)
        }
        let store = SettlementStore(database: fixture.database)
        let own = TenantContext(merchantId: fixture.merchantId, mode: .test)
        for tenant in [TenantContext(merchantId: "mer_someoneelse", mode: .test), TenantContext(merchantId: fixture.merchantId, mode: .live)] {
            for format in [SettlementExport.Format.csv, .jsonl] {
                let page = try await store.exportPage(of: id, format: format, afterId: nil, limit: 100, tenant: tenant)
                #expect(page.lineCount == 0 && page.lines.isEmpty)
                #expect(try await store.pageEnds(of: id, every: 1, tenant: tenant).isEmpty)
            }
        }
        let ownPage = try await store.exportPage(of: id, format: .csv, afterId: nil, limit: 100, tenant: own)
        #expect(ownPage.lineCount == 5)
        #expect(try await store.pageEnds(of: id, every: 2, tenant: own).count == 2)
    }

    @Test func postgreSQLsShortJSONEscapesAreWrittenAsTheSwiftWriterDoes() {
        #expect(SettlementExport.escapingLikeJSONValue(Array(#"{"a":"\b\\b\f\\f\n"}"#.utf8))
                == Array(#"{"a":"\u0008\\b\u000c\\f\n"}"#.utf8))
    }
}
