import Foundation
import Kernel

/// Unauthenticated operational endpoints: /health, /version, /metrics and /ping.
enum SystemRoutes {
    static let version = "0.1.0"
    static let apiSurfaces: [JSONValue] = [
        ["name": "commerce", "basePath": "/v1"],
        ["name": "cash-rounding", "basePath": "/api/v1"],
        ["name": "accounting", "basePath": "/api/v1"],
        ["name": "terminal-backend", "basePath": "/api"],
    ]

    static func group(database: (any Database)?, metrics: Metrics, gitCommit: String?) -> RouteGroup {
        var group = RouteGroup(prefix: "")
        group.get("/ping") { _, _ in Response(status: 200, headers: ["Content-Type": "text/plain"], body: Array("pong".utf8)) }
        group.get("/health") { _, _ in await health(database: database) }
        group.get("/version") { _, _ in
            .json(["version": .string(version), "gitCommit": gitCommit.map { .string($0) } ?? .null,
                   "apiSurfaces": .array(apiSurfaces)])
        }
        group.get("/metrics") { _, _ in
            .text(metrics.render(), contentType: "text/plain; version=0.0.4; charset=utf-8")
        }
        return group
    }

    /// 200 when the process is up and the database answers; 503 with the failing check otherwise.
    static func health(database: (any Database)?) async -> Response {
        let databaseUp = await database?.isReachable() ?? false
        let body: JSONValue = [
            "status": databaseUp ? "ok" : "degraded",
            "checks": ["process": "up", "database": databaseUp ? "up" : "down"],
        ]
        return .json(body, status: databaseUp ? 200 : 503)
    }

    /// The commit this binary was built from: `configured` (ATLAS_GIT_COMMIT), else `git rev-parse` at start-up.
    static func detectGitCommit(configured: String?) -> String? {
        if let configured { return configured }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "rev-parse", "--short=12", "HEAD"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let commit = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return commit.isEmpty ? nil : commit
    }
}
