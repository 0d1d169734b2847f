import Foundation
import Kernel

/// The registry's presence lease (docs/terminals.md, "Presence lease"). An online row says which channel holds it
/// and until when (`lease_expires_at`). The instance that holds channels renews all their leases with ONE statement
/// every `presenceRenewIntervalSeconds`; any instance sweeps rows whose lease ran out and marks them offline with
/// `terminal.offline` (`TerminalStore.sweepExpiredLeases`, exactly once across instances). So a crashed instance's
/// terminals go offline within `presenceLeaseSeconds` plus a sweep interval, instead of staying online until they
/// reconnect. Both steps read the injected clock, so tests cross the lease with a `ManualWallClock`.
struct TerminalPresence: Sendable {
    let channels: TerminalChannels
    let store: TerminalStore
    let limits: TerminalLimits
    let services: ModuleServices

    /// 4002 (private use): the registry no longer names this channel (its lease was swept while this instance could
    /// not renew it, e.g. a database outage longer than the lease). The terminal reconnects and its hello marks it
    /// online again, so the registry and the channels agree.
    static let leaseLostCode = WebSocketCloseCode(rawValue: 4002)

    /// Renews the lease of every channel connected to this instance; closes the channels whose row it no longer holds.
    /// Returns how many leases were renewed.
    func renew() async throws -> Int {
        let open = channels.all()
        guard !open.isEmpty else { return 0 }
        let leaseUntil = services.clock.now().addingTimeInterval(limits.presenceLeaseSeconds)
        let renewed = try await store.renewLeases(channelIds: open.map(\.id), leaseUntil: leaseUntil)
        // A channel replaced or ended meanwhile is closing anyway; closing it again is harmless.
        for channel in open where !renewed.contains(channel.id) {
            channel.close(code: Self.leaseLostCode, reason: "Presence lease lost; reconnect")
        }
        return renewed.count
    }

    /// One sweep: full batches back to back, at most `presenceSweepBatchesMax`; returns the terminals marked offline.
    /// Also deletes relay messages parked longer than `relayBodyRetentionSeconds` (their reader crashed).
    func sweep() async throws -> [TerminalAddress] {
        try await store.purgeRelayBodies(before: services.clock.now().addingTimeInterval(-limits.relayBodyRetentionSeconds))
        var offline: [TerminalAddress] = []
        for _ in 0..<limits.presenceSweepBatchesMax {
            let batch = try await store.sweepExpiredLeases(now: services.clock.now(), batchMax: limits.presenceSweepBatchMax)
            if !batch.isEmpty { services.eventLog.appendCommitted() }
            offline += batch
            if batch.count < limits.presenceSweepBatchMax { break }
        }
        return offline
    }

    /// "transactions.terminal-presence": renews and sweeps on their intervals until cancelled. A failure is logged and
    /// the next round retries (a missed renewal is why the lease is three intervals long).
    func loop() async {
        let tick = min(limits.presenceRenewIntervalSeconds, limits.presenceSweepIntervalSeconds)
        var sinceRenew = Double.infinity
        var sinceSweep = Double.infinity
        while !Task.isCancelled {
            if sinceRenew >= limits.presenceRenewIntervalSeconds {
                sinceRenew = 0
                do { _ = try await renew() } catch {
                    services.logger.warning("terminal presence: lease renewal failed", ["error": .string("\(error)")])
                }
            }
            if sinceSweep >= limits.presenceSweepIntervalSeconds {
                sinceSweep = 0
                do { _ = try await sweep() } catch {
                    services.logger.warning("terminal presence: sweep failed", ["error": .string("\(error)")])
                }
            }
            try? await Task.sleep(for: .milliseconds(Int(tick * 1000)))
            sinceRenew += tick
            sinceSweep += tick
        }
    }
}
