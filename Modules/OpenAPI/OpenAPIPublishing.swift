public import Foundation
public import Kernel

extension GeneratedDocument {
    /// Indented JSON with sorted keys and a final newline: stable bytes for `docs/api/` and readable diffs.
    public func prettyBytes() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(json) + Data("\n".utf8)
    }

    public var fileName: String { "\(id).json" }
}

/// Serving and writing the documents: `GET /openapi/<surface>.json` without credentials, and
/// `atlas admin openapi-write [folder]`.
public enum OpenAPIPublishing {
    public static let pathPrefix = "/openapi"
    /// Where `openapi-write` writes when no folder is given (relative to the working directory).
    public static let defaultFolder = "docs/api"

    /// The documents' routes; bytes are serialized once here, not per request.
    public static func group(_ documents: [GeneratedDocument]) -> RouteGroup {
        let bodies = Dictionary(documents.map { ($0.fileName, $0.json.serialized()) }, uniquingKeysWith: { first, _ in first })
        let names = bodies.keys.sorted().joined(separator: ", ")
        var group = RouteGroup(prefix: pathPrefix)
        group.get("/:file") { request, _ in
            guard let body = bodies[request.pathParameter("file") ?? ""] else {
                throw AtlasError.notFound("No such API document; the documents are \(names)")
            }
            return Response(status: 200, headers: ["Content-Type": "application/json"], body: body)
        }
        return group
    }

    /// `atlas admin openapi-write [folder]`; `generate` builds the documents from the process's wired modules.
    public static func writeCommand(
        generate: @escaping @Sendable (ModuleServices) throws -> [GeneratedDocument]) -> AdminCommand {
        AdminCommand(name: "openapi-write", usage: "admin openapi-write [folder]  (the OpenAPI documents, default \(defaultFolder))",
                     positionalsMax: 1) { arguments, services in
            let folder = URL(fileURLWithPath: arguments.positionals.first ?? defaultFolder, isDirectory: true)
            for path in try write(try generate(services), to: folder) { print("wrote \(path)") }
        }
    }

    /// Writes every document as `<folder>/<id>.json` (creating the folder); returns the paths written.
    public static func write(_ documents: [GeneratedDocument], to folder: URL) throws -> [String] {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return try documents.map { document in
            let file = folder.appendingPathComponent(document.fileName)
            try document.prettyBytes().write(to: file, options: .atomic)
            return file.path
        }
    }
}
