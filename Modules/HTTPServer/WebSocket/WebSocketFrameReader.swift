import Kernel

/// Streaming UTF-8 check (RFC 3629 ranges: no overlongs, no surrogates, nothing above U+10FFFF) so a text
/// message split across fragments, even inside a character, is checked as it arrives and fails at the first
/// bad byte.
struct UTF8StreamValidator {
    private var needed = 0
    private var lower: UInt8 = 0x80
    private var upper: UInt8 = 0xBF

    /// False at the first byte that cannot continue valid UTF-8.
    mutating func feed(_ bytes: UnsafeRawBufferPointer) -> Bool {
        for byte in bytes {
            if needed == 0 {
                switch byte {
                case 0x00...0x7F: continue
                case 0xC2...0xDF: needed = 1
                case 0xE0: needed = 2; lower = 0xA0
                case 0xE1...0xEC, 0xEE...0xEF: needed = 2
                case 0xED: needed = 2; upper = 0x9F
                case 0xF0: needed = 3; lower = 0x90
                case 0xF1...0xF3: needed = 3
                case 0xF4: needed = 3; upper = 0x8F
                default: return false
                }
            } else {
                guard byte >= lower, byte <= upper else { return false }
                lower = 0x80
                upper = 0xBF
                needed -= 1
            }
        }
        return true
    }

    /// True when no character is left open.
    var isComplete: Bool { needed == 0 }
}

/// Turns the bytes a client sends into protocol events, one frame at a time, enforcing RFC 6455's receiving
/// rules: masked frames only, no RSV bits (no extension is negotiated), known opcodes, control frames unfragmented
/// and at most 125 bytes, continuation only inside a message, valid close codes, UTF-8 text (1007), and the size
/// limits (1009). Owned by one connection on its event-loop thread; it holds a buffer only while a fragmented
/// message is being received.
struct WebSocketFrameReader {
    enum Event: Equatable {
        case message(WebSocketMessage)
        case ping([UInt8])
        case pong
        /// A valid close frame; `code` is nil when it carried none.
        case close(code: WebSocketCloseCode?, reason: String)
        /// The peer broke the protocol: close with this code and stop reading.
        case fail(WebSocketCloseCode, String)
    }

    let limits: WebSocketLimits
    private var messageOpcode: WebSocketOpcode?
    private var message: [UInt8] = []
    private var utf8 = UTF8StreamValidator()
    /// After a close or a failure nothing more is read.
    private(set) var isFinished = false

    init(limits: WebSocketLimits) { self.limits = limits }

    /// Reads at most one frame from `bytes`; returns the bytes consumed and the frame's event, or nil while the
    /// frame is incomplete (or it was a fragment that completes no message).
    mutating func read(_ bytes: UnsafeRawBufferPointer) -> (consumed: Int, event: Event?) {
        guard !isFinished, bytes.count >= 2 else { return (0, nil) }
        let first = bytes[0]
        let second = bytes[1]
        let isFinal = first & 0x80 != 0
        guard first & 0x70 == 0 else { return fail(.protocolError, "RSV bits set without a negotiated extension") }
        guard let opcode = WebSocketOpcode(rawValue: first & 0x0F) else { return fail(.protocolError, "Unknown opcode") }
        guard second & 0x80 != 0 else { return fail(.protocolError, "Client frames must be masked") }
        var headerLength = 2
        var payloadLength = UInt64(second & 0x7F)
        if payloadLength == 126 {
            guard bytes.count >= 4 else { return (0, nil) }
            payloadLength = UInt64(bytes[2]) << 8 | UInt64(bytes[3])
            headerLength = 4
        } else if payloadLength == 127 {
            guard bytes.count >= 10 else { return (0, nil) }
            payloadLength = (2..<10).reduce(UInt64(0)) { $0 << 8 | UInt64(bytes[$1]) }
            guard payloadLength >> 63 == 0 else { return fail(.protocolError, "Frame length has its top bit set") }
            headerLength = 10
        }
        if let failure = check(opcode: opcode, isFinal: isFinal, payloadLength: payloadLength) { return failure }
        let frameLength = headerLength + 4 + Int(payloadLength)
        guard bytes.count >= frameLength else { return (0, nil) }
        let mask = (bytes[headerLength], bytes[headerLength + 1], bytes[headerLength + 2], bytes[headerLength + 3])
        var payload = [UInt8](UnsafeRawBufferPointer(rebasing: bytes[(headerLength + 4)..<frameLength]))
        Self.unmask(&payload, mask)
        return (frameLength, handle(opcode, isFinal: isFinal, payload: payload))
    }

    /// Every rule decidable from the header alone, so an oversize or illegal frame fails before its payload arrives.
    private mutating func check(opcode: WebSocketOpcode, isFinal: Bool, payloadLength: UInt64)
        -> (consumed: Int, event: Event?)? {
        if opcode.isControl {
            guard isFinal else { return fail(.protocolError, "Control frames must not be fragmented") }
            guard payloadLength <= UInt64(WebSocketFrameEncoder.controlPayloadBytesMax) else {
                return fail(.protocolError, "Control frame payload over 125 bytes")
            }
            return nil
        }
        if opcode == .continuation {
            guard messageOpcode != nil else { return fail(.protocolError, "Continuation frame outside a message") }
        } else if messageOpcode != nil {
            return fail(.protocolError, "New message before the previous one finished")
        }
        guard payloadLength <= UInt64(limits.frameBytesMax) else { return fail(.messageTooBig, "Frame too big") }
        guard UInt64(message.count) + payloadLength <= UInt64(limits.messageBytesMax) else {
            return fail(.messageTooBig, "Message too big")
        }
        return nil
    }

    private mutating func handle(_ opcode: WebSocketOpcode, isFinal: Bool, payload: [UInt8]) -> Event? {
        switch opcode {
        case .ping: return .ping(payload)
        case .pong: return .pong
        case .close: return closeEvent(payload)
        case .text, .binary, .continuation:
            if opcode != .continuation { messageOpcode = opcode }
            if messageOpcode == .text {
                let valid = payload.withUnsafeBytes { utf8.feed($0) }
                guard valid else { return fail(.invalidPayload, "Text message is not valid UTF-8").event }
            }
            if message.isEmpty && isFinal {
                message = payload
            } else {
                message.append(contentsOf: payload)
            }
            guard isFinal else { return nil }
            return finishMessage()
        }
    }

    private mutating func finishMessage() -> Event {
        defer {
            messageOpcode = nil
            message = []
            utf8 = UTF8StreamValidator()
        }
        guard messageOpcode == .text else { return .message(.binary(message)) }
        guard utf8.isComplete else { return fail(.invalidPayload, "Text message ends inside a character").event! }
        return .message(.text(String(decoding: message, as: UTF8.self)))
    }

    private mutating func closeEvent(_ payload: [UInt8]) -> Event {
        isFinished = true
        if payload.isEmpty { return .close(code: nil, reason: "") }
        guard payload.count >= 2 else { return fail(.protocolError, "Close payload of one byte").event! }
        let code = WebSocketCloseCode(rawValue: UInt16(payload[0]) << 8 | UInt16(payload[1]))
        guard code.isSendable else { return fail(.protocolError, "Invalid close code \(code.rawValue)").event! }
        var validator = UTF8StreamValidator()
        let reasonBytes = Array(payload[2...])
        let valid = reasonBytes.withUnsafeBytes { validator.feed($0) } && validator.isComplete
        guard valid else { return fail(.invalidPayload, "Close reason is not valid UTF-8").event! }
        return .close(code: code, reason: String(decoding: reasonBytes, as: UTF8.self))
    }

    private mutating func fail(_ code: WebSocketCloseCode, _ reason: String) -> (consumed: Int, event: Event?) {
        isFinished = true
        message = []
        return (0, .fail(code, reason))
    }

    /// XOR with the 4-byte mask, a word at a time where possible.
    static func unmask(_ payload: inout [UInt8], _ mask: (UInt8, UInt8, UInt8, UInt8)) {
        let maskBytes = [mask.0, mask.1, mask.2, mask.3]
        payload.withUnsafeMutableBytes { raw in
            let count = raw.count
            var index = 0
            let word = UInt32(mask.0) | UInt32(mask.1) << 8 | UInt32(mask.2) << 16 | UInt32(mask.3) << 24
            while index + 4 <= count {
                let value = raw.loadUnaligned(fromByteOffset: index, as: UInt32.self)
                raw.storeBytes(of: value ^ word, toByteOffset: index, as: UInt32.self)
                index += 4
            }
            while index < count {
                raw[index] ^= maskBytes[index & 3]
                index += 1
            }
        }
    }
}
