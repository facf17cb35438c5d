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


# The person's account as their lookups show it; the statements below add what each lookup shows.
_ACCOUNT_VIEW = f"""
SELECT a.region, a.credit_balance,
       (SELECT coalesce(sum(late_fee_paid), 0)::numeric(14, 2) FROM bills WHERE person_id = $1) AS late_fees_paid,
       ARRAY({REFUNDS_OF_PERSON}) AS refunds
FROM person_accounts a WHERE a.person_id = $1"""

_BILLS_OF = """
SELECT b.bill_id, b.region, b.first_month, b.months, b.programmes,
       b.principal, b.principal_paid, b.credit_applied, b.due_date, b.grace_days, b.late_fee_daily_rate,
       b.late_fee_accrued AS frozen_accrual, b.accrued_through, b.late_fee_paid, b.status,
       b.overdue_level, b.issued_on, b.settled_at,
       coalesce(json_agg(json_build_object(
           'programme', l.programme, 'month', to_char(l.month, 'YYYY-MM'),
           'base', l.base::text, 'rate', l.rate::text, 'amount', l.amount::text)
           ORDER BY l.month, l.programme) FILTER (WHERE l.bill_id IS NOT NULL), '[]') AS lines
FROM bills b LEFT JOIN bill_lines l ON l.bill_id = b.bill_id AND NOT l.voided
WHERE b.person_id = $1 AND ($2::text IS NULL OR b.status = $2)
GROUP BY b.bill_id"""

# one row per bill (a single one with no bill when there is none), the account's columns on each
_BILLS_VIEW = f"""
WITH account AS ({_ACCOUNT_VIEW})
SELECT account.region AS account_region, account.credit_balance AS account_credit_balance,
       account.late_fees_paid AS account_late_fees_paid, account.refunds AS account_refunds, bill.*
FROM account LEFT JOIN ({_BILLS_OF}) AS bill ON true
ORDER BY bill.first_month DESC, bill.due_date DESC, bill.bill_id"""

_ENROLMENT_COLUMNS = ("enrollment_id", "programme", "base", "frequency", "status", "start_month",
                      "next_unbilled_month", "waiting_until")

_STATEMENT_VIEW = f"""
SELECT account.*,
       ARRAY(SELECT ROW(l.programme, to_char(l.month, 'YYYY-MM'), l.amount, l.personal_account, b.status)
             FROM bill_lines l JOIN bills b ON b.bill_id = l.bill_id
             WHERE b.person_id = $1 AND NOT l.voided) AS recorded_lines,
       ARRAY(SELECT ROW(enrollment_id, programme, base, frequency, status, to_char(start_month, 'YYYY-MM'),
                        to_char(next_cycle_start, 'YYYY-MM'), waiting_until)
             FROM enrolments WHERE person_id = $1 ORDER BY programme) AS enrolments
FROM ({_ACCOUNT_VIEW}) AS account"""


@dataclass(frozen=True)
class BillsView:
    """The person's account and bills (each a dict with its lines), newest cycle first."""

    account: AccountView
    bills: list[dict[str, Any]]


@dataclass(frozen=True)
class StatementView:
    """The person's account, every line billed to them with how its bill ended up, and their enrolments."""

    account: AccountView
    lines: list[RecordedLine]
    enrolments: list[dict[str, Any]]


async def bills_view(conn: asyncpg.Connection, person_id: uuid.UUID, status: str | None) -> BillsView | None:
    """The person's account and bills (in ``status``, or all), in one statement; None if billing
    does not know them."""
    rows = await conn.fetch(_BILLS_VIEW, person_id, status)
    if not rows:
        return None
    first = rows[0]
    account = AccountView(first["account_region"], first["account_credit_balance"], first["account_late_fees_paid"],
                          list(first["account_refunds"]))
    bills = [{name: value for name, value in row.items() if not name.startswith("account_")}
             for row in rows if row["bill_id"] is not None]
    return BillsView(account, bills)


async def statement_view(conn: asyncpg.Connection, person_id: uuid.UUID) -> StatementView | None:
    """What the person's contribution record is made of, in one statement; None if billing does
    not know them."""
    row = await conn.fetchrow(_STATEMENT_VIEW, person_id)
    if row is None:
        return None
    account = AccountView(row["region"], row["credit_balance"], row["late_fees_paid"], list(row["refunds"]))
    return StatementView(
        account,
        [RecordedLine(*line) for line in row["recorded_lines"]],
        [dict(zip(_ENROLMENT_COLUMNS, enrolment, strict=True)) for enrolment in row["enrolments"]],
    )
