import Kernel

/// ACH debits of `/functions/v1` confirmations in test mode (spec §11, AP-TEST): on routing number 110000000,
/// account 000123456789 succeeds, 000111111116 fails verification and 000111111113 is closed; every other valid
/// account succeeds (like the card simulator's unknown cards). The outcome is known at once: a test debit is
/// verified and settled in the confirmation, so it answers like a card (200 `succeeded`, or 402 `card_error`, the
/// documented type of every 402). Live mode has no ACH processor wired: 503 `ach_not_configured`.
enum SimulatedBankDebits {
    static let testRoutingNumber = "110000000"
    static let failsVerificationAccount = "000111111116"
    static let closedAccount = "000111111113"

    /// nil: the debit succeeds; else why it is refused.
    static func refusal(_ account: BankAccount) -> PaymentDecline? {
        guard account.routingNumber == testRoutingNumber else { return nil }
        switch account.accountNumber {
        case failsVerificationAccount: return .bankAccountVerificationFailed
        case closedAccount: return .bankAccountClosed
        default: return nil
        }
    }

    /// Stands in for the ACH network's trace number in `authorization_code`.
    static func authorizationCode(_ account: BankAccount) -> String { "ACH" + account.last4 }

    static let notConfigured = AtlasError(kind: .unavailable, status: 503, code: "ACH_NOT_CONFIGURED",
                                          message: "Bank account payments are not available in live mode")
}

extension PaymentDecline {
    static let bankAccountVerificationFailed = PaymentDecline(
        code: "bank_account_verification_failed", declineCode: "bank_account_verification_failed",
        message: "The bank account could not be verified")
    static let bankAccountClosed = PaymentDecline(code: "account_closed", declineCode: "account_closed",
                                                  message: "The bank account is closed")
}
