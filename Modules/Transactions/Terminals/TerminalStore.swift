import Foundation
import Kernel

/// A registry row as read back (tests, docs).
struct TerminalRecord: Sendable, Hashable {
    let address: TerminalAddress
    let isOnline: Bool
    let report: DeviceReport
    let channelId: String?
    let statusChangedAt: Date
    /// Set while online: past it, the presence sweep marks the terminal offline.
    let leaseExpiresAt: Date?
}

/// The terminal registry's SQL (`transactions_terminals`). Going online or offline appends `terminal.online` /
/// `terminal.offline` to the event log in the same database transaction as the status change, so a webhook
/// never announces a status the registry did not commit, and a committed change always has its event.
struct TerminalStore: Sendable {
    static let onlineEvent = "terminal.online"
    static let offlineEvent = "terminal.offline"

    let database: any Database
    let eventLog: any EventLogWriter

    /// The hello: creates the row when new, records the report and `channelId` as the holder, and appends
    /// `terminal.online` when the terminal was offline (a reconnect that replaces a live channel appends nothing).
    /// The row's presence lease runs until `leaseUntil` (`TerminalPresence` renews it). True when the event was appended.
    /// `relayInstance` names this instance for the command relay (TerminalRelay.swift).
    func markOnline(_ address: TerminalAddress, report: DeviceReport, channelId: String, now: Date,
                    leaseUntil: Date, relayInstance: String? = nil) async throws -> Bool {
        let tenant = address.tenant
        let eventLog = eventLog
        return try await database.transaction { tx in
            try await tx.execute("""
                INSERT INTO transactions_terminals (merchant_id, mode, terminal_id, status, serial_number, firmware_version,
                    battery_level, connectivity_method, signal_strength, network_name, uptime_seconds, reported_at,
                    channel_id, status_changed_at, created_at)
                VALUES (\(tenant.merchantId), \(tenant.mode), \(address.terminalId), 'offline', \(report.serialNumber),
                    \(report.firmwareVersion), \(report.batteryLevel), \(report.connectivity.method.rawValue),
                    \(report.connectivity.signalStrength), \(report.connectivity.networkName), \(report.uptimeSeconds),
                    \(now), NULL, \(now), \(now))
                ON CONFLICT (merchant_id, mode, terminal_id) DO NOTHING
                """)
            // The row lock serializes two hellos of one terminal: only the first sees 'offline'.
            let prior: String? = try await tx.queryFirst("""
                SELECT status FROM transactions_terminals
                WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode) AND terminal_id = \(address.terminalId)
                FOR UPDATE
                """)?.decode("status")
            try await tx.execute(Self.writeReport(address, report, now: now, online: channelId, leaseUntil: leaseUntil,
                                                  relayInstance: relayInstance))
            guard prior == "offline" else { return false }
            try await eventLog.append([Self.event(Self.onlineEvent, address, report: report, now: now)], in: tx)
            return true
        }
    }

    /// The channel `channelId` ended: the terminal goes offline, with `terminal.offline`, unless another channel
    /// holds it now. True when it went offline.
    func markOffline(_ address: TerminalAddress, channelId: String, now: Date) async throws -> Bool {
        let tenant = address.tenant
        let eventLog = eventLog
        return try await database.transaction { tx in
            let changed = try await tx.execute("""
                UPDATE transactions_terminals SET status = 'offline', channel_id = NULL, lease_expires_at = NULL,
                    status_changed_at = \(now)
                WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode) AND terminal_id = \(address.terminalId)
                  AND channel_id = \(channelId)
                """)
            guard changed == 1 else { return false }
            try await eventLog.append([Self.event(Self.offlineEvent, address, report: nil, now: now)], in: tx)
            return true
        }
    }

    /// Moves the leases of the rows these channels hold to `leaseUntil`, in ONE statement whatever their number
    /// (ids are `tch_` TypedIDs, never a comma); returns the channel ids whose rows were renewed. Channel ids are
    /// unique across merchants and modes, so the statement is not scoped by tenant: it serves every terminal of
    /// this instance at once.
    func renewLeases(channelIds: [String], leaseUntil: Date) async throws -> Set<String> {
        guard !channelIds.isEmpty else { return [] }
        let rows = try await database.query("""
            UPDATE transactions_terminals SET lease_expires_at = \(leaseUntil)
            WHERE channel_id = ANY(string_to_array(\(channelIds.joined(separator: ",")), ',')) AND status = 'online'
            RETURNING channel_id
            """)
        return Set(rows.compactMap { $0.text("channel_id") })
    }

    /// Marks offline, with `terminal.offline` each, up to `batchMax` terminals whose lease ran out before `now` (their
    /// instance stopped renewing: crashed, or cut from the database), in one transaction. `SKIP LOCKED` and the
    /// status condition make it exactly once when several instances sweep together; a hello or a channel's end
    /// racing the sweep serializes on the row lock. Returns the terminals marked offline.
    func sweepExpiredLeases(now: Date, batchMax: Int) async throws -> [TerminalAddress] {
        let eventLog = eventLog
        return try await database.transaction { tx in
            let rows = try await tx.query("""
                WITH due AS (
                    SELECT merchant_id, mode, terminal_id FROM transactions_terminals
                    WHERE status = 'online' AND lease_expires_at <= \(now)
                    ORDER BY lease_expires_at LIMIT \(Int64(batchMax)) FOR UPDATE SKIP LOCKED)
                UPDATE transactions_terminals t
                SET status = 'offline', channel_id = NULL, lease_expires_at = NULL, status_changed_at = \(now)
                FROM due WHERE t.merchant_id = due.merchant_id AND t.mode = due.mode AND t.terminal_id = due.terminal_id
                RETURNING t.merchant_id, t.mode, t.terminal_id
                """)
            let addresses = try rows.map { row in
                TerminalAddress(tenant: TenantContext(merchantId: try row.decode("merchant_id"),
                                                      mode: Mode(rawValue: try row.decode("mode")) ?? .test),
                                terminalId: try row.decode("terminal_id"))
            }
            if !addresses.isEmpty {
                try await eventLog.append(addresses.map { Self.event(Self.offlineEvent, $0, report: nil, now: now) }, in: tx)
            }
            return addresses
        }
    }

    /// A status report or a health answer of the channel that holds the terminal (no event: the status is unchanged).
    func updateReport(_ address: TerminalAddress, report: DeviceReport, channelId: String, now: Date) async throws {
        try await database.execute(Self.writeReport(address, report, now: now, online: channelId, onlyIfHeldBy: true))
    }

    /// The channel and instance holding the terminal online with a running lease, for the relay; nil when offline,
    /// when the lease ran out (a crashed holder the sweep has not reached yet) or when the holder predates the relay.
    func relayTarget(_ address: TerminalAddress, now: Date) async throws -> (channelId: String, instance: String)? {
        let tenant = address.tenant
        guard let row = try await database.queryFirst("""
            SELECT channel_id, relay_instance FROM transactions_terminals
            WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode) AND terminal_id = \(address.terminalId)
              AND status = 'online' AND lease_expires_at > \(now) AND relay_instance IS NOT NULL
            """) else { return nil }
        return (try row.decode("channel_id"), try row.decode("relay_instance"))
    }

    /// Parks a relay message too large for a NOTIFY payload; its reader takes it with `takeRelayBody`.
    func insertRelayBody(id: String, tenant: TenantContext, body: String, now: Date) async throws {
        try await database.execute("""
            INSERT INTO transactions_terminal_relay_bodies (id, merchant_id, mode, body, created_at)
            VALUES (\(id), \(tenant.merchantId), \(tenant.mode), \(body), \(now))
            """)
    }

    /// Deletes and returns a parked relay message, only for the merchant and mode it was written for.
    func takeRelayBody(id: String, tenant: TenantContext) async throws -> String? {
        try await database.queryFirst("""
            DELETE FROM transactions_terminal_relay_bodies
            WHERE id = \(id) AND merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)
            RETURNING body
            """)?.decode("body")
    }

    /// Deletes parked relay messages written before `cutoff` (their reader crashed or gave up); housekeeping across
    /// merchants and modes, like the lease sweep. Returns how many were deleted.
    @discardableResult
    func purgeRelayBodies(before cutoff: Date) async throws -> Int {
        try await database.execute("DELETE FROM transactions_terminal_relay_bodies WHERE created_at < \(cutoff)")
    }

    /// When the terminal's newest transaction was created (any status), nil when it has none.
    func lastTransactionTime(_ address: TerminalAddress) async throws -> Date? {
        let tenant = address.tenant
        let row = try await database.queryFirst("""
            SELECT max(created_at) AS last FROM transactions
            WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode) AND terminal_id = \(address.terminalId)
            """)
        return try row?.decode("last", as: Date?.self) ?? nil
    }

    func record(_ address: TerminalAddress) async throws -> TerminalRecord? {
        let tenant = address.tenant
        guard let row = try await database.queryFirst("""
            SELECT status, serial_number, firmware_version, battery_level, connectivity_method, signal_strength,
                network_name, uptime_seconds, channel_id, status_changed_at, lease_expires_at
            FROM transactions_terminals
            WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode) AND terminal_id = \(address.terminalId)
            """) else { return nil }
        let method: String = try row.decode("connectivity_method")
        let report = DeviceReport(
            serialNumber: try row.decode("serial_number"), firmwareVersion: try row.decode("firmware_version"),
            batteryLevel: try row.decode("battery_level", as: Int64?.self),
            connectivity: Connectivity(method: ConnectivityMethod(rawValue: method) ?? .ethernet,
                                       signalStrength: try row.decode("signal_strength", as: Int64?.self),
                                       networkName: try row.decode("network_name", as: String?.self)),
            uptimeSeconds: try row.decode("uptime_seconds"))
        return TerminalRecord(address: address, isOnline: try row.decode("status", as: String.self) == "online", report: report,
                              channelId: try row.decode("channel_id", as: String?.self),
                              statusChangedAt: try row.decode("status_changed_at"),
                              leaseExpiresAt: try row.decode("lease_expires_at", as: Date?.self))
    }

    /// Writes a report; `online` becomes the holder. With `onlyIfHeldBy`, only while that channel still holds the row.
    /// A `leaseUntil` (the hello) starts the presence lease and names the relay instance; without one both are kept.
    private static func writeReport(_ address: TerminalAddress, _ report: DeviceReport, now: Date, online channelId: String,
                                    leaseUntil: Date? = nil, relayInstance: String? = nil, onlyIfHeldBy: Bool = false) -> SQL {
        let tenant = address.tenant
        return """
            UPDATE transactions_terminals SET serial_number = \(report.serialNumber),
                firmware_version = \(report.firmwareVersion), battery_level = \(report.batteryLevel),
                connectivity_method = \(report.connectivity.method.rawValue),
                signal_strength = \(report.connectivity.signalStrength), network_name = \(report.connectivity.networkName),
                uptime_seconds = \(report.uptimeSeconds), reported_at = \(now),
                status_changed_at = CASE WHEN status = 'online' THEN status_changed_at ELSE \(now) END,
                status = 'online', channel_id = \(channelId), lease_expires_at = COALESCE(\(leaseUntil), lease_expires_at),
                relay_instance = CASE WHEN \(leaseUntil != nil) THEN \(relayInstance) ELSE relay_instance END
            WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode) AND terminal_id = \(address.terminalId)
              AND (NOT \(onlyIfHeldBy) OR channel_id = \(channelId))
            """
    }

    private static func event(_ type: String, _ address: TerminalAddress, report: DeviceReport?, now: Date) -> DomainEvent {
        var payload: [String: JSONValue] = ["terminalId": .string(address.terminalId),
                                            "status": .string(type == onlineEvent ? "online" : "offline"),
                                            "at": .string(Timestamp.iso8601(now))]
        if let report {
            payload["serialNumber"] = .string(report.serialNumber)
            payload["firmwareVersion"] = .string(report.firmwareVersion)
        }
        return DomainEvent(type: type, tenant: address.tenant, resourceId: address.terminalId, occurredAt: now,
                           payload: .object(payload))
    }
}
