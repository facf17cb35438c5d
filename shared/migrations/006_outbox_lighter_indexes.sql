-- Every row is written once and marked sent once, and each btree index on the outbox costs an
-- index entry at both (marking sent writes a new row version): issue 13's profile found
-- PostgreSQL doing as much of the event path's work as the services. Two indexes go:
-- * the uniqueness of event_id: event ids are UUIDs the services make (time-ordered with 74
--   random bits, shared/events/envelope.py), and what "nothing applied twice" rests on is the
--   consumers' inbox, keyed by event id;
-- * the btree on sent_at, used only by the retention purge: a BRIN index serves that range scan,
--   since rows are sent roughly in the order they were written, for a fraction of the upkeep.
ALTER TABLE outbox DROP CONSTRAINT outbox_event_id_key;
DROP INDEX outbox_sent_at_idx;
CREATE INDEX outbox_sent_at_brin ON outbox USING brin (sent_at);
