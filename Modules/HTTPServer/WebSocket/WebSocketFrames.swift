import Foundation
import COpenSSL
import Kernel

/// Frame opcodes (RFC 6455 §5.2); every other value is a protocol error.
enum WebSocketOpcode: UInt8 {
    case continuation = 0x0
    case text = 0x1
    case binary = 0x2
    case close = 0x8
    case ping = 0x9
    case pong = 0xA

    var isControl: Bool { rawValue >= 0x8 }
}

/// Server-side frame encoding: unmasked (RFC 6455 §5.1: a server never masks), one frame per message
/// (the server does not fragment; messages are bounded by the send queue anyway).
enum WebSocketFrameEncoder {
    /// Control frames carry at most 125 payload bytes.
    static let controlPayloadBytesMax = 125

    static func frame(_ opcode: WebSocketOpcode, payload: [UInt8]) -> [UInt8] {
        payload.withUnsafeBytes { WebSocketEncodedMessage.encodeFrame(opcode: opcode.rawValue, payload: $0) }
    }

    /// A close frame; the reason is cut at a character boundary to fit 123 bytes.
    static func close(_ code: WebSocketCloseCode, reason: String) -> [UInt8] {
        var payload = [UInt8(code.rawValue >> 8), UInt8(code.rawValue & 0xFF)]
        var reasonBytes = 0
        for scalar in reason.unicodeScalars {
            let length = String(scalar).utf8.count
            guard reasonBytes + length <= controlPayloadBytesMax - 2 else { break }
            payload.append(contentsOf: String(scalar).utf8)
            reasonBytes += length
        }
        return frame(.close, payload: payload)
    }

    /// A close frame with no status (the answer to a peer's empty close).
    static let emptyClose: [UInt8] = frame(.close, payload: [])
}

/// `Sec-WebSocket-Accept` (RFC 6455 §4.2.2): base64(SHA-1(key + GUID)).
enum WebSocketAccept {
    static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    static func value(forKey key: String) -> String {
        let input = Array((key + guid).utf8)
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        _ = input.withUnsafeBytes { raw in EVP_Digest(raw.baseAddress, raw.count, &digest, &length, EVP_sha1(), nil) }
        return Data(digest.prefix(Int(length))).base64EncodedString()
    }
}

extension ResponseSerializer {
    /// The 101 answer to a handshake: the responder's safe headers plus the ones the protocol owns.
    static func serializeSwitchingProtocols(_ response: Response, acceptKey: String, requestId: String) -> [UInt8] {
        var head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        head += "Sec-WebSocket-Accept: \(WebSocketAccept.value(forKey: acceptKey))\r\n"
        let owned = ["upgrade", "connection", "sec-websocket-accept", "x-request-id", "content-length",
                     "transfer-encoding", "date", "content-type"]
        for field in response.headers where !owned.contains(where: { HTTPHeaders.namesEqual($0, field.name) }) {
            guard isSafeHeader(name: field.name, value: field.value) else { continue }
            head += "\(field.name): \(field.value)\r\n"
        }
        head += "X-Request-Id: \(requestId)\r\n\r\n"
        return Array(head.utf8)
    }
}
