import Kernel

/// Transactions migration 6: the EXPIRED status, when the sweep set it, and the index of the open pre-authorizations.
enum PreAuthExpirySchema {
    /// The CHECKs are added NOT VALID, then validated: validation takes only a SHARE UPDATE EXCLUSIVE lock, so sales
    /// keep writing while it scans (every existing row passes: the old list was a subset). `expired_at` is written by
    /// the sweep only (audit; the response shows the status). The partial index holds exactly the sweep's candidates
    /// (APPROVED, not completed PRE_AUTHs), so a sweep reads a few index pages however many transactions exist.
    static let migration = Migration(namespace: TransactionSchema.namespace, version: 6, name: "pre_auth_expiry", sql: """
        ALTER TABLE transactions DROP CONSTRAINT transactions_status_check;
        ALTER TABLE transactions ADD CONSTRAINT transactions_status_check
            CHECK (status IN ('APPROVED', 'DECLINED', 'ABORTED', 'ERROR', 'VOIDED', 'EXPIRED')) NOT VALID;
        ALTER TABLE transactions VALIDATE CONSTRAINT transactions_status_check;
        ALTER TABLE transactions ADD COLUMN expired_at timestamptz;
        ALTER TABLE transactions ADD CONSTRAINT transactions_expired_pre_auth
            CHECK (status <> 'EXPIRED' OR (type = 'PRE_AUTH' AND expired_at IS NOT NULL)) NOT VALID;
        ALTER TABLE transactions VALIDATE CONSTRAINT transactions_expired_pre_auth;
        CREATE INDEX transactions_open_pre_auths ON transactions (created_at)
            WHERE type = 'PRE_AUTH' AND status = 'APPROVED' AND completion_transaction_id IS NULL;
        """)
}
