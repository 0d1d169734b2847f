import AtlasTestSupport
import Foundation
import Kernel
import Postgres
import Synchronization
import Testing
@testable import EventLog

/// The log's delivery contract against a real PostgreSQL: commit order, at least once with idempotent
/// apply, parking, leases, pruning and lag.
/// Serialized: each test makes its own database and consumer loops; at once they only add to the full
/// suite's start-up surge on two cores.
@Suite(.serialized) struct EventDeliveryTests {
    /// Transaction A takes its id first; B (a later id) appends event "late" (sequence 1) and stays open;
    /// A appends "early" (sequence 2) and commits. "early" is consumed; then B commits its lower sequence.
    /// A reader of `seq > cursor` would skip "late" forever; the log delivers it.
    @Test func aLowSequenceCommittedAfterAHigherOneWasConsumedIsStillDelivered() async throws {
        let fixture = try await EventLogFixture.make()
        defer { fixture.close() }
        let writer = fixture.writer
        let aHasItsId = Latch(), bAppended = Latch(), bMayCommit = Latch()
        let transactionA = Task {
            try await fixture.database.transaction { tx in
                try await tx.execute("SELECT pg_current_xact_id()")
                aHasItsId.open()
                await bAppended.wait()
                try await writer.append([EventLogFixture.event(resource: "early")], in: tx)
            }
        }
        await aHasItsId.wait()
        let transactionB = Task {
            try await fixture.database.transaction { tx in
                try await tx.execute("SELECT pg_current_xact_id()")
                try await writer.append([EventLogFixture.event(resource: "late")], in: tx)
                bAppended.open()
                await bMayCommit.wait()
            }
        }
        try await transactionA.value
        let deliveries = Deliveries()
        let service = fixture.service([EventConsumer(name: "test.order") { deliveries.record($0) }])
        try await fixture.running(service) {
            try await eventually("the early event") { deliveries.resources == ["early"] }
            let consumed = deliveries.all[0].position
            // The sequence-only reader's view: nothing after the consumed sequence is visible yet, and the
            // late event's sequence is lower, so such a reader would never read it.
            #expect(try await fixture.database.query("SELECT 1 AS one FROM event_log WHERE seq > \(consumed.sequence)").isEmpty)
            bMayCommit.open()
            try await transactionB.value
            try await eventually("the late event") { deliveries.resources == ["early", "late"] }
            #expect(deliveries.all[1].position.sequence < consumed.sequence)
            #expect(consumed < deliveries.all[1].position)
        }
    }

    /// A write transaction left open in another database (it has an id older than the event's writer) does
    /// not hold this log back: the horizon leaves out transactions connected elsewhere. One left open in
    /// this database still does, until it ends.
    @Test func onlyTransactionsInThisDatabaseHoldTheReadHorizon() async throws {
        let fixture = try await EventLogFixture.make()
        defer { fixture.close() }
        let elsewhere = try await TestDatabase.fresh(migrations: [])
        defer { elsewhere.close() }
        let reader = EventReadStore(database: fixture.database)
        let openElsewhere = Latch(), openHere = Latch(), mayEnd = Latch()
        let foreign = Task {
            try await elsewhere.transaction { tx in
                try await tx.execute("SELECT pg_current_xact_id()")
                openElsewhere.open()
                await mayEnd.wait()
            }
        }
        await openElsewhere.wait()
        try await fixture.append([EventLogFixture.event(resource: "first")])
        // Eventually, not at once: a transaction of another database that ended between this statement's
        // snapshot and its read of pg_stat_activity holds the horizon for that one statement (the safe side).
        try await eventually("the first event, past the other database's open transaction") {
            try await reader.events(after: .start, limit: 10).map(\.event.resourceId) == ["first"]
        }

        let local = Task {
            try await fixture.database.transaction { tx in
                try await tx.execute("SELECT pg_current_xact_id()")
                openHere.open()
                await mayEnd.wait()
            }
        }
        await openHere.wait()
        try await fixture.append([EventLogFixture.event(resource: "second")])
        #expect(try await reader.events(after: .start, limit: 10).map(\.event.resourceId) == ["first"],
                "an older transaction of this database may still append below the second event")
        mayEnd.open()
        try await foreign.value
        try await local.value
        try await eventually("both events once every transaction ended") {
            try await reader.events(after: .start, limit: 10).map(\.event.resourceId) == ["first", "second"]
        }
    }

    /// An event committed behind an older transaction still open reaches its consumer soon after that transaction
    /// ends, although no NOTIFY comes then: the runner saw committed events behind the read horizon and looked
    /// again (`heldBackRetryFirstMilliseconds`, doubling), instead of sleeping its poll interval (ten minutes here).
    @Test func anEventHeldBehindTheHorizonIsReadSoonAfterTheOlderTransactionEnds() async throws {
        let fixture = try await EventLogFixture.make()
        defer { fixture.close() }
        var limits = EventLogFixture.fastLimits
        limits.pollIntervalMilliseconds = 600_000
        let deliveries = Deliveries()
        let service = fixture.service([EventConsumer(name: "test.horizon") { deliveries.record($0) }], limits: limits)
        try await fixture.running(service) {
            try await fixture.append([EventLogFixture.event(resource: "first")])
            try await eventually("the first event") { deliveries.resources == ["first"] }
            let olderIsOpen = Latch(), olderMayEnd = Latch()
            let older = Task {
                try await fixture.database.transaction { tx in
                    try await tx.execute("SELECT pg_current_xact_id()")
                    olderIsOpen.open()
                    await olderMayEnd.wait()
                }
            }
            await olderIsOpen.wait()
            try await fixture.append([EventLogFixture.event(resource: "held")])
            try await Task.sleep(for: .milliseconds(300))
            #expect(deliveries.resources == ["first"], "the older transaction may still append below the held event")
            olderMayEnd.open()
            try await older.value
            try await eventually("the held event without a NOTIFY", seconds: 20) { deliveries.resources == ["first", "held"] }
        }
    }

    /// A consumer of some event types is handed only those, in order and with their payloads; its cursor still
    /// passes the others, including a page that holds none it wants, so nothing is read again.
    @Test func aTypedConsumerGetsItsTypesAndItsCursorPassesTheRest() async throws {
        let fixture = try await EventLogFixture.make()
        defer { fixture.close() }
        try await fixture.append([EventLogFixture.event("other.thing", resource: "o1"), EventLogFixture.event("wanted.thing", resource: "w1"),
                                  EventLogFixture.event("other.thing", resource: "o2")])
        try await fixture.append((3...6).map { EventLogFixture.event("other.thing", resource: "o\($0)") })
        try await fixture.append([EventLogFixture.event("wanted.thing", resource: "w2")])
        let page = try await EventReadStore(database: fixture.database).page(after: .start, limit: 3, types: ["wanted.thing"])
        #expect(page.events.map(\.event.resourceId) == ["w1"])
        #expect(page.events.first?.event.payload == ["resource": .string("w1")])
        #expect(page.end?.sequence == 3, "the page ends at its last row, which the consumer does not want")
        let deliveries = Deliveries()
        let consumer = EventConsumer(name: "test.typed", eventTypes: ["wanted.thing"], batchEventsMax: 2) { deliveries.record($0) }
        try await fixture.running(fixture.service([consumer])) {
            try await eventually("the cursor past every event") {
                try await fixture.database.queryFirst(
                    "SELECT cursor_seq FROM event_log_consumers WHERE name = 'test.typed'")?.decode("cursor_seq", as: Int64.self) == 8
            }
        }
        #expect(deliveries.resources == ["w1", "w2"])
        #expect(deliveries.all.allSatisfy { $0.event.type == "wanted.thing" && $0.event.payload["resource"]?.stringValue == $0.event.resourceId })
    }

    /// The handler applies a batch in its own transaction with `markApplied`, then the runner fails before
    /// it moves the cursor (simulated by throwing once after the commit): the batch comes again, and
    /// nothing is applied twice.
    @Test func redeliveryAfterAFailureAppliesEachEventOnce() async throws {
        let fixture = try await EventLogFixture.make()
        defer { fixture.close() }
        try await fixture.database.execute("CREATE TABLE applied_effects (event_id text NOT NULL)")
        try await fixture.append((1...5).map { EventLogFixture.event(resource: "r\($0)") })
        let deliveries = Deliveries()
        let failedOnce = Mutex(false)
        let database = fixture.database, writer = fixture.writer
        let consumer = EventConsumer(name: "test.apply") { batch in
            deliveries.record(batch)
            try await database.transaction { tx in
                for logged in batch where try await writer.markApplied(eventId: logged.event.id, consumer: "test.apply", in: tx) {
                    try await tx.execute("INSERT INTO applied_effects (event_id) VALUES (\(logged.event.id.rawValue))")
                }
            }
            if failedOnce.withLock({ let first = !$0; $0 = true; return first }) { throw SimulatedCrash() }
        }
        try await fixture.running(fixture.service([consumer])) {
            try await eventually("the cursor past every event") {
                try await fixture.database.queryFirst(
                    "SELECT cursor_seq FROM event_log_consumers WHERE name = 'test.apply'")?.decode("cursor_seq", as: Int64.self) == 5
            }
        }
        #expect(deliveries.all.count > 5, "the failed batch was delivered again")
        #expect(try await count(fixture, "SELECT count(*) AS n FROM applied_effects") == 5)
        #expect(try await count(fixture, "SELECT count(DISTINCT event_id) AS n FROM applied_effects") == 5)
    }

    /// A poison event is retried, parked with its error, and the events after it still arrive; an operator's
    /// retry delivers it again once the consumer is fixed, and a skip closes another.
    @Test func aPoisonEventIsParkedAndRetriedOnRequest() async throws {
        let fixture = try await EventLogFixture.make()
        defer { fixture.close() }
        try await fixture.append([EventLogFixture.event(resource: "before"), EventLogFixture.event("poison", resource: "bad"),
                                  EventLogFixture.event(resource: "after")])
        let deliveries = Deliveries()
        let fixed = Mutex(false)
        let consumer = EventConsumer(name: "test.poison") { batch in
            if batch.contains(where: { $0.event.type == "poison" }) && !fixed.withLock({ $0 }) { throw PoisonError() }
            deliveries.record(batch)
        }
        let parked = ParkedEventStore(database: fixture.database)
        try await fixture.running(fixture.service([consumer])) {
            try await eventually("the parked event") { try await parked.list(consumer: "test.poison").count == 1 }
            try await eventually("the event after the poison one") { deliveries.resources.contains("after") }
            let entry = try #require(try await parked.list(consumer: "test.poison").first)
            #expect(entry.attempts == 3)
            #expect(entry.eventType == "poison")
            #expect(entry.error.contains("PoisonError"))
            #expect(!deliveries.resources.contains("bad"))

            fixed.withLock { $0 = true }
            try await parked.requestRetry(consumer: "test.poison", eventId: entry.eventId)
            try await eventually("the retried event") { deliveries.resources.contains("bad") }
            try await eventually("the entry resolved") { try await parked.list(consumer: "test.poison").isEmpty }
        }
        await #expect(throws: ParkedEventStore.AdminError.self) {
            try await parked.skip(consumer: "test.poison", eventId: "evt_unknown")
        }
    }

    /// Two instances run the same consumer: one holds the lease and delivers; when it stops, the other
    /// takes over from the stored cursor and nothing is lost.
    @Test func aConsumerRunsOnOneInstanceAndMovesWhenItStops() async throws {
        let fixture = try await EventLogFixture.make()
        defer { fixture.close() }
        let first = Deliveries(), second = Deliveries()
        let serviceA = fixture.service([EventConsumer(name: "test.lease") { first.record($0) }], instance: "instance-a")
        let serviceB = fixture.service([EventConsumer(name: "test.lease") { second.record($0) }], instance: "instance-b")
        let taskA = Task { await serviceA.run() }
        try await eventually("instance a holding the lease") {
            try await holder(fixture, "test.lease") == "instance-a"
        }
        let taskB = Task { await serviceB.run() }
        try await fixture.append((1...10).map { EventLogFixture.event(resource: "a\($0)") })
        try await eventually("instance a consuming") { first.all.count == 10 }
        // Stop A only once its cursor is stored: a batch delivered but not yet acknowledged would (rightly,
        // at least once) be delivered again by B, which is not what this test is about.
        try await eventually("instance a's cursor stored") {
            try await count(fixture, "SELECT cursor_seq AS n FROM event_log_consumers WHERE name = 'test.lease'") == 10
        }
        #expect(second.all.isEmpty)
        taskA.cancel()
        await taskA.value
        try await fixture.append((1...10).map { EventLogFixture.event(resource: "b\($0)") })
        try await eventually("instance b taking over") { second.all.count == 10 }
        #expect(Set(second.resources) == Set((1...10).map { "b\($0)" }))
        try await eventually("instance b holding the lease") { try await holder(fixture, "test.lease") == "instance-b" }
        taskB.cancel()
        await taskB.value
    }

    /// Events every declared consumer passed and older than the retention go; the rest stays.
    @Test func pruningKeepsWhatAConsumerStillNeeds() async throws {
        let fixture = try await EventLogFixture.make()
        defer { fixture.close() }
        let limits = Self.pruningLimits(batchRowsMax: 3)
        let service = try await Self.consumedLog(fixture, events: 4, consumer: "test.prune", limits: limits)
        // A lagging consumer (declared, never run) holds everything back.
        let lagging = fixture.service([EventConsumer(name: "test.prune") { _ in }, EventConsumer(name: "test.never") { _ in }],
                                      limits: limits)
        #expect(try await lagging.pruneOnce() == 0)
        try await fixture.append([EventLogFixture.event(resource: "new")])
        #expect(try await service.pruneOnce() == 4)
        #expect(try await count(fixture, "SELECT count(*) AS n FROM event_log") == 1)
    }

    /// Parked events at the head of the log do not stall pruning: each window moves past them, and they
    /// stay until retried or skipped.
    @Test func pruningMovesPastParkedEventsAtTheHead() async throws {
        let fixture = try await EventLogFixture.make()
        defer { fixture.close() }
        let service = try await Self.consumedLog(fixture, events: 6, consumer: "test.prune.parked",
                                                 limits: Self.pruningLimits(batchRowsMax: 2))
        try await fixture.database.execute("""
            INSERT INTO event_log_parked (consumer, event_id, writer_xid, seq, merchant_id, mode, event_type, state,
                                          attempts, error)
            SELECT 'test.prune.parked', event_id, writer_xid, seq, merchant_id, mode, event_type, 'parked', 3, 'test'
            FROM event_log ORDER BY writer_xid, seq LIMIT 3
            """)
        #expect(try await service.pruneOnce() == 3)
        #expect(try await count(fixture, "SELECT count(*) AS n FROM event_log") == 3)
        #expect(try await count(fixture, """
            SELECT count(*) AS n FROM event_log e JOIN event_log_parked p USING (event_id)
            """) == 3)
    }

    /// Retention 0 (every event is old enough), pruning only when a test calls `pruneOnce`.
    private static func pruningLimits(batchRowsMax: Int) -> EventLogService.Limits {
        var limits = EventLogFixture.fastLimits
        limits.retention = EventRetentionLimits(retentionSeconds: 0, batchRowsMax: batchRowsMax, batchesPerRunMax: 10)
        limits.pruneIntervalSeconds = 3600
        return limits
    }

    /// `events` appended and consumed by `consumer`, its cursor stored; returns its (stopped) service.
    private static func consumedLog(_ fixture: EventLogFixture, events: Int, consumer: String,
                                    limits: EventLogService.Limits) async throws -> EventLogService {
        try await fixture.append((1...events).map { EventLogFixture.event(resource: "e\($0)") })
        let deliveries = Deliveries()
        let service = fixture.service([EventConsumer(name: consumer) { deliveries.record($0) }], limits: limits)
        try await fixture.running(service) {
            try await eventually("consumption") { deliveries.all.count == events }
            try await eventually("the cursor stored") {
                try await count(fixture, "SELECT cursor_seq AS n FROM event_log_consumers WHERE name = \(consumer)") == Int64(events)
            }
        }
        return service
    }

    /// Events younger than the retention stay; one run reads one window and stops.
    @Test func pruningKeepsYoungEvents() async throws {
        let fixture = try await EventLogFixture.make()
        defer { fixture.close() }
        try await fixture.append((1...5).map { EventLogFixture.event(resource: "y\($0)") })
        var limits = EventLogFixture.fastLimits
        limits.retention = EventRetentionLimits(retentionSeconds: 3600, batchRowsMax: 2, batchesPerRunMax: 10)
        let service = fixture.service([], limits: limits)
        #expect(try await service.pruneOnce() == 0)
        #expect(try await count(fixture, "SELECT count(*) AS n FROM event_log") == 5)
    }

    /// Lag per declared consumer: events after its cursor and the oldest one's age.
    @Test func lagCountsEventsAfterTheCursor() async throws {
        let fixture = try await EventLogFixture.make()
        defer { fixture.close() }
        try await fixture.append((1...7).map { EventLogFixture.event(resource: "r\($0)") })
        let service = fixture.service([EventConsumer(name: "test.lag") { _ in }])
        let before = try await service.sampleLag()
        #expect(before.map(\.consumer) == ["test.lag"])
        #expect(before.first?.events == 7)
        #expect((before.first?.seconds ?? -1) >= 0)
        #expect(service.lag() == before)
        try await fixture.running(service) {
            try await eventually("no lag") { try await service.sampleLag().first?.events == 0 }
        }
        #expect(service.lag().first?.seconds == 0)
    }

    /// The append statement composes into a caller's own statement: one autocommitted INSERT … WITH.
    @Test func theAppendStatementComposesIntoACallersStatement() async throws {
        let fixture = try await EventLogFixture.make()
        defer { fixture.close() }
        let append = fixture.writer.appendStatement(selectingFrom: "new_events")
        #expect(append.binds.isEmpty)
        let statement = SQL("""
            WITH new_events AS (SELECT $1::text AS event_id, 'thing.made' AS event_type, 'mer_1' AS merchant_id,
                'test' AS mode, 'res_1' AS resource_id, '{"a":1}'::jsonb AS payload, now() AS occurred_at)
            """ + append.text, binds: [.text(TypedID.generate(prefix: .event).rawValue)])
        let rows = try await fixture.database.query(statement)
        #expect(try rows.map { try $0.decode("resource_id", as: String.self) } == ["res_1"])
        #expect(try await count(fixture, "SELECT count(*) AS n FROM event_log WHERE writer_xid IS NOT NULL") == 1)
    }

    /// An append of many events keeps their order in the sequence and every field exactly: times to the
    /// microsecond (before the epoch too), payloads with awkward text, one statement text for every batch size.
    @Test func anAppendKeepsOrderTimesAndPayloadsExactly() async throws {
        let fixture = try await EventLogFixture.make()
        defer { fixture.close() }
        let times = [Date(timeIntervalSince1970: 1_764_547_200.123456), Date(timeIntervalSince1970: -86_400.000001),
                     Date(timeIntervalSince1970: 4_102_444_799.999999)]
        let events = (0..<600).map { index in
            DomainEvent(type: "thing.happened", tenant: EventLogFixture.tenant, resourceId: "r,\(index)'\"",
                        occurredAt: times[index % times.count],
                        payload: ["index": .int(Int64(index)), "text": .string("a,b\"c'\\\u{1F600}\n"), "nested": ["k": .null]])
        }
        try await fixture.append(events)
        try await fixture.append([events[0]].map { DomainEvent(type: $0.type, tenant: $0.tenant, resourceId: "one",
                                                               occurredAt: times[0], payload: [:]) })
        #expect(EventLogAppendStore.insertSQL(events).text == EventLogAppendStore.insertSQL([events[0]]).text)
        let read = try await EventReadStore(database: fixture.database).events(after: .start, limit: 1_000)
        #expect(read.count == 601)
        for (logged, sent) in zip(read, events) {
            #expect(logged.event.id == sent.id && logged.event.resourceId == sent.resourceId && logged.event.payload == sent.payload)
            #expect(Int64((logged.event.occurredAt.timeIntervalSince1970 * 1_000_000).rounded())
                    == Int64((sent.occurredAt.timeIntervalSince1970 * 1_000_000).rounded()))
        }
        #expect(read.last?.event.resourceId == "one")
    }
}

struct SimulatedCrash: Error {}
struct PoisonError: Error, CustomStringConvertible {
    var description: String { "this event cannot be applied" }
}

func count(_ fixture: EventLogFixture, _ sql: SQL) async throws -> Int64 {
    try await fixture.database.queryFirst(sql)?.decode("n", as: Int64.self) ?? -1
}

func holder(_ fixture: EventLogFixture, _ consumer: String) async throws -> String? {
    try await fixture.database.queryFirst("""
        SELECT lease_holder FROM event_log_consumers WHERE name = \(consumer) AND lease_expires_at > clock_timestamp()
        """)?.decode("lease_holder", as: String?.self) ?? nil
}
