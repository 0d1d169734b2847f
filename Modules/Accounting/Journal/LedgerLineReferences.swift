import Kernel

/// Migration 17: a journal line's entry and account, and an entry's company, are checked once per statement, with the
/// locks a foreign key takes, in the same pass as the line's ledger, its entry's status and the entry's balance (one
/// guard per table where migrations 13 and 16 ran three, and three foreign keys).
///
/// WHY: the automatic postings insert hundreds of entries with two or three lines each per statement. Each line's two
/// foreign-key checks were a query of their own (four per card sale), and the guards then probed the same entries and
/// accounts again per line; together about a fifth of the database's time per posting. Here each entry is probed once
/// and each account once per statement (a batch of card sales names three accounts).
///
/// What the foreign keys guaranteed still holds:
/// - A line names an existing entry and account (SQLSTATE 23503, as before), of its own company and mode; an entry
///   names an existing company (on insert and on update).
/// - The account, the company, and an entry the statement did not post, is locked `FOR KEY SHARE`, so a concurrent
///   delete waits for this transaction and then finds the row naming it (or this statement, waiting on that delete,
///   finds no row). An entry this transaction posted needs no lock: no other transaction sees it before it commits.
/// - Deleting an entry, account or company that the ledger still names is refused (23503): the company's and a
///   draft's deletes remove the lines and entries first, as they did. Their ids never change (23503).
/// Rules kept from migrations 13 and 16 with their messages: lines join only a draft or an entry posted by this
/// same transaction; a statement adding lines to a non-draft entry leaves it with two lines or more and
/// debits = credits > 0 in base currency.
enum LedgerLineReferences {
    static let migration = Migration(namespace: AccountingSchema.namespace, version: 17,
                                     name: "journal line references checked once per statement", sql: """
        ALTER TABLE accounting_journal_lines
            DROP CONSTRAINT accounting_journal_lines_entry_id_fkey,
            DROP CONSTRAINT accounting_journal_lines_account_id_fkey;

        CREATE FUNCTION accounting_lines_statement_guard() RETURNS trigger LANGUAGE plpgsql
            SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off AS $guard$
        DECLARE
            problem record;
            locked bigint;
        BEGIN
            -- Accounts: one probe and one KEY SHARE lock per account the statement names.
            SELECT l.account_id, a.id IS NULL AS missing INTO problem
              FROM (SELECT DISTINCT account_id, company_id, mode FROM inserted_lines) AS l
              LEFT JOIN LATERAL (
                  SELECT id, company_id, mode FROM accounting_accounts WHERE id = l.account_id OFFSET 0 FOR KEY SHARE
              ) AS a ON true
             WHERE a.id IS NULL OR (a.company_id, a.mode) <> (l.company_id, l.mode)
             LIMIT 1;
            IF FOUND AND problem.missing THEN
                RAISE EXCEPTION 'accounting: a journal line names account %, which does not exist', problem.account_id
                    USING ERRCODE = 'foreign_key_violation';
            ELSIF FOUND THEN
                RAISE EXCEPTION 'accounting: a journal line''s entry and account must be of its company and mode'
                    USING ERRCODE = 'foreign_key_violation';
            END IF;
            -- Entries: one probe per entry, and (after an insert) its lines' totals when it is not a draft; the drafts
            -- among them, in the same pass.
            WITH touched AS MATERIALIZED (
                SELECT t.entry_id, e.entry_number, e.status, b.line_count, b.debits, b.credits,
                       CASE WHEN e.id IS NULL THEN 0
                            WHEN (e.company_id, e.mode) <> (t.company_id, t.mode) THEN 1
                            WHEN e.status <> 'draft' AND e.posted_xid IS DISTINCT FROM pg_current_xact_id() THEN 2
                            WHEN e.status <> 'draft' AND TG_OP = 'INSERT'
                                 AND (b.line_count < 2 OR b.debits <> b.credits OR b.debits = 0) THEN 3 END AS kind
                  FROM (SELECT DISTINCT entry_id, company_id, mode FROM inserted_lines) AS t
                  LEFT JOIN LATERAL (
                      SELECT id, company_id, mode, entry_number, status, posted_xid FROM accounting_journal_entries
                       WHERE id = t.entry_id OFFSET 0
                  ) AS e ON true
                  LEFT JOIN LATERAL (
                      SELECT count(*) AS line_count,
                             coalesce(sum(base_amount_minor) FILTER (WHERE side = 'debit'), 0) AS debits,
                             coalesce(sum(base_amount_minor) FILTER (WHERE side = 'credit'), 0) AS credits
                        FROM accounting_journal_lines
                       WHERE entry_id = t.entry_id AND e.status <> 'draft' AND TG_OP = 'INSERT'
                  ) AS b ON true
            )
            SELECT (SELECT array_agg(entry_id) FROM touched WHERE status = 'draft') AS drafts, p.*
              INTO problem
              FROM (SELECT 1) AS one
              LEFT JOIN LATERAL (SELECT * FROM touched WHERE kind IS NOT NULL ORDER BY kind LIMIT 1) AS p ON true;
            CASE problem.kind
            WHEN 0 THEN
                RAISE EXCEPTION 'accounting: a journal line names entry %, which does not exist', problem.entry_id
                    USING ERRCODE = 'foreign_key_violation';
            WHEN 1 THEN
                RAISE EXCEPTION 'accounting: a journal line''s entry and account must be of its company and mode'
                    USING ERRCODE = 'foreign_key_violation';
            WHEN 2 THEN
                RAISE EXCEPTION 'accounting: lines cannot be added to a % journal entry', problem.status
                    USING ERRCODE = 'integrity_constraint_violation';
            WHEN 3 THEN
                RAISE EXCEPTION 'accounting: journal entry % does not balance (% lines, debits %, credits %)',
                    problem.entry_number, problem.line_count, problem.debits, problem.credits
                    USING ERRCODE = 'check_violation';
            ELSE NULL;
            END CASE;
            -- Drafts (the only entries another transaction could still delete): KEY SHARE, then still there?
            IF problem.drafts IS NOT NULL THEN
                SELECT count(*) INTO locked
                  FROM (SELECT id FROM accounting_journal_entries WHERE id = ANY(problem.drafts) FOR KEY SHARE) AS kept;
                IF locked < cardinality(problem.drafts) THEN
                    RAISE EXCEPTION 'accounting: a journal line names a draft entry that was deleted'
                        USING ERRCODE = 'foreign_key_violation';
                END IF;
            END IF;
            RETURN NULL;
        END
        $guard$;
        DROP TRIGGER accounting_lines_insert_guard ON accounting_journal_lines;
        DROP TRIGGER accounting_lines_update_guard ON accounting_journal_lines;
        DROP TRIGGER accounting_lines_totals_guard ON accounting_journal_lines;
        DROP FUNCTION accounting_lines_insert_guard();
        DROP FUNCTION accounting_lines_totals_guard();
        CREATE TRIGGER accounting_lines_insert_guard AFTER INSERT ON accounting_journal_lines
            REFERENCING NEW TABLE AS inserted_lines FOR EACH STATEMENT EXECUTE FUNCTION accounting_lines_statement_guard();
        -- An update of a (draft) line is checked as an insert, without the balance: it may not move to another ledger,
        -- a missing account or entry, or a posted entry.
        CREATE TRIGGER accounting_lines_update_guard AFTER UPDATE ON accounting_journal_lines
            REFERENCING NEW TABLE AS inserted_lines FOR EACH STATEMENT EXECUTE FUNCTION accounting_lines_statement_guard();

        -- What the keys refused on the other side: deleting an entry, account or company that rows still name, or
        -- changing its id.
        CREATE FUNCTION accounting_referenced_delete_guard() RETURNS trigger LANGUAGE plpgsql
            SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off AS $guard$
        BEGIN
            IF TG_TABLE_NAME = 'accounting_journal_entries' AND EXISTS (
                SELECT 1 FROM deleted_rows d CROSS JOIN LATERAL (
                    SELECT 1 FROM accounting_journal_lines l WHERE l.entry_id = d.id LIMIT 1) AS named)
               OR TG_TABLE_NAME = 'accounting_accounts' AND EXISTS (
                SELECT 1 FROM deleted_rows d CROSS JOIN LATERAL (
                    SELECT 1 FROM accounting_journal_lines l WHERE l.account_id = d.id LIMIT 1) AS named)
               OR TG_TABLE_NAME = 'accounting_companies' AND EXISTS (
                SELECT 1 FROM deleted_rows d CROSS JOIN LATERAL (
                    SELECT 1 FROM accounting_journal_entries e WHERE e.company_id = d.id LIMIT 1) AS named) THEN
                RAISE EXCEPTION 'accounting: a row of % that the ledger still names cannot be deleted', TG_TABLE_NAME
                    USING ERRCODE = 'foreign_key_violation';
            END IF;
            RETURN NULL;
        END
        $guard$;
        CREATE TRIGGER accounting_entries_delete_guard AFTER DELETE ON accounting_journal_entries
            REFERENCING OLD TABLE AS deleted_rows FOR EACH STATEMENT EXECUTE FUNCTION accounting_referenced_delete_guard();
        CREATE TRIGGER accounting_accounts_delete_guard AFTER DELETE ON accounting_accounts
            REFERENCING OLD TABLE AS deleted_rows FOR EACH STATEMENT EXECUTE FUNCTION accounting_referenced_delete_guard();
        CREATE TRIGGER accounting_companies_delete_guard AFTER DELETE ON accounting_companies
            REFERENCING OLD TABLE AS deleted_rows FOR EACH STATEMENT EXECUTE FUNCTION accounting_referenced_delete_guard();

        CREATE FUNCTION accounting_refuse_id_change() RETURNS trigger LANGUAGE plpgsql AS $guard$
        BEGIN
            RAISE EXCEPTION 'accounting: the id of a row of % never changes', TG_TABLE_NAME USING ERRCODE = 'foreign_key_violation';
        END
        $guard$;
        CREATE TRIGGER accounting_entries_id_fixed BEFORE UPDATE OF id ON accounting_journal_entries
            FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION accounting_refuse_id_change();
        CREATE TRIGGER accounting_accounts_id_fixed BEFORE UPDATE OF id ON accounting_accounts
            FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION accounting_refuse_id_change();
        CREATE TRIGGER accounting_companies_id_fixed BEFORE UPDATE OF id ON accounting_companies
            FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION accounting_refuse_id_change();

        -- An entry's company: probed and locked once per company a statement names (was a key check per entry), in the
        -- same guard as migration 16's "a non-draft entry has lines when its INSERT statement ends".
        ALTER TABLE accounting_journal_entries DROP CONSTRAINT accounting_journal_entries_company_id_fkey;
        CREATE FUNCTION accounting_entries_statement_guard() RETURNS trigger LANGUAGE plpgsql
            SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off AS $guard$
        DECLARE
            refused text;
        BEGIN
            SELECT n.company_id INTO refused
              FROM (SELECT DISTINCT company_id FROM inserted_entries) AS n
              LEFT JOIN LATERAL (
                  SELECT id FROM accounting_companies WHERE id = n.company_id OFFSET 0 FOR KEY SHARE
              ) AS c ON true
             WHERE c.id IS NULL
             LIMIT 1;
            IF FOUND THEN
                RAISE EXCEPTION 'accounting: a journal entry names company %, which does not exist', refused
                    USING ERRCODE = 'foreign_key_violation';
            END IF;
            IF TG_OP = 'INSERT' THEN
                SELECT n.entry_number INTO refused FROM inserted_entries n
                 WHERE n.status <> 'draft' AND NOT EXISTS (SELECT 1 FROM accounting_journal_lines l WHERE l.entry_id = n.id)
                 LIMIT 1;
                IF FOUND THEN
                    RAISE EXCEPTION 'accounting: journal entry % does not balance (0 lines, debits 0, credits 0)', refused
                        USING ERRCODE = 'check_violation';
                END IF;
            END IF;
            RETURN NULL;
        END
        $guard$;
        DROP TRIGGER accounting_entries_have_lines ON accounting_journal_entries;
        DROP FUNCTION accounting_entries_have_lines();
        CREATE TRIGGER accounting_entries_have_lines AFTER INSERT ON accounting_journal_entries
            REFERENCING NEW TABLE AS inserted_entries FOR EACH STATEMENT EXECUTE FUNCTION accounting_entries_statement_guard();
        -- Transition tables take no column list, so every update statement checks the companies its rows name.
        CREATE TRIGGER accounting_entries_company_guard AFTER UPDATE ON accounting_journal_entries
            REFERENCING NEW TABLE AS inserted_entries FOR EACH STATEMENT EXECUTE FUNCTION accounting_entries_statement_guard();
        """)
}
