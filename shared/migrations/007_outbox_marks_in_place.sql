-- The relay's mark of a row sent was the event path's dearest statement (issue 13): a new version
-- of the row with an entry in the primary key's index, since the partial indexes' predicates named
-- `status`. Now no btree index names a column the mark changes, and each page keeps room for the
-- new version, so the mark is a heap-only (HOT) update that touches no index:
-- * fillfactor 50: a row is written once and marked once; half of each page waits for the marks;
-- * the index of pending rows goes: the relay reads them by sequence from `outbox_relay.pending_from`
--   (below), the point before which no row is pending but those held behind a parked row;
-- * parked rows are found by `parked`, a stored column the mark never changes (false stays false);
-- * the BRIN index on sent_at is a summarizing index, which does not prevent HOT (PostgreSQL 16+).
ALTER TABLE outbox SET (fillfactor = 50);
DROP INDEX outbox_pending_idx;
DROP INDEX outbox_parked_key_idx;
ALTER TABLE outbox ADD COLUMN parked boolean GENERATED ALWAYS AS (status = 'failed') STORED;
CREATE INDEX outbox_parked_key_idx ON outbox (partition_key) WHERE parked;

-- A writer's transaction has its id before it draws a row's sequence number (a CASE evaluates its
-- condition first). The relay relies on it to know when every row up to a sequence number is
-- committed or rolled back: every transaction that drew one had its id before the relay read the
-- sequence, so once none older than an id taken after that read is running, none is left.
ALTER TABLE outbox ALTER COLUMN seq
    SET DEFAULT CASE WHEN pg_current_xact_id() IS NOT NULL THEN nextval('outbox_seq_seq'::regclass) END;

-- One row: every outbox row before `pending_from` is sent, parked, or held behind a parked row of
-- its key. The relay moves it forward; whatever makes rows pending again moves it back, in the
-- transaction that does (`shebao outbox republish`).
CREATE TABLE outbox_relay (
    one          boolean PRIMARY KEY DEFAULT true CHECK (one),
    pending_from bigint NOT NULL
);
INSERT INTO outbox_relay (pending_from)
SELECT coalesce(min(seq) FILTER (WHERE status = 'pending'), max(seq) + 1, 1) FROM outbox;
