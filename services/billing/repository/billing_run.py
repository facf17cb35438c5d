"""SQL of the billing run: set-based statements over a range of persons at a time.

The run walks persons in id order in chunks (``next_chunk_end``). For each chunk it
carries bases into newly effective policy versions (``carry_bases``), issues every due
cycle's bill with its lines (``issue_bills``) and spends any credit on them
(``apply_credit``): a few statements per chunk, whatever its size.

The line rule is the domain's (``domain.pricing.price_line``), written once more in SQL
because the run prices hundreds of thousands of lines in the database; the integration
tests check the two agree.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import asyncpg

BEFORE_EVERYONE = uuid.UUID(int=0)
MAX_CYCLES = 60

_STEP = "CASE {f} WHEN 'monthly' THEN 1 WHEN 'quarterly' THEN 3 WHEN 'half_yearly' THEN 6 ELSE 12 END"

_LATEST_POLICIES = """latest AS (
    SELECT DISTINCT ON (region, programme) * FROM policies
    WHERE effective_from <= $3 ORDER BY region, programme, effective_from DESC)"""


async def plan_for_this_chunk(conn: asyncpg.Connection) -> None:
    """Plan the transaction's statements for its own range of persons: a cached generic plan
    for "any range" reads whole tables."""
    await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")


async def next_chunk(
    conn: asyncpg.Connection, query: str, after: uuid.UUID, limit: int, *args
) -> list[uuid.UUID]:
    """The next ``limit`` persons after ``after`` (in id order) that ``query`` selects.

    Statements then name their chunk's persons (``person_id = ANY($1)``), so the planner
    knows how many rows to expect: a range of uuids has no usable estimate, and a plan
    that expects one row nests loops over thousands.
    """
    rows = await conn.fetch(
        f"SELECT DISTINCT person_id FROM ({query}) AS q WHERE person_id > $1 ORDER BY person_id LIMIT $2",
        after, limit, *args,
    )
    return [row["person_id"] for row in rows]


# --- carrying bases into a new policy version ---------------------------------------

NEEDS_REPRICING = """
    SELECT e.person_id FROM enrolments e
    WHERE e.status <> 'terminated' AND ($4::text[] IS NULL OR e.region = ANY($4))
      AND e.policy_from < (SELECT max(p.effective_from) FROM policies p
                           WHERE p.region = e.region AND p.programme = e.programme AND p.effective_from <= $3::date)"""


@dataclass(frozen=True)
class CarriedBase:
    enrollment_id: uuid.UUID
    person_id: uuid.UUID
    region: str
    programme: str
    start_month: date
    old_base: Decimal
    old_from: date
    new_from: date


async def carry_bases(
    conn: asyncpg.Connection, persons: list[uuid.UUID], as_of: date, regions: list[str] | None
) -> list[CarriedBase]:
    """Move the chunk's open enrolments to the version in force on ``as_of``, each base
    clamped to its range; returns what each had before."""
    rows = await conn.fetch(
        f"""WITH {_LATEST_POLICIES},
            moved AS (
                SELECT e.enrollment_id, e.person_id, e.region, e.programme, e.start_month, e.base AS old_base,
                       e.policy_from AS old_from, l.effective_from AS new_from,
                       least(greatest(e.base, coalesce(l.base_floor, e.base)), coalesce(l.base_ceiling, e.base))
                           AS new_base
                FROM enrolments e JOIN latest l ON l.region = e.region AND l.programme = e.programme
                WHERE e.person_id = ANY($1::uuid[]) AND e.status <> 'terminated'
                  AND e.policy_from < l.effective_from AND ($2::text[] IS NULL OR e.region = ANY($2))
                FOR UPDATE OF e),
            carried AS (
                UPDATE enrolments e SET base = m.new_base, policy_from = m.new_from, updated_at = now()
                FROM moved m WHERE e.enrollment_id = m.enrollment_id
                RETURNING e.enrollment_id)
            SELECT m.enrollment_id, m.person_id, m.region, m.programme, m.start_month, m.old_base, m.old_from,
                   m.new_from
            FROM moved m JOIN carried USING (enrollment_id)
            ORDER BY m.person_id, m.programme""",
        persons, regions, as_of,
    )
    return [CarriedBase(**dict(row)) for row in rows]


async def any_needs_repricing(conn: asyncpg.Connection, as_of: date, regions: list[str] | None) -> bool:
    """Whether any open enrolment still has its base in an older version than the one in force."""
    return await conn.fetchval(
        f"""WITH {_LATEST_POLICIES.replace('$3', '$1')}
            SELECT EXISTS (
                SELECT 1 FROM latest l JOIN enrolments e
                  ON e.region = l.region AND e.programme = l.programme AND e.policy_from < l.effective_from
                WHERE e.status <> 'terminated' AND ($2::text[] IS NULL OR e.region = ANY($2)))""",
        as_of, regions,
    )


async def any_billable(conn: asyncpg.Connection, horizon: date, regions: list[str] | None) -> bool:
    """Whether any active enrolment has a cycle starting by ``horizon`` not billed yet."""
    return await conn.fetchval(
        """SELECT EXISTS (SELECT 1 FROM enrolments WHERE status = 'active' AND next_cycle_start <= $1
                          AND ($2::text[] IS NULL OR region = ANY($2)))""",
        horizon, regions,
    )


# --- issuing bills ------------------------------------------------------------------

BILLABLE = """
    SELECT person_id FROM enrolments
    WHERE status = 'active' AND next_cycle_start <= $3::date AND ($4::text[] IS NULL OR region = ANY($4))"""


async def promote_pending_terms(conn: asyncpg.Connection) -> int:
    """Changes waiting for their cycle take effect once billing has reached it."""
    status = await conn.execute(
        """UPDATE enrolments SET base = pending_base, frequency = pending_frequency,
                  pending_base = NULL, pending_frequency = NULL, pending_from = NULL, updated_at = now()
           WHERE pending_from IS NOT NULL AND pending_from <= next_cycle_start"""
    )
    return int(status.split()[-1])


@dataclass(frozen=True)
class IssuedBill:
    bill_id: uuid.UUID
    person_id: uuid.UUID
    region: str
    months: list[str]
    principal: Decimal
    due_date: date
    line_programmes: list[str]
    line_months: list[str]
    line_bases: list[Decimal | None]
    line_rates: list[Decimal | None]
    line_amounts: list[Decimal]


_ISSUE_BILLS = f"""
WITH enrolled AS (
    SELECT e.enrollment_id, e.person_id, e.region, e.programme, e.base, e.next_cycle_start,
           {_STEP.format(f='e.frequency')} AS step,
           ((extract(year FROM $3::date) - extract(year FROM e.next_cycle_start)) * 12
            + extract(month FROM $3::date) - extract(month FROM e.next_cycle_start))::int AS months_ahead
    FROM enrolments e
    WHERE e.person_id = ANY($1::uuid[]) AND e.status = 'active' AND e.next_cycle_start <= $3
      AND ($2::text[] IS NULL OR e.region = ANY($2))
    FOR UPDATE),
due AS (
    -- every cycle from the next unbilled month up to the one starting by the horizon (at most
    -- MAX_CYCLES a run: a longer gap is caught up by the following runs)
    SELECT enrolled.*, least(months_ahead / step + 1, {MAX_CYCLES}) AS cycles,
           (next_cycle_start + make_interval(months => least(months_ahead / step + 1, {MAX_CYCLES}) * step))::date
               AS next_start
    FROM enrolled),
versions AS (
    SELECT p.*, lead(p.effective_from) OVER (PARTITION BY p.region, p.programme ORDER BY p.effective_from)
               AS valid_until
    FROM policies p),
cycle_offsets AS MATERIALIZED (
    -- the k-th of n cycles, hash-joined on n (a per-row generate_series makes the planner expect
    -- 1000 rows a row; a join on k < cycles tests every row 60 times). MATERIALIZED: inlined, the
    -- planner turns n = cycles back into k < cycles.
    SELECT n, k FROM generate_series(1, {MAX_CYCLES}) AS n JOIN generate_series(0, {MAX_CYCLES} - 1) AS k ON k < n),
cycles AS (
    SELECT d.*, (d.next_cycle_start + make_interval(months => o.k * d.step))::date AS cycle_start
    FROM due d JOIN cycle_offsets o ON o.n = d.cycles),
month_offsets AS MATERIALIZED (
    SELECT step, i FROM unnest('{{1,3,6,12}}'::int[]) AS step JOIN generate_series(0, 11) AS i ON i < step),
months AS (
    SELECT cy.*, (cy.cycle_start + make_interval(months => mo.i))::date AS month
    FROM cycles cy JOIN month_offsets mo ON mo.step = cy.step),
priced AS (
    SELECT m.*, p.effective_from AS policy_from, p.rate, p.personal_account_rate, p.flat_amount, p.flat_period,
           p.due_day, p.grace_days, p.late_fee_daily_rate, p.back_payment_allowed, p.back_payment_limit_days,
           CASE WHEN p.flat_amount IS NULL
                THEN least(greatest(m.base, coalesce(p.base_floor, m.base)), coalesce(p.base_ceiling, m.base))
           END AS line_base
    FROM months m
    LEFT JOIN versions p ON p.region = m.region AND p.programme = m.programme
                        AND m.month >= p.effective_from AND (p.valid_until IS NULL OR m.month < p.valid_until)),
unpriced AS (
    -- an enrolment with a month no policy covers is not billed at all (and stays due)
    SELECT DISTINCT enrollment_id FROM priced WHERE policy_from IS NULL),
lines AS (
    SELECT pr.*,
           CASE WHEN pr.flat_amount IS NULL THEN round(pr.line_base * pr.rate, 2)
                WHEN pr.flat_period = 'month' THEN pr.flat_amount
                WHEN extract(month FROM pr.month) = 12 THEN pr.flat_amount - 11 * round(pr.flat_amount / 12, 2)
                ELSE round(pr.flat_amount / 12, 2)
           END AS amount,
           round(pr.line_base * pr.personal_account_rate, 2) AS personal_account,
           (pr.cycle_start + make_interval(days => least(pr.due_day,
                extract(day FROM pr.cycle_start + interval '1 month' - interval '1 day')::int) - 1))::date
               AS line_due_date
    FROM priced pr
    WHERE NOT EXISTS (SELECT 1 FROM unpriced u WHERE u.enrollment_id = pr.enrollment_id)),
bill_rows AS (
    SELECT md5(l.person_id::text || '/' || l.cycle_start::text || '/'
               || string_agg(DISTINCT l.enrollment_id::text, ',' ORDER BY l.enrollment_id::text))::uuid AS bill_id,
           l.person_id, l.cycle_start, min(l.region) AS region,
           array_agg(DISTINCT to_char(l.month, 'YYYY-MM')) AS months,
           array_agg(DISTINCT l.programme) AS programmes,
           sum(l.amount) AS principal,
           min(l.line_due_date) FILTER (WHERE l.month = l.cycle_start) AS due_date,
           min(l.grace_days) FILTER (WHERE l.month = l.cycle_start) AS grace_days,
           max(l.late_fee_daily_rate) FILTER (WHERE l.month = l.cycle_start) AS late_fee_daily_rate,
           bool_and(l.back_payment_allowed) FILTER (WHERE l.month = l.cycle_start) AS back_payment_allowed,
           min(l.back_payment_limit_days) FILTER (WHERE l.month = l.cycle_start AND NOT l.back_payment_allowed)
               AS back_payment_limit_days,
           array_agg(l.programme ORDER BY l.month, l.programme) AS line_programmes,
           array_agg(to_char(l.month, 'YYYY-MM') ORDER BY l.month, l.programme) AS line_months,
           array_agg(l.line_base ORDER BY l.month, l.programme) AS line_bases,
           array_agg(CASE WHEN l.flat_amount IS NULL THEN l.rate END ORDER BY l.month, l.programme) AS line_rates,
           array_agg(l.amount ORDER BY l.month, l.programme) AS line_amounts
    FROM lines l GROUP BY l.person_id, l.cycle_start),
new_bills AS (
    INSERT INTO bills (bill_id, person_id, region, first_month, months, programmes, principal, due_date,
                       grace_days, late_fee_daily_rate, back_payment_allowed, back_payment_limit_days,
                       issued_on, accrued_through)
    SELECT bill_id, person_id, region, cycle_start, months, programmes, principal, due_date, grace_days,
           late_fee_daily_rate, back_payment_allowed, back_payment_limit_days, $4, due_date
    FROM bill_rows
    ON CONFLICT (bill_id) DO NOTHING
    RETURNING bill_id),
billed AS (
    SELECT l.*, br.bill_id FROM lines l
    JOIN bill_rows br ON br.person_id = l.person_id AND br.cycle_start = l.cycle_start
    JOIN new_bills nb ON nb.bill_id = br.bill_id),
new_lines AS (
    INSERT INTO bill_lines (enrollment_id, month, bill_id, programme, base, rate, amount, personal_account,
                            policy_from)
    SELECT enrollment_id, month, bill_id, programme, line_base, CASE WHEN flat_amount IS NULL THEN rate END,
           amount, personal_account, policy_from
    FROM billed
    ON CONFLICT (enrollment_id, month) DO NOTHING),
advanced AS (
    -- a priced enrolment moves on even if its bill existed already: its months are billed
    UPDATE enrolments e SET next_cycle_start = d.next_start, updated_at = now()
    FROM due d
    -- (the chunk's persons again: without them the planner reads the whole table)
    WHERE e.enrollment_id = d.enrollment_id AND e.person_id = ANY($1::uuid[])
      AND NOT EXISTS (SELECT 1 FROM unpriced u WHERE u.enrollment_id = d.enrollment_id))
SELECT br.bill_id, br.person_id, br.region, br.months, br.principal, br.due_date, br.line_programmes,
       br.line_months, br.line_bases, br.line_rates, br.line_amounts
FROM bill_rows br JOIN new_bills USING (bill_id)
"""


async def issue_bills(
    conn: asyncpg.Connection, persons: list[uuid.UUID], horizon: date, regions: list[str] | None, as_of: date,
) -> list[IssuedBill]:
    """Bill every cycle of the persons' active enrolments that starts by ``horizon``; one
    bill per person per cycle, one line per programme per month. Returns the new bills."""
    rows = await conn.fetch(_ISSUE_BILLS, persons, regions, horizon, as_of)
    return [IssuedBill(*row) for row in rows]  # the columns are selected in the dataclass's order


async def lock_credit(conn: asyncpg.Connection, persons: list[uuid.UUID]) -> list[uuid.UUID]:
    """Lock the chunk's persons who hold credit (payments lock a person the same way)."""
    rows = await conn.fetch(
        """SELECT person_id FROM person_accounts
           WHERE person_id = ANY($1::uuid[]) AND credit_balance > 0
           ORDER BY person_id FOR NO KEY UPDATE""",
        persons,
    )
    return [row["person_id"] for row in rows]


async def apply_credit(conn: asyncpg.Connection, persons: list[uuid.UUID], as_of: date) -> dict[uuid.UUID, Decimal]:
    """Spend the persons' credit on their bills not yet past due, oldest first.

    Returns how much credit went to each bill. Overdue bills are left to payments, which
    charge their late fee first.
    """
    rows = await conn.fetch(
        """WITH credit AS (
               SELECT person_id, credit_balance FROM person_accounts WHERE person_id = ANY($1::uuid[])),
           unpaid AS (
               SELECT b.bill_id, b.person_id, b.principal - b.principal_paid AS unpaid,
                      sum(b.principal - b.principal_paid) OVER (
                          PARTITION BY b.person_id ORDER BY b.due_date, b.first_month, b.bill_id) AS running
               FROM bills b JOIN credit c USING (person_id)
               WHERE b.status = 'open' AND b.principal_paid < b.principal AND b.due_date + b.grace_days >= $2),
           spent AS (
               SELECT u.bill_id, u.person_id,
                      least(u.unpaid, greatest(0, c.credit_balance - (u.running - u.unpaid))) AS amount
               FROM unpaid u JOIN credit c USING (person_id)),
           paid AS (
               UPDATE bills b SET principal_paid = b.principal_paid + s.amount,
                                  credit_applied = b.credit_applied + s.amount,
                                  status = CASE WHEN b.principal_paid + s.amount = b.principal
                                                THEN 'paid' ELSE b.status END,
                                  settled_at = CASE WHEN b.principal_paid + s.amount = b.principal
                                                    THEN now() END
               FROM spent s WHERE b.bill_id = s.bill_id AND s.amount > 0
               RETURNING b.bill_id, b.person_id, s.amount),
           debited AS (
               UPDATE person_accounts p SET credit_balance = p.credit_balance - t.total
               FROM (SELECT person_id, sum(amount) AS total FROM paid GROUP BY person_id) AS t
               WHERE p.person_id = t.person_id)
           SELECT bill_id, amount FROM paid""",
        persons, as_of,
    )
    return {row["bill_id"]: row["amount"] for row in rows}
