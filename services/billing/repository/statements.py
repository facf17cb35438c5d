"""SQL of what a person can look up: bills with their lines, and the contribution record."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import asyncpg

from services.billing.domain.statement import RecordedLine
from services.billing.repository.refunds import REFUNDS_OF_PERSON


@dataclass(frozen=True)
class AccountView:
    """What a person's lookups show of their account: its region, credit, late fees paid, refunds."""

    region: str
    credit_balance: Decimal
    late_fees_paid: Decimal
    refunds: list[dict[str, Any]]


async def account_view(conn: asyncpg.Connection, person_id: uuid.UUID) -> AccountView | None:
    """The person's account as their lookups show it (one statement); None if billing does not know them."""
    row = await conn.fetchrow(
        f"""SELECT a.region, a.credit_balance,
                   (SELECT coalesce(sum(late_fee_paid), 0)::numeric(14, 2) FROM bills WHERE person_id = $1)
                       AS late_fees_paid,
                   ARRAY({REFUNDS_OF_PERSON}) AS refunds
            FROM person_accounts a WHERE a.person_id = $1""",
        person_id,
    )
    return AccountView(row["region"], row["credit_balance"], row["late_fees_paid"], list(row["refunds"])) \
        if row else None


async def bills_of(conn: asyncpg.Connection, person_id: uuid.UUID, status: str | None) -> list[dict[str, Any]]:
    """The person's bills, newest cycle first, each with its lines."""
    rows = await conn.fetch(
        """SELECT b.bill_id, b.region, b.first_month, b.months, b.programmes,
                  b.principal, b.principal_paid, b.credit_applied, b.due_date, b.grace_days, b.late_fee_daily_rate,
                  b.late_fee_accrued AS frozen_accrual, b.accrued_through, b.late_fee_paid, b.status,
                  b.overdue_level, b.issued_on, b.settled_at,
                  coalesce(json_agg(json_build_object(
                      'programme', l.programme, 'month', to_char(l.month, 'YYYY-MM'),
                      'base', l.base::text, 'rate', l.rate::text, 'amount', l.amount::text)
                      ORDER BY l.month, l.programme) FILTER (WHERE l.bill_id IS NOT NULL), '[]') AS lines
           FROM bills b LEFT JOIN bill_lines l ON l.bill_id = b.bill_id AND NOT l.voided
           WHERE b.person_id = $1 AND ($2::text IS NULL OR b.status = $2)
           GROUP BY b.bill_id
           ORDER BY b.first_month DESC, b.due_date DESC, b.bill_id""",
        person_id, status,
    )
    return [dict(row) for row in rows]


async def recorded_lines(conn: asyncpg.Connection, person_id: uuid.UUID) -> list[RecordedLine]:
    rows = await conn.fetch(
        """SELECT l.programme, to_char(l.month, 'YYYY-MM') AS month, l.amount, l.personal_account,
                  b.status AS bill_status
           FROM bill_lines l JOIN bills b ON b.bill_id = l.bill_id
           WHERE b.person_id = $1 AND NOT l.voided""",
        person_id,
    )
    return [RecordedLine(**dict(row)) for row in rows]


async def enrolments_of(conn: asyncpg.Connection, person_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT enrollment_id, programme, base, frequency, status, to_char(start_month, 'YYYY-MM') AS start_month,
                  to_char(next_cycle_start, 'YYYY-MM') AS next_unbilled_month, waiting_until
           FROM enrolments WHERE person_id = $1 ORDER BY programme""",
        person_id,
    )
    return [dict(row) for row in rows]
