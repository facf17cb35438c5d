-- Parking: a row the broker refuses for a reason of its own (too large, a topic it refuses) is
-- retried on the relay's next passes and, after `outbox_max_refusals`, parked as 'failed': the
-- rest go on, later rows of its partition key wait behind it (their order is kept), and
-- `shebao outbox republish SERVICE --parked` puts it back in line once the cause is fixed.
-- An outage of the broker is not a refusal: it never parks anything.
ALTER TABLE outbox DROP CONSTRAINT outbox_status_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_status_check CHECK (status IN ('pending', 'sent', 'failed'));
ALTER TABLE outbox ADD COLUMN refusals int NOT NULL DEFAULT 0;
CREATE INDEX outbox_parked_key_idx ON outbox (partition_key) WHERE status = 'failed';

-- Records this service's consumer sent to a dead-letter topic, by where it read them: a batch
-- delivered again (after a database outage, a rebalance) dead-letters none of them a second time.
CREATE TABLE dead_lettered (
    topic           text NOT NULL,
    kafka_partition int NOT NULL,
    kafka_offset    bigint NOT NULL,
    reason          text NOT NULL,
    dead_lettered_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, kafka_partition, kafka_offset)
);
