-- Bills: one per person per cycle, one line per programme per month. A month of an
-- enrolment is billed once (the primary key of bill_lines), whatever runs. Bills and their
-- lines are written together by the billing run's one statement per chunk, from enrolments
-- (which reference their person): no foreign keys here, they would cost a third of the run.
CREATE TABLE bills (
    bill_id                 uuid PRIMARY KEY,
    person_id               uuid NOT NULL,
    region                  text NOT NULL,
    first_month             date NOT NULL,
    months                  text[] NOT NULL,
    programmes              text[] NOT NULL,
    principal               numeric(14, 2) NOT NULL CHECK (principal >= 0),
    due_date                date NOT NULL,
    grace_days              int NOT NULL,
    late_fee_daily_rate     numeric NOT NULL,
    back_payment_allowed    boolean NOT NULL,
    back_payment_limit_days int,
    issued_on               date NOT NULL,
    issued_at               timestamptz NOT NULL DEFAULT now(),
    status                  text NOT NULL DEFAULT 'open'
                            CHECK (status IN ('open', 'overdue', 'paid', 'missed', 'cancelled')),
    principal_paid          numeric(14, 2) NOT NULL DEFAULT 0,
    credit_applied          numeric(14, 2) NOT NULL DEFAULT 0,
    -- exact late-fee accrual of the stretches closed by payments, up to accrued_through
    late_fee_accrued        numeric NOT NULL DEFAULT 0,
    accrued_through         date NOT NULL,
    late_fee_paid           numeric(14, 2) NOT NULL DEFAULT 0,
    overdue_level           int NOT NULL DEFAULT 0,
    settled_at              timestamptz,
    -- set when ArrearsSettled has announced this (once overdue) bill as settled
    arrears_reported_at     timestamptz,
    CHECK (principal_paid <= principal)
);
CREATE INDEX bills_person ON bills (person_id, due_date);
CREATE INDEX bills_unpaid ON bills (due_date) WHERE status IN ('open', 'overdue');

CREATE TABLE bill_lines (
    enrollment_id    uuid NOT NULL,
    month            date NOT NULL,
    bill_id          uuid NOT NULL,
    programme        text NOT NULL,
    base             numeric(14, 2),
    rate             numeric,
    amount           numeric(14, 2) NOT NULL,
    personal_account numeric(14, 2),
    policy_from      date NOT NULL,
    voided           boolean NOT NULL DEFAULT false,
    PRIMARY KEY (enrollment_id, month)
);
CREATE INDEX bill_lines_bill ON bill_lines (bill_id);
