-- offtake ledger, PostgreSQL. Every table carries ledger_id and every key
-- starts with it, so the schema distributes on ledger_id (Citus co-located
-- tables) and every transaction stays on one shard. No sequences: entry and
-- account numbers are dense per ledger, handed out under the head lock.

CREATE TABLE ledgers (
    ledger_id           TEXT   NOT NULL PRIMARY KEY,
    created_at_us       BIGINT NOT NULL,
    -- Chain head; the row lock on it serialises appends to one ledger.
    head_seq            BIGINT NOT NULL DEFAULT 0,
    head_hash           BYTEA  NOT NULL,
    head_recorded_at_us BIGINT NOT NULL DEFAULT 0,
    account_count       BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE accounts (
    ledger_id     TEXT    NOT NULL REFERENCES ledgers (ledger_id),
    account_no    BIGINT  NOT NULL,
    code          TEXT    NOT NULL,
    currency      TEXT    NOT NULL,
    normal_side   TEXT    NOT NULL CHECK (normal_side IN ('debit', 'credit')),
    book          TEXT    NOT NULL CHECK (book IN ('main', 'memo')),
    non_negative  BOOLEAN NOT NULL,
    created_at_us BIGINT  NOT NULL,
    PRIMARY KEY (ledger_id, account_no),
    UNIQUE (ledger_id, code)
);

CREATE TABLE entries (
    ledger_id       TEXT   NOT NULL,
    seq             BIGINT NOT NULL CHECK (seq > 0),
    entry_type      TEXT   NOT NULL CHECK (entry_type IN ('posted', 'pending', 'post', 'void', 'reversal')),
    ref_seq         BIGINT,
    idempotency_key TEXT   NOT NULL,
    request_hash    BYTEA  NOT NULL,
    kind            TEXT   NOT NULL,
    effective_date  DATE   NOT NULL,
    recorded_at_us  BIGINT NOT NULL,
    -- Canonical JSON text, not jsonb: jsonb would re-serialise it and the
    -- hash is over these exact bytes.
    metadata        TEXT   NOT NULL,
    source_hash     BYTEA,
    prev_hash       BYTEA  NOT NULL,
    hash            BYTEA  NOT NULL,
    PRIMARY KEY (ledger_id, seq),
    UNIQUE (ledger_id, idempotency_key)
);

CREATE UNIQUE INDEX entries_resolution ON entries (ledger_id, ref_seq) WHERE entry_type IN ('post', 'void');
CREATE UNIQUE INDEX entries_reversal ON entries (ledger_id, ref_seq) WHERE entry_type = 'reversal';
CREATE INDEX entries_ref ON entries (ledger_id, ref_seq) WHERE ref_seq IS NOT NULL;
CREATE INDEX entries_recorded_at ON entries (ledger_id, recorded_at_us, seq);

CREATE TABLE legs (
    ledger_id            TEXT     NOT NULL,
    seq                  BIGINT   NOT NULL,
    leg_no               INTEGER  NOT NULL,
    account_no           BIGINT   NOT NULL,
    side                 TEXT     NOT NULL CHECK (side IN ('debit', 'credit')),
    layer                TEXT     NOT NULL CHECK (layer IN ('posted', 'pending', 'release')),
    amount_minor         BIGINT   NOT NULL CHECK (amount_minor > 0),
    posted_debit_after   BIGINT   NOT NULL,
    posted_credit_after  BIGINT   NOT NULL,
    pending_debit_after  BIGINT   NOT NULL,
    pending_credit_after BIGINT   NOT NULL,
    PRIMARY KEY (ledger_id, seq, leg_no)
);

-- "Latest leg of account A at or before seq S" is one backward index scan.
CREATE INDEX legs_by_account ON legs (ledger_id, account_no, seq DESC, leg_no DESC);

CREATE FUNCTION offtake_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'append_only: % on % is not allowed', TG_OP, TG_TABLE_NAME;
END
$$;

CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON entries
    FOR EACH ROW EXECUTE FUNCTION offtake_append_only();
CREATE TRIGGER entries_no_truncate BEFORE TRUNCATE ON entries
    FOR EACH STATEMENT EXECUTE FUNCTION offtake_append_only();
CREATE TRIGGER legs_append_only BEFORE UPDATE OR DELETE ON legs
    FOR EACH ROW EXECUTE FUNCTION offtake_append_only();
CREATE TRIGGER legs_no_truncate BEFORE TRUNCATE ON legs
    FOR EACH STATEMENT EXECUTE FUNCTION offtake_append_only();
CREATE TRIGGER accounts_append_only BEFORE UPDATE OR DELETE ON accounts
    FOR EACH ROW EXECUTE FUNCTION offtake_append_only();
CREATE TRIGGER accounts_no_truncate BEFORE TRUNCATE ON accounts
    FOR EACH STATEMENT EXECUTE FUNCTION offtake_append_only();
