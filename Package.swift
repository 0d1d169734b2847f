// swift-tools-version:6.0
// Atlas: one modular monolith. Feature modules depend only on Kernel; infrastructure
// modules (HTTPServer, Postgres, Crypto) implement Kernel protocols over C libraries.
import PackageDescription

let featureModules = ["Auth", "Transactions", "Reconciliation", "Rounding", "Accounting", "Webhooks"]

let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

var targets: [Target] = [
    .systemLibrary(name: "CLibPQ", path: "Modules/CLibPQ", pkgConfig: "libpq",
                   providers: [.apt(["libpq-dev"])]),
    .systemLibrary(name: "COpenSSL", path: "Modules/COpenSSL", pkgConfig: "openssl",
                   providers: [.apt(["libssl-dev"])]),
    .target(name: "CCryptoShim", dependencies: ["COpenSSL"], path: "Modules/CCryptoShim"),
    .target(name: "Kernel", path: "Modules/Kernel", swiftSettings: strict),
    .target(name: "Crypto", dependencies: ["Kernel", "COpenSSL", "CCryptoShim"], path: "Modules/Crypto",
            swiftSettings: strict),
    .target(name: "HTTPServer", dependencies: ["Kernel", "COpenSSL", "CCryptoShim"], path: "Modules/HTTPServer",
            swiftSettings: strict),
    .target(name: "Postgres", dependencies: ["Kernel", "CLibPQ"], path: "Modules/Postgres",
            swiftSettings: strict),
    // Contract: the Idempotency-Key scope a handler runs in, and the key writer its statement composes.
    .target(name: "IdempotencyContract", dependencies: ["Kernel"], path: "Modules/IdempotencyContract",
            swiftSettings: strict),
    // Platform module: Idempotency-Keys (middleware, PostgreSQL store, its table and migrations).
    .target(name: "Idempotency", dependencies: ["Kernel", "IdempotencyContract"], path: "Modules/Idempotency",
            swiftSettings: strict),
    .testTarget(name: "IdempotencyTests", dependencies: ["Idempotency", "IdempotencyContract", "Kernel", "Postgres",
                                                         "Crypto", "AtlasTestSupport"],
                path: "Tests/IdempotencyTests", swiftSettings: strict),
    // Platform module: the durable event log (append with the change, consumers with cursors and leases).
    .target(name: "EventLog", dependencies: ["Kernel"], path: "Modules/EventLog", swiftSettings: strict),
    .testTarget(name: "EventLogTests", dependencies: ["EventLog", "Kernel", "Postgres", "AtlasTestSupport"],
                path: "Tests/EventLogTests", swiftSettings: strict),
    .executableTarget(name: "atlas",
                      dependencies: ["Kernel", "Crypto", "HTTPServer", "Postgres", "EventLog"]
                          + featureModules.map { .target(name: $0) },
                      path: "Apps/atlas", swiftSettings: strict),
    // Shared fixtures for tests (a fresh PostgreSQL database per suite); not shipped in the app.
    // It also builds the whole app router (AppHarness), so it depends on every feature module.
    .target(name: "AtlasTestSupport", dependencies: ["Kernel", "Postgres", "Crypto", "HTTPServer", "EventLog"]
                + featureModules.map { .target(name: $0) },
            path: "Tests/Support", swiftSettings: strict),
    // Cross-module robustness tests over the whole router (every route, every surface).
    .testTarget(name: "AppTests", dependencies: ["AtlasTestSupport", "Kernel", "Postgres", "Crypto", "HTTPServer", "EventLog"]
                    + featureModules.map { .target(name: $0) },
                path: "Tests/AppTests", swiftSettings: strict),
    // A trivial `GET /ping` server for bench/http.sh (HTTP server throughput against nginx).
    .executableTarget(name: "atlas-httpbench", dependencies: ["HTTPServer", "Kernel"],
                      path: "Apps/atlas-httpbench", swiftSettings: strict),
    .testTarget(name: "KernelTests", dependencies: ["Kernel"], path: "Tests/KernelTests", swiftSettings: strict),
    .testTarget(name: "CryptoTests", dependencies: ["Crypto", "Kernel"], path: "Tests/CryptoTests",
                swiftSettings: strict),
    .testTarget(name: "HTTPServerTests", dependencies: ["HTTPServer", "Kernel", "AtlasTestSupport"], path: "Tests/HTTPServerTests",
                swiftSettings: strict),
    .testTarget(name: "PostgresTests", dependencies: ["Postgres", "Kernel"], path: "Tests/PostgresTests",
                swiftSettings: strict),
]

/// Test targets that drive a module through its real neighbours, as the app wires them (Transactions and
/// Rounding tests authenticate through Auth's real access guard; Transactions rounds cash with Rounding).
let extraTestDependencies: [String: [Target.Dependency]] = [
    "Transactions": ["Auth", "Rounding"],
    "Rounding": ["Auth"],
]

for name in featureModules {
    targets.append(.target(name: name, dependencies: ["Kernel"], path: "Modules/\(name)", swiftSettings: strict))
    // Feature tests may use the real infrastructure (Postgres, Crypto, HTTPServer) to test against a real
    // database; the module itself never imports them.
    targets.append(.testTarget(name: "\(name)Tests",
                               dependencies: [.target(name: name), "Kernel", "Postgres", "Crypto", "HTTPServer",
                                              "EventLog", "AtlasTestSupport"] + extraTestDependencies[name, default: []],
                               path: "Tests/\(name)Tests", swiftSettings: strict))
}

let package = Package(
    name: "Atlas",
    platforms: [.macOS(.v14)],
    products: [.executable(name: "atlas", targets: ["atlas"])],
    targets: targets
)
