import Foundation
import Kernel

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
