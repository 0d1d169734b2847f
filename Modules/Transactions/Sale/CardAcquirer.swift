import Foundation
import Kernel

/// Primary account number helpers. A PAN exists only in the request body and in this call stack;
/// everything persisted, logged or returned is the masked form and the scheme.
public enum PAN {
    /// 12–19 digits passing the Luhn (mod 10) check.
    public static func isValid(_ number: String) -> Bool {
        let digits = Array(number.utf8)
        guard (12...19).contains(digits.count), digits.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return false }
        var sum = 0
        for (offset, byte) in digits.reversed().enumerated() {
            var digit = Int(byte - 48)
            if offset % 2 == 1 {
                digit *= 2
                if digit > 9 { digit -= 9 }
            }
            sum += digit
        }
        return sum % 10 == 0
    }

    /// "************1234": every digit but the last four replaced by `*`.
    public static func masked(_ number: String) -> String {
        String(repeating: "*", count: max(0, number.count - 4)) + number.suffix(4)
    }

    /// VISA, MASTERCARD, AMEX, DISCOVER or UNKNOWN by issuer prefix.
    public static func scheme(_ number: String) -> String {
        let prefix2 = Int(number.prefix(2)) ?? 0
        let prefix3 = Int(number.prefix(3)) ?? 0
        let prefix4 = Int(number.prefix(4)) ?? 0
        if number.hasPrefix("4") { return "VISA" }
        if (51...55).contains(prefix2) || (2221...2720).contains(prefix4) { return "MASTERCARD" }
        if prefix2 == 34 || prefix2 == 37 { return "AMEX" }
        if prefix4 == 6011 || prefix2 == 65 || (644...649).contains(prefix3) { return "DISCOVER" }
        return "UNKNOWN"
    }
}

/// One request to the acquirer. Holds the PAN only for the duration of the call.
public struct AcquirerRequest: Sendable {
    public enum Operation: String, Sendable { case authorize, capture, refund, reverse, balance, read }
    public let operation: Operation
    public let transactionId: String
    public let amountMinorUnits: Int64
    public let currency: String
    public let cardNumber: String?
    public let originalAuthorizationCode: String?

    public init(operation: Operation, transactionId: String, amountMinorUnits: Int64, currency: String,
                cardNumber: String?, originalAuthorizationCode: String?) {
        self.operation = operation
        self.transactionId = transactionId
        self.amountMinorUnits = amountMinorUnits
        self.currency = currency
        self.cardNumber = cardNumber
        self.originalAuthorizationCode = originalAuthorizationCode
    }
}

/// The acquirer's answer. `responseCode` is the ISO 8583 field 39 value ("00" approved).
public enum AcquirerOutcome: Sendable, Hashable {
    case approved(authorizationCode: String, availableBalance: Int64?)
    case declined(responseCode: String, declineCode: String)
    /// No answer in time: recorded as ERROR with `ACQUIRER_TIMEOUT` (a real integration reverses it).
    case timeout
    case processingError
}

/// The seam to a card acquirer (ISO 8583 host, payment gateway). Implementations must be safe to call
/// concurrently and must honour task cancellation (abort).
public protocol CardAcquirer: Sendable {
    func send(_ request: AcquirerRequest) async throws -> AcquirerOutcome
}

/// A deterministic acquirer for test mode. Outcomes depend only on the card number and the amount,
/// so every path is reachable from an HTTP test (documented in docs/transactions.md):
///
/// Cards: 4242424242424242, 5555555555554444, 378282246310005, 6011111111111117 approve;
/// 4000000000000002 declines (05 DECLINED); 4000000000009995 insufficient funds (51);
/// 4000000000000069 expired card (54); 4000000000000119 processing error.
/// Amounts (amount + tip + cashback): 5105 declines, 5151 insufficient funds, 5504 times out,
/// 7001 answers after `slowDelayMilliseconds` (for TERMINAL_BUSY and abort tests).
public struct SimulatedAcquirer: CardAcquirer {
    public static let defaultCardNumber = "4242424242424242"
    public static let declineAmount: Int64 = 5105
    public static let insufficientFundsAmount: Int64 = 5151
    public static let timeoutAmount: Int64 = 5504
    public static let slowAmount: Int64 = 7001
    /// Balance the simulator reports for BALANCE_INQUIRY on an approving card.
    public static let simulatedBalance: Int64 = 100_000

    public let slowDelayMilliseconds: Int

    public init(slowDelayMilliseconds: Int = 1_500) {
        self.slowDelayMilliseconds = slowDelayMilliseconds
    }

    public func send(_ request: AcquirerRequest) async throws -> AcquirerOutcome {
        if request.amountMinorUnits == Self.slowAmount {
            try await Task.sleep(for: .milliseconds(slowDelayMilliseconds))
        }
        if request.operation == .authorize || request.operation == .balance || request.operation == .read {
            switch request.cardNumber {
            case "4000000000000002": return .declined(responseCode: "05", declineCode: "DECLINED")
            case "4000000000009995": return .declined(responseCode: "51", declineCode: "INSUFFICIENT_FUNDS")
            case "4000000000000069": return .declined(responseCode: "54", declineCode: "EXPIRED_CARD")
            case "4000000000000119": return .processingError
            default: break
            }
            switch request.amountMinorUnits {
            case Self.declineAmount: return .declined(responseCode: "05", declineCode: "DECLINED")
            case Self.insufficientFundsAmount: return .declined(responseCode: "51", declineCode: "INSUFFICIENT_FUNDS")
            case Self.timeoutAmount: return .timeout
            default: break
            }
        }
        let balance = request.operation == .balance ? Self.simulatedBalance : nil
        return .approved(authorizationCode: Self.authorizationCode(for: request.transactionId, operation: request.operation),
                         availableBalance: balance)
    }

    /// Six characters derived from the transaction id (FNV-1a), so a replay yields the same code.
    static func authorizationCode(for transactionId: String, operation: AcquirerRequest.Operation) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in transactionId.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        let letter: String = switch operation {
        case .refund: "R"
        case .reverse: "V"
        case .capture: "C"
        default: "A"
        }
        return letter + String(format: "%05d", Int(hash % 100_000))
    }
}
