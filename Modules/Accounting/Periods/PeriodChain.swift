import Kernel

/// Period close as pure functions: the closing lines that move a period's revenue and expenses into
/// retained earnings, and the SHA-256 chain over each closed period's posted entries.
enum PeriodChain {
    /// The `previous_hash` of a ledger's first closed period.
    static let genesisHash = String(repeating: "0", count: 64)

    /// One posted (or void) entry as the hash sees it.
    struct HashedEntry: Sendable, Hashable {
        var id: String
        var entryNumber: String
        var postingDate: String
        var status: String
        var entryType: String
        var lines: [HashedLine]
    }

    struct HashedLine: Sendable, Hashable {
        var lineNumber: Int
        var accountId: String
        var side: String
        var baseAmountMinor: Int64
    }

    /// The canonical text hashed for a period: one line per entry in entry-number order, then one per line.
    /// Every field is an id, a number, a date or an enum value, so "|" and newlines cannot be forged inside it.
    static func canonicalText(_ entries: [HashedEntry]) -> String {
        var text = ""
        for entry in entries.sorted(by: { $0.entryNumber < $1.entryNumber }) {
            text += "E|\(entry.id)|\(entry.entryNumber)|\(entry.postingDate)|\(entry.status)|\(entry.entryType)\n"
            for line in entry.lines.sorted(by: { $0.lineNumber < $1.lineNumber }) {
                text += "L|\(line.lineNumber)|\(line.accountId)|\(line.side)|\(line.baseAmountMinor)\n"
            }
        }
        return text
    }

    static func entriesHash(_ entries: [HashedEntry], crypto: any CryptoService) -> String {
        Encoding.hex(crypto.sha256(Array(canonicalText(entries).utf8)))
    }

    static func chainHash(previous: String, entriesHash: String, crypto: any CryptoService) -> String {
        Encoding.hex(crypto.sha256(Array((previous + entriesHash).utf8)))
    }

    /// Lines that bring every revenue and expense account's activity in the period to zero, the difference
    /// going to retained earnings (credit when the period made a profit). Empty when nothing moved.
    static func closingLines(_ activity: [ReportBuilder.AccountTotals], retainedEarnings: String,
                             currency: Currency) -> [LedgerLine] {
        var lines: [LedgerLine] = []
        for account in activity where account.type == "revenue" || account.type == "expense" {
            let net = account.debit - account.credit
            guard net != 0 else { continue }
            lines.append(LedgerLine(accountId: account.accountId, side: net > 0 ? .credit : .debit, amountMinor: abs(net),
                                    currency: currency, exchangeRate: .one, baseAmountMinor: abs(net), description: nil))
        }
        let (debits, credits) = JournalLineRules.totals(lines)
        if debits != credits {
            let difference = debits - credits
            lines.append(LedgerLine(accountId: retainedEarnings, side: difference > 0 ? .credit : .debit,
                                    amountMinor: abs(difference), currency: currency, exchangeRate: .one,
                                    baseAmountMinor: abs(difference), description: "Net income to retained earnings"))
        }
        return lines
    }
}
