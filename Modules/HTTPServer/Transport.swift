import COpenSSL
import COpenSSLShims
import CLinuxSockets

#if canImport(Glibc)
import Glibc
#endif

/// Outcome of one non-blocking read or write (`package`: the HTTPClient module drives the same transport).
package enum IOResult {
    case transferred(Int)
    /// Try again when the socket is readable (or writable when `wantsWrite`).
    case wouldBlock(wantsWrite: Bool)
    /// Orderly end of stream (reads only).
    case closed
    case failed
}

/// The server-wide OpenSSL context, built once from the certificate and key files.
final class TLSServerContext: @unchecked Sendable {
    /// SSL_CTX is internally reference counted and thread-safe for SSL_new.
    let context: OpaquePointer

    init(_ configuration: TLSConfiguration) throws(HTTPServerStartError) {
        guard let context = SSL_CTX_new(TLS_server_method()) else { throw .tls("SSL_CTX_new failed") }
        self.context = context
        _ = atlas_ssl_ctx_set_min_tls12(context)
        _ = atlas_ssl_ctx_set_nonblocking_modes(context)
        guard SSL_CTX_use_certificate_chain_file(context, configuration.certificatePath) == 1 else {
            throw .tls("cannot load the certificate chain")
        }
        guard SSL_CTX_use_PrivateKey_file(context, configuration.privateKeyPath, SSL_FILETYPE_PEM) == 1 else {
            throw .tls("cannot load the private key")
        }
        guard SSL_CTX_check_private_key(context) == 1 else { throw .tls("private key does not match the certificate") }
    }

    deinit { SSL_CTX_free(context) }

    func makeSession(fd: Int32) -> OpaquePointer? {
        guard let ssl = SSL_new(context) else { return nil }
        SSL_set_fd(ssl, fd)
        SSL_set_accept_state(ssl)
        return ssl
    }
}

/// Plain TCP or a TLS session over the socket; the event loop (and the HTTPClient module's connections) see
/// the same non-blocking API.
package enum Transport {
    case plain
    case tls(OpaquePointer)

    package func read(fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> IOResult {
        switch self {
        case .plain:
            let count = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if count > 0 { return .transferred(count) }
            if count == 0 { return .closed }
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? .wouldBlock(wantsWrite: false) : .failed
        case .tls(let ssl):
            ERR_clear_error()
            let count = SSL_read(ssl, buffer.baseAddress, Int32(min(buffer.count, Int(Int32.max))))
            if count > 0 { return .transferred(Int(count)) }
            return Self.classify(ssl: ssl, result: count)
        }
    }

    package func write(fd: Int32, from buffer: UnsafeRawBufferPointer) -> IOResult {
        switch self {
        case .plain:
            let count = send(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL))
            if count >= 0 { return .transferred(count) }
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? .wouldBlock(wantsWrite: true) : .failed
        case .tls(let ssl):
            ERR_clear_error()
            let count = SSL_write(ssl, buffer.baseAddress, Int32(min(buffer.count, 1 << 20)))
            if count > 0 { return .transferred(Int(count)) }
            // A write that wants a read (renegotiation) is retried on the next writable event too.
            if case .wouldBlock = Self.classify(ssl: ssl, result: count) { return .wouldBlock(wantsWrite: true) }
            return .failed
        }
    }

    private static func classify(ssl: OpaquePointer, result: Int32) -> IOResult {
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ: return .wouldBlock(wantsWrite: false)
        case SSL_ERROR_WANT_WRITE: return .wouldBlock(wantsWrite: true)
        case SSL_ERROR_ZERO_RETURN: return .closed
        case SSL_ERROR_SYSCALL:
            return errno == EAGAIN || errno == EINTR ? .wouldBlock(wantsWrite: false) : .failed
        default: return .failed
        }
    }

    /// Frees the session without close_notify: after an aborted response, a close_notify would tell the
    /// client that the data ended cleanly.
    package func discard() {
        if case .tls(let ssl) = self { SSL_free(ssl) }
    }

    /// Sends close_notify (best effort) and frees the session.
    package func close() {
        if case .tls(let ssl) = self {
            ERR_clear_error()
            SSL_shutdown(ssl)
            SSL_free(ssl)
        }
    }
}
