"""SQL of the overdue scan and of arrears: set-based over a chunk of persons."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import asyncpg

from services.billing.domain.late_fee import ArrearsBill
from services.billing.domain.payments import SETTLED

UNPAID_PAST_DUE = """
    SELECT person_id FROM bills
    WHERE status IN ('open', 'overdue') AND due_date < $3::date AND ($4::text[] IS NULL OR region = ANY($4))"""


async def any_unpaid_past_due(conn: asyncpg.Connection, as_of: date, regions: list[str] | None) -> bool:
    return await conn.fetchval(
        """SELECT EXISTS (SELECT 1 FROM bills WHERE status IN ('open', 'overdue') AND due_date < $1
                          AND ($2::text[] IS NULL OR region = ANY($2)))""",
        as_of, regions,
    )


async def lock_persons(conn: asyncpg.Connection, persons: list[uuid.UUID]) -> None:
    """Lock the chunk's persons, as payments do, before touching their bills."""
    await conn.execute(
        "SELECT 1 FROM person_accounts WHERE person_id = ANY($1::uuid[]) ORDER BY person_id FOR NO KEY UPDATE",
        persons,
    )


async def mark_missed(conn: asyncpg.Connection, persons: list[uuid.UUID], as_of: date) -> int:
    """Where back-payment is not allowed, bills unpaid past the limit become missed; what was
    already paid on them becomes credit. Returns how many bills were missed."""
    return await conn.fetchval(
        """WITH missed AS (
               UPDATE bills SET status = 'missed', settled_at = now()
               WHERE person_id = ANY($1::uuid[]) AND status IN ('open', 'overdue')
                 AND NOT back_payment_allowed AND back_payment_limit_days IS NOT NULL
                 AND $2::date - due_date > back_payment_limit_days
               RETURNING person_id, principal_paid),
           refunded AS (
               UPDATE person_accounts p SET credit_balance = p.credit_balance + m.paid
               FROM (SELECT person_id, sum(principal_paid) AS paid FROM missed GROUP BY person_id) AS m
               WHERE p.person_id = m.person_id AND m.paid > 0)
           SELECT count(*) FROM missed""",
        persons, as_of,
    )


@dataclass(frozen=True)
class Escalation:
    """A bill that reached a new overdue level in this scan."""

    bill_id: uuid.UUID
    person_id: uuid.UUID
    region: str
    programmes: list[str]
    due_date: date
    level: int
    unpaid_principal: Decimal
    frozen_accrual: Decimal
    accrued_through: date
    late_fee_daily_rate: Decimal
    late_fee_paid: Decimal


async def escalate(
    conn: asyncpg.Connection, persons: list[uuid.UUID], as_of: date, levels: tuple[int, ...]
) -> list[Escalation]:
    """Mark the persons' bills unpaid past due date + grace as overdue at the highest level
    reached; returns only the bills whose level went up (each level once per bill)."""
    rows = await conn.fetch(
        """WITH reached AS (
               SELECT b.bill_id,
                      (SELECT max(level) FROM unnest($3::int[]) AS level WHERE level <= $2::date - b.due_date)
                          AS level
               FROM bills b
               WHERE b.person_id = ANY($1::uuid[]) AND b.status IN ('open', 'overdue')
                 AND b.principal_paid < b.principal AND $2::date > b.due_date + b.grace_days)
           UPDATE bills b SET status = 'overdue', overdue_level = r.level
           FROM reached r
           WHERE b.bill_id = r.bill_id AND r.level > b.overdue_level
           RETURNING b.bill_id, b.person_id, b.region, b.programmes, b.due_date, r.level,
                     b.principal - b.principal_paid AS unpaid_principal, b.late_fee_accrued AS frozen_accrual,
                     b.accrued_through, b.late_fee_daily_rate, b.late_fee_paid""",
        persons, as_of, list(levels),
    )
    return [Escalation(**dict(row)) for row in rows]


# a bill of arrears settled (domain.payments.SETTLED) and not announced yet, once it reached a level
SETTLED_UNANNOUNCED = (f"overdue_level >= 1 AND status IN ({', '.join(repr(status) for status in SETTLED)}) "
                       "AND arrears_reported_at IS NULL")


async def arrears_bills(conn: asyncpg.Connection, persons: list[uuid.UUID]) -> list[ArrearsBill]:
    """The persons' bills that were overdue: still overdue, or settled but not announced yet."""
    rows = await conn.fetch(
        f"""SELECT person_id, region, bill_id, programmes, status = 'overdue' AS still_overdue
            FROM bills
            WHERE person_id = ANY($1::uuid[])
              AND ((overdue_level >= 1 AND status = 'overdue') OR ({SETTLED_UNANNOUNCED}))""",
        persons,
    )
    return [ArrearsBill(**dict(row)) for row in rows]


async def mark_arrears_reported(conn: asyncpg.Connection, bill_ids: list[uuid.UUID], at: datetime) -> None:
    await conn.execute(
        "UPDATE bills SET arrears_reported_at = $2 WHERE bill_id = ANY($1::uuid[])", bill_ids, at,
    )
