import CLibPQ
import Foundation
import Glibc
import Kernel
import Synchronization

/// How to open one libpq connection.
struct ConnectionSettings: Sendable {
    var url: String
    var applicationName: String
    var connectTimeoutSeconds: Int
    /// Prepared statements kept per connection (LRU); 0 sends every statement with `PQexecParams`.
    var preparedStatementsMax: Int = PreparedStatementCache.statementsMaxDefault
}

/// Rows and the affected-row count of one statement.
struct QueryOutcome: Sendable {
    var rows: [Row]
    var affectedRows: Int
}

/// One libpq connection, driven by its own `BlockingWorker` thread.
///
/// Every libpq call that can block runs on the worker. The pool guarantees that only one task holds a
/// connection at a time, so the few non-blocking calls made inline by the lease holder (`isUsable`,
/// `transactionIsIdle`) never overlap a worker job.
final class PGConnection: @unchecked Sendable {
    let id: Int
    private let worker: BlockingWorker
    /// The PGconn. Written only on the worker (connect, close); read by the lease holder between jobs.
    private var handle: OpaquePointer?
    private let broken = Atomic<Bool>(false)
    private let cancelState = Mutex(CancelState())
    private let nextOperationID = Atomic<UInt64>(1)
    /// Used on the worker only; the mutex makes `preparedStatementStats` safe to read from tests.
    private let statements: Mutex<PreparedStatementCache>
    /// Evicted or invalid statements still to DEALLOCATE once the session accepts commands again.
    private var pendingDeallocations: [String] = []

    /// Coordinates `PQcancel` with the worker so a late cancel can never hit the next lease's query.
    private struct CancelState: @unchecked Sendable {
        /// PGcancel*; PQcancel is documented as thread-safe.
        var cancel: OpaquePointer?
        var activeOperation: UInt64?
        var cancelRequestedOperation: UInt64?
    }

    private init(id: Int, worker: BlockingWorker, preparedStatementsMax: Int) {
        self.id = id
        self.worker = worker
        self.statements = Mutex(PreparedStatementCache(capacity: preparedStatementsMax))
    }

    var preparedStatementStats: PreparedStatementStats {
        statements.withLock { PreparedStatementStats(cached: $0.count, hits: $0.hits, misses: $0.misses,
                                                     evictions: $0.evictions) }
    }

    /// Opens a connection on a fresh worker thread. Sets `TimeZone=UTC`, UTF8 and `application_name`.
    static func connect(id: Int, settings: ConnectionSettings) async -> Result<PGConnection, DatabaseError> {
        let connection = PGConnection(id: id, worker: BlockingWorker(name: "atlas-pg-\(id)"),
                                      preparedStatementsMax: settings.preparedStatementsMax)
        let outcome = await connection.worker.run { connection.openOnWorker(settings) }
            ?? .failure(PGConnection.workerStopped)
        if case .failure = outcome { connection.worker.stop() }
        return outcome.map { connection }
    }

    var isBroken: Bool { broken.load(ordering: .acquiring) }

    func markBroken() { broken.store(true, ordering: .releasing) }

    /// Cheap liveness check for an idle connection, without a round trip: a socket that became readable
    /// while idle means the server sent something (usually FATAL 57P01 and EOF on shutdown/restart).
    func isUsable() -> Bool {
        guard !isBroken, let handle, PQstatus(handle) == CONNECTION_OK else {
            markBroken()
            return false
        }
        // Up to a few rounds: the FATAL message and the EOF behind it may take two reads to consume.
        for _ in 0..<Self.idleReadRoundsMax {
            var descriptor = pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, 0)
            if ready == 0 { return true }
            if ready < 0 { return errno == EINTR }
            if PQconsumeInput(handle) == 0 || PQstatus(handle) != CONNECTION_OK {
                markBroken()
                return false
            }
            while let notice = PQnotifies(handle) { PQfreemem(notice) }
        }
        // Still readable after several reads while idle: something is wrong; replace it.
        markBroken()
        return false
    }

    /// Prepared statements run on their generic plan from the first execution. WHY: PostgreSQL otherwise plans
    /// each prepared statement five times with its actual values before it compares costs, and Atlas's hot
    /// statements are multi-row batches (one statement text per batch size, per connection): most of their
    /// executions were paying full planning. Measured on the sale path: PostgreSQL CPU per sale −13 µs
    /// (docs/benchmarks.md). Atlas's statements are equality/range lookups on indexed keys, where the generic
    /// plan is the custom plan. A URL's own `options=` still overrides this (it comes last).
    static let planCacheMode = "force_generic_plan"

    /// No JIT compilation. WHY: Atlas's statements are short and many; PostgreSQL's JIT, triggered by a plan's
    /// cost estimate, compiled the event log's lag count in 160–430 ms of CPU per run (more than the query itself),
    /// a stall for whatever shared the core. A URL's own `options=` still overrides this.
    static let jit = "off"

    /// Bound on reads of unsolicited input while checking an idle connection.
    static let idleReadRoundsMax = 4

    /// True when no transaction block is open (safe to hand to the next lease).
    func transactionIsIdle() -> Bool {
        guard let handle else { return false }
        return PQtransactionStatus(handle) == PQTRANS_IDLE
    }

    /// Runs one parameterized statement. Task cancellation sends a cancel request to the server.
    func query(_ sql: SQL) async -> Result<QueryOutcome, DatabaseError> {
        await perform(cancellable: true) { connection in connection.executeOnWorker(sql) }
    }

    /// Runs a statement that must not be interrupted by task cancellation (ROLLBACK, cleanup).
    func queryUncancellable(_ sql: SQL) async -> Result<QueryOutcome, DatabaseError> {
        await perform(cancellable: false) { connection in connection.executeOnWorker(sql) }
    }

    /// Runs trusted, bind-free SQL that may hold several statements (migrations), via the simple protocol.
    func script(_ text: String) async -> Result<QueryOutcome, DatabaseError> {
        await perform(cancellable: true) { connection in connection.scriptOnWorker(text) }
    }

    /// Runs one bind-free `COPY … TO STDOUT` and collects what it wrote (`PostgresDatabase.copyOut`). Task
    /// cancellation sends a cancel request, as for `query`.
    func copyOut(_ sql: SQL) async -> Result<CopyOutput, DatabaseError> {
        await perform(cancellable: true) { connection in connection.copyOutOnWorker(sql) }
    }

    /// Closes the connection on its worker and ends the thread. Fire-and-forget.
    func close() {
        _ = worker.submit { [self] in
            cancelState.withLock { state in
                if let cancel = state.cancel { PQfreeCancel(cancel) }
                state.cancel = nil
            }
            if let handle { PQfinish(handle) }
            handle = nil
        }
        markBroken()
        worker.stop()
    }

    // MARK: - Running jobs

    private func perform<Outcome: Sendable>(cancellable: Bool,
                                            _ job: @escaping @Sendable (PGConnection) -> Result<Outcome, DatabaseError>)
        async -> Result<Outcome, DatabaseError> {
        let operation = nextOperationID.add(1, ordering: .relaxed).oldValue
        let run: @Sendable () async -> Result<Outcome, DatabaseError> = { [self] in
            await worker.run { [self] in
                if !beginOperation(operation, cancellable: cancellable) { return .failure(Self.cancelledBeforeStart) }
                let outcome = job(self)
                cancelState.withLock { $0.activeOperation = nil }
                return outcome
            } ?? .failure(Self.workerStopped)
        }
        guard cancellable else { return await run() }
        return await withTaskCancellationHandler(operation: run) { [self] in
            // PQcancel opens a socket to the server: keep it off the cancelling (cooperative) thread.
            DispatchQueue.global().async { self.requestCancel(operation) }
        }
    }

    /// Marks `operation` active unless its cancellation already arrived.
    private func beginOperation(_ operation: UInt64, cancellable: Bool) -> Bool {
        cancelState.withLock { state in
            if cancellable && state.cancelRequestedOperation == operation { return false }
            state.activeOperation = operation
            return true
        }
    }

    private func requestCancel(_ operation: UInt64) {
        cancelState.withLock { state in
            guard state.activeOperation == operation else {
                state.cancelRequestedOperation = operation
                return
            }
            guard let cancel = state.cancel else { return }
            var buffer = [CChar](repeating: 0, count: 256)
            _ = PQcancel(cancel, &buffer, Int32(buffer.count))
        }
    }

    // MARK: - Worker-thread bodies

    private func openOnWorker(_ settings: ConnectionSettings) -> Result<Void, DatabaseError> {
        // Later keywords win, and the URL (dbname, expanded) comes last so it may override our defaults.
        let keywords = ["application_name", "connect_timeout", "client_encoding", "options", "dbname"]
        let values = [settings.applicationName, String(settings.connectTimeoutSeconds), "UTF8",
                      "-c TimeZone=UTC -c plan_cache_mode=" + Self.planCacheMode + " -c jit=" + Self.jit, settings.url]
        let connection = withCStringArray(keywords) { keywordPointers in
            withCStringArray(values) { valuePointers in PQconnectdbParams(keywordPointers, valuePointers, 1) }
        }
        guard let connection else { return .failure(Self.workerStopped) }
        guard PQstatus(connection) == CONNECTION_OK else {
            let error = DatabaseError(kind: .connectionFailed, message: Self.firstLine(of: PQerrorMessage(connection)))
            PQfinish(connection)
            return .failure(error)
        }
        handle = connection
        if Self.parameterStatus(connection, "TimeZone") != "UTC" {
            if case .failure(let error) = executeOnWorker(SQL("SET TimeZone = 'UTC'")) {
                PQfinish(connection)
                handle = nil
                return .failure(error)
            }
        }
        let cancel = CancelState(cancel: PQgetCancel(connection))
        cancelState.withLock { $0.cancel = cancel.cancel }
        return .success(())
    }

    private func executeOnWorker(_ sql: SQL) -> Result<QueryOutcome, DatabaseError> {
        guard let handle else { return .failure(Self.notConnected) }
        let encoded: EncodedBinds
        switch EncodedBinds.encode(sql.binds) {
        case .success(let value): encoded = value
        case .failure(let error): return .failure(error)
        }
        defer { encoded.deallocate() }
        if statements.withLock({ $0.capacity > 0 }), PreparedStatementCache.isCacheable(sql.text) {
            switch PQtransactionStatus(handle) {
            case PQTRANS_IDLE, PQTRANS_INTRANS: return executePreparedOnWorker(sql, encoded, handle: handle)
            default: break  // aborted transaction or busy: nothing can be prepared; let the server say so
            }
        }
        if PreparedStatementCache.dropsPreparedStatements(sql.text) {
            statements.withLock { $0.removeAll() }
            pendingDeallocations.removeAll()
        }
        return executeUnpreparedOnWorker(sql, encoded, handle: handle)
    }

    private func executeUnpreparedOnWorker(_ sql: SQL, _ encoded: EncodedBinds, handle: OpaquePointer)
        -> Result<QueryOutcome, DatabaseError> {
        let result = encoded.types.withUnsafeBufferPointer { types in
            encoded.values.withUnsafeBufferPointer { values in
                encoded.lengths.withUnsafeBufferPointer { lengths in
                    encoded.formats.withUnsafeBufferPointer { formats in
                        PQexecParams(handle, sql.text, Int32(encoded.types.count), types.baseAddress,
                                     values.baseAddress, lengths.baseAddress, formats.baseAddress, 0)
                    }
                }
            }
        }
        return outcome(of: result, handle: handle)
    }

    /// Runs through the connection's prepared-statement cache: prepare on a statement's second use (evicting the least
    /// recently used statement when full), then `PQexecPrepared`. When the server no longer has the
    /// statement (26000) or its plan's result type changed after DDL (0A000), the entry is dropped and,
    /// outside a transaction block, the statement runs once more freshly prepared. Inside a block the
    /// error aborted the transaction, so it is returned and the next use re-prepares.
    private func executePreparedOnWorker(_ sql: SQL, _ encoded: EncodedBinds, handle: OpaquePointer)
        -> Result<QueryOutcome, DatabaseError> {
        drainPendingDeallocations(handle)
        let key = PreparedStatementCache.Key(text: sql.text, types: encoded.types)
        let autocommit = PQtransactionStatus(handle) == PQTRANS_IDLE
        if let name = statements.withLock({ $0.lookup(key) }) {
            let outcome = self.outcome(of: execPrepared(name, encoded, handle: handle), handle: handle)
            guard case .failure(let error) = outcome, Self.invalidatesStatement(error) else { return outcome }
            let stale = statements.withLock { $0.remove(key) }
            // 0A000: the server still holds the statement; 26000: it does not (DEALLOCATE would fail).
            if let stale, error.sqlState == "0A000" { pendingDeallocations.append(stale) }
            guard autocommit, !isBroken else { return outcome }
            drainPendingDeallocations(handle)
        } else if !statements.withLock({ $0.shouldPrepare(key) }) {
            return executeUnpreparedOnWorker(sql, encoded, handle: handle)
        }
        if let victim = statements.withLock({ $0.evictionVictim() }) {
            pendingDeallocations.append(victim.name)
            drainPendingDeallocations(handle)
        }
        let name = statements.withLock { $0.nextName() }
        let prepared = encoded.types.withUnsafeBufferPointer { types in
            PQprepare(handle, name, sql.text, Int32(encoded.types.count), types.baseAddress)
        }
        if case .failure(let error) = outcome(of: prepared, handle: handle) { return .failure(error) }
        statements.withLock { $0.insert(key, name: name) }
        return outcome(of: execPrepared(name, encoded, handle: handle), handle: handle)
    }

    private func execPrepared(_ name: String, _ encoded: EncodedBinds, handle: OpaquePointer) -> OpaquePointer? {
        encoded.values.withUnsafeBufferPointer { values in
            encoded.lengths.withUnsafeBufferPointer { lengths in
                encoded.formats.withUnsafeBufferPointer { formats in
                    PQexecPrepared(handle, name, Int32(encoded.values.count), values.baseAddress,
                                   lengths.baseAddress, formats.baseAddress, 0)
                }
            }
        }
    }

    /// DEALLOCATEs evicted/stale statements while the session accepts commands; keeps them otherwise.
    private func drainPendingDeallocations(_ handle: OpaquePointer) {
        guard !pendingDeallocations.isEmpty else { return }
        let status = PQtransactionStatus(handle)
        guard status == PQTRANS_IDLE || status == PQTRANS_INTRANS else { return }
        while let name = pendingDeallocations.popLast() {
            // The name is ours ("atlas_ps_<n>"), never user input. A failure here would abort an open
            // transaction block, so only names the server is known to hold are queued.
            if let result = PQexec(handle, "DEALLOCATE \(name)") { PQclear(result) }
        }
    }

    /// 26000: the session lost the statement (DISCARD/DEALLOCATE ALL); 0A000: "cached plan must not
    /// change result type" after DDL.
    static func invalidatesStatement(_ error: DatabaseError) -> Bool {
        error.sqlState == "26000" || error.sqlState == "0A000"
    }

    /// Starts the COPY (extended protocol without parameters, so the text is exactly one statement), then reads
    /// its rows one `PQgetCopyData` call each, blocking on this worker. The bytes are appended as they come: a
    /// row is never decoded. Every result libpq still holds is read before returning, so the connection is
    /// ready for the next statement, or marked broken.
    private func copyOutOnWorker(_ sql: SQL) -> Result<CopyOutput, DatabaseError> {
        guard let handle else { return .failure(Self.notConnected) }
        let started = PQexecParams(handle, sql.text, 0, nil, nil, nil, nil, 0)
        guard let started, PQresultStatus(started) == PGRES_COPY_OUT else { return refuseCopy(started, handle: handle) }
        PQclear(started)
        var output = CopyOutput()
        var row: UnsafeMutablePointer<CChar>?
        while true {
            // > 0: one row's bytes; -1: the COPY ended; -2: it failed. PQgetResult below tells which.
            let length = PQgetCopyData(handle, &row, 0)
            guard length > 0, let bytes = row else { break }
            output.bytes.append(contentsOf: UnsafeRawBufferPointer(start: bytes, count: Int(length)))
            output.rowCount += 1
            PQfreemem(bytes)
            row = nil
        }
        let ended = outcome(of: PQgetResult(handle), handle: handle)
        drainResults(handle)
        return ended.map { _ in output }
    }

    /// The statement did not start a COPY TO STDOUT: its error, or a refusal (a COPY FROM STDIN is ended first,
    /// so the session is usable again).
    private func refuseCopy(_ result: OpaquePointer?, handle: OpaquePointer) -> Result<CopyOutput, DatabaseError> {
        guard let result else { return outcome(of: nil, handle: handle).map { _ in CopyOutput() } }
        switch PQresultStatus(result) {
        case PGRES_FATAL_ERROR, PGRES_NONFATAL_ERROR, PGRES_BAD_RESPONSE:
            return outcome(of: result, handle: handle).map { _ in CopyOutput() }
        case PGRES_COPY_IN:
            PQclear(result)
            _ = PQputCopyEnd(handle, "only COPY TO STDOUT is supported here")
            drainResults(handle)
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            PQclear(result)
        default:
            // COPY BOTH (replication) or anything else: this session's state is unknown, so it is not reused.
            PQclear(result)
            markBroken()
        }
        return .failure(Self.notACopyOut)
    }

    /// Reads and frees every result libpq still holds for the last statement.
    private func drainResults(_ handle: OpaquePointer) {
        while let result = PQgetResult(handle) { PQclear(result) }
    }

    private func scriptOnWorker(_ text: String) -> Result<QueryOutcome, DatabaseError> {
        guard let handle else { return .failure(Self.notConnected) }
        return outcome(of: PQexec(handle, text), handle: handle)
    }

    /// Converts a PGresult into rows or a sanitized error; marks the connection broken when it is.
    private func outcome(of result: OpaquePointer?, handle: OpaquePointer) -> Result<QueryOutcome, DatabaseError> {
        defer { if let result { PQclear(result) } }
        let outcome: Result<QueryOutcome, DatabaseError>
        if let result {
            switch PQresultStatus(result) {
            case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
                outcome = .success(Self.rows(of: result))
            default:
                outcome = .failure(PostgresErrors.error(from: result))
            }
        } else {
            outcome = .failure(DatabaseError(kind: .connectionFailed, message: Self.firstLine(of: PQerrorMessage(handle))))
        }
        if PQstatus(handle) != CONNECTION_OK { markBroken() }
        if case .failure(let error) = outcome, error.kind == .connectionFailed { markBroken() }
        if isBroken, case .failure(let error) = outcome, error.kind != .connectionFailed {
            return .failure(DatabaseError(kind: .connectionFailed, sqlState: error.sqlState, message: error.message,
                                          constraint: error.constraint))
        }
        return outcome
    }

    private static func rows(of result: OpaquePointer) -> QueryOutcome {
        let rowCount = Int(PQntuples(result))
        let columnCount = Int(PQnfields(result))
        let columns = (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) }
        var rows: [Row] = []
        rows.reserveCapacity(rowCount)
        for rowIndex in 0..<Int32(rowCount) {
            var values: [String?] = []
            values.reserveCapacity(columnCount)
            for columnIndex in 0..<Int32(columnCount) {
                if PQgetisnull(result, rowIndex, columnIndex) != 0 {
                    values.append(nil)
                    continue
                }
                let length = Int(PQgetlength(result, rowIndex, columnIndex))
                let bytes = UnsafeRawPointer(PQgetvalue(result, rowIndex, columnIndex)!)
                values.append(String(decoding: UnsafeRawBufferPointer(start: bytes, count: length), as: UTF8.self))
            }
            rows.append(Row(columns: columns, values: values))
        }
        let affected = PQcmdTuples(result).map { Int(String(cString: $0)) ?? 0 } ?? 0
        return QueryOutcome(rows: rows, affectedRows: affected)
    }

    // MARK: - Helpers

    static let workerStopped = DatabaseError(kind: .connectionFailed, message: "connection worker stopped")
    static let notConnected = DatabaseError(kind: .connectionFailed, message: "connection is closed")
    static let cancelledBeforeStart = DatabaseError(kind: .query, sqlState: "57014", message: "statement cancelled before it started")
    static let notACopyOut = DatabaseError(kind: .query, message: "copyOut runs COPY … TO STDOUT statements only")

    static func parameterStatus(_ connection: OpaquePointer, _ name: String) -> String? {
        PQparameterStatus(connection, name).map { String(cString: $0) }
    }

    /// libpq connection errors are multi-line; the first line is the useful, value-free part.
    static func firstLine(of message: UnsafePointer<CChar>?) -> String {
        guard let message else { return "connection failed" }
        let text = String(cString: message)
        let line = text.split(separator: "\n").first.map(String.init) ?? ""
        return line.isEmpty ? "connection failed" : line
    }
}

/// Calls `body` with a NULL-terminated array of C strings that live for the duration of the call.
func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let copies = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    let pointers: [UnsafePointer<CChar>?] = copies.map { UnsafePointer($0) } + [nil]
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
