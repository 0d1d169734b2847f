import AccessContract
import AtlasTestSupport
import Bootstrap
import Foundation
import Kernel
import OpenAPI
import Postgres
import Testing

/// The product's documents, generated from the assembled app's route table: every route declares a schema
/// , the documents are valid OpenAPI 3.1 (`openapi-spec-validator`), they are
/// served without credentials, and `docs/api/` holds the current ones.
@Suite struct APIDocumentsTests {
    /// Routes are built without I/O, so a database that is never connected is enough.
    static let application = AtlasBootstrap.assemble(
        modules: AtlasModules.all(), database: PostgresDatabase(url: "postgresql://atlas@127.0.0.1:9/never-connected"),
        logger: TestLogger.quiet)

    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// No allow-list: a route without a schema, or in a group that names no document, fails here.
    @Test func everyRouteDeclaresASchema() {
        let undocumented = OpenAPIGenerator.undocumentedRoutes(Self.application.routeGroups)
        #expect(undocumented.isEmpty, "routes without a schema (declare one with `schema:`): \(undocumented)")
    }

    @Test func everyRoundingRouteIsInTheRoundingDocument() throws {
        let documents = try Self.application.apiDocuments()
        #expect(documents.map(\.id) == ["commerce", "payments", "rounding", "accounting", "terminal"])
        let rounding = try #require(documents.first { $0.id == "rounding" }?.json)
        guard case .object(let paths)? = rounding["paths"] else { Issue.record("no paths"); return }
        let operations = paths.values.reduce(0) { count, item in
            guard case .object(let methods) = item else { return count }
            return count + methods.count
        }
        let roundingRoutes = Self.application.routeGroups.filter { $0.document?.id == "rounding" }.flatMap(\.routes)
        #expect(operations == roundingRoutes.count && operations >= 23)
        let sale = rounding["paths"]?["/transaction"]?["post"]
        #expect(sale?["security"] == [["ApiKeyAuth": ["admin", "merchant", "partner"]]])
        #expect(sale?["responses"]?["400"]?["content"]?["application/json"]?["schema"]
                == ["$ref": "#/components/schemas/Error"])
        #expect(rounding["components"]?["schemas"]?["Error"]?["required"] == ["error", "message"])
        #expect(rounding["paths"]?["/health"]?["get"]?["security"] == [])
    }

    @Test func everyDocumentPassesOpenAPISpecValidator() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("atlas-openapi-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let paths = try OpenAPIPublishing.write(try Self.application.apiDocuments(), to: folder)
        let script = """
            import sys
            from openapi_spec_validator import validate
            from openapi_spec_validator.readers import read_from_filename
            for path in sys.argv[1:]:
                spec, _ = read_from_filename(path)
                validate(spec)
                print("valid", path)
            """
        let outcome = try await ToolProcess.run(["python3", "-c", script] + paths)
        #expect(outcome.status == 0, "openapi-spec-validator (scripts/test.sh installs it): \(outcome.output)")
    }

    @Test func documentsAreServedWithoutCredentials() async throws {
        let client = InProcessClient(Self.application.router())
        let response = await client.send(.get, "/openapi/rounding.json")
        #expect(response.status == 200)
        #expect(response.headers["Content-Type"] == "application/json")
        #expect(response.body == (try Self.application.apiDocuments().first { $0.id == "rounding" }?.json.serialized()))
        #expect(await client.send(.get, "/openapi/nothing.json").status == 404)
    }

    @Test func theWriteCommandWritesEveryDocumentToTheFolderGiven() async throws {
        let command = try #require(AtlasModules.adminCommands.first { $0.names == ["openapi-write"] })
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("atlas-openapi-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let arguments = try CommandArguments(command: "openapi-write", options: [folder.path],
                                             positionalsMax: command.positionalsMax)
        try await command.run(arguments, Self.application.services)
        for document in try Self.application.apiDocuments() {
            #expect(try Data(contentsOf: folder.appendingPathComponent(document.fileName)) == document.prettyBytes())
        }
        #expect(throws: CommandUsageError.self) {
            try CommandArguments(command: "openapi-write", options: ["one", "two"], positionalsMax: command.positionalsMax)
        }
    }

    /// The written reference (`docs/api/<surface>.md`) shows every operation of its document in a curl example,
    /// so a route cannot be added without its documentation.
    @Test func everyOperationHasACurlExampleInItsReference() throws {
        for document in try Self.application.apiDocuments() {
            let page = Self.repositoryRoot.appendingPathComponent("docs/api/\(document.id).md")
            let curlLines = try String(contentsOf: page, encoding: .utf8).split(separator: "\n").filter { $0.contains("curl ") }
            guard case .object(let paths)? = document.json["paths"], case .array(let servers)? = document.json["servers"],
                  let server = servers.first?["url"]?.stringValue else { Issue.record("\(document.id): no paths or server"); continue }
            for path in paths.keys {
                let full = (server == "/" ? "" : server) + path
                let pattern = try Regex(full.split(separator: "/", omittingEmptySubsequences: false).map { segment in
                    segment.hasPrefix("{") ? "[^/\\s\"'?]+" : NSRegularExpression.escapedPattern(for: String(segment))
                }.joined(separator: "/"))
                #expect(curlLines.contains { $0.contains(pattern) }, "docs/api/\(document.id).md has no curl example of \(full)")
            }
        }
    }

    /// `atlas admin openapi-write` output is committed; a changed declaration must come with its documents.
    @Test func docsAPIHoldsTheCurrentDocuments() throws {
        for document in try Self.application.apiDocuments() {
            let file = Self.repositoryRoot.appendingPathComponent("docs/api/\(document.fileName)")
            let committed = try? Data(contentsOf: file)
            #expect(committed == (try document.prettyBytes()),
                    "docs/api/\(document.fileName) is stale: run `atlas admin openapi-write` and commit it")
        }
    }
}
