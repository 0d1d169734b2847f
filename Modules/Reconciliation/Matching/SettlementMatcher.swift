import AcquirerContract
import Kernel

/// Our lines of a settlement compared with the acquirer's settlement file, by transaction id.
struct MatchReport: Sendable, Hashable {
    struct Mismatch: Sendable, Hashable {
        let transactionId: String
        let ours: Int64
        let theirs: Int64
    }

    var matched = 0
    /// In the acquirer's file, not among our lines.
    var missingOnOurSide: [String] = []
    /// Among our lines, not in the acquirer's file.
    var missingOnTheirSide: [String] = []
    var amountMismatches: [Mismatch] = []

    var json: JSONValue {
        ["matched": .int(Int64(matched)), "missingOnOurSide": .array(missingOnOurSide.map { .string($0) }),
         "missingOnTheirSide": .array(missingOnTheirSide.map { .string($0) }),
         "amountMismatches": .array(amountMismatches.map {
             ["transactionId": .string($0.transactionId), "ours": .int($0.ours), "theirs": .int($0.theirs)]
         })]
    }
}

/// Parses the acquirer's settlement file and matches it against our lines (pure; tested without a database).
enum SettlementMatcher {
    static let header = "transactionId,type,amount"
    /// The file is the acquirer's, not ours: a malformed one is a 502, never half-matched.
    static let fileLinesMax = 1_000_000

    struct InvalidFile: Error, Sendable, Hashable, CustomStringConvertible {
        let line: Int
        let reason: String
        var description: String { "settlement file line \(line): \(reason)" }
    }

    /// transactionId → amount, in file order; every row checked.
    static func parse(_ file: String) throws(InvalidFile) -> [(transactionId: String, amount: Int64)] {
        let lines = file.split(separator: "\n", omittingEmptySubsequences: true)
        guard lines.first.map(String.init) == header else { throw InvalidFile(line: 1, reason: "header is not \(header)") }
        guard lines.count <= fileLinesMax else { throw InvalidFile(line: fileLinesMax, reason: "too many lines") }
        var rows: [(transactionId: String, amount: Int64)] = []
        rows.reserveCapacity(lines.count - 1)
        for (offset, line) in lines.dropFirst().enumerated() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == 3, !fields[0].isEmpty, let amount = Int64(fields[2]), amount >= 0 else {
                throw InvalidFile(line: offset + 2, reason: "expected transactionId,type,amount")
            }
            rows.append((String(fields[0]), amount))
        }
        return rows
    }

    static func match(ours: [SettlementLine], theirs: [(transactionId: String, amount: Int64)]) -> MatchReport {
        var report = MatchReport()
        var theirAmounts: [String: Int64] = [:]
        for row in theirs { theirAmounts[row.transactionId] = row.amount }
        let ourIds = Set(ours.map(\.transactionId))
        for line in ours {
            guard let amount = theirAmounts[line.transactionId] else {
                report.missingOnTheirSide.append(line.transactionId)
                continue
            }
            if amount == line.amountMinorUnits {
                report.matched += 1
            } else {
                report.amountMismatches.append(.init(transactionId: line.transactionId, ours: line.amountMinorUnits, theirs: amount))
            }
        }
        report.missingOnOurSide = theirs.map(\.transactionId).filter { !ourIds.contains($0) }
        return report
    }
}
