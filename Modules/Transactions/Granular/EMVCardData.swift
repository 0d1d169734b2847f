import Foundation
import Kernel

/// What the terminal read from the chip for the POS's own online authorization (granular mode): the data an
/// ISO 8583 authorization request carries in field 55, as named fields, as a tag → hex map and as one BER-TLV
/// string (`iccData`). The PAN itself never leaves Atlas: tag 5A is not in the data, only `maskedPan`.
struct EMVCardData: Sendable, Hashable {
    /// One EMV data element: its tag (hex), the name this API gives it, and its value (hex).
    struct Element: Sendable, Hashable {
        let tag: String
        let name: String
        let value: String
    }

    let applicationId: String
    let applicationLabel: String
    let cardScheme: String
    let maskedPan: String
    /// In tag order as the reader produced them.
    let elements: [Element]

    /// `{"applicationId", "applicationLabel", "cardScheme", "maskedPan", "cryptogramType", "applicationCryptogram",
    /// "applicationTransactionCounter", "unpredictableNumber", …, "tags": {"9F26": …}, "iccData": "9F2608…"}`.
    var json: JSONValue {
        var object: [String: JSONValue] = [
            "applicationId": .string(applicationId), "applicationLabel": .string(applicationLabel),
            "cardScheme": .string(cardScheme), "maskedPan": .string(maskedPan), "cryptogramType": "ARQC",
        ]
        var tags: [String: JSONValue] = [:]
        for element in elements {
            object[element.name] = .string(element.value)
            tags[element.tag] = .string(element.value)
        }
        object["tags"] = .object(tags)
        object["iccData"] = .string(iccData)
        return .object(object)
    }

    /// BER-TLV: tag, one length byte (every value here is under 128 bytes), value.
    var iccData: String {
        elements.map { element in
            let length = element.value.utf8.count / 2
            precondition(length < 128, "short-form TLV lengths only")
            return element.tag + String(format: "%02X", length) + element.value
        }.joined()
    }
}

/// What a card read needs to know (the amounts go into the cryptogram's input, as on a real chip).
struct CardReadRequest: Sendable {
    let transactionId: String
    let type: TransactionType
    let amountMinorUnits: Int64
    let cashbackMinorUnits: Int64
    let cardNumber: String
    let date: Date
}

/// The sandbox terminal's chip: deterministic EMV data derived from the transaction id, the amounts and the
/// card, so a replay or a test sees the same bytes. The cryptogram is not a real ARQC (no issuer keys): it is
/// 8 bytes of FNV-1a over the inputs, in the ARQC's place and format.
enum SimulatedCardReader {
    static let applications: [String: (id: String, label: String)] = [
        "VISA": ("A0000000031010", "VISA CREDIT"), "MASTERCARD": ("A0000000041010", "MASTERCARD"),
        "AMEX": ("A00000002501", "AMERICAN EXPRESS"), "DISCOVER": ("A0000001523010", "DISCOVER"),
    ]
    static let unknownApplication = (id: "A0000000000000", label: "CARD")

    static func read(_ request: CardReadRequest) -> EMVCardData {
        let scheme = PAN.scheme(request.cardNumber)
        let application = applications[scheme] ?? unknownApplication
        let seed = "\(request.transactionId)|\(request.amountMinorUnits)|\(request.cashbackMinorUnits)|\(request.cardNumber)"
        let calendar = Calendar(identifier: .gregorian)
        let parts = calendar.dateComponents(in: TimeZone(secondsFromGMT: 0) ?? .current, from: request.date)
        let date = String(format: "%02d%02d%02d", (parts.year ?? 2000) % 100, parts.month ?? 1, parts.day ?? 1)
        let elements: [EMVCardData.Element] = [
            .init(tag: "4F", name: "applicationIdentifier", value: application.id),
            .init(tag: "5F34", name: "panSequenceNumber", value: "01"),
            .init(tag: "82", name: "applicationInterchangeProfile", value: "1980"),
            .init(tag: "95", name: "terminalVerificationResults", value: "0000008000"),
            .init(tag: "9A", name: "transactionDate", value: date),
            .init(tag: "9C", name: "transactionType", value: request.cashbackMinorUnits > 0 ? "09" : "00"),
            .init(tag: "9F02", name: "amountAuthorized", value: String(format: "%012lld", request.amountMinorUnits)),
            .init(tag: "9F03", name: "amountOther", value: String(format: "%012lld", request.cashbackMinorUnits)),
            .init(tag: "9F10", name: "issuerApplicationData", value: "06010A03A00000"),
            .init(tag: "9F26", name: "applicationCryptogram", value: hex(seed + "|arqc", bytes: 8)),
            .init(tag: "9F27", name: "cryptogramInformationData", value: "80"),
            .init(tag: "9F36", name: "applicationTransactionCounter", value: hex(seed + "|atc", bytes: 2)),
            .init(tag: "9F37", name: "unpredictableNumber", value: hex(seed + "|un", bytes: 4)),
        ]
        return EMVCardData(applicationId: application.id, applicationLabel: application.label, cardScheme: scheme,
                           maskedPan: PAN.masked(request.cardNumber), elements: elements)
    }

    /// `bytes` bytes of FNV-1a 64 (chained for more than 8), as upper-case hex.
    static func hex(_ text: String, bytes: Int) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        var output = ""
        while output.count < bytes * 2 {
            for byte in text.utf8 {
                hash ^= UInt64(byte)
                hash = hash &* 0x100_0000_01b3
            }
            output += String(format: "%016llX", hash)
        }
        return String(output.prefix(bytes * 2))
    }
}
