import Kernel

/// Migration 18: an inserted entry's `posted_xid` comes from the column's default, and an INSERT statement's posted
/// entries are checked to carry this transaction's id once per statement, in the entries' statement guard; the row
/// trigger of migration 1 now runs on UPDATE and DELETE only.
///
/// WHY: that BEFORE INSERT trigger ran a PL/pgSQL call per inserted entry only to stamp `posted_xid`, about 2 µs per
/// entry when the automatic postings insert hundreds per statement. A default is evaluated in the executor, with no
/// function call of its own.
///
/// What holds as before: a posted (or void) entry carries the id of the transaction that inserted it, so lines join
/// it in that transaction only; an INSERT that gives it another is refused (SQLSTATE 23000, the row guard's code).
/// A draft is stamped too, and that stamp means nothing: lines join a draft whatever it says, and posting the
/// draft (an UPDATE, still under the row trigger) stamps the posting transaction's id.
enum PostingStamp {
    static let migration = Migration(namespace: AccountingSchema.namespace, version: 18,
                                     name: "posted_xid stamped by default, checked per statement", sql: """
        ALTER TABLE accounting_journal_entries ALTER COLUMN posted_xid SET DEFAULT pg_current_xact_id();
        DROP TRIGGER accounting_entry_guard ON accounting_journal_entries;
        CREATE TRIGGER accounting_entry_guard BEFORE UPDATE OR DELETE ON accounting_journal_entries
            FOR EACH ROW EXECUTE FUNCTION accounting_entry_guard();

        CREATE OR REPLACE FUNCTION accounting_entries_statement_guard() RETURNS trigger LANGUAGE plpgsql
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
                 WHERE n.status <> 'draft' AND n.posted_xid IS DISTINCT FROM pg_current_xact_id()
                 LIMIT 1;
                IF FOUND THEN
                    RAISE EXCEPTION 'accounting: posted journal entry % must carry the id of the transaction inserting it', refused
                        USING ERRCODE = 'integrity_constraint_violation';
                END IF;
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
        """)
}
