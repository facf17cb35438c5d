-- Every consumed event applied by this service, recorded in the transaction of its effects.
CREATE TABLE inbox (
    event_id    uuid PRIMARY KEY,
    event_type  text NOT NULL,
    topic       text NOT NULL,
    kafka_partition int NOT NULL,
    kafka_offset bigint NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now()
);
