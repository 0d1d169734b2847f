import EventLog
import Foundation
import Kernel

/// Admin subcommands for the event log's parked events. Returns false when the subcommand is not one of its own.
enum AdminEvents {
    static let usage = """
          admin events-parked [--consumer NAME]    list events a consumer parked after its retries
          admin events-retry --consumer NAME --event ID   deliver a parked event again
          admin events-skip --consumer NAME --event ID    give a parked event up for that consumer

        """

    static func run(_ subcommand: String, _ options: Options, _ application: Application) async throws -> Bool {
        let parked = ParkedEventStore(database: application.database)
        switch subcommand {
        case "events-parked":
            let entries = try await parked.list(consumer: options.value("consumer"))
            if entries.isEmpty { print("no parked events") }
            for entry in entries {
                print([entry.consumer, entry.eventId, entry.eventType, entry.tenant.merchantId, entry.tenant.mode.rawValue,
                       entry.state.rawValue, "attempts=\(entry.attempts)", Timestamp.iso8601(entry.parkedAt), entry.error]
                    .joined(separator: "\t"))
            }
        case "events-retry":
            try await parked.requestRetry(consumer: try options.required("consumer"), eventId: try options.required("event"))
            print("event \(try options.required("event")) will be delivered again to \(try options.required("consumer"))")
        case "events-skip":
            try await parked.skip(consumer: try options.required("consumer"), eventId: try options.required("event"))
            print("event \(try options.required("event")) skipped for \(try options.required("consumer"))")
        default:
            return false
        }
        return true
    }
}

/// Per-consumer lag gauges on `/metrics`, from the event log's last sample.
enum EventLogMetrics {
    static func register(_ service: EventLogService, on metrics: Metrics) {
        metrics.registerGauge(name: "atlas_event_consumer_lag_events",
                              help: "Events appended after the consumer's cursor (capped), as last sampled.") {
            service.lag().map { ("consumer=\"\($0.consumer)\"", Double($0.events)) }
        }
        metrics.registerGauge(name: "atlas_event_consumer_lag_seconds",
                              help: "Age of the oldest event after the consumer's cursor, as last sampled.") {
            service.lag().map { ("consumer=\"\($0.consumer)\"", $0.seconds) }
        }
    }
}
