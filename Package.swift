// swift-tools-version:6.2
// Atlas: one modular monolith. Feature modules depend only on Kernel and `…Contract` targets (small
// agreements between modules, each implemented by one feature); infrastructure modules (HTTPServer,
// Postgres, Crypto) implement Kernel protocols over C libraries; Bootstrap, the one composition root,
// wires them all for the app and the tests.
import PackageDescription

let featureModules = ["Auth", "Transactions", "Reconciliation", "Rounding", "Accounting", "Webhooks"]

/// Cross-module contracts: protocols and value types only, depending on Kernel only.
let contractTargets = ["AccessContract", "AcquirerContract", "CashRoundingContract", "IdempotencyContract",
                       "StoredValueContract"]

/// Swift 6 language mode plus the upcoming features the toolchain supports: `any` spelled out on every
/// existential (an error, not the toolchain's default warning), members visible only through the file's
/// own imports, and imports internal unless a file says `public import` (so a module's public API names
/// what it exposes).
let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .treatWarning("ExistentialAny", as: .error),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

var targets: [Target] = [
    .systemLibrary(name: "CLibPQ", path: "Modules/CLibPQ", pkgConfig: "libpq",
                   providers: [.apt(["libpq-dev"])]),
    .systemLibrary(name: "COpenSSL", path: "Modules/COpenSSL", pkgConfig: "openssl",
                   providers: [.apt(["libssl-dev"])]),
    // C wrappers, each named for what it wraps: OpenSSL macros (Crypto, HTTPServer's TLS) and the Linux
    // socket calls Glibc does not export (HTTPServer's epoll, eventfd, accept4).
    .target(name: "COpenSSLShims", dependencies: ["COpenSSL"], path: "Modules/COpenSSLShims"),
    .target(name: "CLinuxSockets", path: "Modules/CLinuxSockets"),
    .target(name: "Kernel", path: "Modules/Kernel", swiftSettings: strict),
    .target(name: "Crypto", dependencies: ["Kernel", "COpenSSL", "COpenSSLShims"], path: "Modules/Crypto",
            swiftSettings: strict),
    .target(name: "HTTPServer", dependencies: ["Kernel", "COpenSSL", "COpenSSLShims", "CLinuxSockets"],
            path: "Modules/HTTPServer", swiftSettings: strict),
    // Outgoing HTTP/1.1 (webhook deliveries) over HTTPServer's socket transport and OpenSSL: verified TLS,
    // the SSRF guard, keep-alive reuse; features see it only as Kernel's `OutboundHTTPClient`.
    .target(name: "HTTPClient", dependencies: ["Kernel", "HTTPServer", "COpenSSL", "COpenSSLShims", "CLinuxSockets"],
            path: "Modules/HTTPClient", swiftSettings: strict),
    .testTarget(name: "HTTPClientTests", dependencies: ["HTTPClient", "Kernel", "AtlasTestSupport"], path: "Tests/HTTPClientTests",
                swiftSettings: strict),
    // The generated US ZIP table (scripts/generate-zip-table.py) in its own small target, so its 42,000
    // lines are not recompiled with every change to Rounding; a dependency of Rounding only.
    .target(name: "RoundingZipData", path: "Modules/RoundingZipData", swiftSettings: strict),
    .target(name: "Postgres", dependencies: ["Kernel", "CLibPQ"], path: "Modules/Postgres",
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
    // Platform module: OpenAPI 3.1 documents generated from the routes' declared schemas (served and written).
    .target(name: "OpenAPI", dependencies: ["Kernel"], path: "Modules/OpenAPI", swiftSettings: strict),
    .testTarget(name: "OpenAPITests", dependencies: ["OpenAPI", "Kernel", "AccessContract", "Bootstrap", "AtlasTestSupport"],
                path: "Tests/OpenAPITests", swiftSettings: strict),
    // The composition root: configuration from the environment, the module list, the contract registry,
    // the event log, the router and the background services. The app and the test fixtures assemble Atlas
    // only through it.
    .target(name: "Bootstrap", dependencies: ["Kernel", "Crypto", "HTTPServer", "HTTPClient", "Postgres", "EventLog", "Idempotency", "OpenAPI"]
                + contractTargets.map { .target(name: $0) } + featureModules.map { .target(name: $0) },
            path: "Modules/Bootstrap", swiftSettings: strict),
    .executableTarget(name: "atlas", dependencies: ["Bootstrap", "Kernel", "HTTPServer", "Postgres", "EventLog"],
                      path: "Apps/atlas", swiftSettings: strict),
    // Shared fixtures for tests (a fresh PostgreSQL database per suite); not shipped in the app.
    // It also builds the whole app router (AppHarness) through Bootstrap.
    .target(name: "AtlasTestSupport", dependencies: ["Bootstrap", "Kernel", "Postgres", "Crypto", "HTTPServer", "EventLog",
                                                     "Idempotency"]
                + contractTargets.map { .target(name: $0) } + featureModules.map { .target(name: $0) },
            path: "Tests/Support", swiftSettings: strict),
    // Cross-module robustness tests over the whole router (every route, every surface).
    .testTarget(name: "AppTests", dependencies: ["AtlasTestSupport", "Bootstrap", "Kernel", "Postgres", "Crypto", "HTTPServer",
                                                 "EventLog"]
                    + contractTargets.map { .target(name: $0) } + featureModules.map { .target(name: $0) },
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
    "Reconciliation": ["Auth", "Transactions", "Rounding"],
    "Webhooks": ["Auth", "HTTPClient"],
    "Accounting": ["Auth"],
]

/// What a feature module depends on besides Kernel: the contract targets (`…Contract`) it uses or implements
/// and its own data targets (`<Feature>…Data`), never another feature module; scripts/check-architecture.py
/// (run by scripts/test.sh) fails on anything else.
let featureDependencies: [String: [Target.Dependency]] = [
    "Auth": ["AccessContract"],
    "Transactions": ["AccessContract", "AcquirerContract", "CashRoundingContract", "IdempotencyContract",
                     "StoredValueContract"],
    "Reconciliation": ["AccessContract", "AcquirerContract", "IdempotencyContract", "StoredValueContract"],
    "Rounding": ["AccessContract", "CashRoundingContract", "IdempotencyContract", "RoundingZipData"],
    "Accounting": ["AccessContract"],
    "Webhooks": ["AccessContract", "IdempotencyContract"],
]

for name in contractTargets {
    targets.append(.target(name: name, dependencies: ["Kernel"], path: "Modules/\(name)", swiftSettings: strict))
}

for name in featureModules {
    targets.append(.target(name: name, dependencies: ["Kernel"] + featureDependencies[name, default: []],
                           path: "Modules/\(name)", swiftSettings: strict))
    // Feature tests may use the real infrastructure (Postgres, Crypto, HTTPServer) to test against a real
    // database, and Bootstrap to wire their fixtures; the module itself never imports them.
    targets.append(.testTarget(name: "\(name)Tests",
                               dependencies: [.target(name: name), "Kernel", "Postgres", "Crypto", "HTTPServer",
                                              "EventLog", "Idempotency", "AtlasTestSupport", "Bootstrap"]
                                   + featureDependencies[name, default: []] + extraTestDependencies[name, default: []],
                               path: "Tests/\(name)Tests", swiftSettings: strict))
}

let package = Package(
    name: "Atlas",
    platforms: [.macOS(.v14)],
    products: [.executable(name: "atlas", targets: ["atlas"])],
    targets: targets
)
