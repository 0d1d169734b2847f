import Kernel

/// Migration 15: the ledger's "one entry per event" index leads with the event id, and its source index with the
/// source id.
///
/// WHY: the posting consumer asks, per batch, which of its events already have an entry (`postedEventIds`). With the
/// index on `(company_id, mode, source_event_id)` the planner, before the ledger's first ANALYZE (a new database, the
/// first minute of traffic before autovacuum's first pass), estimated the company's condition as selective and read
/// the company's whole ledger per batch, filtering on the event id: a fresh database's first sales took about a minute
/// to post. Led by the event id, the index is probed once per event whatever the statistics. Uniqueness is the same
/// (the same three columns), so `ON CONFLICT` and the rule "one entry per event and ledger" are unchanged. The same
/// held for the reads of a transaction's entries (a settlement's clearing balance, a void's original): the source
/// index now leads with the source id, and only the posting consumer reads by it.
enum PostedEventIndex {
    static let migration = Migration(namespace: AccountingSchema.namespace, version: 15,
                                     name: "one entry per event: index led by the event id", sql: """
        CREATE UNIQUE INDEX accounting_entries_event_source ON accounting_journal_entries (source_event_id, company_id, mode)
            WHERE source_event_id IS NOT NULL;
        DROP INDEX accounting_entries_source_event;
        CREATE INDEX accounting_entries_source_first ON accounting_journal_entries (source_id, source_type, company_id, mode)
            WHERE source_id IS NOT NULL;
        DROP INDEX accounting_entries_source;
        """)
}
