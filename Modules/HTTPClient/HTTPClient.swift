import HTTPServer
public import Kernel
import Synchronization

/// Every limit of the outgoing client, named with its unit.
public struct HTTPClientLimits: Sendable {
    /// Connect, handshake, request and response together.
    public var requestTimeoutSeconds: Double = 15
    public var responseHeaderBytesMax = 16_384
    /// Response bodies are read up to this and cut beyond (the connection is then not reused).
    public var responseBodyBytesMax = 65_536
    /// Idle keep-alive connections kept per origin (scheme, host, port) for reuse (several endpoints may share
    /// one origin, each with up to 4 deliveries in flight).
    public var idleConnectionsPerOriginMax = 32
    /// An idle connection older than this is closed instead of reused.
    public var idleConnectionSeconds: Double = 30
    /// Requests running at once in the process; beyond it a request fails at once (`overloaded`).
    public var requestsInFlightMax = 256
    /// Threads that run the blocking socket and TLS work (`ClientThreadPool`, started as needed): requests
    /// beyond this many wait for a thread. The webhook worker keeps at most 128 deliveries in flight.
    public var threadsMax = 64

    public init() {}
}

public struct HTTPClientConfiguration: Sendable {
    public var limits = HTTPClientLimits()
    /// Ranges opened despite the SSRF guard (`ATLAS_WEBHOOK_ALLOWED_NETWORKS`, for tests and local receivers).
    public var allowedNetworks: [CIDR] = []
    /// A PEM bundle trusted besides the system store (`ATLAS_WEBHOOK_EXTRA_CA_FILE`, a test's own CA).
    public var extraTrustedCertificatesPath: String?
    public var userAgent = "Atlas-Webhooks/1"

    public init(allowedNetworks: [CIDR] = [], extraTrustedCertificatesPath: String? = nil) {
        self.allowedNetworks = allowedNetworks
        self.extraTrustedCertificatesPath = extraTrustedCertificatesPath
    }
}

/// Our HTTP/1.1 client: certificate and host name verification against the system CA store, the SSRF
/// guard at save and at every connect, keep-alive reuse per origin, one deadline per request, response
/// bodies cut at a named limit, redirects never followed (a 3xx is an answer like any other). Blocking
/// socket work runs on the client's own threads (`ClientThreadPool`), never on the cooperative pool.
public final class HTTPClient: OutboundHTTPClient {
    public let configuration: HTTPClientConfiguration
    private let policy: AddressPolicy
    private let tls: TLSClientContext
    private let threads: ClientThreadPool
    private let inFlight = Mutex(0)
    private let idle = Mutex<[String: [ClientConnection]]>([:])

    public init(configuration: HTTPClientConfiguration = HTTPClientConfiguration()) throws(OutboundHTTPError) {
        precondition(configuration.limits.requestTimeoutSeconds > 0 && configuration.limits.requestsInFlightMax > 0,
                     "limits must be positive")
        self.configuration = configuration
        policy = AddressPolicy(allowed: configuration.allowedNetworks)
        tls = try TLSClientContext(extraTrustedCertificatesPath: configuration.extraTrustedCertificatesPath)
        threads = ClientThreadPool(threadsMax: configuration.limits.threadsMax,
                                   queuedJobsMax: configuration.limits.requestsInFlightMax)
    }

    deinit {
        threads.stop()
        idle.withLock { pools in
            for connection in pools.values.joined() { connection.close() }
            pools.removeAll()
        }
    }

    public func checkDestination(_ url: OutboundURL, requireHTTPS: Bool) async throws(OutboundHTTPError) {
        if requireHTTPS && !url.isHTTPS { throw .invalidURL("live endpoints must use https") }
        let policy = policy
        try await runBlocking { () throws(OutboundHTTPError) in
            // At save time every address the name has must be allowed; at connect, forbidden ones are skipped.
            for address in try ClientConnection.resolve(url) {
                if let reason = policy.refusal(for: address) { throw .destinationForbidden(reason) }
            }
        }
    }

    public func send(_ request: OutboundRequest) async throws(OutboundHTTPError) -> OutboundResponse {
        let admitted = inFlight.withLock { count in
            guard count < configuration.limits.requestsInFlightMax else { return false }
            count += 1
            return true
        }
        guard admitted else { throw .overloaded }
        defer { inFlight.withLock { $0 -= 1 } }
        let bytes = try serialize(request)
        return try await runBlocking { () throws(OutboundHTTPError) in try self.perform(request.url, bytes) }
    }

    /// Idle connections currently pooled (for tests of reuse).
    public var idleConnectionCount: Int { idle.withLock { $0.values.reduce(0) { $0 + $1.count } } }

    private func perform(_ url: OutboundURL, _ bytes: [UInt8]) throws(OutboundHTTPError) -> OutboundResponse {
        let limits = configuration.limits
        let deadline = monotonicNanos() + UInt64(limits.requestTimeoutSeconds * 1_000_000_000)
        let origin = url.scheme + "://" + url.authority
        if let pooled = takeIdle(origin) {
            do {
                return try exchange(on: pooled, bytes, deadline: deadline)
            } catch {
                // Closed by the peer while idle: send once more on a fresh connection.
                guard error.beforeResponse, error.error != .timedOut else { throw error.error }
            }
        }
        let connection = try ClientConnection.open(url, origin: origin, policy: policy, tls: tls, deadline: deadline)
        do {
            return try exchange(on: connection, bytes, deadline: deadline)
        } catch {
            throw error.error
        }
    }

    /// One request on `connection`: pooled again when the response allows, closed otherwise.
    private func exchange(on connection: ClientConnection, _ bytes: [UInt8],
                          deadline: UInt64) throws(ExchangeFailure) -> OutboundResponse {
        let limits = configuration.limits
        do {
            let (response, reusable) = try connection.exchange(bytes, headerBytesMax: limits.responseHeaderBytesMax,
                                                               bodyBytesMax: limits.responseBodyBytesMax, deadline: deadline)
            giveBack(connection, reusable: reusable)
            return response
        } catch {
            connection.close()
            throw error
        }
    }

    private func takeIdle(_ origin: String) -> ClientConnection? {
        let now = monotonicNanos()
        let idleNanos = UInt64(configuration.limits.idleConnectionSeconds * 1_000_000_000)
        var expired: [ClientConnection] = []
        let taken: ClientConnection? = idle.withLock { pools in
            var pool = pools[origin] ?? []
            defer { pools[origin] = pool.isEmpty ? nil : pool }
            while let candidate = pool.popLast() {
                if Self.idleForNanos(now: now, lastUsedNanos: candidate.lastUsedNanos) < idleNanos { return candidate }
                expired.append(candidate)
            }
            return nil
        }
        for connection in expired { connection.close() }
        guard let taken else { return nil }
        if taken.isStale {
            taken.close()
            return nil
        }
        return taken
    }

    /// How long a pooled connection has been idle. Another request may have given it back after `now` was
    /// read; its age is then zero (a plain `now - lastUsed` overflowed and crashed the server under load).
    static func idleForNanos(now: UInt64, lastUsedNanos: UInt64) -> UInt64 {
        now > lastUsedNanos ? now - lastUsedNanos : 0
    }

    private func giveBack(_ connection: ClientConnection, reusable: Bool) {
        let kept = reusable && idle.withLock { pools in
            var pool = pools[connection.origin] ?? []
            guard pool.count < configuration.limits.idleConnectionsPerOriginMax else { return false }
            pool.append(connection)
            pools[connection.origin] = pool
            return true
        }
        if !kept { connection.close() }
    }

    private func serialize(_ request: OutboundRequest) throws(OutboundHTTPError) -> [UInt8] {
        var head = "\(request.method.rawValue) \(request.url.target) HTTP/1.1\r\nHost: \(request.url.authority)\r\n"
        head += "User-Agent: \(configuration.userAgent)\r\nContent-Length: \(request.body.count)\r\nConnection: keep-alive\r\n"
        let managed: Set<String> = ["host", "content-length", "connection", "transfer-encoding", "user-agent"]
        for (name, value) in request.headers where !managed.contains(name.lowercased()) {
            let safe = { (text: String) in text.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7F } }
            guard !name.isEmpty, safe(name), safe(value), !name.contains(":"), !name.contains(" ") else {
                throw .invalidURL("header \(name.isEmpty ? "(empty)" : "value") is not valid in HTTP/1.1")
            }
            head += "\(name): \(value)\r\n"
        }
        head += "\r\n"
        return Array(head.utf8) + request.body
    }

    private func runBlocking<T: Sendable>(_ body: @escaping @Sendable () throws(OutboundHTTPError) -> T)
        async throws(OutboundHTTPError) -> T {
        let result: Result<T, OutboundHTTPError> = await withCheckedContinuation { continuation in
            let queued = threads.submit {
                do throws(OutboundHTTPError) {
                    continuation.resume(returning: .success(try body()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
            if !queued { continuation.resume(returning: .failure(.overloaded)) }
        }
        return try result.get()
    }
}
