public import Kernel

/// `atlas admin` commands for the event log's parked events: list them, deliver one again, or give one
/// up for a consumer. The bootstrap lists them after the feature modules' commands.
public enum ParkedEventsAdminCommands {
    public static let all: [AdminCommand] = [
        AdminCommand(name: "events-parked",
                     usage: "admin events-parked [--consumer NAME]    list events a consumer parked after its retries") { arguments, services in
            let entries = try await ParkedEventStore(database: services.database).list(consumer: arguments.value("consumer"))
            if entries.isEmpty { print("no parked events") }
            for entry in entries {
                print([entry.consumer, entry.eventId, entry.eventType, entry.tenant.merchantId, entry.tenant.mode.rawValue,
                       entry.state.rawValue, "attempts=\(entry.attempts)", Timestamp.iso8601(entry.parkedAt), entry.error]
                    .joined(separator: "\t"))
            }
        },
        AdminCommand(name: "events-retry",
                     usage: "admin events-retry --consumer NAME --event ID   deliver a parked event again") { arguments, services in
            try await ParkedEventStore(database: services.database).requestRetry(consumer: try arguments.required("consumer"),
                                                                                 eventId: try arguments.required("event"))
            print("event \(try arguments.required("event")) will be delivered again to \(try arguments.required("consumer"))")
        },
        AdminCommand(name: "events-skip",
                     usage: "admin events-skip --consumer NAME --event ID    give a parked event up for that consumer") { arguments, services in
            try await ParkedEventStore(database: services.database).skip(consumer: try arguments.required("consumer"),
                                                                         eventId: try arguments.required("event"))
            print("event \(try arguments.required("event")) skipped for \(try arguments.required("consumer"))")
        },
    ]
}
