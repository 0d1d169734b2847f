import CLinuxSockets
#if canImport(Glibc)
import Glibc
#endif

/// Why `HTTPServer.start()` failed.
public enum HTTPServerStartError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidHost(String)
    case systemCall(String, errno: Int32)
    case tls(String)
    case alreadyStarted

    public var description: String {
        switch self {
        case .invalidHost(let host): return "invalid host address \(host)"
        case .systemCall(let call, let code): return "\(call) failed: errno \(code)"
        case .tls(let message): return "TLS setup failed: \(message)"
        case .alreadyStarted: return "server already started"
        }
    }
}

/// Thin wrappers over the POSIX socket calls the server needs.
enum Socket {
    /// A non-blocking listening socket with SO_REUSEPORT so that every event loop can have its
    /// own listener on the same port and the kernel spreads connections between them.
    static func listen(host: String, port: Int, backlog: Int) throws(HTTPServerStartError) -> (fd: Int32, port: Int) {
        var storage = sockaddr_storage()
        let length: socklen_t
        let family: Int32
        if let address = ipv4(host, port: port) {
            withUnsafeMutableBytes(of: &storage) { raw in
                raw.storeBytes(of: address, as: sockaddr_in.self)
            }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            family = AF_INET
        } else if let address = ipv6(host, port: port) {
            withUnsafeMutableBytes(of: &storage) { raw in
                raw.storeBytes(of: address, as: sockaddr_in6.self)
            }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            family = AF_INET6
        } else {
            throw .invalidHost(host)
        }
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .systemCall("socket", errno: errno) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else {
            let code = errno
            close(fd)
            throw .systemCall("bind", errno: code)
        }
        guard Glibc.listen(fd, Int32(backlog)) == 0 else {
            let code = errno
            close(fd)
            throw .systemCall("listen", errno: code)
        }
        return (fd, boundPort(fd))
    }

    static func boundPort(_ fd: Int32) -> Int {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return describe(storage).port
    }

    static func ipv4(_ host: String, port: Int) -> sockaddr_in? {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(truncatingIfNeeded: port).bigEndian)
        let host = host == "localhost" ? "127.0.0.1" : host
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { return nil }
        return address
    }

    static func ipv6(_ host: String, port: Int) -> sockaddr_in6? {
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_port = in_port_t(UInt16(truncatingIfNeeded: port).bigEndian)
        var text = host
        if text.hasPrefix("["), text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        guard inet_pton(AF_INET6, text, &address.sin6_addr) == 1 else { return nil }
        return address
    }

    /// "ip:port" (IPv6 as "[ip]:port").
    static func describe(_ storage: sockaddr_storage) -> (text: String, port: Int) {
        var storage = storage
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &storage) { pointer in
                pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address in
                    var addr = address.pointee.sin_addr
                    inet_ntop(AF_INET, &addr, &buffer, socklen_t(buffer.count))
                    let port = Int(UInt16(bigEndian: address.pointee.sin_port))
                    return (cText(buffer) + ":\(port)", port)
                }
            }
        case AF_INET6:
            return withUnsafePointer(to: &storage) { pointer in
                pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address in
                    var addr = address.pointee.sin6_addr
                    inet_ntop(AF_INET6, &addr, &buffer, socklen_t(buffer.count))
                    let port = Int(UInt16(bigEndian: address.pointee.sin6_port))
                    return ("[" + cText(buffer) + "]:\(port)", port)
                }
            }
        default:
            return ("unknown", 0)
        }
    }

    static func setNoDelay(_ fd: Int32) {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }
}

/// Monotonic time in nanoseconds (timeouts must not jump with the wall clock).
@inline(__always)
package func monotonicNanos() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec)
}

extension Double {
    /// Seconds to nanoseconds, clamped at zero.
    var nanoseconds: UInt64 { self <= 0 ? 0 : UInt64(self * 1_000_000_000) }
}

/// A NUL-terminated C buffer as a String.
func cText(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
