-- Versioned domain records (finance state, key registry, nonces, payment
-- notices). Append-only: a change is a new version; the latest version of
-- (ledger_id, kind, id) is the current state.

CREATE TABLE records (
    ledger_id      TEXT   NOT NULL REFERENCES ledgers (ledger_id),
    kind           TEXT   NOT NULL,
    id             TEXT   NOT NULL,
    version        BIGINT NOT NULL CHECK (version >= 1),
    body           JSONB  NOT NULL,
    recorded_at_us BIGINT NOT NULL,
    PRIMARY KEY (ledger_id, kind, id, version)
);

CREATE TRIGGER records_append_only BEFORE UPDATE OR DELETE ON records
    FOR EACH ROW EXECUTE FUNCTION offtake_append_only();
CREATE TRIGGER records_no_truncate BEFORE TRUNCATE ON records
    FOR EACH STATEMENT EXECUTE FUNCTION offtake_append_only();
