-- The insert-only floor (bench/compare.sh): what PostgreSQL itself costs
-- for ledger-shaped rows, without any of offtake's reads, rules or hashing.
-- One transaction = the ledger's head row moved by :batch entries, then
-- :batch entries and 2 × :batch legs inserted into offtake's own tables
-- (migrations/postgres/0001_ledger.sql, so the same indexes and triggers),
-- legs on uniformly chosen accounts of 10,000. Entries/s = tps × :batch.
-- Run with `pgbench -n -f bench/floor.sql -D batch=64`.

BEGIN;
UPDATE ledgers SET head_seq = head_seq + :batch WHERE ledger_id = 'floor' RETURNING head_seq AS last \gset
INSERT INTO entries (ledger_id, seq, entry_type, idempotency_key, request_hash, kind, effective_date,
                     recorded_at_us, metadata, prev_hash, hash)
SELECT 'floor', s, 'posted', 'floor:' || s, sha256(int8send(s)), 'transfer', current_date,
       (extract(epoch FROM clock_timestamp()) * 1000000)::bigint, '{}', sha256(int8send(s - 1)), sha256(int8send(s))
FROM generate_series(:last - :batch + 1, :last) AS s;
INSERT INTO legs (ledger_id, seq, leg_no, account_no, side, layer, amount_minor,
                  posted_debit_after, posted_credit_after, pending_debit_after, pending_credit_after)
SELECT 'floor', s, l, 1 + (random() * 9999)::bigint, CASE l WHEN 0 THEN 'debit' ELSE 'credit' END, 'posted',
       100, s * 100, s * 100, 0, 0
FROM generate_series(:last - :batch + 1, :last) AS s, generate_series(0, 1) AS l;
COMMIT;
