-- The figures a pension estimate needs, published by the region (DOMAIN.md, Pension estimate):
-- the monthly average wage used for pensions and the personal-account interest rate (记账利率)
-- of a year. Versioned like the policies: a revision of a year's figure is a new row from the
-- date it takes effect; the one in force is the latest from on or before the day asked.
CREATE TABLE pension_figures (
    region                text NOT NULL CHECK (region ~ '^\d{6}$'),
    year                  int NOT NULL CHECK (year BETWEEN 1990 AND 2200),
    effective_from        date NOT NULL,
    average_wage          numeric(14, 2) CHECK (average_wage > 0),
    account_interest_rate numeric CHECK (account_interest_rate >= 0 AND account_interest_rate <= 0.2),
    created_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (region, year, effective_from),
    CHECK (average_wage IS NOT NULL OR account_interest_rate IS NOT NULL)
);

-- Seeds: the national account rates of 2022-2024 (6.12%, 3.97%, 2.62%), and the average wage
-- behind the 2025-07 bases (Beijing: ceiling 35 811 = 300% of 11 937; Shanghai 12 434).
INSERT INTO pension_figures (region, year, effective_from, average_wage, account_interest_rate)
VALUES
    ('110000', 2022, date '2025-07-01', NULL, 0.0612),
    ('110000', 2023, date '2025-07-01', NULL, 0.0397),
    ('110000', 2024, date '2025-07-01', NULL, 0.0262),
    ('110000', 2025, date '2025-07-01', 11937, NULL),
    ('310000', 2022, date '2025-07-01', NULL, 0.0612),
    ('310000', 2023, date '2025-07-01', NULL, 0.0397),
    ('310000', 2024, date '2025-07-01', NULL, 0.0262),
    ('310000', 2025, date '2025-07-01', 12434, NULL);
