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
    // C wrappers, each named for what it wraps: OpenSSL macros (Crypto, HTTPServer's TLS) and the Linux
    // socket calls Glibc does not export (HTTPServer's epoll, eventfd, accept4).
    .target(name: "COpenSSLShims", dependencies: ["COpenSSL"], path: "Modules/COpenSSLShims"),
    .target(name: "CLinuxSockets", path: "Modules/CLinuxSockets"),
    .target(name: "Kernel", path: "Modules/Kernel", swiftSettings: strict),
    .target(name: "Crypto", dependencies: ["Kernel", "COpenSSL", "COpenSSLShims"], path: "Modules/Crypto",
            swiftSettings: strict),
    .target(name: "HTTPServer", dependencies: ["Kernel", "COpenSSL", "COpenSSLShims", "CLinuxSockets"],
            path: "Modules/HTTPServer", swiftSettings: strict),
    // The generated US ZIP table (scripts/generate-zip-table.py) in its own small target, so its 42,000
    // lines are not recompiled with every change to Rounding; a dependency of Rounding only.
    .target(name: "RoundingZipData", path: "Modules/RoundingZipData", swiftSettings: strict),
    .target(name: "Postgres", dependencies: ["Kernel", "CLibPQ"], path: "Modules/Postgres",
            swiftSettings: strict),
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
    "Rounding": ["Auth", "RoundingZipData"],
]

/// What a feature module depends on besides Kernel: contract targets (`…Contract`) and its own data targets
/// (`<Feature>…Data`); scripts/check-architecture.py (run by scripts/test.sh) fails on anything else.
let featureDependencies: [String: [Target.Dependency]] = [
    "Rounding": ["RoundingZipData"],
]

for name in featureModules {
    targets.append(.target(name: name, dependencies: ["Kernel"] + featureDependencies[name, default: []],
                           path: "Modules/\(name)", swiftSettings: strict))
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
