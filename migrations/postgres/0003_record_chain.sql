-- Record chain: every record version is linked into one hash chain per
-- ledger (see offtake_ledger::record_chain). Versions written before this
-- migration have NULL links until the store chains them, once and in
-- order, when it connects; that is the only update the trigger lets through.

ALTER TABLE records ADD COLUMN chain_seq BIGINT, ADD COLUMN prev_hash BYTEA, ADD COLUMN hash BYTEA;

-- UNIQUE allows many NULLs: the versions still to be chained.
CREATE UNIQUE INDEX records_chain ON records (ledger_id, chain_seq);

-- Where each ledger's record chain ends; moved with every record write.
-- Its own row (not a column of ledgers) so record writers never queue on
-- the entry chain's head lock.
CREATE TABLE record_heads (
    ledger_id TEXT   NOT NULL PRIMARY KEY REFERENCES ledgers (ledger_id),
    head_seq  BIGINT NOT NULL CHECK (head_seq >= 0),
    head_hash BYTEA  NOT NULL
);

CREATE TRIGGER record_heads_no_delete BEFORE DELETE ON record_heads
    FOR EACH ROW EXECUTE FUNCTION offtake_append_only();
CREATE TRIGGER record_heads_no_truncate BEFORE TRUNCATE ON record_heads
    FOR EACH STATEMENT EXECUTE FUNCTION offtake_append_only();

CREATE FUNCTION offtake_records_link_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.chain_seq IS NULL AND OLD.hash IS NULL
       AND (NEW.ledger_id, NEW.kind, NEW.id, NEW.version, NEW.body, NEW.recorded_at_us)
           IS NOT DISTINCT FROM (OLD.ledger_id, OLD.kind, OLD.id, OLD.version, OLD.body, OLD.recorded_at_us) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'append_only: % on % is not allowed', TG_OP, TG_TABLE_NAME;
END
$$;

DROP TRIGGER records_append_only ON records;
CREATE TRIGGER records_append_only BEFORE UPDATE OR DELETE ON records
    FOR EACH ROW EXECUTE FUNCTION offtake_records_link_once();
