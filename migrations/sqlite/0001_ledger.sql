-- offtake ledger, SQLite. Every row carries its ledger_id; entries and legs
-- are append-only (triggers below); balances are derived from legs, never
-- stored in a mutable table.

CREATE TABLE ledgers (
    ledger_id           TEXT    NOT NULL PRIMARY KEY,
    created_at_us       INTEGER NOT NULL,
    -- Chain head, moved by every committed batch under the write lock.
    head_seq            INTEGER NOT NULL DEFAULT 0,
    head_hash           BLOB    NOT NULL,
    head_recorded_at_us INTEGER NOT NULL DEFAULT 0,
    -- Last account number handed out (account numbers are dense per ledger).
    account_count       INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE accounts (
    ledger_id     TEXT    NOT NULL REFERENCES ledgers (ledger_id),
    account_no    INTEGER NOT NULL,
    code          TEXT    NOT NULL,
    currency      TEXT    NOT NULL,
    normal_side   TEXT    NOT NULL CHECK (normal_side IN ('debit', 'credit')),
    book          TEXT    NOT NULL CHECK (book IN ('main', 'memo')),
    non_negative  INTEGER NOT NULL CHECK (non_negative IN (0, 1)),
    created_at_us INTEGER NOT NULL,
    PRIMARY KEY (ledger_id, account_no),
    UNIQUE (ledger_id, code)
) WITHOUT ROWID;

CREATE TABLE entries (
    ledger_id       TEXT    NOT NULL,
    seq             INTEGER NOT NULL CHECK (seq > 0),
    entry_type      TEXT    NOT NULL CHECK (entry_type IN ('posted', 'pending', 'post', 'void', 'reversal')),
    ref_seq         INTEGER,
    idempotency_key TEXT    NOT NULL,
    request_hash    BLOB    NOT NULL,
    kind            TEXT    NOT NULL,
    effective_date  TEXT    NOT NULL,
    recorded_at_us  INTEGER NOT NULL,
    metadata        TEXT    NOT NULL,
    source_hash     BLOB,
    prev_hash       BLOB    NOT NULL,
    hash            BLOB    NOT NULL,
    PRIMARY KEY (ledger_id, seq),
    UNIQUE (ledger_id, idempotency_key)
) WITHOUT ROWID;

-- A pending entry is posted or voided exactly once; an entry is reversed at
-- most once. The planner checks this first; these indexes make it a fact.
CREATE UNIQUE INDEX entries_resolution ON entries (ledger_id, ref_seq) WHERE entry_type IN ('post', 'void');
CREATE UNIQUE INDEX entries_reversal ON entries (ledger_id, ref_seq) WHERE entry_type = 'reversal';
CREATE INDEX entries_recorded_at ON entries (ledger_id, recorded_at_us, seq);
CREATE INDEX entries_ref ON entries (ledger_id, ref_seq) WHERE ref_seq IS NOT NULL;

CREATE TABLE legs (
    ledger_id            TEXT    NOT NULL,
    seq                  INTEGER NOT NULL,
    leg_no               INTEGER NOT NULL,
    account_no           INTEGER NOT NULL,
    side                 TEXT    NOT NULL CHECK (side IN ('debit', 'credit')),
    layer                TEXT    NOT NULL CHECK (layer IN ('posted', 'pending', 'release')),
    amount_minor         INTEGER NOT NULL CHECK (amount_minor > 0),
    -- Running totals of the account after this leg: "balance as of" is one
    -- index lookup, whatever the size of the ledger.
    posted_debit_after   INTEGER NOT NULL,
    posted_credit_after  INTEGER NOT NULL,
    pending_debit_after  INTEGER NOT NULL,
    pending_credit_after INTEGER NOT NULL,
    PRIMARY KEY (ledger_id, seq, leg_no)
) WITHOUT ROWID;

CREATE INDEX legs_by_account ON legs (ledger_id, account_no, seq, leg_no);

CREATE TRIGGER entries_append_only_update BEFORE UPDATE ON entries
BEGIN SELECT RAISE(ABORT, 'append_only: entries cannot be updated'); END;
CREATE TRIGGER entries_append_only_delete BEFORE DELETE ON entries
BEGIN SELECT RAISE(ABORT, 'append_only: entries cannot be deleted'); END;
CREATE TRIGGER legs_append_only_update BEFORE UPDATE ON legs
BEGIN SELECT RAISE(ABORT, 'append_only: legs cannot be updated'); END;
CREATE TRIGGER legs_append_only_delete BEFORE DELETE ON legs
BEGIN SELECT RAISE(ABORT, 'append_only: legs cannot be deleted'); END;
-- Accounts are immutable too: their currency and side are what past legs mean.
CREATE TRIGGER accounts_append_only_update BEFORE UPDATE ON accounts
BEGIN SELECT RAISE(ABORT, 'append_only: accounts cannot be updated'); END;
CREATE TRIGGER accounts_append_only_delete BEFORE DELETE ON accounts
BEGIN SELECT RAISE(ABORT, 'append_only: accounts cannot be deleted'); END;
