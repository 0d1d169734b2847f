import Foundation
import Kernel

/// Live granular mode's card read (`POST /v1/transaction/initiate` with a live credential): the `card_read` command
/// goes to the terminal's device channel, and the terminal answers the chip's EMV data. The answer is checked
/// before anything is stored: only the EMV tags this API names are accepted (never the PAN `5A`, track 2 `57` or
/// the cardholder name `5F20`), each value hex of at most `valueBytesMax` bytes, `maskedPan` stars and four digits,
/// and the amount the chip signed (`9F02`) must be the sale's total. A terminal connected to no instance is 503
/// TERMINAL_OFFLINE (one connected to another instance is reached through the relay); one that answers an error 502 TERMINAL_ERROR; no answer within
/// `cardReadTimeoutMilliseconds` 504 TERMINAL_TIMEOUT.
enum TerminalCardReader {
    /// The tags of a card read, by the names `EMVCardData.json` gives them (the sandbox chip's set).
    static let tagNames: [String: String] = [
        "4F": "applicationIdentifier", "5F34": "panSequenceNumber", "82": "applicationInterchangeProfile",
        "95": "terminalVerificationResults", "9A": "transactionDate", "9C": "transactionType", "9F02": "amountAuthorized",
        "9F03": "amountOther", "9F10": "issuerApplicationData", "9F26": "applicationCryptogram",
        "9F27": "cryptogramInformationData", "9F36": "applicationTransactionCounter", "9F37": "unpredictableNumber",
    ]
    /// Without these an issuer cannot authorize online.
    static let requiredTags = ["9F02", "9F26", "9F27", "9F36", "9F37"]
    static let valueBytesMax = 64
    static let schemes: Set<String> = ["VISA", "MASTERCARD", "AMEX", "DISCOVER", "UNKNOWN"]

    /// Sends `card_read` and checks the answer.
    static func read(_ request: CardReadRequest, currency: String, on channel: any TerminalEndpoint,
                     waitMilliseconds: Int) async throws(AtlasError) -> EMVCardData {
        let payload: JSONValue = [
            "transactionId": .string(request.transactionId), "type": .string(request.type.rawValue),
            "amount": .int(request.amountMinorUnits), "cashbackAmount": .int(request.cashbackMinorUnits),
            "currency": .string(currency),
        ]
        let outcome = try await channel.run(TerminalCommand(kind: .cardRead, payload: payload, waitMilliseconds: waitMilliseconds))
        let result = try TerminalsService.answer(outcome)
        guard let data = parse(result, amountMinorUnits: request.amountMinorUnits) else {
            throw TerminalErrors.failed("MALFORMED_CARD_READ")
        }
        return data
    }

    /// The terminal's answer as `EMVCardData`, nil when any rule is broken.
    static func parse(_ result: JSONValue, amountMinorUnits: Int64) -> EMVCardData? {
        guard let applicationId = result["applicationId"]?.stringValue, isHex(applicationId, bytes: 5...16),
              let label = result["applicationLabel"]?.stringValue, (1...16).contains(label.count),
              label.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F }),
              let scheme = result["cardScheme"]?.stringValue, schemes.contains(scheme),
              let maskedPan = result["maskedPan"]?.stringValue, isMaskedPan(maskedPan),
              case .object(let tags)? = result["tags"] else { return nil }
        var elements: [EMVCardData.Element] = []
        for (tag, value) in tags.sorted(by: { $0.key < $1.key }) {
            guard let name = tagNames[tag], let hex = value.stringValue, isHex(hex, bytes: 1...valueBytesMax) else { return nil }
            elements.append(.init(tag: tag, name: name, value: hex.uppercased()))
        }
        let present = Set(elements.map(\.tag))
        guard requiredTags.allSatisfy(present.contains),
              elements.first(where: { $0.tag == "9F02" })?.value == String(format: "%012lld", amountMinorUnits) else {
            return nil
        }
        return EMVCardData(applicationId: applicationId.uppercased(), applicationLabel: label, cardScheme: scheme,
                           maskedPan: maskedPan, elements: elements)
    }

    static func isHex(_ text: String, bytes: ClosedRange<Int>) -> Bool {
        let utf8 = text.utf8
        guard utf8.count % 2 == 0, bytes.contains(utf8.count / 2) else { return false }
        return utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 70) || ($0 >= 97 && $0 <= 102) }
    }

    /// 8–15 stars, then the last four digits (the stored `masked_pan` rule).
    static func isMaskedPan(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard (12...19).contains(bytes.count) else { return false }
        return bytes.dropLast(4).allSatisfy { $0 == UInt8(ascii: "*") } && bytes.suffix(4).allSatisfy { $0 >= 48 && $0 <= 57 }
    }
}

/// Where live granular mode reads cards: the device channels connected to this instance, or the one another
/// instance holds (through the relay).
struct LiveCardReading: Sendable {
    let channels: TerminalChannels
    var relay: TerminalRelay?
    let waitMilliseconds: Int
}

/// Who reads the card of one `initiate`.
enum GranularCardReader: Sendable {
    /// Test mode: the sandbox chip, in process (`SimulatedCardReader`).
    case sandbox
    /// Live mode: the terminal's device channel, here or on the instance that holds it (`RelayedTerminal`).
    case terminal(any TerminalEndpoint, waitMilliseconds: Int)
}
