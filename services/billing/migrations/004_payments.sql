-- Payments (one per channel transaction), what each paid, and their signed vouchers.
CREATE TABLE payments (
    payment_id     uuid PRIMARY KEY,
    person_id      uuid NOT NULL REFERENCES person_accounts,
    amount         numeric(14, 2) NOT NULL CHECK (amount > 0),
    channel        text NOT NULL,
    channel_txn_id text NOT NULL,
    paid_at        timestamptz NOT NULL,
    received_at    timestamptz NOT NULL DEFAULT now(),
    credit_added   numeric(14, 2) NOT NULL,
    voucher_no     text NOT NULL,
    -- the answer given to the channel, returned again for a repeated transaction id
    result         json NOT NULL,
    UNIQUE (channel, channel_txn_id)
);

CREATE TABLE payment_allocations (
    payment_id uuid NOT NULL REFERENCES payments,
    bill_id    uuid NOT NULL REFERENCES bills,
    principal  numeric(14, 2) NOT NULL,
    late_fee   numeric(14, 2) NOT NULL,
    PRIMARY KEY (payment_id, bill_id)
);

CREATE TABLE voucher_counters (
    region  text NOT NULL,
    year    int NOT NULL,
    last_no bigint NOT NULL,
    PRIMARY KEY (region, year)
);

CREATE TABLE vouchers (
    voucher_no text PRIMARY KEY,
    payment_id uuid NOT NULL UNIQUE REFERENCES payments,
    person_id  uuid NOT NULL,
    region     text NOT NULL,
    document   jsonb NOT NULL,
    signature  text NOT NULL,
    algorithm  text NOT NULL,
    key_id     text NOT NULL,
    issued_at  timestamptz NOT NULL
);
CREATE INDEX vouchers_person ON vouchers (person_id);
