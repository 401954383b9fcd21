-- Secondary indexes of the records (see offtake_store_sql::index): for the
-- latest version of each record, the keys under which readers find it
-- (a facility's invoices, open payment notices, ...). Derived data, not part
-- of the record chain: every record write replaces its record's rows in the
-- same transaction, and the store rebuilds them all from the records when
-- `record_index_meta` names another catalogue version (or none: databases
-- written before this table existed).

CREATE TABLE record_index (
    ledger_id  TEXT    NOT NULL REFERENCES ledgers (ledger_id),
    kind       TEXT    NOT NULL,
    index_name TEXT    NOT NULL,
    index_key  TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    PRIMARY KEY (ledger_id, kind, index_name, index_key, id)
) WITHOUT ROWID;

-- A record's rows, found when its next version replaces them.
CREATE INDEX record_index_by_record ON record_index (ledger_id, kind, id);

-- The catalogue version the rows were built under (one row).
CREATE TABLE record_index_meta (
    singleton INTEGER NOT NULL PRIMARY KEY CHECK (singleton = 1),
    catalogue TEXT    NOT NULL
) WITHOUT ROWID;
