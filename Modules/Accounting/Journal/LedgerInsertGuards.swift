import Kernel

/// Migration 13: the ledger's INSERT guards run once per statement over its inserted rows (transition tables), and a
/// journal line's foreign keys name its entry's and its account's id alone.
///
/// WHY statement-level: the automatic postings insert hundreds of entries and their lines per statement, and the
/// per-row PL/pgSQL guards (a function call and a query per line, another per entry) cost about half of that
/// statement's time. The rules, messages and error codes are migration 1's and 2's: lines join only a draft or an
/// entry posted by this same transaction, and nothing posts into a closed period. UPDATE and DELETE keep their per-row
/// guards (`accounting_line_guard`, `accounting_period_lock`), where each row's old values matter. The commit-time
/// balance check of each entry reads its status and totals in one query (was two).
///
/// WHY keys by id: PostgreSQL plans a foreign-key check once per connection; for the composite keys
/// `(id, company_id, mode)`, planned while the ledger had no statistics (a new database, a table grown since its last
/// ANALYZE), it chose an index on `(company_id, mode, …)` and filtered on `id`, so every line's check read the
/// company's whole ledger (a 100,000-entry insert ran for hours; postings slowed as the ledger grew). A key on `id`
/// alone has no such index to choose. That a line, its entry and its account share one company and mode is checked
/// here once per statement (insert and update of lines; an entry or account updated under its lines). The guards'
/// own queries run with sequential scans and hash or merge joins off, so their plans are index probes per row
/// whatever the statistics.
enum LedgerInsertGuards {
    static let migration = Migration(namespace: AccountingSchema.namespace, version: 13,
                                     name: "statement-level insert guards, journal line keys by id", sql: """
        ALTER TABLE accounting_journal_lines
            DROP CONSTRAINT accounting_journal_lines_entry_id_company_id_mode_fkey,
            DROP CONSTRAINT accounting_journal_lines_account_id_company_id_mode_fkey,
            ADD CONSTRAINT accounting_journal_lines_entry_id_fkey FOREIGN KEY (entry_id) REFERENCES accounting_journal_entries (id),
            ADD CONSTRAINT accounting_journal_lines_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounting_accounts (id);

        CREATE FUNCTION accounting_lines_insert_guard() RETURNS trigger LANGUAGE plpgsql
            SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off AS $guard$
        DECLARE
            refused_status text;
        BEGIN
            IF EXISTS (SELECT 1 FROM inserted_lines l
                       JOIN accounting_journal_entries e ON e.id = l.entry_id
                       JOIN accounting_accounts a ON a.id = l.account_id
                       WHERE (e.company_id, e.mode) <> (l.company_id, l.mode)
                          OR (a.company_id, a.mode) <> (l.company_id, l.mode)) THEN
                RAISE EXCEPTION 'accounting: a journal line''s entry and account must be of its company and mode'
                    USING ERRCODE = 'foreign_key_violation';
            END IF;
            -- After the statement: entries inserted by the same statement are visible, with this transaction's xid.
            SELECT e.status INTO refused_status
            FROM inserted_lines l JOIN accounting_journal_entries e ON e.id = l.entry_id
            WHERE e.status <> 'draft' AND e.posted_xid IS DISTINCT FROM pg_current_xact_id()
            LIMIT 1;
            IF FOUND THEN
                RAISE EXCEPTION 'accounting: lines cannot be added to a % journal entry', refused_status
                    USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN NULL;
        END
        $guard$;
        DROP TRIGGER accounting_line_guard ON accounting_journal_lines;
        CREATE TRIGGER accounting_line_guard BEFORE UPDATE OR DELETE ON accounting_journal_lines
            FOR EACH ROW EXECUTE FUNCTION accounting_line_guard();
        CREATE TRIGGER accounting_lines_insert_guard AFTER INSERT ON accounting_journal_lines
            REFERENCING NEW TABLE AS inserted_lines FOR EACH STATEMENT EXECUTE FUNCTION accounting_lines_insert_guard();
        -- An update of a (draft) line is checked as an insert: it may not move to another ledger or into a posted entry.
        CREATE TRIGGER accounting_lines_update_guard AFTER UPDATE ON accounting_journal_lines
            REFERENCING NEW TABLE AS inserted_lines FOR EACH STATEMENT EXECUTE FUNCTION accounting_lines_insert_guard();

        CREATE FUNCTION accounting_entries_insert_period_lock() RETURNS trigger LANGUAGE plpgsql
            SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off AS $lock$
        DECLARE
            refused_day date;
        BEGIN
            SELECT n.posting_date INTO refused_day
            FROM inserted_entries n JOIN accounting_periods p
              ON p.company_id = n.company_id AND p.mode = n.mode AND p.status = 'closed'
             AND n.posting_date BETWEEN p.period_start AND p.period_end
            WHERE n.status <> 'draft'
            LIMIT 1;
            IF FOUND THEN
                RAISE EXCEPTION 'accounting: % falls in a closed period', refused_day USING ERRCODE = 'check_violation';
            END IF;
            RETURN NULL;
        END
        $lock$;
        DROP TRIGGER accounting_period_lock ON accounting_journal_entries;
        CREATE TRIGGER accounting_period_lock BEFORE UPDATE ON accounting_journal_entries
            FOR EACH ROW EXECUTE FUNCTION accounting_period_lock();
        CREATE TRIGGER accounting_entries_insert_period_lock AFTER INSERT ON accounting_journal_entries
            REFERENCING NEW TABLE AS inserted_entries FOR EACH STATEMENT EXECUTE FUNCTION accounting_entries_insert_period_lock();

        -- What the composite keys also refused: an entry or account moving to another company or mode under its lines.
        CREATE FUNCTION accounting_line_owners_guard() RETURNS trigger LANGUAGE plpgsql
            SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off AS $guard$
        BEGIN
            IF TG_TABLE_NAME = 'accounting_journal_entries' AND EXISTS (
                SELECT 1 FROM updated_owners o JOIN accounting_journal_lines l ON l.entry_id = o.id
                WHERE (l.company_id, l.mode) <> (o.company_id, o.mode))
               OR TG_TABLE_NAME = 'accounting_accounts' AND EXISTS (
                SELECT 1 FROM updated_owners o JOIN accounting_journal_lines l ON l.account_id = o.id
                WHERE (l.company_id, l.mode) <> (o.company_id, o.mode)) THEN
                RAISE EXCEPTION 'accounting: % has journal lines of another company or mode', TG_TABLE_NAME
                    USING ERRCODE = 'foreign_key_violation';
            END IF;
            RETURN NULL;
        END
        $guard$;
        CREATE TRIGGER accounting_entry_owner_guard AFTER UPDATE ON accounting_journal_entries
            REFERENCING NEW TABLE AS updated_owners FOR EACH STATEMENT EXECUTE FUNCTION accounting_line_owners_guard();
        CREATE TRIGGER accounting_account_owner_guard AFTER UPDATE ON accounting_accounts
            REFERENCING NEW TABLE AS updated_owners FOR EACH STATEMENT EXECUTE FUNCTION accounting_line_owners_guard();

        -- The commit-time balance check of each entry: its status and its lines' totals in one query (was two).
        CREATE OR REPLACE FUNCTION accounting_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $check$
        DECLARE
            current_status text;
            line_count bigint;
            debits numeric;
            credits numeric;
        BEGIN
            SELECT e.status, count(l.entry_id), coalesce(sum(l.base_amount_minor) FILTER (WHERE l.side = 'debit'), 0),
                   coalesce(sum(l.base_amount_minor) FILTER (WHERE l.side = 'credit'), 0)
              INTO current_status, line_count, debits, credits
              FROM accounting_journal_entries e LEFT JOIN accounting_journal_lines l ON l.entry_id = e.id
             WHERE e.id = NEW.id
             GROUP BY e.status;
            IF current_status IS NULL OR current_status = 'draft' THEN RETURN NULL; END IF;
            IF line_count < 2 OR debits <> credits OR debits = 0 THEN
                RAISE EXCEPTION 'accounting: journal entry % does not balance (% lines, debits %, credits %)',
                    NEW.entry_number, line_count, debits, credits USING ERRCODE = 'check_violation';
            END IF;
            RETURN NULL;
        END
        $check$;
        """)
}
