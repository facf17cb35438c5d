-- Regional policy versions (DOMAIN.md, Regional policy): one row per region, programme and
-- effective date. announced_at is set once PolicyPublished for the row is in the outbox.
CREATE TABLE policies (
    policy_id               uuid PRIMARY KEY,
    region                  text NOT NULL CHECK (region ~ '^\d{6}$'),
    programme               text NOT NULL,
    effective_from          date NOT NULL CHECK (extract(day FROM effective_from) = 1),
    base_floor              numeric(14, 2),
    base_ceiling            numeric(14, 2),
    rate                    numeric,
    personal_account_rate   numeric,
    flat_amount             numeric(14, 2),
    flat_period             text CHECK (flat_period IN ('month', 'year')),
    frequencies             text[] NOT NULL,
    due_day                 int NOT NULL CHECK (due_day BETWEEN 1 AND 31),
    grace_days              int NOT NULL CHECK (grace_days >= 0),
    late_fee_daily_rate     numeric NOT NULL CHECK (late_fee_daily_rate >= 0),
    back_payment_allowed    boolean NOT NULL,
    back_payment_limit_days int,
    created_at              timestamptz NOT NULL DEFAULT now(),
    announced_at            timestamptz,
    UNIQUE (region, programme, effective_from),
    CHECK ((rate IS NULL) <> (flat_amount IS NULL))
);

-- The published 2025-07 figures of Beijing and Shanghai. Our choices where DOMAIN.md is
-- silent: due on the 15th, no grace days, and in Shanghai (no back-payment) months still
-- unpaid 90 days after their due date are missed.
INSERT INTO policies (policy_id, region, programme, effective_from, base_floor, base_ceiling, rate,
                      personal_account_rate, flat_amount, flat_period, frequencies, due_day, grace_days,
                      late_fee_daily_rate, back_payment_allowed, back_payment_limit_days)
SELECT md5(region || '/' || programme || '/' || effective_from)::uuid, *
FROM (VALUES
    ('110000', 'pension',          date '2025-07-01', 7162, 35811, 0.20, 0.08, NULL::numeric, NULL,
     ARRAY['monthly', 'quarterly', 'half_yearly', 'annual'], 15, 0, 0.0005, true, NULL::int),
    ('110000', 'medical_employee', date '2025-07-01', NULL, NULL, NULL, NULL, 584.92, 'month',
     ARRAY['monthly', 'quarterly', 'half_yearly', 'annual'], 15, 0, 0.0005, true, NULL),
    ('110000', 'unemployment',     date '2025-07-01', 7162, 35811, 0.01, NULL, NULL, NULL,
     ARRAY['monthly', 'quarterly', 'half_yearly', 'annual'], 15, 0, 0.0005, true, NULL),
    ('310000', 'pension',          date '2025-07-01', 7460, 37302, 0.20, 0.08, NULL, NULL,
     ARRAY['monthly'], 15, 0, 0.0005, false, 90),
    ('310000', 'medical_employee', date '2025-07-01', 7460, 37302, 0.11, NULL, NULL, NULL,
     ARRAY['monthly'], 15, 0, 0.0005, false, 90)
) AS seed (region, programme, effective_from, base_floor, base_ceiling, rate, personal_account_rate,
           flat_amount, flat_period, frequencies, due_day, grace_days, late_fee_daily_rate,
           back_payment_allowed, back_payment_limit_days);
