"""SQL of contribution accounts: persons and their enrolments, as enrollment's events say."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import asyncpg


@dataclass(frozen=True)
class Enrolment:
    enrollment_id: uuid.UUID
    person_id: uuid.UUID
    region: str
    programme: str
    base: Decimal
    frequency: str
    next_cycle_start: date
    status: str


async def open_account(conn: asyncpg.Connection, person_id: uuid.UUID, region: str) -> None:
    await conn.execute(
        "INSERT INTO person_accounts (person_id, region) VALUES ($1, $2) ON CONFLICT (person_id) DO NOTHING",
        person_id, region,
    )


async def add_enrolment(
    conn: asyncpg.Connection, *, enrollment_id: uuid.UUID, person_id: uuid.UUID, region: str, programme: str,
    base: Decimal, frequency: str, start_month: date, waiting_until: date | None,
) -> bool:
    """Start billing an enrolment from ``start_month``; False if it was known already.

    Its base is carried from the policy version in force in its first month.
    """
    inserted = await conn.fetchval(
        """INSERT INTO enrolments (enrollment_id, person_id, region, programme, base, frequency, start_month,
                                   next_cycle_start, policy_from, waiting_until)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $7,
                   (SELECT max(effective_from) FROM policies
                     WHERE region = $3 AND programme = $4 AND effective_from <= $7), $8)
           ON CONFLICT (enrollment_id) DO NOTHING
           RETURNING true""",
        enrollment_id, person_id, region, programme, base, frequency, start_month, waiting_until,
    )
    return bool(inserted)


async def enrolment(conn: asyncpg.Connection, enrollment_id: uuid.UUID, *, lock: bool = False) -> Enrolment | None:
    row = await conn.fetchrow(
        "SELECT enrollment_id, person_id, region, programme, base, frequency, next_cycle_start, status "
        "FROM enrolments WHERE enrollment_id = $1" + (" FOR UPDATE" if lock else ""),
        enrollment_id,
    )
    return Enrolment(**dict(row)) if row else None


async def change_terms(conn: asyncpg.Connection, enrollment_id: uuid.UUID, base: Decimal, frequency: str) -> None:
    await conn.execute(
        """UPDATE enrolments SET base = $2, frequency = $3, pending_base = NULL, pending_frequency = NULL,
                  pending_from = NULL, updated_at = now() WHERE enrollment_id = $1""",
        enrollment_id, base, frequency,
    )


async def defer_terms(
    conn: asyncpg.Connection, enrollment_id: uuid.UUID, base: Decimal, frequency: str, effective: date
) -> None:
    await conn.execute(
        """UPDATE enrolments SET pending_base = $2, pending_frequency = $3, pending_from = $4, updated_at = now()
           WHERE enrollment_id = $1""",
        enrollment_id, base, frequency, effective,
    )


async def set_status(
    conn: asyncpg.Connection, enrollment_id: uuid.UUID, status: str, *,
    next_cycle_start: date | None = None, waiting_until: date | None = None, last_month: date | None = None,
) -> None:
    await conn.execute(
        """UPDATE enrolments SET status = $2,
                  next_cycle_start = coalesce($3, next_cycle_start),
                  waiting_until = coalesce($4, waiting_until),
                  last_month = coalesce($5, last_month),
                  updated_at = now()
           WHERE enrollment_id = $1 AND (status <> 'terminated' OR $2 = 'terminated')""",
        enrollment_id, status, next_cycle_start, waiting_until, last_month,
    )


async def lock_person(conn: asyncpg.Connection, person_id: uuid.UUID) -> None:
    """Take the person's lock, as payments and the overdue scan do before touching bills."""
    await conn.execute("SELECT 1 FROM person_accounts WHERE person_id = $1 FOR NO KEY UPDATE", person_id)


async def void_months_after(conn: asyncpg.Connection, enrollment_id: uuid.UUID, last_month: date) -> int:
    """Take the months after ``last_month`` off the bills that nothing was paid on yet.

    A bill left without lines is cancelled. Returns how many bills changed.
    """
    voided = await conn.fetch(
        """WITH lines AS (
               UPDATE bill_lines l SET voided = true
               FROM bills b
               WHERE l.bill_id = b.bill_id AND l.enrollment_id = $1 AND l.month > $2 AND NOT l.voided
                 AND b.status IN ('open', 'overdue') AND b.principal_paid = 0 AND b.late_fee_paid = 0
               RETURNING l.bill_id, l.amount)
           SELECT bill_id, sum(amount) AS amount FROM lines GROUP BY bill_id""",
        enrollment_id, last_month,
    )
    if voided:
        await conn.execute(
            """UPDATE bills b SET principal = b.principal - v.amount,
                      months = coalesce((SELECT array_agg(DISTINCT to_char(l.month, 'YYYY-MM'))
                                         FROM bill_lines l WHERE l.bill_id = b.bill_id AND NOT l.voided), '{}'),
                      programmes = coalesce((SELECT array_agg(DISTINCT l.programme)
                                             FROM bill_lines l WHERE l.bill_id = b.bill_id AND NOT l.voided), '{}'),
                      status = CASE WHEN b.principal = v.amount THEN 'cancelled' ELSE b.status END,
                      settled_at = CASE WHEN b.principal = v.amount THEN now() END
               FROM unnest($1::uuid[], $2::numeric[]) AS v(bill_id, amount)
               WHERE b.bill_id = v.bill_id""",
            [row["bill_id"] for row in voided], [row["amount"] for row in voided],
        )
    return len(voided)


async def credit_paid_months_after(conn: asyncpg.Connection, enrollment_id: uuid.UUID, last_month: date) -> Decimal:
    """Months after ``last_month`` already paid (a quarter paid ahead, then the cover ended) come
    off their bills, and what was paid for them becomes the person's credit, refundable.

    A bill left without lines is cancelled. Returns the credit added.
    """
    voided = await conn.fetch(
        """WITH lines AS (
               UPDATE bill_lines l SET voided = true
               FROM bills b
               WHERE l.bill_id = b.bill_id AND l.enrollment_id = $1 AND l.month > $2 AND NOT l.voided
                 AND b.status = 'paid'
               RETURNING l.bill_id, l.amount)
           SELECT bill_id, sum(amount) AS amount FROM lines GROUP BY bill_id""",
        enrollment_id, last_month,
    )
    if not voided:
        return Decimal(0)
    return await conn.fetchval(
        """WITH changed AS (
               UPDATE bills b SET principal = b.principal - v.amount, principal_paid = b.principal_paid - v.amount,
                      months = coalesce((SELECT array_agg(DISTINCT to_char(l.month, 'YYYY-MM'))
                                         FROM bill_lines l WHERE l.bill_id = b.bill_id AND NOT l.voided), '{}'),
                      programmes = coalesce((SELECT array_agg(DISTINCT l.programme)
                                             FROM bill_lines l WHERE l.bill_id = b.bill_id AND NOT l.voided), '{}'),
                      status = CASE WHEN b.principal = v.amount THEN 'cancelled' ELSE b.status END
               FROM unnest($1::uuid[], $2::numeric[]) AS v(bill_id, amount)
               WHERE b.bill_id = v.bill_id
               RETURNING b.person_id, v.amount),
           credited AS (
               UPDATE person_accounts p SET credit_balance = p.credit_balance + c.amount
               FROM (SELECT person_id, sum(amount) AS amount FROM changed GROUP BY person_id) AS c
               WHERE p.person_id = c.person_id
               RETURNING c.amount)
           SELECT coalesce(sum(amount), 0) FROM credited""",
        [row["bill_id"] for row in voided], [row["amount"] for row in voided],
    )
