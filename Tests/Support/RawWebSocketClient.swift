import Foundation

#if canImport(Glibc)
import Glibc
#endif

// A raw WebSocket test client (RFC 6455 frames over `RawClient`), shared by the HTTP server's frame-level suites and
// the feature suites that connect as a WebSocket peer (the device channel's terminal).

/// One frame as the test client reads it.
public struct ReceivedFrame: Equatable, Sendable {
    public var fin: Bool
    public var opcode: UInt8
    public var payload: [UInt8]

    public init(fin: Bool, opcode: UInt8, payload: [UInt8]) {
        self.fin = fin
        self.opcode = opcode
        self.payload = payload
    }

    public var closeCode: UInt16? {
        guard opcode == 0x8, payload.count >= 2 else { return nil }
        return UInt16(payload[0]) << 8 | UInt16(payload[1])
    }
    public var text: String { String(decoding: payload, as: UTF8.self) }
}

/// A blocking WebSocket client over `RawClient` that writes any bytes it is told to (masked or not, legal or not)
/// and reads frames. Runs on its own thread (`onThread`), never on the cooperative pool.
public final class RawWebSocketClient: @unchecked Sendable {
    public let raw: RawClient
    public var fd: Int32 { raw.fd }

    /// 30 s: a read ends at once on data or EOF; the timeout only bounds a loaded machine (CI saw the 5 s it was exceeded
    /// while every suite started at once).
    public init(port: Int, receiveTimeoutSeconds: Int = 30) throws {
        raw = try RawClient(port: port, receiveTimeoutSeconds: receiveTimeoutSeconds)
    }

    public static let sampleKey = "dGhlIHNhbXBsZSBub25jZQ=="

    /// Sends an opening handshake and reads the answer (a 101 head, or an HTTP refusal with its body).
    @discardableResult
    public func open(_ path: String = "/ws/echo", extraHeaders: [(String, String)] = [],
              version: String = "13") throws -> RawResponse {
        var head = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        head += "Sec-WebSocket-Key: \(Self.sampleKey)\r\nSec-WebSocket-Version: \(version)\r\n"
        for (name, value) in extraHeaders { head += "\(name): \(value)\r\n" }
        try raw.send(head + "\r\n")
        return try raw.readResponse()
    }

    public func send(_ bytes: [UInt8]) throws { try raw.send(bytes) }

    /// Encodes and sends one client frame. `masked: false` and `rsv` exist to break the rules on purpose.
    public func sendFrame(opcode: UInt8, payload: [UInt8], fin: Bool = true, masked: Bool = true, rsv: UInt8 = 0,
                   declaredLength: UInt64? = nil) throws {
        try send(Self.frame(opcode: opcode, payload: payload, fin: fin, masked: masked, rsv: rsv,
                            declaredLength: declaredLength))
    }

    public func sendText(_ text: String, fin: Bool = true) throws { try sendFrame(opcode: 0x1, payload: Array(text.utf8), fin: fin) }

    public func sendClose(code: UInt16?, reason: [UInt8] = []) throws {
        let payload = code.map { [UInt8($0 >> 8), UInt8($0 & 0xFF)] + reason } ?? reason
        try sendFrame(opcode: 0x8, payload: payload)
    }

    public static func frame(opcode: UInt8, payload: [UInt8], fin: Bool = true, masked: Bool = true, rsv: UInt8 = 0,
                      declaredLength: UInt64? = nil) -> [UInt8] {
        var bytes: [UInt8] = [(fin ? 0x80 : 0) | (rsv << 4) | opcode]
        let length = declaredLength ?? UInt64(payload.count)
        let maskBit: UInt8 = masked ? 0x80 : 0
        if length < 126 {
            bytes.append(maskBit | UInt8(length))
        } else if length <= 0xFFFF {
            bytes += [maskBit | 126, UInt8(length >> 8), UInt8(length & 0xFF)]
        } else {
            bytes.append(maskBit | 127)
            for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8((length >> UInt64(shift)) & 0xFF)) }
        }
        guard masked else { return bytes + payload }
        let mask: [UInt8] = [0x37, 0xFA, 0x21, 0x3D]
        bytes += mask
        bytes += payload.enumerated().map { $0.element ^ mask[$0.offset & 3] }
        return bytes
    }

    /// The next frame, or nil when the server closed the connection (or the read timed out).
    public func readFrame() -> ReceivedFrame? {
        guard let header = raw.read(2) else { return nil }
        var length = Int(header[1] & 0x7F)
        if length >= 126 {
            guard let extended = raw.read(length == 126 ? 2 : 8) else { return nil }
            length = extended.reduce(0) { $0 << 8 | Int($1) }
        }
        guard let payload = raw.read(length) else { return nil }
        return ReceivedFrame(fin: header[0] & 0x80 != 0, opcode: header[0] & 0x0F, payload: payload)
    }

    /// Reads frames until a close frame; returns it (nil when none came) and the frames before it.
    public func readUntilClose() -> (frame: ReceivedFrame?, others: [ReceivedFrame]) {
        var others: [ReceivedFrame] = []
        while let frame = readFrame() {
            if frame.opcode == 0x8 { return (frame, others) }
            others.append(frame)
        }
        return (nil, others)
    }

    /// True when the server closed the TCP connection (EOF or reset) with no further bytes.
    public func readsEOF() -> Bool { raw.readsEOF() }

    /// True when the socket itself is closed by the server (EOF or reset), whatever partial frame the client
    /// still holds: a reset may discard bytes in flight, leaving half a frame behind.
    public func socketEnded() -> Bool {
        var byte: UInt8 = 0
        let count = recv(fd, &byte, 1, 0)
        return count == 0 || (count < 0 && errno == ECONNRESET)
    }
}
