import Kernel

/// The card log's hash chain (terminal-api rule 24):
/// `hash[n] = SHA256(deltaTime ‖ amount ‖ balanceAfter ‖ flags ‖ hash[n-1])[0..5]`.
///
/// Byte layout (19 bytes hashed), our reading of the rule, written down in docs/reconciliation.md:
/// `deltaTime` = this event's timestamp minus the previous entry's, uint32 big-endian (mod 2³²);
/// `amount` and `balanceAfter` uint32 big-endian; `flags` one byte, the event type's code
/// (debit 1, credit 2, checkin 3, checkout 4, admin 5); then the previous 6-byte hash. A card's chain starts
/// (at registration and at reissue) from six zero bytes and the card's `createdAt` / the reissue timestamp.
enum EventChain {
    static let hashBytes = 6

    static func hash(deltaTime: UInt32, amount: UInt32, balanceAfter: UInt32, flags: UInt8, previous: [UInt8],
                     crypto: any CryptoService) -> [UInt8] {
        precondition(previous.count == hashBytes, "a chain hash is 6 bytes")
        var message: [UInt8] = []
        message.reserveCapacity(13 + hashBytes)
        for value in [deltaTime, amount, balanceAfter] { message += bigEndian(value) }
        message.append(flags)
        message += previous
        return Array(crypto.sha256(message).prefix(hashBytes))
    }

    static func deltaTime(from previous: Int64, to timestamp: Int64) -> UInt32 {
        UInt32(truncatingIfNeeded: timestamp - previous)
    }

    private static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 8),
         UInt8(truncatingIfNeeded: value)]
    }
}

/// The event types of a reconcile batch, with the chain's flag code and the device operation (allowedOps)
/// a role needs to submit one.
enum OfflineEventType: String, Sendable, CaseIterable {
    case debit, credit, checkin, checkout, admin

    var flagCode: UInt8 {
        switch self {
        case .debit: 1
        case .credit: 2
        case .checkin: 3
        case .checkout: 4
        case .admin: 5
        }
    }

    /// Credits are top-ups and admin events are status writes: station operations only.
    var requiredOperation: String {
        switch self {
        case .debit: "debit"
        case .credit: "topup"
        case .checkin: "checkin"
        case .checkout: "checkout"
        case .admin: "block"
        }
    }

    var isFinancial: Bool { self == .debit || self == .credit }
}
