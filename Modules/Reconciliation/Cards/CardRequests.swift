import Kernel

/// `POST /api/cards`. Integers out of their wire range (uint32, uint8) fail decoding: 400 `malformed_payload`.
struct RegisterCardBody: Decodable, Validatable {
    let cardId: String
    let userId: UInt32
    let name: String
    let createdAt: UInt32
    let keyVersion: UInt8

    func validate() throws(AtlasError) {
        guard CardId.parse(cardId) != nil else { throw CardErrors.malformed("cardId", "cardId must be 12 hex digits (6 bytes)") }
        guard !name.isEmpty, name.utf8.count <= CardLimits.nameBytesMax else {
            throw CardErrors.malformed("name", "name must be 1 to \(CardLimits.nameBytesMax) bytes of UTF-8")
        }
    }
}

/// The operator fields every station write carries.
private func validateOperator(_ operatorId: String) throws(AtlasError) {
    guard !operatorId.isEmpty, operatorId.utf8.count <= CardLimits.operatorIdBytesMax else {
        throw CardErrors.malformed("operatorId", "operatorId must be 1 to \(CardLimits.operatorIdBytesMax) bytes")
    }
}

struct TopUpBody: Decodable, Validatable {
    let amount: UInt32
    let operatorId: String
    let timestamp: UInt32

    func validate() throws(AtlasError) {
        guard amount > 0 else { throw CardErrors.malformed("amount", "amount must be a positive integer (minor units)") }
        try validateOperator(operatorId)
    }
}

struct BlockBody: Decodable, Validatable {
    static let reasons = ["lost", "stolen", "fraud", "decommission"]

    let reason: String
    let operatorId: String
    let timestamp: UInt32

    func validate() throws(AtlasError) {
        guard Self.reasons.contains(reason) else {
            throw CardErrors.malformed("reason", "reason must be one of \(Self.reasons.joined(separator: ", "))")
        }
        try validateOperator(operatorId)
    }
}

struct ReissueBody: Decodable, Validatable {
    let operatorId: String
    let authCode: String?
    let timestamp: UInt32

    func validate() throws(AtlasError) {
        try validateOperator(operatorId)
        if let authCode, authCode.utf8.count > CardLimits.authCodeBytesMax {
            throw CardErrors.malformed("authCode", "authCode is too long")
        }
    }
}
