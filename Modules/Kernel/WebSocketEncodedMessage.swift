/// A message encoded once as the frame a server writes (RFC 6455 §5.2: FIN set, never masked, one frame per
/// message). WHY: sending one event to many connections (a broadcast) should not encode, allocate and copy it once
/// per connection; every connection that is sent this value queues the same bytes (a shared, copy-on-write array).
///
/// `init(json:)` also skips the `String` a JSON text message would otherwise pass through: the serializer's UTF-8
/// becomes the payload directly.
public struct WebSocketEncodedMessage: Sendable {
    static let textOpcode: UInt8 = 0x1
    static let binaryOpcode: UInt8 = 0x2

    /// The whole frame: header, then payload.
    public let frame: [UInt8]

    public init(_ message: WebSocketMessage) {
        switch message {
        case .text(var text):
            frame = text.withUTF8 { Self.encodeFrame(opcode: Self.textOpcode, payload: UnsafeRawBufferPointer($0)) }
        case .binary(let bytes):
            frame = bytes.withUnsafeBytes { Self.encodeFrame(opcode: Self.binaryOpcode, payload: $0) }
        }
    }

    /// A text message holding `json`, serialized once.
    public init(json: JSONValue) {
        frame = json.serialized().withUnsafeBytes { Self.encodeFrame(opcode: Self.textOpcode, payload: $0) }
    }

    /// The message again, for connections that do not write frames themselves (test doubles of
    /// `WebSocketConnection`); the server writes `frame`.
    public var message: WebSocketMessage {
        let lengthCode = frame[1] & 0x7F
        let payload = frame[(lengthCode == 127 ? 10 : lengthCode == 126 ? 4 : 2)...]
        return frame[0] & 0x0F == Self.textOpcode ? .text(String(decoding: payload, as: UTF8.self)) : .binary(Array(payload))
    }

    /// One unmasked server frame with FIN set: the opcode, the payload length in 7, 16 or 64 bits, the payload; one
    /// allocation. The HTTP server encodes its control frames (ping, pong, close) with it too.
    package static func encodeFrame(opcode: UInt8, payload: UnsafeRawBufferPointer) -> [UInt8] {
        let count = payload.count
        let headerBytes = count < 126 ? 2 : count <= 0xFFFF ? 4 : 10
        return [UInt8](unsafeUninitializedCapacity: headerBytes + count) { buffer, initialized in
            buffer[0] = 0x80 | opcode
            switch headerBytes {
            case 2:
                buffer[1] = UInt8(count)
            case 4:
                buffer[1] = 126
                buffer[2] = UInt8(count >> 8)
                buffer[3] = UInt8(count & 0xFF)
            default:
                buffer[1] = 127
                for index in 0..<8 { buffer[2 + index] = UInt8(truncatingIfNeeded: UInt64(count) >> UInt64(56 - 8 * index)) }
            }
            if let source = payload.baseAddress, let start = buffer.baseAddress, count > 0 {
                UnsafeMutableRawPointer(start + headerBytes).copyMemory(from: source, byteCount: count)
            }
            initialized = headerBytes + count
        }
    }
}
