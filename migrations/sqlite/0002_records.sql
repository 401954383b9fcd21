-- Versioned domain records (finance state, key registry, nonces, payment
-- notices). Append-only: a change is a new version; the latest version of
-- (ledger_id, kind, id) is the current state.

CREATE TABLE records (
    ledger_id      TEXT    NOT NULL REFERENCES ledgers (ledger_id),
    kind           TEXT    NOT NULL,
    id             TEXT    NOT NULL,
    version        INTEGER NOT NULL CHECK (version >= 1),
    body           TEXT    NOT NULL,
    recorded_at_us INTEGER NOT NULL,
    PRIMARY KEY (ledger_id, kind, id, version)
) WITHOUT ROWID;

CREATE TRIGGER records_append_only_update BEFORE UPDATE ON records
BEGIN SELECT RAISE(ABORT, 'append_only: records cannot be updated'); END;
CREATE TRIGGER records_append_only_delete BEFORE DELETE ON records
BEGIN SELECT RAISE(ABORT, 'append_only: records cannot be deleted'); END;
