import Kernel

/// Migration 16: a posted entry's balance is checked once per statement over the lines it inserted, not once per entry
/// at commit; the unique key `(id, company_id, mode)`, which no foreign key names since migration 13, goes.
///
/// WHY: the automatic postings insert up to 1,000 entries with their lines per statement, and the deferred row trigger
/// ran a PL/pgSQL call and a query per entry at COMMIT: about a fifth of that statement's cost (17 of 93 ms for 1,000
/// card sales, docs/benchmarks.md). Every writer inserts an entry with its lines in one statement
/// (`JournalStore.insert`), so the end of that statement is the moment to check. The rule is the same and, per
/// statement, stricter: a non-draft entry must have lines when its INSERT statement ends (a posted entry whose lines
/// would come in a later statement is refused at once), and any statement that adds lines to a non-draft entry (only
/// one posted by the same transaction takes them: `accounting_lines_insert_guard`) must leave that entry with at
/// least two lines, debits = credits > 0, in base currency. A draft becomes posted by UPDATE, and that change keeps its
/// commit-time check (the trigger now fires only then); voiding changes no line, so it is not checked again.
enum LedgerBalanceGuards {
    static let migration = Migration(namespace: AccountingSchema.namespace, version: 16,
                                     name: "a posted entry balances at the end of its statement", sql: """
        CREATE FUNCTION accounting_lines_totals_guard() RETURNS trigger LANGUAGE plpgsql
            SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off AS $guard$
        DECLARE
            unbalanced record;
        BEGIN
            -- One probe of the entry and one of its lines per touched entry, whatever the statistics were when this
            -- query's plan was cached (a plan made on an empty ledger, joining the other way, read every line).
            SELECT e.entry_number, t.line_count, t.debits, t.credits INTO unbalanced
              FROM (SELECT DISTINCT entry_id FROM inserted_lines) AS touched
              CROSS JOIN LATERAL (
                  SELECT entry_number, status FROM accounting_journal_entries WHERE id = touched.entry_id OFFSET 0
              ) AS e
              CROSS JOIN LATERAL (
                  SELECT count(*) AS line_count,
                         coalesce(sum(base_amount_minor) FILTER (WHERE side = 'debit'), 0) AS debits,
                         coalesce(sum(base_amount_minor) FILTER (WHERE side = 'credit'), 0) AS credits
                    FROM accounting_journal_lines WHERE entry_id = touched.entry_id
              ) AS t
             WHERE e.status <> 'draft' AND (t.line_count < 2 OR t.debits <> t.credits OR t.debits = 0)
             LIMIT 1;
            IF FOUND THEN
                RAISE EXCEPTION 'accounting: journal entry % does not balance (% lines, debits %, credits %)',
                    unbalanced.entry_number, unbalanced.line_count, unbalanced.debits, unbalanced.credits
                    USING ERRCODE = 'check_violation';
            END IF;
            RETURN NULL;
        END
        $guard$;
        -- Triggers of one event fire in name order: "totals" after "insert", so a line refused by the insert guard
        -- (another ledger, an entry posted by another transaction) gets that guard's message.
        CREATE TRIGGER accounting_lines_totals_guard AFTER INSERT ON accounting_journal_lines
            REFERENCING NEW TABLE AS inserted_lines FOR EACH STATEMENT EXECUTE FUNCTION accounting_lines_totals_guard();

        CREATE FUNCTION accounting_entries_have_lines() RETURNS trigger LANGUAGE plpgsql
            SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off AS $guard$
        DECLARE
            lineless text;
        BEGIN
            SELECT n.entry_number INTO lineless FROM inserted_entries n
             WHERE n.status <> 'draft' AND NOT EXISTS (SELECT 1 FROM accounting_journal_lines l WHERE l.entry_id = n.id)
             LIMIT 1;
            IF FOUND THEN
                RAISE EXCEPTION 'accounting: journal entry % does not balance (0 lines, debits 0, credits 0)', lineless
                    USING ERRCODE = 'check_violation';
            END IF;
            RETURN NULL;
        END
        $guard$;
        CREATE TRIGGER accounting_entries_have_lines AFTER INSERT ON accounting_journal_entries
            REFERENCING NEW TABLE AS inserted_entries FOR EACH STATEMENT EXECUTE FUNCTION accounting_entries_have_lines();

        DROP TRIGGER accounting_entry_balanced ON accounting_journal_entries;
        CREATE CONSTRAINT TRIGGER accounting_entry_balanced AFTER UPDATE ON accounting_journal_entries
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (OLD.status = 'draft' AND NEW.status <> 'draft')
            EXECUTE FUNCTION accounting_entry_balanced();

        ALTER TABLE accounting_journal_entries DROP CONSTRAINT accounting_journal_entries_id_company_id_mode_key;
        """)
}
