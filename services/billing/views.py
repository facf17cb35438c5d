"""What the routes answer: policies, bills, statements and vouchers shaped as JSON
(money as "1234.50" strings), read through the repository and priced by the domain."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from services.billing.domain.payments import BillBalance
from services.billing.domain.policy import Policy
from services.billing.domain.statement import build_record, contribution_years
from services.billing.operations.common import Service
from services.billing.repository import payments as payments_repo
from services.billing.repository import statements as repo


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _rate(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def policy(p: Policy) -> dict[str, Any]:
    return {
        "region": p.region, "programme": p.programme, "effective_from": p.effective_from.isoformat(),
        "base_floor": _money(p.base_floor), "base_ceiling": _money(p.base_ceiling), "rate": _rate(p.rate),
        "personal_account_rate": _rate(p.personal_account_rate), "flat_amount": _money(p.flat_amount),
        "flat_period": p.flat_period, "frequencies": list(p.frequencies), "due_day": p.due_day,
        "grace_days": p.grace_days, "late_fee_daily_rate": _rate(p.late_fee_daily_rate),
        "back_payment_allowed": p.back_payment_allowed, "back_payment_limit_days": p.back_payment_limit_days,
    }


async def person_region(service: Service, person_id: uuid.UUID) -> str | None:
    async with service.pool.acquire() as conn:
        account = await payments_repo.account(conn, person_id)
    return account.region if account else None


def _bill(row: dict[str, Any], today: date) -> dict[str, Any]:
    balance = BillBalance(
        bill_id=row["bill_id"], due_date=row["due_date"], first_month=row["first_month"], principal=row["principal"],
        principal_paid=row["principal_paid"], grace_days=row["grace_days"],
        late_fee_daily_rate=row["late_fee_daily_rate"], frozen_accrual=row["frozen_accrual"],
        accrued_through=row["accrued_through"], late_fee_paid=row["late_fee_paid"],
    )
    unpaid = row["status"] in ("open", "overdue")
    return {
        "bill_id": str(row["bill_id"]), "region": row["region"], "first_month": row["first_month"].strftime("%Y-%m"),
        "months": row["months"], "programmes": row["programmes"], "lines": row["lines"],
        "total": _money(row["principal"]), "paid": _money(row["principal_paid"]),
        "credit_applied": _money(row["credit_applied"]),
        "outstanding": _money(balance.unpaid_principal if unpaid else Decimal(0)),
        "late_fee_to_date": _money(balance.late_fee_due(today) if unpaid else Decimal(0)),
        "late_fee_paid": _money(row["late_fee_paid"]), "due_date": row["due_date"].isoformat(),
        "status": row["status"], "overdue_level": row["overdue_level"], "issued_on": row["issued_on"].isoformat(),
        "settled_at": row["settled_at"].isoformat() if row["settled_at"] else None,
    }


async def bills(service: Service, person_id: uuid.UUID, status: str | None, today: date) -> list[dict[str, Any]]:
    async with service.pool.acquire() as conn:
        rows = await repo.bills_of(conn, person_id, status)
    return [_bill(row, today) for row in rows]


async def statement(service: Service, person_id: uuid.UUID, region: str, today: date) -> dict[str, Any]:
    async with service.pool.acquire() as conn:
        lines = await repo.recorded_lines(conn, person_id)
        late_fees = await repo.late_fees_paid(conn, person_id)
        account = await payments_repo.account(conn, person_id)
        enrolments = await repo.enrolments_of(conn, person_id)
    records = build_record(lines)
    pension = records.get("pension")
    return {
        "person_id": str(person_id), "region": region, "as_of": today.isoformat(),
        "programmes": [
            {"programme": r.programme, "months_paid": r.months_paid, "months_missed": r.months_missed,
             "months_due": r.months_due, "contribution_months": r.contribution_months,
             "contribution_years": str(r.contribution_years), "total_paid": _money(r.total_paid)}
            for r in records.values()
        ],
        "total_contribution_years": str(contribution_years(pension.contribution_months if pension else 0)),
        "pension_personal_account": _money(pension.personal_account if pension else Decimal(0)),
        "late_fees_paid": _money(late_fees),
        "credit_balance": _money(account.credit_balance if account else Decimal(0)),
        "enrolments": [
            {**row, "enrollment_id": str(row["enrollment_id"]), "base": _money(row["base"]),
             "waiting_until": row["waiting_until"].isoformat() if row["waiting_until"] else None}
            for row in enrolments
        ],
    }


def voucher(stored: payments_repo.StoredVoucher, public_key: str) -> dict[str, Any]:
    return {
        "voucher_no": stored.voucher_no, "document": stored.document, "signature": stored.signature,
        "algorithm": stored.algorithm, "key_id": stored.key_id, "public_key": public_key,
    }


async def vouchers(service: Service, person_id: uuid.UUID) -> list[dict[str, Any]]:
    async with service.pool.acquire() as conn:
        stored = await payments_repo.vouchers_of(conn, person_id)
    return [{"voucher_no": v.voucher_no, "document": v.document, "signature": v.signature,
             "algorithm": v.algorithm, "key_id": v.key_id} for v in stored]
