-- Record chain: every record version is linked into one hash chain per
-- ledger (see offtake_ledger::record_chain). Versions written before this
-- migration have NULL links until the store chains them, once and in
-- order, when it opens; that is the only update the trigger lets through.

ALTER TABLE records ADD COLUMN chain_seq INTEGER;
ALTER TABLE records ADD COLUMN prev_hash BLOB;
ALTER TABLE records ADD COLUMN hash BLOB;

-- UNIQUE allows many NULLs: the versions still to be chained.
CREATE UNIQUE INDEX records_chain ON records (ledger_id, chain_seq);

-- Where each ledger's record chain ends; moved with every record write.
CREATE TABLE record_heads (
    ledger_id TEXT    NOT NULL PRIMARY KEY REFERENCES ledgers (ledger_id),
    head_seq  INTEGER NOT NULL CHECK (head_seq >= 0),
    head_hash BLOB    NOT NULL
) WITHOUT ROWID;

CREATE TRIGGER record_heads_append_only_delete BEFORE DELETE ON record_heads
BEGIN SELECT RAISE(ABORT, 'append_only: record heads cannot be deleted'); END;

DROP TRIGGER records_append_only_update;
CREATE TRIGGER records_append_only_update BEFORE UPDATE ON records
WHEN NOT (OLD.chain_seq IS NULL AND OLD.hash IS NULL
          AND NEW.ledger_id IS OLD.ledger_id AND NEW.kind IS OLD.kind AND NEW.id IS OLD.id
          AND NEW.version IS OLD.version AND NEW.body IS OLD.body
          AND NEW.recorded_at_us IS OLD.recorded_at_us)
BEGIN SELECT RAISE(ABORT, 'append_only: records cannot be updated'); END;
