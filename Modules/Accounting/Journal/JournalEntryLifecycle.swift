import Foundation
import Kernel

/// The journal entry state machine (spec B.2 rules 15–20) as a value: each transition either returns
/// what the store must write or throws the documented 409, so illegal transitions change nothing.
///
///     draft ──post──► posted ──void──► void          (a reversing entry is posted and linked)
///       │                └──correct──► void          (reversal + a new entry with corrects_entry, version+1)
///       └─ update / delete (drafts only)
///
/// The database enforces the same rules again (triggers in AccountingSchema): Swift gives the clear error,
/// PostgreSQL guarantees it holds whatever the code does.
struct JournalEntryLifecycle: Sendable, Hashable {
    enum Status: String, Sendable, Hashable {
        case draft
        case posted
        case void
    }

    /// What a transition asks the store to do.
    enum Action: Sendable, Hashable {
        case replaceDraft
        case deleteDraft
        case post(postingDate: String, at: Date)
        case reverse(reason: String, at: Date)
    }

    private(set) var status: Status

    init(status: Status) { self.status = status }

    mutating func update() throws(AtlasError) -> Action {
        guard status == .draft else { throw AccountingInput.conflict("Only draft journal entries can be updated") }
        return .replaceDraft
    }

    mutating func delete() throws(AtlasError) -> Action {
        guard status == .draft else { throw AccountingInput.conflict("Only draft journal entries can be deleted") }
        return .deleteDraft
    }

    mutating func post(postingDate: String, clock: any WallClock) throws(AtlasError) -> Action {
        guard status == .draft else {
            throw AccountingInput.conflict(status == .posted ? "The journal entry is already posted"
                                                             : "A void journal entry cannot be posted")
        }
        status = .posted
        return .post(postingDate: postingDate, at: clock.now())
    }

    /// Void and correct both reverse a posted entry; the original ends `void`.
    mutating func reverse(reason: String, clock: any WallClock) throws(AtlasError) -> Action {
        switch status {
        case .posted:
            status = .void
            return .reverse(reason: reason, at: clock.now())
        case .draft: throw AccountingInput.conflict("Only posted journal entries can be voided or corrected; delete the draft instead")
        case .void: throw AccountingInput.conflict("The journal entry is already void")
        }
    }
}
