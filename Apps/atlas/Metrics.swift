import Foundation
import Kernel
import Synchronization

/// Prometheus metrics for the whole process: requests by route and status, a latency histogram,
/// and gauges read at scrape time (pool usage). Route labels are patterns, never raw paths, so
/// the label set stays bounded.
final class Metrics: RequestObserver {
    /// Upper bounds in seconds, chosen around the p99 targets (10 ms, 25 ms).
    static let latencyBucketsSeconds: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
    /// A bound on distinct (method, route, status) series; further ones are counted under "other".
    static let seriesMax = 2_000

    private struct SeriesKey: Hashable { let method: String; let route: String; let status: Int }
    private struct Histogram { var buckets: [UInt64]; var count: UInt64 = 0; var sumSeconds: Double = 0 }
    private struct State {
        var requests: [SeriesKey: UInt64] = [:]
        var latencyByRoute: [String: Histogram] = [:]
    }

    private let state = Mutex(State())
    private let gauges: Mutex<[(name: String, help: String, read: @Sendable () -> [(labels: String, value: Double)])]> = Mutex([])

    func observe(method: HTTPMethod, routePattern: String, status: Int, durationSeconds: Double) {
        state.withLock { state in
            var key = SeriesKey(method: method.rawValue, route: routePattern, status: status)
            if state.requests[key] == nil, state.requests.count >= Metrics.seriesMax {
                key = SeriesKey(method: "other", route: "other", status: status)
            }
            state.requests[key, default: 0] += 1
            let route = state.latencyByRoute[routePattern] != nil || state.latencyByRoute.count < Metrics.seriesMax
                ? routePattern : "other"
            var histogram = state.latencyByRoute[route] ?? Histogram(buckets: Array(repeating: 0, count: Metrics.latencyBucketsSeconds.count))
            if let index = Metrics.latencyBucketsSeconds.firstIndex(where: { durationSeconds <= $0 }) { histogram.buckets[index] += 1 }
            histogram.count += 1
            histogram.sumSeconds += durationSeconds
            state.latencyByRoute[route] = histogram
        }
    }

    /// Registers a gauge family whose samples are read at every scrape.
    func registerGauge(name: String, help: String, read: @escaping @Sendable () -> [(labels: String, value: Double)]) {
        gauges.withLock { $0.append((name: name, help: help, read: read)) }
    }

    /// The Prometheus text exposition format, version 0.0.4.
    func render() -> String {
        let snapshot = state.withLock { $0 }
        var lines: [String] = []
        lines.append("# HELP atlas_http_requests_total HTTP requests by method, route pattern and status.")
        lines.append("# TYPE atlas_http_requests_total counter")
        for (key, count) in snapshot.requests.sorted(by: { ($0.key.route, $0.key.method, $0.key.status) < ($1.key.route, $1.key.method, $1.key.status) }) {
            lines.append("atlas_http_requests_total{method=\"\(escape(key.method))\",route=\"\(escape(key.route))\",status=\"\(key.status)\"} \(count)")
        }
        lines.append("# HELP atlas_http_request_duration_seconds Time from routing to response, by route pattern.")
        lines.append("# TYPE atlas_http_request_duration_seconds histogram")
        for (route, histogram) in snapshot.latencyByRoute.sorted(by: { $0.key < $1.key }) {
            var cumulative: UInt64 = 0
            for (index, bound) in Metrics.latencyBucketsSeconds.enumerated() {
                cumulative += histogram.buckets[index]
                lines.append("atlas_http_request_duration_seconds_bucket{route=\"\(escape(route))\",le=\"\(bound)\"} \(cumulative)")
            }
            lines.append("atlas_http_request_duration_seconds_bucket{route=\"\(escape(route))\",le=\"+Inf\"} \(histogram.count)")
            lines.append("atlas_http_request_duration_seconds_sum{route=\"\(escape(route))\"} \(histogram.sumSeconds)")
            lines.append("atlas_http_request_duration_seconds_count{route=\"\(escape(route))\"} \(histogram.count)")
        }
        for gauge in gauges.withLock({ $0 }) {
            lines.append("# HELP \(gauge.name) \(gauge.help)")
            lines.append("# TYPE \(gauge.name) gauge")
            for sample in gauge.read() {
                lines.append(sample.labels.isEmpty ? "\(gauge.name) \(sample.value)" : "\(gauge.name){\(sample.labels)} \(sample.value)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}
