#!/usr/bin/env bash
# Auth hot paths, release build, in-process (no sockets):
#   (a) authenticating a request with a cached API key through AccessMiddleware (target ≤ 5 µs),
#       and, for comparison, with an OAuth bearer JWT;
#   (b) POST /v1/token issuance rate (RS256 signing + client/terminal lookups), 1 and 4 concurrent callers.
# Builds Kernel/Auth/Crypto/Postgres in release with SwiftPM, then compiles a small driver against
# them with swiftc (no executable target in Package.swift is needed), like bench/rounding.sh.
# Needs DATABASE_URL; when unset, starts a private cluster with scripts/lib/pg.sh and stops it after.
# Usage: bench/auth.sh [requests-for-(a)]   (default 1,000,000)
#   AUTH_BENCH_BREAKDOWN=1  also time each step of (a) alone (second release build with -enable-testing)
#   AUTH_BENCH_SKIP_TOKENS=1  skip (b)
set -euo pipefail
cd "$(dirname "$0")/.."

count="${1:-1000000}"
started_cluster=""
if [ -z "${DATABASE_URL:-}" ]; then
    # shellcheck source=../scripts/lib/pg.sh
    source scripts/lib/pg.sh
    pg_local_start /tmp/atlas-pg-authbench 55459 >&2
    started_cluster=/tmp/atlas-pg-authbench
    trap 'pg_local_stop "$started_cluster" >&2' EXIT
fi

for target in Auth Crypto Postgres; do swift build -c release --target "$target" >&2; done
bin_dir="$(swift build -c release --show-bin-path)"
work_dir=".build/auth-bench"
mkdir -p "$work_dir"

cat > "$work_dir/main.swift" <<'SWIFT'
import Auth
import Crypto
import Foundation
import Kernel
import Postgres

/// Drives Auth's public API the way the app does: a guarded route's middleware, and the token route.
@main
struct AuthBench {
    /// API keys the requests rotate over: each stays under its 1,000/minute limit, as many merchants would.
    static let keyCount = 1_000
    /// OAuth clients the token requests rotate over (each may take 20 tokens at once, then 1 a second).
    static let clientCount = 200
    static let tokensPerRun = 1_000

    /// `main` runs on the main actor; every await from there would hop threads (microseconds each),
    /// which no server request pays. So the whole benchmark runs in a detached (nonisolated) task.
    static func main() async throws {
        try await Task.detached { try await run() }.value
    }

    static func run() async throws {
        let requests = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 1_000_000
        let logger = Logger(label: "bench", minimumLevel: .error)
        let database = try await freshDatabase()
        let auth = AuthModule(database: database, crypto: OpenSSLCryptoService(), logger: logger)
        try await MigrationRunner.run(migrations: auth.migrations, on: database)
        let background = Task { await auth.runBackgroundTasks() }  // audit flushing, as in `serve`
        let organization = try await auth.createOrganization(name: "Bench")
        let merchant = try await auth.createMerchant(organizationId: organization, name: "Bench")
        try await auth.createTerminal(merchantId: merchant, mode: .test, terminalId: "TID-00012345")

        try await benchAPIKeys(auth, database: database, merchant: merchant, requests: requests)
        if ProcessInfo.processInfo.environment["AUTH_BENCH_SKIP_TOKENS"] == nil {
            try await benchTokens(auth, database: database, merchant: merchant)
        }
        await auth.flushAudit()
        background.cancel()
        database.close()
    }

    static func freshDatabase() async throws -> PostgresDatabase {
        let base = ProcessInfo.processInfo.environment["DATABASE_URL"] ?? ""
        let name = "atlas_bench_" + Encoding.hex(OpenSSLCryptoService().randomBytes(count: 4))
        let admin = PostgresDatabase(url: base)
        try await admin.execute(SQL("CREATE DATABASE " + name))
        admin.close()
        var location = base.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        if let slash = location[0].lastIndex(of: "/") { location[0] = String(location[0][..<slash]) + "/" + name }
        return PostgresDatabase(url: location.joined(separator: "?"))
    }

    static func seconds(elapsed duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// (a) One request = AccessMiddleware.respond: extract, SHA-256, cache hit, scope check, GCRA
    /// rate limit, concurrency slot, audit record (buffered), X-RateLimit headers.
    static func benchAPIKeys(_ auth: AuthModule, database: PostgresDatabase, merchant: String, requests: Int) async throws {
        var keys: [String] = []
        for _ in 0..<keyCount { keys.append(try await auth.createSecretKey(merchantId: merchant, mode: .test).secret) }
        let middleware = auth.accessGuard.require(AccessRequirement(surface: .commerce, scopes: ["transactions:read"]))
        let prepared = keys.map { key in Request(method: .get, target: "/v1/totals", headers: ["X-Api-Key": key]) }
        let next: Handler = { _, _ in Response(status: 200) }
        let context = RequestContext(requestId: "req_bench", routePattern: "/v1/totals")
        for request in prepared { _ = try await middleware.respond(to: request, context: context, next: next) }  // warm the cache
        let perKey = min(requests / keyCount, 900)
        var ok = 0
        let clock = ContinuousClock()
        let cpuStart = cpuSeconds()
        let elapsed = try await clock.measure {
            for round in 0..<perKey {
                for request in prepared {
                    let response = try await middleware.respond(to: request, context: context, next: next)
                    if response.status == 200 { ok += 1 }
                    _ = round
                }
            }
        }
        let total = perKey * keyCount
        let cpu = cpuSeconds() - cpuStart
        print(String(format: "(a) cached API key through AccessMiddleware: %.2f µs/request wall, %.2f µs CPU (%d requests, %d ok, 1 task)",
                     seconds(elapsed: elapsed) / Double(total) * 1e6, cpu / Double(total) * 1e6, total, ok))

        // Tokens of 20 clients, each used 900 times: under every client's 1,000/minute request limit.
        let router = InProcessClient(Router(groups: auth.routeGroups(services: services(auth, database))))
        var bearers: [Request] = []
        for _ in 0..<20 {
            let client = try await auth.createOAuthClient(merchantId: merchant, mode: .test)
            let token = try await issue(router, clientId: client.id, secret: client.secret)
            bearers.append(Request(method: .get, target: "/v1/totals", headers: ["Authorization": "Bearer \(token)"]))
        }
        let bearerCount = 900 * bearers.count
        var statuses: [Int: Int] = [:]
        let bearerCPU = cpuSeconds()
        let bearerElapsed = await clock.measure {
            for index in 0..<bearerCount {
                do {
                    let bearer = bearers[index % bearers.count]
                    statuses[try await middleware.respond(to: bearer, context: context, next: next).status, default: 0] += 1
                } catch {
                    statuses[-1, default: 0] += 1
                }
            }
        }
        print(String(format: "    OAuth bearer JWT through AccessMiddleware: %.2f µs/request wall, %.2f µs CPU (%d requests, statuses %@; the first use of each token verifies RS256, later uses hit the verified-token cache)",
                     seconds(elapsed: bearerElapsed) / Double(bearerCount) * 1e6,
                     (cpuSeconds() - bearerCPU) / Double(bearerCount) * 1e6, bearerCount, "\(statuses)"))
    }

    /// CPU time of the whole process (every thread, including the audit flusher), in seconds.
    static func cpuSeconds() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    static func services(_ auth: AuthModule, _ database: PostgresDatabase) -> ModuleServices {
        ModuleServices(database: database, clock: SystemWallClock(), crypto: OpenSSLCryptoService(),
                       events: InMemoryEventBus(handlers: []), logger: Logger(label: "bench", minimumLevel: .error),
                       accessGuard: auth.accessGuard, idempotency: auth.idempotencyStore)
    }

    static func issue(_ client: InProcessClient, clientId: String, secret: String) async throws -> String {
        let body: JSONValue = ["grant_type": "client_credentials", "client_id": .string(clientId),
                               "client_secret": .string(secret), "terminal_id": "TID-00012345"]
        let response = await client.send(.post, "/v1/token", json: body)
        guard response.status == 200, let token = response.bodyJSON?["access_token"]?.stringValue else {
            throw BenchError(description: "token request failed: \(response.status) \(response.bodyText)")
        }
        return token
    }

    /// (b) Full POST /v1/token through the router: parse, client lookup by secret hash, rate limit,
    /// terminal lookup, active-key lookup, RS256 sign, audit.
    static func benchTokens(_ auth: AuthModule, database: PostgresDatabase, merchant: String) async throws {
        var clients: [(String, String)] = []
        for _ in 0..<clientCount {
            let created = try await auth.createOAuthClient(merchantId: merchant, mode: .test)
            clients.append((created.id, created.secret))
        }
        let client = InProcessClient(Router(groups: auth.routeGroups(services: services(auth, database))))
        _ = try await issue(client, clientId: clients[0].0, secret: clients[0].1)  // creates the signing key
        let clock = ContinuousClock()
        for concurrency in [1, 4] {
            let share = tokensPerRun / concurrency
            let elapsed = try await clock.measure {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for worker in 0..<concurrency {
                        group.addTask {
                            for index in 0..<share {
                                let (id, secret) = clients[(worker * share + index) % clientCount]
                                _ = try await issue(client, clientId: id, secret: secret)
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }
            print(String(format: "(b) POST /v1/token: %.0f tokens/s with %d concurrent caller(s) (%d tokens, %.2f ms each)",
                         Double(share * concurrency) / seconds(elapsed: elapsed), concurrency, share * concurrency,
                         seconds(elapsed: elapsed) / Double(share * concurrency) * 1e3 * Double(concurrency)))
            // Let every client's burst refill before the next run.
            try await Task.sleep(for: .seconds(21))
        }
    }
}

struct BenchError: Error, CustomStringConvertible { let description: String }
SWIFT

shim_dir="$bin_dir/COpenSSLShims.build"
swiftc -O -wmo -parse-as-library -module-name AuthBench \
    -I "$bin_dir/Modules" -I "$bin_dir" -I Modules/CLibPQ -I Modules/COpenSSL -I Modules/COpenSSLShims/include \
    -Xcc -fmodule-map-file="$shim_dir/module.modulemap" \
    "$work_dir/main.swift" \
    "$bin_dir"/Kernel.build/*.o "$bin_dir"/Auth.build/*.o "$bin_dir"/Crypto.build/*.o "$bin_dir"/Postgres.build/*.o \
    "$shim_dir"/*.o -lpq -lssl -lcrypto \
    -o "$work_dir/auth-bench" 2>&1 | grep -v "^$" >&2 || true

# Optional: where the time of (a) goes, per component. Needs internal access (@testable), so Auth is
# built a second time with -enable-testing in its own scratch folder (a few minutes the first time).
breakdown() {
    local scratch=".build-authbench-testable" bin shim
    for target in Auth Crypto Postgres; do
        swift build -c release -Xswiftc -enable-testing --scratch-path "$scratch" --target "$target" >&2
    done
    bin="$(swift build -c release --scratch-path "$scratch" --show-bin-path)"
    shim="$bin/COpenSSLShims.build"
    cat > "$work_dir/breakdown.swift" <<'SWIFT'
@testable import Auth
import Crypto
import Foundation
import Kernel
import Postgres

/// Each step of AccessMiddleware for a cached API key, alone, 200,000 times (off the main actor).
@main
struct AuthBreakdown {
    static let iterations = 200_000

    static func main() async throws { try await Task.detached { try await run() }.value }

    static func cpuSeconds() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    static func measure(_ label: String, _ body: () async throws -> Void) async rethrows {
        let cpuStart = cpuSeconds()
        let started = ContinuousClock.now
        for _ in 0..<iterations { try await body() }
        let elapsed = ContinuousClock.now - started
        let wall = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print("    " + label.padding(toLength: 52, withPad: " ", startingAt: 0)
              + String(format: "%6.2f µs wall %6.2f µs CPU", wall / Double(iterations) * 1e6,
                       (cpuSeconds() - cpuStart) / Double(iterations) * 1e6))
    }

    static func run() async throws {
        let base = ProcessInfo.processInfo.environment["DATABASE_URL"] ?? ""
        let name = "atlas_bench_" + Encoding.hex(OpenSSLCryptoService().randomBytes(count: 4))
        let admin = PostgresDatabase(url: base)
        try await admin.execute(SQL("CREATE DATABASE " + name))
        admin.close()
        var location = base.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        if let slash = location[0].lastIndex(of: "/") { location[0] = String(location[0][..<slash]) + "/" + name }
        let database = PostgresDatabase(url: location.joined(separator: "?"))
        let auth = AuthModule(database: database, crypto: OpenSSLCryptoService(),
                              logger: Logger(label: "bench", minimumLevel: .error))
        try await MigrationRunner.run(migrations: auth.migrations, on: database)
        let organization = try await auth.createOrganization(name: "Bench")
        let merchant = try await auth.createMerchant(organizationId: organization, name: "Bench")
        let key = try await auth.createSecretKey(merchantId: merchant, mode: .test).secret
        let request = Request(method: .get, target: "/v1/totals", headers: ["X-Api-Key": key])
        let requirement = AccessRequirement(surface: .commerce, scopes: ["transactions:read"])
        let crypto = OpenSSLCryptoService()
        let keyBytes = Array(key.utf8)
        print("breakdown of (a), one component at a time:")
        await measure("SHA-256 of the key") { _ = crypto.sha256(keyBytes) }
        let principal = try await auth.authenticator.authenticate(request, requirement: requirement)
        try await measure("CredentialAuthenticator.authenticate (cache hit)") {
            _ = try await auth.authenticator.authenticate(request, requirement: requirement)
        }
        let limiter = RateLimiter(clock: SystemWallClock())
        var counter = 0
        await measure("RateLimiter.check (2 policies, 1,000 keys)") {
            counter += 1
            _ = limiter.check(key: "api_key:\(counter % 1_000)", policies: AuthGuard.policies(for: principal))
        }
        let entry = AuditEntry(merchantId: merchant, mode: .test, occurredAt: Date(), event: "request",
                               principalKind: "api_key", principalId: principal.id, credentialFingerprint: "0123456789ab",
                               ip: "in-process", method: "GET", route: "/v1/totals", status: 200, requestId: "req_bench")
        await measure("AuditTrail.record + flush (JSON rows, batched INSERT)") { await auth.audit.record(entry) }
        await auth.flushAudit()
        database.close()
    }
}
SWIFT
    swiftc -O -wmo -parse-as-library -module-name AuthBreakdown \
        -I "$bin/Modules" -I "$bin" -I Modules/CLibPQ -I Modules/COpenSSL -I Modules/COpenSSLShims/include \
        -Xcc -fmodule-map-file="$shim/module.modulemap" \
        "$work_dir/breakdown.swift" \
        "$bin"/Kernel.build/*.o "$bin"/Auth.build/*.o "$bin"/Crypto.build/*.o "$bin"/Postgres.build/*.o \
        "$shim"/*.o -lpq -lssl -lcrypto \
        -o "$work_dir/auth-breakdown" 2>&1 | grep -v "^$" >&2 || true
    "$work_dir/auth-breakdown"
}

echo "host: $(uname -m), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(swift --version 2>/dev/null | head -1)"
"$work_dir/auth-bench" "$count"
if [ -n "${AUTH_BENCH_BREAKDOWN:-}" ]; then breakdown; fi
