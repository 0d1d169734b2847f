import EventLog

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
