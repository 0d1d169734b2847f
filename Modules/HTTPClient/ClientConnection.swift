import COpenSSL
import COpenSSLShims
import HTTPServer
import Kernel
#if canImport(Glibc)
import Glibc
#endif

/// The OpenSSL client context: the system CA store (plus an optional extra bundle), peer verification on,
/// TLS 1.2 at least. SSL_CTX is reference counted and safe to share for SSL_new.
final class TLSClientContext: @unchecked Sendable {
    let context: OpaquePointer

    init(extraTrustedCertificatesPath: String?) throws(OutboundHTTPError) {
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw .tls("SSL_CTX_new failed") }
        self.context = context
        guard atlas_ssl_ctx_set_min_tls12(context) == 1 else { throw .tls("cannot require TLS 1.2") }
        _ = atlas_ssl_ctx_set_nonblocking_modes(context)
        guard SSL_CTX_set_default_verify_paths(context) == 1 else { throw .tls("cannot load the system CA store") }
        if let path = extraTrustedCertificatesPath {
            guard SSL_CTX_load_verify_locations(context, path, nil) == 1 else {
                throw .tls("cannot load the extra trusted certificates")
            }
        }
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
    }

    deinit { SSL_CTX_free(context) }
}

/// Why an exchange failed, and whether the peer had answered anything: a pooled connection that fails
/// before the first response byte was most likely closed by the peer while idle, so the request is sent
/// again once on a fresh connection.
struct ExchangeFailure: Error {
    let error: OutboundHTTPError
    let beforeResponse: Bool
}

/// One open connection to one origin, used by one request at a time (taken from and returned to the
/// pool). Blocking calls bounded by a deadline: the non-blocking socket is driven with poll(2) on a
/// client thread, never on the cooperative pool.
final class ClientConnection: @unchecked Sendable {
    let fd: Int32
    let transport: Transport
    let origin: String
    var lastUsedNanos: UInt64

    private init(fd: Int32, transport: Transport, origin: String) {
        self.fd = fd
        self.transport = transport
        self.origin = origin
        lastUsedNanos = monotonicNanos()
    }

    func close() {
        transport.close()
        _ = Glibc.close(fd)
    }

    /// True when the idle connection has something to read: the peer closed it (or sent bytes nobody asked
    /// for); either way it must not carry a request.
    var isStale: Bool {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, 0) != 0
    }

    // MARK: Opening

    /// Resolves the host, skips forbidden addresses (checked here, at every connect, against the address
    /// actually dialled: DNS may have changed since the URL was saved), connects, and for https completes
    /// a verified handshake.
    static func open(_ url: OutboundURL, origin: String, policy: AddressPolicy, tls: TLSClientContext,
                     deadline: UInt64) throws(OutboundHTTPError) -> ClientConnection {
        let addresses = try resolve(url)
        var refusal: String?
        var dialled = false
        var lastError = OutboundHTTPError.connectionFailed("no address to connect to")
        for address in addresses {
            if let reason = policy.refusal(for: address) {
                refusal = refusal ?? reason
                continue
            }
            dialled = true
            let fd: Int32
            do {
                fd = try connect(address, port: url.port, deadline: deadline)
            } catch {
                lastError = error
                if error == .timedOut { throw error }
                continue
            }
            guard url.isHTTPS else { return ClientConnection(fd: fd, transport: .plain, origin: origin) }
            do {
                let ssl = try handshake(fd: fd, host: url.host, tls: tls, deadline: deadline)
                return ClientConnection(fd: fd, transport: .tls(ssl), origin: origin)
            } catch {
                _ = Glibc.close(fd)
                throw error
            }
        }
        if let refusal, !dialled { throw .destinationForbidden(refusal) }
        throw lastError
    }

    /// Every address of the host (an IP literal is its own address).
    static func resolve(_ url: OutboundURL) throws(OutboundHTTPError) -> [IPAddress] {
        if let literal = IPAddress(url.host) { return [literal] }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(url.host, String(url.port), &hints, &result)
        guard status == 0, let first = result else {
            throw .resolutionFailed(String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(first) }
        var addresses: [IPAddress] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            if let socketAddress = info.pointee.ai_addr {
                switch info.pointee.ai_family {
                case AF_INET:
                    let address = socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
                    if let ip = IPAddress(bytes: withUnsafeBytes(of: address) { Array($0) }) { addresses.append(ip) }
                case AF_INET6:
                    let address = socketAddress.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
                    if let ip = IPAddress(bytes: withUnsafeBytes(of: address) { Array($0) }) { addresses.append(ip) }
                default: break
                }
            }
            cursor = info.pointee.ai_next
        }
        var seen = Set<IPAddress>()
        addresses = addresses.filter { seen.insert($0).inserted }
        guard !addresses.isEmpty else { throw .resolutionFailed("no IPv4 or IPv6 address") }
        return addresses
    }

    private static func connect(_ address: IPAddress, port: Int, deadline: UInt64) throws(OutboundHTTPError) -> Int32 {
        let family = address.isIPv4 ? AF_INET : AF_INET6
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .connectionFailed("socket: errno \(errno)") }
        var storage = sockaddr_storage()
        let length: socklen_t
        if address.isIPv4 {
            var ipv4 = sockaddr_in()
            ipv4.sin_family = sa_family_t(AF_INET)
            ipv4.sin_port = in_port_t(UInt16(port).bigEndian)
            withUnsafeMutableBytes(of: &ipv4.sin_addr) { $0.copyBytes(from: address.bytes) }
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: ipv4, as: sockaddr_in.self) }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
        } else {
            var ipv6 = sockaddr_in6()
            ipv6.sin6_family = sa_family_t(AF_INET6)
            ipv6.sin6_port = in_port_t(UInt16(port).bigEndian)
            withUnsafeMutableBytes(of: &ipv6.sin6_addr) { $0.copyBytes(from: address.bytes) }
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: ipv6, as: sockaddr_in6.self) }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        }
        let status = withUnsafePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, length) }
        }
        if status != 0 {
            let code = errno
            guard code == EINPROGRESS else {
                _ = Glibc.close(fd)
                throw connectError(code)
            }
            do {
                try wait(fd: fd, forWrite: true, deadline: deadline)
            } catch {
                _ = Glibc.close(fd)
                throw error
            }
            var socketError: Int32 = 0
            var size = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &socketError, &size) == 0 else {
                let code = errno
                _ = Glibc.close(fd)
                throw .connectionFailed("getsockopt: errno \(code)")
            }
            if socketError != 0 {
                _ = Glibc.close(fd)
                throw connectError(socketError)
            }
        }
        var one: Int32 = 1
        guard setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            let code = errno
            _ = Glibc.close(fd)
            throw .connectionFailed("setsockopt TCP_NODELAY: errno \(code)")
        }
        return fd
    }

    private static func connectError(_ code: Int32) -> OutboundHTTPError {
        switch code {
        case ECONNREFUSED: return .connectionRefused
        case ETIMEDOUT: return .timedOut
        case ENETUNREACH, EHOSTUNREACH: return .connectionFailed("unreachable")
        default: return .connectionFailed("connect: errno \(code)")
        }
    }

    private static func handshake(fd: Int32, host: String, tls: TLSClientContext,
                                  deadline: UInt64) throws(OutboundHTTPError) -> OpaquePointer {
        guard let ssl = SSL_new(tls.context) else { throw .tls("SSL_new failed") }
        SSL_set_fd(ssl, fd)
        if IPAddress(host) != nil {
            guard X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) == 1 else {
                SSL_free(ssl)
                throw .tls("cannot set the expected IP address")
            }
        } else {
            guard atlas_ssl_set_server_name(ssl, host) == 1, SSL_set1_host(ssl, host) == 1 else {
                SSL_free(ssl)
                throw .tls("cannot set the expected host name")
            }
        }
        SSL_set_connect_state(ssl)
        while true {
            ERR_clear_error()
            let result = SSL_do_handshake(ssl)
            if result == 1 { return ssl }
            let failure = SSL_get_error(ssl, result)
            do throws(OutboundHTTPError) {
                switch failure {
                case SSL_ERROR_WANT_READ: try wait(fd: fd, forWrite: false, deadline: deadline)
                case SSL_ERROR_WANT_WRITE: try wait(fd: fd, forWrite: true, deadline: deadline)
                default:
                    let verification = SSL_get_verify_result(ssl)
                    if verification != Int(X509_V_OK) {
                        throw OutboundHTTPError.tls("certificate verification failed: "
                            + String(cString: X509_verify_cert_error_string(verification)))
                    }
                    throw OutboundHTTPError.tls("handshake failed")
                }
            } catch {
                SSL_free(ssl)
                throw error
            }
        }
    }

    // MARK: One request and its response

    func exchange(_ request: [UInt8], headerBytesMax: Int, bodyBytesMax: Int,
                  deadline: UInt64) throws(ExchangeFailure) -> (OutboundResponse, reusable: Bool) {
        var reader = ResponseReader(headerBytesMax: headerBytesMax, bodyBytesMax: bodyBytesMax)
        do throws(OutboundHTTPError) {
            try writeAll(request, deadline: deadline)
            var buffer = [UInt8](repeating: 0, count: 16_384)
            while true {
                let outcome = buffer.withUnsafeMutableBytes { transport.read(fd: fd, into: $0) }
                switch outcome {
                case .transferred(let count):
                    if let done = try reader.feed(buffer[0..<count]) {
                        lastUsedNanos = monotonicNanos()
                        return done
                    }
                case .wouldBlock(let wantsWrite):
                    try Self.wait(fd: fd, forWrite: wantsWrite, deadline: deadline)
                case .closed:
                    return try reader.finish()
                case .failed:
                    throw OutboundHTTPError.connectionFailed("read failed")
                }
            }
        } catch {
            throw ExchangeFailure(error: error, beforeResponse: !reader.receivedAny)
        }
    }

    private func writeAll(_ bytes: [UInt8], deadline: UInt64) throws(OutboundHTTPError) {
        var offset = 0
        while offset < bytes.count {
            let outcome = bytes.withUnsafeBytes { raw in
                transport.write(fd: fd, from: UnsafeRawBufferPointer(rebasing: raw[offset...]))
            }
            switch outcome {
            case .transferred(let count): offset += count
            case .wouldBlock(let wantsWrite): try Self.wait(fd: fd, forWrite: wantsWrite, deadline: deadline)
            case .closed, .failed: throw .connectionFailed("write failed")
            }
        }
    }

    /// Waits until the socket is ready or the deadline passes.
    static func wait(fd: Int32, forWrite: Bool, deadline: UInt64) throws(OutboundHTTPError) {
        while true {
            let now = monotonicNanos()
            guard now < deadline else { throw .timedOut }
            let milliseconds = Int32(min((deadline - now) / 1_000_000 + 1, UInt64(Int32.max)))
            var descriptor = pollfd(fd: fd, events: Int16(forWrite ? POLLOUT : POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, milliseconds)
            if ready > 0 { return }
            if ready == 0 { continue }
            guard errno == EINTR else { throw .connectionFailed("poll: errno \(errno)") }
        }
    }
}
