import Foundation
import Kernel

/// The issuer's answer as the POS reports it to `POST /v1/transaction/complete` (or the session's `complete`).
enum IssuerAnswer: Sendable, Hashable {
    case approved(authorizationCode: String)
    case declined(responseCode: String, declineCode: String)
}

/// A granular transaction from `initiate` to its final row (spec §8, docs/transactions.md "Granular mode"):
///
///     AWAITING_COMPLETION ──complete "00"──────────► APPROVED
///            │            ──complete other code───► DECLINED (declineCode from the response code)
///            │            ──abort──────────────────► ABORTED
///            └── completionTimeoutSeconds passed ──► ERROR (errorCode COMPLETION_TIMEOUT)
///
/// A value: each transition returns what to write, and the caller writes it (with the pending row's deletion)
/// in one database transaction. The deadline is checked against the injected clock's `now`.
struct GranularState: Sendable, Hashable {
    /// How long the POS has to send the issuer's answer. Below the terminal lock's 120 s, so a terminal-bound
    /// granular transaction still holds its terminal when it expires.
    static let completionTimeoutSeconds: TimeInterval = 90

    enum Phase: Sendable, Hashable {
        case awaitingCompletion
        case finished(TransactionStatus)
    }

    /// What the caller does after a transition.
    enum Action: Sendable, Hashable {
        /// Write the final row with this outcome (then answer it).
        case write(Outcome)
        /// The deadline passed: write the ERROR row, then refuse the request with TRANSACTION_EXPIRED.
        case expire
        /// Nothing to do (a sweep before the deadline).
        case none
        /// Already final: refuse with TRANSACTION_NOT_IN_PROGRESS.
        case refuseFinished
    }

    enum Outcome: Sendable, Hashable {
        case issuer(IssuerAnswer)
        case aborted
    }

    let expiresAt: Date
    private(set) var phase: Phase = .awaitingCompletion

    init(expiresAt: Date) { self.expiresAt = expiresAt }

    init(startedAt: Date) { self.init(expiresAt: startedAt.addingTimeInterval(Self.completionTimeoutSeconds)) }

    mutating func complete(_ answer: IssuerAnswer, at now: Date) -> Action {
        guard phase == .awaitingCompletion else { return .refuseFinished }
        if now >= expiresAt { return finishExpired() }
        switch answer {
        case .approved: phase = .finished(.approved)
        case .declined: phase = .finished(.declined)
        }
        return .write(.issuer(answer))
    }

    mutating func abort(at now: Date) -> Action {
        guard phase == .awaitingCompletion else { return .refuseFinished }
        if now >= expiresAt { return finishExpired() }
        phase = .finished(.aborted)
        return .write(.aborted)
    }

    /// The sweeper's and every reader's transition: expired once the deadline passed.
    mutating func expireIfDue(at now: Date) -> Action {
        guard phase == .awaitingCompletion else { return .refuseFinished }
        return now >= expiresAt ? finishExpired() : .none
    }

    private mutating func finishExpired() -> Action {
        phase = .finished(.error)
        return .expire
    }

    /// The final row for `outcome` (or for expiry when nil): status and codes on the pending record.
    static func finalRecord(_ pending: TransactionRecord, outcome: Outcome?) -> TransactionRecord {
        var record = pending
        switch outcome {
        case .issuer(.approved(let code))?: record.approve(authorizationCode: code)
        case .issuer(.declined(let responseCode, let declineCode))?:
            record.decline(responseCode: responseCode, declineCode: declineCode)
        case .aborted?: record.end(.aborted, errorCode: "ABORTED")
        case nil: record.end(.error, errorCode: GranularErrors.completionTimeoutCode)
        }
        assert(record.status.isFinal, "a granular transaction ends in a final state")
        return record
    }
}

/// ISO 8583 field 39 codes the POS may report, and the decline code each one is recorded with. Only "00"
/// approves (as the contract says); an unlisted code declines as DECLINED.
enum IssuerResponseCodes {
    static let approval = "00"
    static let declineCodes: [String: String] = [
        "01": "REFER_TO_ISSUER", "04": "PICK_UP_CARD", "05": "DECLINED", "12": "INVALID_TRANSACTION",
        "13": "INVALID_AMOUNT", "14": "INVALID_CARD_NUMBER", "41": "LOST_CARD", "43": "STOLEN_CARD",
        "51": "INSUFFICIENT_FUNDS", "54": "EXPIRED_CARD", "55": "INCORRECT_PIN", "57": "TRANSACTION_NOT_PERMITTED",
        "61": "EXCEEDS_WITHDRAWAL_LIMIT", "62": "RESTRICTED_CARD", "65": "EXCEEDS_WITHDRAWAL_FREQUENCY",
        "91": "ISSUER_UNAVAILABLE", "96": "SYSTEM_MALFUNCTION", "N7": "INCORRECT_CVC",
    ]
    static let defaultDeclineCode = "DECLINED"

    static func declineCode(for responseCode: String) -> String { declineCodes[responseCode] ?? defaultDeclineCode }
}

/// The body of `POST /v1/transaction/complete` (and the session's `complete` action).
struct CompleteRequest: Decodable, Sendable {
    let transactionId: String?
    let responseCode: String?
    let authorizationCode: String?
}

/// The validated completion: which transaction, and the issuer's answer.
struct ValidatedCompletion: Sendable, Hashable {
    let transactionId: String
    let answer: IssuerAnswer
}

enum GranularValidation {
    /// ISO 8583 field 39: two alphanumeric characters.
    static let responseCodePattern = "^[0-9A-Z]{2}$"
    /// ISO 8583 field 38: up to six alphanumeric characters.
    static let authorizationCodeLengthMax = 6

    static func validate(_ body: CompleteRequest) throws(AtlasError) -> ValidatedCompletion {
        guard let id = body.transactionId else { throw AtlasError.missingField("transactionId") }
        guard TypedID(rawValue: id).matches(.transaction) else {
            throw AtlasError.invalidField("transactionId", "transactionId must be a txn_ id", constraint: "format",
                                          value: .string(String(id.prefix(64))))
        }
        guard let responseCode = body.responseCode else { throw AtlasError.missingField("responseCode") }
        guard isResponseCode(responseCode) else {
            throw AtlasError.invalidField("responseCode", "responseCode must be two characters, 0-9 or A-Z (ISO 8583 field 39)",
                                          constraint: "pattern", value: .string(String(responseCode.prefix(16))))
        }
        guard responseCode == IssuerResponseCodes.approval else {
            return ValidatedCompletion(transactionId: id, answer: .declined(
                responseCode: responseCode, declineCode: IssuerResponseCodes.declineCode(for: responseCode)))
        }
        guard let code = body.authorizationCode else { throw AtlasError.missingField("authorizationCode") }
        guard isAuthorizationCode(code) else {
            throw AtlasError.invalidField("authorizationCode",
                                          "authorizationCode must be 1 to 6 characters, 0-9 or A-Z (ISO 8583 field 38)",
                                          constraint: "pattern", value: .string(String(code.prefix(16))))
        }
        return ValidatedCompletion(transactionId: id, answer: .approved(authorizationCode: code))
    }

    static func isResponseCode(_ text: String) -> Bool {
        text.utf8.count == 2 && text.utf8.allSatisfy(isUpperAlphanumeric)
    }

    static func isAuthorizationCode(_ text: String) -> Bool {
        (1...authorizationCodeLengthMax).contains(text.utf8.count) && text.utf8.allSatisfy(isUpperAlphanumeric)
    }

    private static func isUpperAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 90)
    }
}

/// Granular mode's documented errors (docs/transactions.md).
enum GranularErrors {
    static let completionTimeoutCode = "COMPLETION_TIMEOUT"

    static let expired = AtlasError(
        kind: .conflict, status: 409, code: "TRANSACTION_EXPIRED",
        message: "The transaction was not completed within \(Int(GranularState.completionTimeoutSeconds)) s and has expired",
        details: ErrorDetails(field: "transactionId", constraint: "state"))

    static let notInProgress = AtlasError(
        kind: .conflict, status: 409, code: "TRANSACTION_NOT_IN_PROGRESS",
        message: "The transaction already finished", details: ErrorDetails(field: "transactionId", constraint: "state"))

    static let notAwaitingCompletion = AtlasError(
        kind: .conflict, status: 409, code: "NOT_AWAITING_COMPLETION",
        message: "The transaction is running in orchestrated mode; only a granular transaction can be completed",
        details: ErrorDetails(field: "transactionId", constraint: "state"))

    /// Granular mode reads a card: CARD tender, and a type that authorizes new money.
    static func notGranular(_ field: String, _ message: String, value: String) -> AtlasError {
        .invalidField(field, message, constraint: "granular", value: .string(value))
    }

    /// Live mode needs a terminal to read the card; none is wired to this module yet.
    static let noCardReader = AtlasError(kind: .unavailable, status: 503, code: "TERMINAL_OFFLINE",
                                         message: "No terminal is connected to read the card in live mode")
}
