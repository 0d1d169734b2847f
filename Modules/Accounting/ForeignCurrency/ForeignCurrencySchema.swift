import Kernel

/// Documents in a foreign currency (migration 12): invoices, bills and payments (both ways) keep the exchange rate to
/// the base currency they were booked at (1 for the base currency, so rows from before keep their meaning); an
/// application that settles a document at another rate records the entry that posted the realised exchange difference;
/// ledgers set up before it get account 7950 "Foreign Exchange Gain/Loss" and the `fx_gain_loss` posting rule.
/// Migration 14: periods record their revaluation entries; ledgers get 7960 and the `fx_unrealised_gain_loss` rule.
enum ForeignCurrencySchema {
    static let migrations: [Migration] = [
        Migration(namespace: AccountingSchema.namespace, version: 12, name: "foreign-currency documents, realised exchange differences",
                  sql: """
            ALTER TABLE accounting_invoices ADD COLUMN exchange_rate numeric NOT NULL DEFAULT 1 CHECK (exchange_rate > 0);
            ALTER TABLE accounting_bills ADD COLUMN exchange_rate numeric NOT NULL DEFAULT 1 CHECK (exchange_rate > 0);
            ALTER TABLE accounting_payments ADD COLUMN exchange_rate numeric NOT NULL DEFAULT 1 CHECK (exchange_rate > 0);
            ALTER TABLE accounting_payments_made ADD COLUMN exchange_rate numeric NOT NULL DEFAULT 1 CHECK (exchange_rate > 0);
            ALTER TABLE accounting_payment_applications ADD COLUMN fx_entry_id text;
            ALTER TABLE accounting_payment_made_applications ADD COLUMN fx_entry_id text;
            INSERT INTO accounting_accounts (id, company_id, mode, account_number, name, account_type, normal_balance,
                account_subtype, is_system, created_at, updated_at)
            SELECT gen_random_uuid()::text, r.company_id, r.mode, '7950', 'Foreign Exchange Gain/Loss', 'expense', 'debit',
                'other_expense', true, now(), now()
            FROM accounting_posting_rules r WHERE r.rule_key = 'cash'
            ON CONFLICT (company_id, mode, account_number) DO NOTHING;
            INSERT INTO accounting_posting_rules (company_id, mode, rule_key, account_number)
            SELECT company_id, mode, 'fx_gain_loss', '7950' FROM accounting_posting_rules WHERE rule_key = 'cash'
            ON CONFLICT DO NOTHING;
            """),
        // Unrealised exchange differences: a period close revalues the open foreign-currency documents at its end date
        // and reverses that the next open day (`Revaluation`); the period keeps both entries so a reopen can undo them.
        Migration(namespace: AccountingSchema.namespace, version: 14, name: "unrealised exchange differences at period close",
                  sql: """
            ALTER TABLE accounting_periods ADD COLUMN revaluation_entry_id text, ADD COLUMN revaluation_reversal_entry_id text;
            INSERT INTO accounting_accounts (id, company_id, mode, account_number, name, account_type, normal_balance,
                account_subtype, is_system, created_at, updated_at)
            SELECT gen_random_uuid()::text, r.company_id, r.mode, '7960', 'Unrealised Foreign Exchange Gain/Loss', 'expense',
                'debit', 'other_expense', true, now(), now()
            FROM accounting_posting_rules r WHERE r.rule_key = 'cash'
            ON CONFLICT (company_id, mode, account_number) DO NOTHING;
            INSERT INTO accounting_posting_rules (company_id, mode, rule_key, account_number)
            SELECT company_id, mode, 'fx_unrealised_gain_loss', '7960' FROM accounting_posting_rules WHERE rule_key = 'cash'
            ON CONFLICT DO NOTHING;
            """),
    ]
}
