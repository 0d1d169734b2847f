import Kernel

/// The Accounting module's tables (namespace "accounting"). Ids are canonical lower-case UUID text
/// (spec B.4 rule 1). The tenant is the company (`company_id`, and the company's `org_id`/`merchant_id`);
/// every ledger row carries `mode`: users see the live ledger, test-mode payments post into the test one.
///
/// The ledger's invariants live in the database, not only in Swift:
/// - a posted (or void) entry balances: ≥ 2 lines, Σ debit base amounts = Σ credit base amounts > 0,
///   checked at commit by the deferred constraint trigger `accounting_entry_balanced`;
/// - a posted entry is immutable except for voiding it (`accounting_entry_guard`), a void one is frozen,
///   neither can be deleted; lines of a posted or void entry cannot be updated, deleted or added to
///   (`accounting_line_guard`; lines may be added only in the transaction that posted the entry);
/// - a line's account belongs to the entry's company and mode (composite foreign keys);
/// - amounts are positive integer minor units (CHECK).
/// `accounting_account_days` holds per-account, per-day debit and credit totals of posted lines (what the
/// reports read instead of every line); `atlas admin accounting-check-balances` recomputes it from the lines.
enum AccountingSchema {
    static let namespace = "accounting"

    static let migrations: [Migration] = [
        Migration(namespace: namespace, version: 1, name: "companies, accounts, journal, day balances, posting rules", sql: """
            CREATE TABLE accounting_companies (
                id text PRIMARY KEY,
                org_id text NOT NULL,
                merchant_id text,
                mode text NOT NULL DEFAULT 'live' CHECK (mode IN ('live', 'test')),
                name text NOT NULL,
                base_currency text NOT NULL,
                fiscal_year_start_date date NOT NULL,
                accounting_method text NOT NULL CHECK (accounting_method IN ('accrual', 'cash')),
                address jsonb NOT NULL DEFAULT '{}',
                coa_template text,
                coa_industry text,
                created_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL
            );
            CREATE UNIQUE INDEX accounting_companies_merchant ON accounting_companies (merchant_id) WHERE merchant_id IS NOT NULL;
            CREATE INDEX accounting_companies_org ON accounting_companies (org_id, created_at, id);

            CREATE TABLE accounting_accounts (
                id text PRIMARY KEY,
                company_id text NOT NULL REFERENCES accounting_companies (id),
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                account_number text NOT NULL CHECK (char_length(account_number) BETWEEN 1 AND 20),
                name text NOT NULL,
                account_type text NOT NULL CHECK (account_type IN ('asset', 'liability', 'equity', 'revenue', 'expense')),
                normal_balance text NOT NULL CHECK (normal_balance IN ('debit', 'credit')),
                account_subtype text,
                description text,
                parent_id text,
                is_system boolean NOT NULL DEFAULT false,
                is_active boolean NOT NULL DEFAULT true,
                created_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL,
                UNIQUE (company_id, mode, account_number),
                UNIQUE (id, company_id, mode),
                FOREIGN KEY (parent_id, company_id, mode) REFERENCES accounting_accounts (id, company_id, mode)
            );

            CREATE TABLE accounting_journal_entries (
                id text PRIMARY KEY,
                company_id text NOT NULL REFERENCES accounting_companies (id),
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                entry_number text NOT NULL,
                status text NOT NULL CHECK (status IN ('draft', 'posted', 'void')),
                entry_type text NOT NULL,
                source_type text,
                source_id text,
                source_event_id text,
                entry_date date NOT NULL,
                posting_date date,
                description text NOT NULL,
                reference text,
                currency text NOT NULL,
                total_base_minor bigint NOT NULL CHECK (total_base_minor >= 0),
                version integer NOT NULL DEFAULT 1,
                posted_at timestamptz,
                posted_by text,
                posted_xid xid8,
                voided_at timestamptz,
                voided_by text,
                void_reason text,
                superseded_by text,
                corrects_entry text,
                reverses_entry text,
                reversed_by text,
                created_by text,
                created_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL,
                UNIQUE (company_id, mode, entry_number),
                UNIQUE (id, company_id, mode),
                CHECK (status = 'draft' OR (posted_at IS NOT NULL AND posting_date IS NOT NULL))
            );
            CREATE UNIQUE INDEX accounting_entries_source_event ON accounting_journal_entries (company_id, mode, source_event_id)
                WHERE source_event_id IS NOT NULL;
            CREATE INDEX accounting_entries_source ON accounting_journal_entries (company_id, mode, source_type, source_id)
                WHERE source_id IS NOT NULL;
            CREATE INDEX accounting_entries_date ON accounting_journal_entries (company_id, mode, entry_date, entry_number);

            CREATE TABLE accounting_journal_lines (
                id text PRIMARY KEY,
                entry_id text NOT NULL,
                company_id text NOT NULL,
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                line_number integer NOT NULL,
                account_id text NOT NULL,
                side text NOT NULL CHECK (side IN ('debit', 'credit')),
                amount_minor bigint NOT NULL CHECK (amount_minor > 0),
                currency text NOT NULL,
                exchange_rate numeric NOT NULL CHECK (exchange_rate > 0),
                base_amount_minor bigint NOT NULL CHECK (base_amount_minor > 0),
                description text,
                UNIQUE (entry_id, line_number),
                FOREIGN KEY (entry_id, company_id, mode) REFERENCES accounting_journal_entries (id, company_id, mode),
                FOREIGN KEY (account_id, company_id, mode) REFERENCES accounting_accounts (id, company_id, mode)
            );
            CREATE INDEX accounting_lines_account ON accounting_journal_lines (account_id);

            CREATE TABLE accounting_account_days (
                company_id text NOT NULL,
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                account_id text NOT NULL,
                day date NOT NULL,
                debit_minor bigint NOT NULL DEFAULT 0 CHECK (debit_minor >= 0),
                credit_minor bigint NOT NULL DEFAULT 0 CHECK (credit_minor >= 0),
                PRIMARY KEY (company_id, mode, account_id, day),
                FOREIGN KEY (account_id, company_id, mode) REFERENCES accounting_accounts (id, company_id, mode)
            );

            CREATE TABLE accounting_posting_rules (
                company_id text NOT NULL REFERENCES accounting_companies (id),
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                rule_key text NOT NULL,
                account_number text NOT NULL,
                PRIMARY KEY (company_id, mode, rule_key)
            );

            CREATE TABLE accounting_sequences (
                company_id text NOT NULL REFERENCES accounting_companies (id),
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                kind text NOT NULL,
                last_value bigint NOT NULL,
                PRIMARY KEY (company_id, mode, kind)
            );

            CREATE FUNCTION accounting_entry_guard() RETURNS trigger LANGUAGE plpgsql AS $guard$
            BEGIN
                IF TG_OP = 'INSERT' THEN
                    IF NEW.status <> 'draft' THEN NEW.posted_xid := pg_current_xact_id(); END IF;
                    RETURN NEW;
                END IF;
                IF TG_OP = 'DELETE' THEN
                    IF OLD.status <> 'draft' THEN
                        RAISE EXCEPTION 'accounting: a % journal entry cannot be deleted', OLD.status
                            USING ERRCODE = 'integrity_constraint_violation';
                    END IF;
                    RETURN OLD;
                END IF;
                IF OLD.status = 'draft' THEN
                    IF NEW.status <> 'draft' THEN NEW.posted_xid := pg_current_xact_id(); END IF;
                    RETURN NEW;
                END IF;
                IF OLD.status = 'void' THEN
                    RAISE EXCEPTION 'accounting: a void journal entry is immutable' USING ERRCODE = 'integrity_constraint_violation';
                END IF;
                IF NEW.status NOT IN ('posted', 'void')
                   OR (NEW.id, NEW.company_id, NEW.mode, NEW.entry_number, NEW.entry_type, NEW.source_type, NEW.source_id,
                       NEW.source_event_id, NEW.entry_date, NEW.posting_date, NEW.description, NEW.reference, NEW.currency,
                       NEW.total_base_minor, NEW.version, NEW.posted_at, NEW.posted_by, NEW.posted_xid, NEW.corrects_entry,
                       NEW.reverses_entry, NEW.created_by, NEW.created_at)
                      IS DISTINCT FROM
                      (OLD.id, OLD.company_id, OLD.mode, OLD.entry_number, OLD.entry_type, OLD.source_type, OLD.source_id,
                       OLD.source_event_id, OLD.entry_date, OLD.posting_date, OLD.description, OLD.reference, OLD.currency,
                       OLD.total_base_minor, OLD.version, OLD.posted_at, OLD.posted_by, OLD.posted_xid, OLD.corrects_entry,
                       OLD.reverses_entry, OLD.created_by, OLD.created_at) THEN
                    RAISE EXCEPTION 'accounting: a posted journal entry is immutable; only voiding it is allowed'
                        USING ERRCODE = 'integrity_constraint_violation';
                END IF;
                RETURN NEW;
            END
            $guard$;
            CREATE TRIGGER accounting_entry_guard BEFORE INSERT OR UPDATE OR DELETE ON accounting_journal_entries
                FOR EACH ROW EXECUTE FUNCTION accounting_entry_guard();

            CREATE FUNCTION accounting_line_guard() RETURNS trigger LANGUAGE plpgsql AS $guard$
            DECLARE
                entry_status text;
                entry_xid xid8;
            BEGIN
                IF TG_OP = 'INSERT' THEN
                    -- An entry written by this same statement is not visible yet; the foreign key proves it exists.
                    SELECT status, posted_xid INTO entry_status, entry_xid FROM accounting_journal_entries WHERE id = NEW.entry_id;
                    IF entry_status IS NOT NULL AND entry_status <> 'draft' AND entry_xid IS DISTINCT FROM pg_current_xact_id() THEN
                        RAISE EXCEPTION 'accounting: lines cannot be added to a % journal entry', entry_status
                            USING ERRCODE = 'integrity_constraint_violation';
                    END IF;
                    RETURN NEW;
                END IF;
                SELECT status INTO entry_status FROM accounting_journal_entries WHERE id = OLD.entry_id;
                IF entry_status IS DISTINCT FROM 'draft' THEN
                    RAISE EXCEPTION 'accounting: lines of a % journal entry are immutable', entry_status
                        USING ERRCODE = 'integrity_constraint_violation';
                END IF;
                IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
                RETURN NEW;
            END
            $guard$;
            CREATE TRIGGER accounting_line_guard BEFORE INSERT OR UPDATE OR DELETE ON accounting_journal_lines
                FOR EACH ROW EXECUTE FUNCTION accounting_line_guard();

            CREATE FUNCTION accounting_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $check$
            DECLARE
                current_status text;
                line_count bigint;
                debits numeric;
                credits numeric;
            BEGIN
                SELECT status INTO current_status FROM accounting_journal_entries WHERE id = NEW.id;
                IF current_status IS NULL OR current_status = 'draft' THEN RETURN NULL; END IF;
                SELECT count(*), coalesce(sum(base_amount_minor) FILTER (WHERE side = 'debit'), 0),
                       coalesce(sum(base_amount_minor) FILTER (WHERE side = 'credit'), 0)
                  INTO line_count, debits, credits
                  FROM accounting_journal_lines WHERE entry_id = NEW.id;
                IF line_count < 2 OR debits <> credits OR debits = 0 THEN
                    RAISE EXCEPTION 'accounting: journal entry % does not balance (% lines, debits %, credits %)',
                        NEW.entry_number, line_count, debits, credits USING ERRCODE = 'check_violation';
                END IF;
                RETURN NULL;
            END
            $check$;
            CREATE CONSTRAINT TRIGGER accounting_entry_balanced AFTER INSERT OR UPDATE ON accounting_journal_entries
                DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION accounting_entry_balanced();
            """),
        // Period close: the closed periods of each ledger, chained by SHA-256; nothing posts into a closed period.
        // The day balances keep closing entries' amounts apart, so a closed period's P&L still shows its activity.
        Migration(namespace: namespace, version: 2, name: "periods, period lock, closing amounts", sql: """
            CREATE TABLE accounting_periods (
                id text PRIMARY KEY,
                company_id text NOT NULL REFERENCES accounting_companies (id),
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                sequence bigint NOT NULL CHECK (sequence > 0),
                period_start date NOT NULL,
                period_end date NOT NULL,
                status text NOT NULL CHECK (status IN ('closed', 'reopened')),
                entries_count bigint NOT NULL,
                entries_hash text NOT NULL,
                previous_hash text NOT NULL,
                chain_hash text NOT NULL,
                closing_entry_id text,
                closed_at timestamptz NOT NULL,
                closed_by text NOT NULL,
                reopened_at timestamptz,
                reopened_by text,
                reopen_reason text,
                UNIQUE (company_id, mode, sequence),
                CHECK (period_end >= period_start)
            );
            CREATE INDEX accounting_periods_end ON accounting_periods (company_id, mode, period_end);

            ALTER TABLE accounting_account_days
                ADD COLUMN closing_debit_minor bigint NOT NULL DEFAULT 0 CHECK (closing_debit_minor >= 0),
                ADD COLUMN closing_credit_minor bigint NOT NULL DEFAULT 0 CHECK (closing_credit_minor >= 0);

            CREATE FUNCTION accounting_period_lock() RETURNS trigger LANGUAGE plpgsql AS $lock$
            BEGIN
                IF NEW.status <> 'draft' AND (TG_OP = 'INSERT' OR OLD.status = 'draft') AND EXISTS (
                    SELECT 1 FROM accounting_periods p
                    WHERE p.company_id = NEW.company_id AND p.mode = NEW.mode AND p.status = 'closed'
                      AND NEW.posting_date BETWEEN p.period_start AND p.period_end) THEN
                    RAISE EXCEPTION 'accounting: % falls in a closed period', NEW.posting_date USING ERRCODE = 'check_violation';
                END IF;
                RETURN NEW;
            END
            $lock$;
            CREATE TRIGGER accounting_period_lock BEFORE INSERT OR UPDATE ON accounting_journal_entries
                FOR EACH ROW EXECUTE FUNCTION accounting_period_lock();
            """),
        // Customers and vendors: one table, `kind` apart (the same fields but for the credit limit and the
        // default expense account), numbered per company, ledger and kind.
        Migration(namespace: namespace, version: 3, name: "customers and vendors", sql: """
            CREATE TABLE accounting_contacts (
                id text PRIMARY KEY,
                company_id text NOT NULL REFERENCES accounting_companies (id),
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                kind text NOT NULL CHECK (kind IN ('customer', 'vendor')),
                contact_number text NOT NULL,
                display_name text NOT NULL,
                email text,
                currency text NOT NULL,
                payment_terms text NOT NULL CHECK (payment_terms IN ('due_on_receipt', 'net_15', 'net_30', 'net_60', 'net_90')),
                credit_limit_minor bigint CHECK (credit_limit_minor >= 0),
                default_expense_account_id text,
                billing_address jsonb NOT NULL DEFAULT '{}',
                is_active boolean NOT NULL DEFAULT true,
                created_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL,
                UNIQUE (company_id, mode, kind, contact_number),
                FOREIGN KEY (default_expense_account_id, company_id, mode) REFERENCES accounting_accounts (id, company_id, mode)
            );
            CREATE INDEX accounting_contacts_list ON accounting_contacts (company_id, mode, kind, contact_number);
            """),
        // Invoices: amounts in integer minor units; total = subtotal + tax and 0 ≤ paid ≤ total held by CHECKs.
        Migration(namespace: namespace, version: 4, name: "invoices", sql: """
            CREATE TABLE accounting_invoices (
                id text PRIMARY KEY,
                company_id text NOT NULL REFERENCES accounting_companies (id),
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                invoice_number text NOT NULL,
                customer_id text NOT NULL REFERENCES accounting_contacts (id),
                status text NOT NULL CHECK (status IN ('draft', 'sent', 'viewed', 'partial', 'paid', 'voided')),
                invoice_date date NOT NULL,
                due_date date NOT NULL,
                notes text,
                terms text,
                currency text NOT NULL,
                subtotal_minor bigint NOT NULL CHECK (subtotal_minor >= 0),
                tax_minor bigint NOT NULL CHECK (tax_minor >= 0),
                total_minor bigint NOT NULL,
                amount_paid_minor bigint NOT NULL DEFAULT 0,
                sent_at timestamptz,
                viewed_at timestamptz,
                voided_at timestamptz,
                void_reason text,
                journal_entry_id text,
                void_entry_id text,
                created_by text,
                created_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL,
                UNIQUE (company_id, mode, invoice_number),
                CHECK (total_minor = subtotal_minor + tax_minor),
                CHECK (amount_paid_minor >= 0 AND amount_paid_minor <= total_minor),
                CHECK (status = 'draft' OR status = 'voided' OR journal_entry_id IS NOT NULL)
            );
            CREATE INDEX accounting_invoices_list ON accounting_invoices (company_id, mode, invoice_date, invoice_number);
            CREATE TABLE accounting_invoice_lines (
                id text PRIMARY KEY,
                invoice_id text NOT NULL REFERENCES accounting_invoices (id),
                company_id text NOT NULL,
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                line_number integer NOT NULL,
                description text NOT NULL,
                quantity numeric NOT NULL CHECK (quantity > 0),
                unit_price_minor bigint NOT NULL CHECK (unit_price_minor >= 0),
                tax_rate numeric NOT NULL CHECK (tax_rate >= 0),
                revenue_account_id text NOT NULL,
                subtotal_minor bigint NOT NULL CHECK (subtotal_minor >= 0),
                tax_minor bigint NOT NULL CHECK (tax_minor >= 0),
                UNIQUE (invoice_id, line_number),
                FOREIGN KEY (revenue_account_id, company_id, mode) REFERENCES accounting_accounts (id, company_id, mode)
            );
            """),
        // Payments received and their applications to invoices. 0 ≤ unapplied ≤ amount here and 0 ≤ paid ≤ total
        // on the invoice are CHECKs, so no interleaving of applications can overpay either side.
        Migration(namespace: namespace, version: 5, name: "payments received", sql: """
            CREATE TABLE accounting_payments (
                id text PRIMARY KEY,
                company_id text NOT NULL REFERENCES accounting_companies (id),
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                payment_number text NOT NULL,
                customer_id text NOT NULL REFERENCES accounting_contacts (id),
                payment_date date NOT NULL,
                amount_minor bigint NOT NULL CHECK (amount_minor > 0),
                unapplied_minor bigint NOT NULL,
                currency text NOT NULL,
                payment_method text NOT NULL CHECK (payment_method IN ('cash', 'check', 'credit_card', 'ach', 'wire', 'stripe', 'other')),
                deposit_account_id text NOT NULL,
                reference_number text,
                status text NOT NULL CHECK (status IN ('completed', 'voided')),
                journal_entry_id text NOT NULL,
                void_entry_id text,
                voided_at timestamptz,
                void_reason text,
                created_by text,
                created_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL,
                UNIQUE (company_id, mode, payment_number),
                CHECK (unapplied_minor >= 0 AND unapplied_minor <= amount_minor),
                FOREIGN KEY (deposit_account_id, company_id, mode) REFERENCES accounting_accounts (id, company_id, mode)
            );
            CREATE TABLE accounting_payment_applications (
                id text PRIMARY KEY,
                payment_id text NOT NULL REFERENCES accounting_payments (id),
                invoice_id text NOT NULL REFERENCES accounting_invoices (id),
                company_id text NOT NULL,
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                amount_minor bigint NOT NULL CHECK (amount_minor > 0),
                created_at timestamptz NOT NULL
            );
            CREATE INDEX accounting_payment_applications_payment ON accounting_payment_applications (payment_id);
            CREATE INDEX accounting_payment_applications_invoice ON accounting_payment_applications (invoice_id);
            """),
        // Bills from vendors: the invoice's arithmetic and CHECKs; approval posts them.
        Migration(namespace: namespace, version: 6, name: "bills", sql: """
            CREATE TABLE accounting_bills (
                id text PRIMARY KEY,
                company_id text NOT NULL REFERENCES accounting_companies (id),
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                bill_number text NOT NULL,
                vendor_id text NOT NULL REFERENCES accounting_contacts (id),
                vendor_bill_number text,
                status text NOT NULL CHECK (status IN ('draft', 'pending', 'approved', 'partial', 'paid', 'voided')),
                bill_date date NOT NULL,
                due_date date NOT NULL,
                currency text NOT NULL,
                subtotal_minor bigint NOT NULL CHECK (subtotal_minor >= 0),
                tax_minor bigint NOT NULL CHECK (tax_minor >= 0),
                total_minor bigint NOT NULL,
                amount_paid_minor bigint NOT NULL DEFAULT 0,
                approved_at timestamptz,
                approved_by text,
                voided_at timestamptz,
                void_reason text,
                journal_entry_id text,
                void_entry_id text,
                created_by text,
                created_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL,
                UNIQUE (company_id, mode, bill_number),
                CHECK (total_minor = subtotal_minor + tax_minor),
                CHECK (amount_paid_minor >= 0 AND amount_paid_minor <= total_minor),
                CHECK (status IN ('draft', 'pending', 'voided') OR journal_entry_id IS NOT NULL)
            );
            CREATE TABLE accounting_bill_lines (
                id text PRIMARY KEY,
                bill_id text NOT NULL REFERENCES accounting_bills (id),
                company_id text NOT NULL,
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                line_number integer NOT NULL,
                description text NOT NULL,
                quantity numeric NOT NULL CHECK (quantity > 0),
                unit_price_minor bigint NOT NULL CHECK (unit_price_minor >= 0),
                tax_rate numeric NOT NULL CHECK (tax_rate >= 0),
                expense_account_id text NOT NULL,
                subtotal_minor bigint NOT NULL CHECK (subtotal_minor >= 0),
                tax_minor bigint NOT NULL CHECK (tax_minor >= 0),
                UNIQUE (bill_id, line_number),
                FOREIGN KEY (expense_account_id, company_id, mode) REFERENCES accounting_accounts (id, company_id, mode)
            );
            """),
        // Exchange rates by date: units of `to_currency` per 1 `from_currency`, exact decimals.
        Migration(namespace: namespace, version: 7, name: "exchange rates", sql: """
            CREATE TABLE accounting_exchange_rates (
                id text PRIMARY KEY,
                company_id text NOT NULL REFERENCES accounting_companies (id),
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                from_currency text NOT NULL,
                to_currency text NOT NULL,
                rate numeric NOT NULL CHECK (rate > 0),
                effective_date date NOT NULL,
                source text NOT NULL CHECK (source IN ('manual', 'api')),
                created_at timestamptz NOT NULL,
                UNIQUE (company_id, mode, from_currency, to_currency, effective_date),
                CHECK (from_currency <> to_currency)
            );
            """),
        // Payments made to vendors (bill payments): the payments-received shape with vendor_id, payment_account_id, no
        // `stripe` method, and applications to bills; the same CHECKs keep both sides from being overpaid.
        Migration(namespace: namespace, version: 8, name: "payments made", sql: """
            CREATE TABLE accounting_payments_made (
                id text PRIMARY KEY,
                company_id text NOT NULL REFERENCES accounting_companies (id),
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                payment_number text NOT NULL,
                vendor_id text NOT NULL REFERENCES accounting_contacts (id),
                payment_date date NOT NULL,
                amount_minor bigint NOT NULL CHECK (amount_minor > 0),
                unapplied_minor bigint NOT NULL,
                currency text NOT NULL,
                payment_method text NOT NULL CHECK (payment_method IN ('cash', 'check', 'credit_card', 'ach', 'wire', 'other')),
                payment_account_id text NOT NULL,
                reference_number text,
                status text NOT NULL CHECK (status IN ('completed', 'voided')),
                journal_entry_id text NOT NULL,
                void_entry_id text,
                voided_at timestamptz,
                void_reason text,
                created_by text,
                created_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL,
                UNIQUE (company_id, mode, payment_number),
                CHECK (unapplied_minor >= 0 AND unapplied_minor <= amount_minor),
                FOREIGN KEY (payment_account_id, company_id, mode) REFERENCES accounting_accounts (id, company_id, mode)
            );
            CREATE TABLE accounting_payment_made_applications (
                id text PRIMARY KEY,
                payment_id text NOT NULL REFERENCES accounting_payments_made (id),
                bill_id text NOT NULL REFERENCES accounting_bills (id),
                company_id text NOT NULL,
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                amount_minor bigint NOT NULL CHECK (amount_minor > 0),
                created_at timestamptz NOT NULL
            );
            CREATE INDEX accounting_payment_made_applications_payment ON accounting_payment_made_applications (payment_id);
            CREATE INDEX accounting_payment_made_applications_bill ON accounting_payment_made_applications (bill_id);
            CREATE INDEX accounting_payments_made_list ON accounting_payments_made (company_id, mode, payment_date, payment_number);
            """),
        // Settlement posting: ledgers set up before it get the "Due from Acquirer" account and its posting rule.
        Migration(namespace: namespace, version: 9, name: "acquirer receivable rule", sql: """
            INSERT INTO accounting_accounts (id, company_id, mode, account_number, name, account_type, normal_balance,
                account_subtype, is_system, created_at, updated_at)
            SELECT gen_random_uuid()::text, r.company_id, r.mode, '1160', 'Due from Acquirer', 'asset', 'debit', 'current_asset',
                true, now(), now()
            FROM accounting_posting_rules r WHERE r.rule_key = 'card_clearing'
            ON CONFLICT (company_id, mode, account_number) DO NOTHING;
            INSERT INTO accounting_posting_rules (company_id, mode, rule_key, account_number)
            SELECT company_id, mode, 'acquirer_receivable', '1160' FROM accounting_posting_rules WHERE rule_key = 'card_clearing'
            ON CONFLICT DO NOTHING;
            """),
        // Stored-value receivable and funding rules for ledgers set up before them; pre-authorization holds
        // (pending until completed, voided or expired; a resolved hold never changes).
        Migration(namespace: namespace, version: 10, name: "stored value rules, pre-authorization holds", sql: """
            INSERT INTO accounting_accounts (id, company_id, mode, account_number, name, account_type, normal_balance,
                account_subtype, is_system, created_at, updated_at)
            SELECT gen_random_uuid()::text, r.company_id, r.mode, '1170', 'Stored Value Receivable', 'asset', 'debit',
                'current_asset', true, now(), now()
            FROM accounting_posting_rules r WHERE r.rule_key = 'card_clearing'
            ON CONFLICT (company_id, mode, account_number) DO NOTHING;
            INSERT INTO accounting_posting_rules (company_id, mode, rule_key, account_number)
            SELECT company_id, mode, 'stored_value_receivable', '1170' FROM accounting_posting_rules WHERE rule_key = 'card_clearing'
            ON CONFLICT DO NOTHING;
            INSERT INTO accounting_posting_rules (company_id, mode, rule_key, account_number)
            SELECT company_id, mode, 'stored_value_funding', account_number FROM accounting_posting_rules WHERE rule_key = 'cash'
            ON CONFLICT DO NOTHING;

            CREATE TABLE accounting_holds (
                company_id text NOT NULL REFERENCES accounting_companies (id),
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                transaction_id text NOT NULL,
                status text NOT NULL CHECK (status IN ('pending', 'posted', 'voided', 'expired')),
                amount_minor bigint NOT NULL CHECK (amount_minor > 0),
                captured_minor bigint NOT NULL DEFAULT 0 CHECK (captured_minor >= 0),
                currency text NOT NULL,
                debit_account_id text NOT NULL,
                credit_account_id text NOT NULL,
                authorized_event_id text NOT NULL,
                authorized_on date NOT NULL,
                resolved_event_id text,
                resolved_by_transaction_id text,
                resolved_at timestamptz,
                created_at timestamptz NOT NULL,
                PRIMARY KEY (company_id, mode, transaction_id),
                FOREIGN KEY (debit_account_id, company_id, mode) REFERENCES accounting_accounts (id, company_id, mode),
                FOREIGN KEY (credit_account_id, company_id, mode) REFERENCES accounting_accounts (id, company_id, mode),
                CHECK ((status = 'pending') = (resolved_at IS NULL)),
                CHECK (status = 'posted' OR captured_minor = 0)
            );
            CREATE INDEX accounting_holds_pending ON accounting_holds (company_id, mode, debit_account_id) WHERE status = 'pending';
            CREATE FUNCTION accounting_hold_guard() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF OLD.status <> 'pending' THEN
                    RAISE EXCEPTION 'hold % is %: a resolved hold never changes', OLD.transaction_id, OLD.status
                        USING ERRCODE = 'check_violation';
                END IF;
                IF (NEW.company_id, NEW.mode, NEW.transaction_id, NEW.amount_minor, NEW.currency, NEW.debit_account_id,
                    NEW.credit_account_id, NEW.authorized_event_id, NEW.authorized_on)
                   IS DISTINCT FROM (OLD.company_id, OLD.mode, OLD.transaction_id, OLD.amount_minor, OLD.currency,
                    OLD.debit_account_id, OLD.credit_account_id, OLD.authorized_event_id, OLD.authorized_on) THEN
                    RAISE EXCEPTION 'hold %: only its resolution may change', OLD.transaction_id USING ERRCODE = 'check_violation';
                END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER accounting_hold_guard BEFORE UPDATE ON accounting_holds
                FOR EACH ROW EXECUTE FUNCTION accounting_hold_guard();
            """),
        HoldsSchema.migration,
    ]
}
