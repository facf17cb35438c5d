-- Certificates of contribution (参保缴费证明): numbered per region and year in their own series,
-- signed with the voucher keys, kept so that anyone can verify one by its number.
CREATE TABLE certificate_counters (
    region  text NOT NULL,
    year    int NOT NULL,
    last_no bigint NOT NULL,
    PRIMARY KEY (region, year)
);

CREATE TABLE certificates (
    certificate_no text PRIMARY KEY,
    certificate_id uuid NOT NULL UNIQUE,
    person_id      uuid NOT NULL REFERENCES person_accounts,
    region         text NOT NULL,
    first_month    date NOT NULL,
    last_month     date NOT NULL,
    programmes     text[] NOT NULL,
    language       text NOT NULL,
    document       jsonb NOT NULL,
    signature      text NOT NULL,
    algorithm      text NOT NULL,
    key_id         text NOT NULL,
    issued_at      timestamptz NOT NULL,
    CHECK (first_month <= last_month)
);
CREATE INDEX certificates_person ON certificates (person_id, issued_at);
