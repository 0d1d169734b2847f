import Foundation
import Glibc
public import Kernel

/// Why a private cluster could not be prepared. Carries tool output tails, never credentials.
public struct LocalClusterError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "LocalCluster: \(message)" }
}

/// A private PostgreSQL cluster in a project folder, for running without DATABASE_URL.
///
/// `start()` runs initdb when the folder holds no cluster (trust auth, superuser `atlas`, UTF8), starts
/// it with pg_ctl listening on a unix socket inside the data folder only (no TCP, so no port clashes
/// and nothing reachable from the network; the port only names the socket file), reuses a running one,
/// creates database `atlas`, and returns its DATABASE_URL. initdb/postgres refuse to run as root, so as
/// root every server command runs as the `postgres` system user (or `atlas-pg`, created when missing)
/// through `runuser`, and the folder is given to that user. Mirrors scripts/lib/pg.sh.
public struct LocalCluster: Sendable {
    public static let superuser = "atlas"
    public static let databaseName = "atlas"
    /// Seconds pg_ctl waits for the server to accept connections.
    public static let readyWaitSeconds = 30
    /// sun_path is 108 bytes including NUL.
    static let socketPathBytesMax = 107

    public let dataDirectory: String
    public let port: Int
    public let binDirectory: String
    private let logger: Logger?

    /// - Parameters:
    ///   - dataDirectory: the cluster folder (created when missing; made absolute).
    ///   - binDirectory: PostgreSQL's bin folder; default: highest /usr/lib/postgresql/*/bin, else PATH.
    public init(dataDirectory: String, port: Int = 54329, binDirectory: String? = nil,
                logger: Logger? = nil) throws(LocalClusterError) {
        guard let bin = binDirectory ?? Self.findBinDirectory() else {
            throw LocalClusterError("no PostgreSQL binaries (looked in /usr/lib/postgresql/*/bin and PATH)")
        }
        let absolute = dataDirectory.hasPrefix("/")
            ? dataDirectory : FileManager.default.currentDirectoryPath + "/" + dataDirectory
        let normalized = URL(fileURLWithPath: absolute).standardizedFileURL.path
        guard normalized.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "/._-".contains($0)) }) else {
            throw LocalClusterError("data folder path may only contain [A-Za-z0-9/._-]: \(normalized)")
        }
        guard (normalized + "/.s.PGSQL.\(port)").utf8.count <= Self.socketPathBytesMax else {
            throw LocalClusterError("data folder path too long for a unix socket: \(normalized)")
        }
        guard (1...65535).contains(port) else { throw LocalClusterError("port out of range: \(port)") }
        self.dataDirectory = normalized
        self.port = port
        self.binDirectory = bin
        self.logger = logger
    }

    /// libpq URL of database `atlas` over the cluster's socket.
    public var databaseURL: String { url(database: Self.databaseName) }

    func url(database: String) -> String {
        "postgresql://\(Self.superuser)@/\(database)?host=\(dataDirectory)&port=\(port)"
    }

    /// Highest-version /usr/lib/postgresql/*/bin holding pg_ctl, else the folder of `pg_ctl` on PATH.
    public static func findBinDirectory() -> String? {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [])
            .compactMap { name in Double(name).map { (name, $0) } }
            .sorted { $0.1 > $1.1 }
        for (name, _) in versions where FileManager.default.isExecutableFile(atPath: "\(root)/\(name)/bin/pg_ctl") {
            return "\(root)/\(name)/bin"
        }
        for folder in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let candidate = "\(folder)/pg_ctl"
            if FileManager.default.isExecutableFile(atPath: candidate) {
                let resolved = URL(fileURLWithPath: candidate).resolvingSymlinksInPath()
                return resolved.deletingLastPathComponent().path
            }
        }
        return nil
    }

    // MARK: - Lifecycle

    /// Prepares and starts the cluster (idempotent) and returns DATABASE_URL.
    public func start() async throws -> String {
        try await Self.offloaded { try prepareAndStart() }
        try await createDatabaseIfMissing()
        return databaseURL
    }

    /// Fast shutdown; no error when it is not running.
    public func stop() async throws {
        try await Self.offloaded {
            guard isInitialized, try isRunning() else { return }
            try runAsOwner("pg_ctl", ["-D", dataDirectory, "-m", "fast", "-w", "stop"], what: "pg_ctl stop")
        }
    }

    /// Fast restart (drops every connection), waits until ready. Options come from postmaster.opts.
    public func restart() async throws {
        try await Self.offloaded {
            try runAsOwner("pg_ctl", ["-D", dataDirectory, "-l", logPath, "-m", "fast", "-w", "restart"],
                           what: "pg_ctl restart", outputToNull: true)
        }
    }

    public var isInitialized: Bool { FileManager.default.fileExists(atPath: dataDirectory + "/PG_VERSION") }

    var logPath: String { dataDirectory + "/postgresql.log" }

    private func prepareAndStart() throws {
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        if Self.isRoot { try handFolderToServerUser() }
        if !isInitialized { try initdb() }
        if try isRunning() {
            try checkRunningPort()
            return
        }
        try removeStaleFiles()
        let options = "-k \(dataDirectory) -p \(port) -c listen_addresses=''"
        do {
            try runAsOwner("pg_ctl", ["-D", dataDirectory, "-l", logPath, "-w", "-t", String(Self.readyWaitSeconds),
                                      "-o", options, "start"], what: "pg_ctl start", outputToNull: true)
        } catch {
            throw LocalClusterError("server did not start; log tail:\n\(logTail())")
        }
        logger?.info("local postgres cluster started", ["dir": .string(dataDirectory), "port": .int(Int64(port))])
    }

    private func initdb() throws {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: dataDirectory)) ?? []
        guard entries.isEmpty else {
            throw LocalClusterError("\(dataDirectory) is not empty and holds no cluster; refusing to initdb there")
        }
        logger?.info("initializing local postgres cluster", ["dir": .string(dataDirectory)])
        // WHY collation C: ids and keys are text, and PostgreSQL 15 compares text under any other collation, C.UTF-8
        // included, through strcoll; under C it compares bytes (the same order C.UTF-8 gives, at about 5% less of
        // the server's CPU in the sale bench, docs/benchmarks.md). Character classes stay UTF-8 (lc-ctype).
        try runAsOwner("initdb", ["-D", dataDirectory, "--auth=trust", "-U", Self.superuser, "-E", "UTF8",
                                  "--lc-collate=C", "--lc-ctype=C.UTF-8"], what: "initdb")
    }

    private func isRunning() throws -> Bool {
        // pg_ctl status: 0 running, 3 not running, 4 no accessible data directory.
        let status = try ProcessRunner.run(command(for: "pg_ctl", ["-D", dataDirectory, "status"]))
        return status.exitCode == 0
    }

    private func checkRunningPort() throws {
        let pidFile = (try? String(contentsOfFile: dataDirectory + "/postmaster.pid", encoding: .utf8)) ?? ""
        let lines = pidFile.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.count > 3, let runningPort = Int(lines[3].trimmingCharacters(in: .whitespaces)), runningPort != port {
            throw LocalClusterError("cluster in \(dataDirectory) already runs on port \(runningPort), not \(port)")
        }
    }

    /// A crash leaves postmaster.pid and the socket lock behind; pg_ctl status said nothing runs.
    private func removeStaleFiles() throws {
        for name in ["postmaster.pid", ".s.PGSQL.\(port)", ".s.PGSQL.\(port).lock"] {
            let path = dataDirectory + "/" + name
            if FileManager.default.fileExists(atPath: path) || (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) != nil {
                logger?.warning("removing stale postgres file", ["file": .string(name)])
                try? FileManager.default.removeItem(atPath: path)
            }
        }
    }

    private func createDatabaseIfMissing() async throws {
        let admin = PostgresDatabase(configuration: PostgresConfiguration(
            url: url(database: "postgres"), applicationName: "atlas-local-cluster", pool: PoolLimits(connectionsMax: 1)))
        let outcome = await Self.createDatabase(on: admin)
        admin.close()
        try outcome.get()
    }

    private static func createDatabase(on admin: PostgresDatabase) async -> Result<Void, DatabaseError> {
        do {
            let exists = try await admin.queryFirst("SELECT 1 AS present FROM pg_database WHERE datname = \(databaseName)")
            if exists == nil { try await admin.execute("CREATE DATABASE \(unsafeRaw: databaseName)") }
            return .success(())
        } catch {
            // 42P04: created concurrently by another starter.
            return error.sqlState == "42P04" ? .success(()) : .failure(error)
        }
    }

    // MARK: - Users and processes

    static var isRoot: Bool { geteuid() == 0 }

    /// The system user that owns and runs the cluster when we are root.
    private func serverUser() throws -> String {
        if getpwnam("postgres") != nil { return "postgres" }
        if getpwnam("atlas-pg") == nil {
            let created = try ProcessRunner.run(["useradd", "--system", "--no-create-home", "--shell",
                                                 "/usr/sbin/nologin", "atlas-pg"])
            guard created.exitCode == 0 || getpwnam("atlas-pg") != nil else {
                throw LocalClusterError("cannot create system user atlas-pg: \(created.output)")
            }
        }
        return "atlas-pg"
    }

    private func handFolderToServerUser() throws {
        let user = try serverUser()
        guard let entry = getpwnam(user) else { throw LocalClusterError("no user \(user)") }
        let (uid, gid) = (entry.pointee.pw_uid, entry.pointee.pw_gid)
        if !isInitialized {
            guard chown(dataDirectory, uid, gid) == 0 else { throw LocalClusterError("chown \(dataDirectory) failed") }
        }
        _ = chmod(dataDirectory, 0o700)
        let reachable = try ProcessRunner.run(["runuser", "-u", user, "--", "test", "-x", dataDirectory])
        guard reachable.exitCode == 0 else {
            throw LocalClusterError("user \(user) cannot reach \(dataDirectory) (a parent folder is not traversable)")
        }
    }

    /// `[tool, args…]`, wrapped in `runuser -u <owner> --` when we are root.
    private func command(for tool: String, _ arguments: [String]) throws -> [String] {
        let direct = [binDirectory + "/" + tool] + arguments
        guard Self.isRoot else { return direct }
        var owner = try serverUser()
        if let attributes = try? FileManager.default.attributesOfItem(atPath: dataDirectory),
           let name = attributes[.ownerAccountName] as? String, name != "root" {
            owner = name
        }
        return ["runuser", "-u", owner, "--"] + direct
    }

    private func runAsOwner(_ tool: String, _ arguments: [String], what: String, outputToNull: Bool = false) throws {
        let result = try ProcessRunner.run(command(for: tool, arguments), outputToNull: outputToNull)
        guard result.exitCode == 0 else {
            throw LocalClusterError("\(what) failed (exit \(result.exitCode)): \(result.output.suffix(2_000))")
        }
    }

    private func logTail() -> String {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "(no log)"
        return text.split(separator: "\n").suffix(15).joined(separator: "\n")
    }

    /// Runs blocking process work on its own thread so no cooperative-pool thread waits on initdb/pg_ctl.
    static func offloaded(_ body: @escaping @Sendable () throws -> Void) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
            let thread = Thread {
                do {
                    try body()
                    continuation.resume()
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.name = "atlas-pg-cluster"
            thread.start()
        }
    }
}

/// Runs a program to completion with posix_spawn + waitpid.
///
/// WHY not Foundation.Process: on Linux it notices child exit through a descriptor the child inherits,
/// and `pg_ctl start` leaves a daemon (the postmaster) that inherits it too, so `waitUntilExit` would wait
/// for the server to stop. Here every descriptor above 2 is closed in the child, and server-starting
/// commands get /dev/null for output so the postmaster holds no pipe of ours either.
enum ProcessRunner {
    struct Outcome {
        let exitCode: Int32
        let output: String
    }

    /// Output kept from a command (initdb prints a few KB).
    static let outputBytesMax = 64 * 1024

    static func run(_ command: [String], outputToNull: Bool = false) throws -> Outcome {
        let executable = try resolve(command[0])
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var pipeFDs: [Int32] = [-1, -1]
        if outputToNull {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        } else {
            guard pipe(&pipeFDs) == 0 else { throw LocalClusterError("pipe failed") }
            _ = fcntl(pipeFDs[0], F_SETFD, FD_CLOEXEC)
            posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 1)
            posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 2)
        }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        for descriptor in openDescriptors() where descriptor > 2 {
            posix_spawn_file_actions_addclose(&actions, descriptor)
        }
        var pid: pid_t = 0
        let arguments = command.map { strdup($0) } + [nil]
        defer { arguments.forEach { free($0) } }
        let spawned = posix_spawn(&pid, executable, &actions, nil, arguments, environ)
        if pipeFDs[1] >= 0 { Glibc.close(pipeFDs[1]) }
        guard spawned == 0 else {
            if pipeFDs[0] >= 0 { Glibc.close(pipeFDs[0]) }
            throw LocalClusterError("cannot run \(command[0]): \(String(cString: strerror(spawned)))")
        }
        let output = pipeFDs[0] >= 0 ? readAll(pipeFDs[0]) : ""
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exited = (status & 0x7f) == 0
        return Outcome(exitCode: exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), output: output)
    }

    /// Descriptors open now (from /proc/self/fd), so the child can close the ones it must not inherit.
    private static func openDescriptors() -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).compactMap { Int32($0) }
    }

    private static func readAll(_ descriptor: Int32) -> String {
        defer { Glibc.close(descriptor) }
        var collected: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = Glibc.read(descriptor, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            if collected.count < outputBytesMax { collected += buffer[0..<count] }
        }
        return String(decoding: collected, as: UTF8.self)
    }

    private static func resolve(_ program: String) throws -> String {
        if program.hasPrefix("/") { return program }
        let folders = (ProcessInfo.processInfo.environment["PATH"] ?? "") + ":/usr/sbin:/usr/bin:/sbin:/bin"
        for folder in folders.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(folder)/\(program)") {
            return "\(folder)/\(program)"
        }
        throw LocalClusterError("\(program) not found on PATH")
    }
}
