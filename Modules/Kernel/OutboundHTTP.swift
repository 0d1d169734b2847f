/// Outgoing HTTP/1.1 as feature modules see it (webhook deliveries), implemented by the `HTTPClient`
/// infrastructure module over sockets and OpenSSL and handed to a module by the bootstrap, so a feature
/// depends on Kernel only. WHY a guard in the protocol: a URL a merchant typed must never reach the
/// process's own network (loopback, private ranges, cloud metadata); the implementation refuses them
/// when a URL is saved (`checkDestination`) and again at every connect (DNS can change in between).
public protocol OutboundHTTPClient: Sendable {
    /// Refuses a URL whose host is, or resolves to, a forbidden address; `requireHTTPS` refuses `http`.
    func checkDestination(_ url: OutboundURL, requireHTTPS: Bool) async throws(OutboundHTTPError)
    /// Sends one request; redirects are answered as they are, never followed.
    func send(_ request: OutboundRequest) async throws(OutboundHTTPError) -> OutboundResponse
}

/// An absolute `http`/`https` URL split for a client: no user info, no fragment.
public struct OutboundURL: Sendable, Hashable, CustomStringConvertible {
    public let scheme: String
    /// A DNS name (lower case) or an IP literal (IPv6 without brackets).
    public let host: String
    public let port: Int
    /// The request target: path and query, at least "/".
    public let target: String

    /// The longest URL accepted (a saved endpoint, a header's worth).
    public static let lengthMax = 2_048

    public var isHTTPS: Bool { scheme == "https" }
    public var hostIsIPv6: Bool { host.contains(":") }
    /// The `Host` header value.
    public var authority: String {
        let name = hostIsIPv6 ? "[\(host)]" : host
        return port == (isHTTPS ? 443 : 80) ? name : "\(name):\(port)"
    }
    public var description: String { "\(scheme)://\(authority)\(target)" }

    /// Parses `scheme://host[:port][/path][?query]`; nil for anything else (other schemes, user info,
    /// fragments, spaces, control characters, an empty host, a port outside 1...65535).
    public static func parse(_ text: String) -> OutboundURL? {
        guard text.utf8.count <= lengthMax, text.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }),
              !text.contains("#") else { return nil }
        let lower = text.lowercased()
        let scheme: String
        if lower.hasPrefix("https://") { scheme = "https" } else if lower.hasPrefix("http://") { scheme = "http" } else { return nil }
        let rest = text.dropFirst(scheme.count + 3)
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var target = String(rest[authorityEnd...])
        if target.isEmpty { target = "/" } else if target.hasPrefix("?") { target = "/" + target }
        guard !authority.isEmpty, !authority.contains("@") else { return nil }
        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return nil }
                portText = after.dropFirst()
            }
            guard host.contains(":") else { return nil }
        } else {
            let parts = authority.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            host = parts[0]
            if parts.count == 2 { portText = parts[1] }
            guard !host.contains(":") else { return nil }
        }
        guard !host.isEmpty, host.utf8.count <= 253 else { return nil }
        let allowed = host.unicodeScalars.allSatisfy { scalar in
            (scalar >= "a" && scalar <= "z") || (scalar >= "A" && scalar <= "Z") || (scalar >= "0" && scalar <= "9")
                || scalar == "." || scalar == "-" || scalar == ":" || scalar == "_"
        }
        guard allowed else { return nil }
        var port = scheme == "https" ? 443 : 80
        if let portText {
            guard !portText.isEmpty, portText.count <= 5, let parsed = Int(portText), (1...65535).contains(parsed) else {
                return nil
            }
            port = parsed
        }
        return OutboundURL(scheme: scheme, host: host.lowercased(), port: port, target: target)
    }

    private init(scheme: String, host: String, port: Int, target: String) {
        self.scheme = scheme
        self.host = host
        self.port = port
        self.target = target
    }
}

public struct OutboundRequest: Sendable {
    public var url: OutboundURL
    public var method: HTTPMethod
    /// Sent as given; the client adds Host, Content-Length, Connection and User-Agent.
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(url: OutboundURL, method: HTTPMethod = .post, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.url = url
        self.method = method
        self.headers = headers
        self.body = body
    }
}

public struct OutboundResponse: Sendable {
    public let status: Int
    public let headers: HTTPHeaders
    /// At most the client's response body limit.
    public let body: [UInt8]
    /// True when the body was longer than the limit and was cut.
    public let bodyTruncated: Bool

    public init(status: Int, headers: HTTPHeaders, body: [UInt8], bodyTruncated: Bool) {
        self.status = status
        self.headers = headers
        self.body = body
        self.bodyTruncated = bodyTruncated
    }
}

/// Why an outgoing request got no response. `description` is safe to store and show to the endpoint's
/// owner: it names the failure, never a header or body.
public enum OutboundHTTPError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The URL is not one the client sends to (not http/https, or http where https is required).
    case invalidURL(String)
    /// The host is, or resolves only to, a forbidden address (loopback, private, link-local, multicast,
    /// cloud metadata) that the configuration does not allow.
    case destinationForbidden(String)
    case resolutionFailed(String)
    case connectionRefused
    case connectionFailed(String)
    case timedOut
    /// Handshake or certificate failure (an untrusted or mismatched certificate lands here).
    case tls(String)
    case malformedResponse(String)
    /// Too many requests in flight in this process; try later.
    case overloaded

    public var description: String {
        switch self {
        case .invalidURL(let reason): return "invalid URL: \(reason)"
        case .destinationForbidden(let reason): return "destination forbidden: \(reason)"
        case .resolutionFailed(let reason): return "DNS resolution failed: \(reason)"
        case .connectionRefused: return "connection refused"
        case .connectionFailed(let reason): return "connection failed: \(reason)"
        case .timedOut: return "timed out"
        case .tls(let reason): return "TLS failure: \(reason)"
        case .malformedResponse(let reason): return "malformed response: \(reason)"
        case .overloaded: return "too many outgoing requests in flight"
        }
    }
}
