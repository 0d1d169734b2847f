import AtlasTestSupport
import Bootstrap
import Foundation
import Idempotency
import Kernel
import Postgres
import Testing

/// A streamed body is never stored for an Idempotency-Key replay (docs/architecture.md, Idempotency-Keys): the
/// product's streamed routes are GETs outside the idempotency store, and every handler that streams declares it
/// (`RouteSchema.streamsBody`), so the idempotency middleware can refuse the route at startup.
@Suite struct StreamedRouteRulesTests {
    /// Routes are built without I/O, so a database that is never connected is enough.
    static let application = AtlasBootstrap.assemble(
        modules: AtlasModules.all(), database: PostgresDatabase(url: "postgresql://atlas@127.0.0.1:9/never-connected"),
        logger: TestLogger.quiet)

    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    @Test func everyStreamedRouteIsAGetOutsideTheIdempotencyStore() {
        let routes = Self.application.routeGroups.flatMap(\.routes)
        let streamed = routes.filter { $0.schema?.streamsBody == true }
        #expect(streamed.map(\.pattern) == ["/v1/settlements/:id/export"])
        for route in streamed {
            #expect(route.method == .get, "\(route.pattern) streams: only a GET may")
            #expect(route.schema?.acceptsIdempotencyKey == false, "\(route.pattern) streams behind the idempotency store")
            #expect(IdempotencyMiddleware.streamedRouteRefusal(route.schema!) != nil)
        }
        let keyed = routes.filter { $0.schema?.acceptsIdempotencyKey == true }
        #expect(keyed.count >= 5)
        #expect(keyed.allSatisfy { $0.schema?.streamsBody == false })
    }

    /// A tripwire: every source file that answers with `.streamed(` is one whose route declares `streamsBody`.
    /// A new streaming handler fails here until its schema declares it (and this list names its file).
    @Test func everyHandlerThatStreamsIsDeclared() throws {
        let modules = Self.repositoryRoot.appendingPathComponent("Modules")
        let files = try #require(FileManager.default.enumerator(at: modules, includingPropertiesForKeys: nil))
        var streaming: [String] = []
        for case let url as URL in files where url.pathExtension == "swift" {
            let text = try String(contentsOf: url, encoding: .utf8)
            let calls = text.components(separatedBy: "\n").filter {
                $0.contains(".streamed(") && !$0.trimmingCharacters(in: .whitespaces).hasPrefix("///")
                    && !$0.contains("func streamed(")
            }
            if !calls.isEmpty { streaming.append(url.path.replacingOccurrences(of: Self.repositoryRoot.path + "/", with: "")) }
        }
        #expect(streaming == ["Modules/Reconciliation/Settlements/SettlementHandlers.swift"],
                "a handler streams: declare `streamsBody` on its route's schema, keep it a GET, and list its file here")
    }
}
