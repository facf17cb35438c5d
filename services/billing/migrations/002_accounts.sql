-- Contribution accounts, projected from enrollment's events. One person_accounts row per
-- person (region, credit), one enrolments row per programme a person is enrolled in.
CREATE TABLE person_accounts (
    person_id      uuid PRIMARY KEY,
    region         text NOT NULL,
    credit_balance numeric(14, 2) NOT NULL DEFAULT 0 CHECK (credit_balance >= 0),
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE enrolments (
    enrollment_id     uuid PRIMARY KEY,
    person_id         uuid NOT NULL REFERENCES person_accounts,
    region            text NOT NULL,
    programme         text NOT NULL,
    base              numeric(14, 2) NOT NULL,
    frequency         text NOT NULL,
    start_month       date NOT NULL,
    -- the first month not billed yet; cycles run from here in steps of the frequency
    next_cycle_start  date NOT NULL,
    -- effective_from of the policy version the base was last carried into
    policy_from       date,
    status            text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'terminated')),
    waiting_until     date,
    last_month        date,
    -- a change whose effective month lies after the next cycle's start waits here
    pending_base      numeric(14, 2),
    pending_frequency text,
    pending_from      date,
    updated_at        timestamptz NOT NULL DEFAULT now()
) WITH (fillfactor = 80);  -- room for the run's in-place (HOT) updates of next_cycle_start
CREATE INDEX enrolments_person ON enrolments (person_id);
CREATE INDEX enrolments_policy ON enrolments (region, programme, policy_from);
