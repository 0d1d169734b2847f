import Kernel

/// Accounting migration 11: the day a hold was resolved, for the pending-holds report as of a date.
enum HoldsSchema {
    /// `resolved_on` is the UTC day of the resolving event (completion, void or expiry), as entries are dated; holds
    /// resolved before this migration take the UTC day of `resolved_at` (the guard trigger, which refuses any change of
    /// a resolved hold, is paused for that one backfill). A hold is pending on day D when it was authorized on or
    /// before D and not resolved by then: `authorized_on <= D AND (status = 'pending' OR resolved_on > D)`, read
    /// through `accounting_holds_authorized`.
    static let migration = Migration(namespace: AccountingSchema.namespace, version: 11, name: "hold resolution day", sql: """
        ALTER TABLE accounting_holds ADD COLUMN resolved_on date;
        ALTER TABLE accounting_holds DISABLE TRIGGER accounting_hold_guard;
        UPDATE accounting_holds SET resolved_on = (resolved_at AT TIME ZONE 'UTC')::date WHERE status <> 'pending';
        ALTER TABLE accounting_holds ENABLE TRIGGER accounting_hold_guard;
        ALTER TABLE accounting_holds ADD CONSTRAINT accounting_holds_resolved_on
            CHECK ((status = 'pending') = (resolved_on IS NULL));
        CREATE INDEX accounting_holds_authorized ON accounting_holds (company_id, mode, authorized_on);
        """)
}
