-- Events written in the same transaction as the change that caused them; the relay
-- publishes pending rows in order and keeps sent ones for the retention window.
CREATE TABLE outbox (
    seq         bigserial PRIMARY KEY,
    event_id    uuid NOT NULL UNIQUE,
    event_type  text NOT NULL,
    topic       text NOT NULL,
    partition_key text NOT NULL,
    envelope    bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    status      text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent')),
    sent_at     timestamptz,
    attempts    int NOT NULL DEFAULT 0,
    last_error  text
);
CREATE INDEX outbox_pending_idx ON outbox (seq) WHERE status = 'pending';
CREATE INDEX outbox_sent_at_idx ON outbox (sent_at) WHERE status = 'sent';

CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify(TG_TABLE_SCHEMA || '_outbox', '');
    RETURN NULL;
END $$;

CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
