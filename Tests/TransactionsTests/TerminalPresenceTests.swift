import AtlasTestSupport
import Foundation
import Kernel
import Testing
@testable import Transactions

/// The registry's presence lease (docs/terminals.md, "Presence lease"): a terminal whose instance stops renewing
/// (crashed) goes offline with one `terminal.offline` when its lease runs out, even when two instances sweep at
/// once; renewals are one statement for all of an instance's channels; a channel that lost its row is closed (4002).
@Suite struct TerminalPresenceTests {
    static let report = DeviceReport(serialNumber: "SN-1", firmwareVersion: "1.0.0", batteryLevel: nil,
                                     connectivity: Connectivity(method: .ethernet, signalStrength: nil, networkName: nil),
                                     uptimeSeconds: 1)

    @Test func aCrashedInstancesTerminalGoesOfflineOnceWhenItsLeaseRunsOut() async throws {
        let harness = try await TerminalChannelTests.Harness.make()
        defer { Task { await harness.close() } }
        let fixture = harness.fixture
        let limits = TerminalLimits()
        let (client, _) = try await harness.connect()
        let online = try #require(try await harness.record())
        #expect(online.isOnline)
        let lease = try #require(online.leaseExpiresAt)
        // Microseconds in the database.
        #expect(abs(lease.timeIntervalSince(fixture.clock.now().addingTimeInterval(limits.presenceLeaseSeconds))) < 0.001)
        let holder = fixture.transactions.terminalPresence(services: fixture.services)
        let other = fixture.secondInstance()
        let survivor = other.module.terminalPresence(services: other.services)

        // The holder renews: its terminal outlives the first lease.
        fixture.clock.advance(seconds: 20)
        #expect(try await holder.renew() == 1)
        fixture.clock.advance(seconds: 20)
        #expect(try await survivor.sweep().isEmpty)
        #expect(try await harness.record()?.isOnline == true)
        #expect(try await survivor.renew() == 0)  // the other instance holds no channel

        // The holder "crashes": no more renewals. Past the lease both instances sweep at once: one event.
        fixture.clock.advance(seconds: limits.presenceLeaseSeconds)
        async let fromHolder = holder.sweep()
        async let fromSurvivor = survivor.sweep()
        let swept = try await fromHolder + fromSurvivor
        #expect(swept == [harness.address])
        let offline = try #require(try await harness.record())
        #expect(!offline.isOnline)
        #expect(offline.channelId == nil)
        #expect(offline.leaseExpiresAt == nil)
        #expect(try await harness.events("terminal.offline") == 1)
        #expect(try await survivor.sweep().isEmpty)

        // The holder was only cut off: its next renewal finds the row gone and closes the channel (4002), whose end
        // then marks nothing (the row names no channel): still one offline event.
        #expect(try await holder.renew() == 0)
        let close = try await onThread { client.readUntilClose().frame }
        #expect(close?.closeCode == TerminalPresence.leaseLostCode.rawValue)
        try? await onThread { try client.sendClose(code: 1000) }
        try await Task.sleep(for: .milliseconds(200))
        #expect(try await harness.events("terminal.offline") == 1)
        // The terminal reconnects: online again, with its event and a new lease.
        let (again, _) = try await harness.connect()
        #expect(try await harness.eventually { try await harness.record()?.isOnline == true })
        #expect(try await harness.events("terminal.online") == 2)
        try await onThread { try again.sendClose(code: 1000) }
        #expect(try await harness.eventually { try await harness.events("terminal.offline") == 2 })
        #expect(try await harness.record()?.leaseExpiresAt == nil)
    }

    @Test func manyExpiredLeasesSweptByTwoInstancesEachGoOfflineOnce() async throws {
        var settings = TransactionsSettings()
        settings.terminalLimits.presenceSweepBatchMax = 7
        let fixture = try await TransactionFixture.make(settings: settings)
        defer { fixture.close() }
        let store = TerminalStore(database: fixture.database, eventLog: fixture.services.eventLog)
        let now = fixture.clock.now()
        let tenant = TenantContext(merchantId: fixture.merchantId, mode: .live)
        let count = 50
        for index in 0..<count {
            let address = TerminalAddress(tenant: tenant, terminalId: "TID-LEASE-\(index)")
            #expect(try await store.markOnline(address, report: Self.report, channelId: "tch_\(index)", now: now,
                                               leaseUntil: now.addingTimeInterval(30)))
        }
        // One renewal statement for every channel of an instance; an unknown channel renews nothing.
        let renewed = try await store.renewLeases(channelIds: (0..<count).map { "tch_\($0)" } + ["tch_gone"],
                                                  leaseUntil: now.addingTimeInterval(60))
        #expect(renewed.count == count)
        fixture.clock.advance(seconds: 61)
        let first = fixture.transactions.terminalPresence(services: fixture.services)
        let other = fixture.secondInstance(settings: settings)
        let second = other.module.terminalPresence(services: other.services)
        async let a = first.sweep()
        async let b = second.sweep()
        let swept = try await a + b
        #expect(swept.count == count)
        #expect(Set(swept.map(\.terminalId)).count == count)
        #expect(try await fixture.count("""
            SELECT count(*) AS n FROM event_log WHERE event_type = 'terminal.offline' AND merchant_id = \(fixture.merchantId)
            """) == Int64(count))
        #expect(try await fixture.count("SELECT count(*) AS n FROM transactions_terminals WHERE status = 'online'") == 0)
        // A lease still running is not swept; the hello that comes back renews the row and appends terminal.online.
        let back = TerminalAddress(tenant: tenant, terminalId: "TID-LEASE-0")
        let later = fixture.clock.now()
        #expect(try await store.markOnline(back, report: Self.report, channelId: "tch_new", now: later,
                                           leaseUntil: later.addingTimeInterval(30)))
        fixture.clock.advance(seconds: 29)
        #expect(try await first.sweep().isEmpty)
        #expect(try await store.markOffline(back, channelId: "tch_new", now: fixture.clock.now()))
        fixture.clock.advance(seconds: 60)
        #expect(try await first.sweep().isEmpty)
    }
}
