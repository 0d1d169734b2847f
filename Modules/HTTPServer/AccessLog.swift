import Kernel

/// One JSON line per request. Only the fields below are logged, never header values, so
/// Authorization, X-Api-Key and Cookie contents cannot leak; the query string is dropped from
/// the path because it may carry tokens.
struct AccessLog: Sendable {
    let logger: Logger

    func record(method: String, path: String, status: Int, durationNanos: UInt64, requestId: String,
                remote: String, bytesOut: Int) {
        let durationMillis = Double(durationNanos / 1000) / 1000
        logger.info("http_request", [
            "method": .string(method),
            "path": .string(path),
            "status": .int(Int64(status)),
            "duration_ms": .double(durationMillis),
            "request_id": .string(requestId),
            "remote": .string(remote),
            "bytes_out": .int(Int64(bytesOut)),
        ])
    }
}
