public import AcquirerContract
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

/// A deterministic acquirer for test mode. Outcomes depend only on the card number and the amount,
/// so every path is reachable from an HTTP test (documented in docs/transactions.md):
///
/// Cards: 4242424242424242, 5555555555554444, 378282246310005, 6011111111111117 approve;
/// 4000000000000002 declines (05 DECLINED); 4000000000009995 insufficient funds (51);
/// 4000000000000069 expired card (54); 4000000000000119 processing error; 4000000000000127 incorrect CVC (N7);
/// 4000000000009987 lost card (41); 4000000000009979 stolen card (43); 4000000000003063 fails 3-D Secure
/// authentication (05 AUTHENTICATION_FAILED); 4000000000003220 and 4000000000003055 (3-D Secure, challenged or
/// not) approve, the simulator standing in for the cardholder.
/// Amounts (amount + tip + cashback): 5105 declines, 5151 insufficient funds, 5504 times out,
/// 7001 answers after `slowDelayMilliseconds` (for TERMINAL_BUSY and abort tests).
/// Settlement (`settle`), by the amounts of the batch's lines: a line of 9901 fails the whole batch,
/// lines of 9902 are rejected (PARTIAL), a line of 9903 leaves it PENDING (funding not yet confirmed), a
/// line of 7001 answers after `slowDelayMilliseconds`; otherwise SETTLED, funded two days after the close.
/// Its settlement file (`settlementFile`) lists the submitted lines, except: 9904 is reported one unit
/// higher (an amount mismatch), 9905 is left out (missing on the acquirer's side), and a batch holding a
/// 9906 gains one line the acquirer alone knows (missing on ours).
public struct SimulatedAcquirer: CardAcquirer, SettlementAcquirer, SettlementFileSource {
    public static let defaultCardNumber = "4242424242424242"
    public static let declineAmount: Int64 = 5105
    public static let insufficientFundsAmount: Int64 = 5151
    public static let timeoutAmount: Int64 = 5504
    public static let slowAmount: Int64 = 7001
    /// Balance the simulator reports for BALANCE_INQUIRY on an approving card.
    public static let simulatedBalance: Int64 = 100_000
    public static let settlementFailAmount: Int64 = 9_901
    public static let settlementRejectAmount: Int64 = 9_902
    public static let settlementPendingAmount: Int64 = 9_903
    public static let fileMismatchAmount: Int64 = 9_904
    public static let fileOmittedAmount: Int64 = 9_905
    public static let fileExtraLineAmount: Int64 = 9_906
    /// A batch with a line of this amount fails its first attempt and settles when retried.
    public static let settlementFailFirstAttemptAmount: Int64 = 9_907
    static let fundingDelaySeconds: TimeInterval = 2 * 86_400
    static let secondsPerDay: TimeInterval = 86_400

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
            case "4000000000000127": return .declined(responseCode: "N7", declineCode: "INCORRECT_CVC")
            case "4000000000009987": return .declined(responseCode: "41", declineCode: "LOST_CARD")
            case "4000000000009979": return .declined(responseCode: "43", declineCode: "STOLEN_CARD")
            case "4000000000003063": return .declined(responseCode: "05", declineCode: "AUTHENTICATION_FAILED")
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

    /// Deterministic in the submission (same settlement id and attempt, same answer), so a resubmission after
    /// a crash settles nothing twice.
    public func settle(_ submission: SettlementSubmission) async throws -> SettlementOutcome {
        let amounts = Set(submission.lines.map(\.amountMinorUnits))
        if amounts.contains(Self.slowAmount) {
            try await Task.sleep(for: .milliseconds(slowDelayMilliseconds))
        }
        if amounts.contains(Self.settlementFailAmount)
            || (amounts.contains(Self.settlementFailFirstAttemptAmount) && submission.attempt == 1) {
            return SettlementOutcome(status: .failed, acquirerBatchRef: nil, fundingDate: nil,
                                     rejectedTransactionIds: submission.lines.map(\.transactionId))
        }
        let dayStart = (submission.closedAt.timeIntervalSince1970 / Self.secondsPerDay).rounded(.down) * Self.secondsPerDay
        let fundingDate = Date(timeIntervalSince1970: dayStart + Self.fundingDelaySeconds)
        let day = TransactionRules.businessDate(submission.closedAt, timeZone: TimeZone(secondsFromGMT: 0) ?? .current)
        let reference = "BATCH-" + day.replacingOccurrences(of: "-", with: "") + "-"
            + String(Self.authorizationCode(for: submission.settlementId, operation: .capture).dropFirst())
        let rejected = submission.lines.filter { $0.amountMinorUnits == Self.settlementRejectAmount }.map(\.transactionId)
        if !rejected.isEmpty {
            return SettlementOutcome(status: .partial, acquirerBatchRef: reference, fundingDate: fundingDate,
                                     rejectedTransactionIds: rejected)
        }
        if amounts.contains(Self.settlementPendingAmount) {
            return SettlementOutcome(status: .pending, acquirerBatchRef: reference, fundingDate: nil)
        }
        return SettlementOutcome(status: .settled, acquirerBatchRef: reference, fundingDate: fundingDate)
    }

    public func settlementFile(_ submission: SettlementSubmission) async throws -> String {
        var file = "transactionId,type,amount\n"
        for line in submission.lines where line.amountMinorUnits != Self.fileOmittedAmount {
            let reported = line.amountMinorUnits == Self.fileMismatchAmount ? line.amountMinorUnits + 1 : line.amountMinorUnits
            file += "\(line.transactionId),\(line.type),\(reported)\n"
        }
        if submission.lines.contains(where: { $0.amountMinorUnits == Self.fileExtraLineAmount }) {
            file += "ACQ-\(submission.settlementId),SALE,100\n"
        }
        return file
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
        let digits = String(hash % 100_000)   // five digits, zero-padded (was String(format:), per sale)
        return letter + String(repeating: "0", count: 5 - digits.count) + digits
    }
}
