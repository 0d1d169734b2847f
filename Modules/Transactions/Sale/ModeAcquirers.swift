import AcquirerContract
import Kernel

/// Test mode settles through the simulator, live mode through the configured acquirer when it settles.
struct ModeAcquirers: AcquirerDirectory {
    let simulator: any CardAcquirer
    let live: (any CardAcquirer)?

    func cardAcquirer(for mode: Mode) -> (any CardAcquirer)? { mode == .test ? simulator : live }

    func settlementAcquirer(for mode: Mode) -> (any SettlementAcquirer)? {
        cardAcquirer(for: mode) as? any SettlementAcquirer
    }

    func settlementFiles(for mode: Mode) -> (any SettlementFileSource)? {
        cardAcquirer(for: mode) as? any SettlementFileSource
    }
}
