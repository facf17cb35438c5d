-- Refunds of credit (DOMAIN.md, Refunds): one per request id of a person, split over the
-- payments whose channels the money goes back through; each has a signed voucher, kept in
-- the same table and number series as the payment vouchers.
CREATE TABLE refunds (
    refund_id        uuid PRIMARY KEY,
    person_id        uuid NOT NULL REFERENCES person_accounts,
    request_id       text NOT NULL,
    -- what was asked for: NULL = all the credit
    requested_amount numeric(14, 2),
    amount           numeric(14, 2) NOT NULL CHECK (amount > 0),
    reason           text NOT NULL,
    requested_by     text NOT NULL,
    voucher_no       text NOT NULL,
    issued_at        timestamptz NOT NULL,
    -- the answer given, returned again for a repeated request id
    result           json NOT NULL,
    UNIQUE (person_id, request_id)
);

CREATE TABLE refund_parts (
    refund_id      uuid NOT NULL REFERENCES refunds,
    payment_id     uuid NOT NULL REFERENCES payments,
    channel        text NOT NULL,
    channel_txn_id text NOT NULL,
    amount         numeric(14, 2) NOT NULL CHECK (amount > 0),
    PRIMARY KEY (refund_id, payment_id)
);
CREATE INDEX refund_parts_payment ON refund_parts (payment_id);

ALTER TABLE vouchers
    ALTER COLUMN payment_id DROP NOT NULL,
    ADD COLUMN refund_id uuid UNIQUE REFERENCES refunds,
    ADD CONSTRAINT vouchers_of_one CHECK ((payment_id IS NULL) <> (refund_id IS NULL));
