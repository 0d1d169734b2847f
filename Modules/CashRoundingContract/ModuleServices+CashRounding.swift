public import Kernel

extension ModuleServices {
    /// Cash rounding for cash tenders (provided by Rounding); nil when no module provides it.
    public var cashRounding: (any CashRounding)? { contracts.resolve((any CashRounding).self) }
}
