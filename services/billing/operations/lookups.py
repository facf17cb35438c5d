"""What a person (or staff, or a channel) can look up: the person's region, bills with what
they still ask for today, the contribution record and vouchers. Each lookup is one statement on a
read-only session (``UnitsOfWork.lookup``), so what it answers is one consistent view; a lookup of
a person's own record reads their account's region in that statement too, for the route's access
check."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from services.billing.domain.payments import BillBalance, still_owed
from services.billing.domain.statement import ProgrammeRecord, build_record, contribution_years
from services.billing.repository import payments as payments_repo
from services.billing.repository import statements as repo
from services.billing.repository.payments import StoredVoucher
from shared.unit_of_work import UnitsOfWork


@dataclass(frozen=True)
class PersonBill:
    """A bill as stored (its lines included), and what it still asks for on the day asked."""

    stored: dict[str, Any]
    outstanding: Decimal
    late_fee_to_date: Decimal


@dataclass(frozen=True)
class Statement:
    """A person's contribution record on a day: per programme, and in total."""

    person_id: uuid.UUID
    region: str
    as_of: date
    programmes: list[ProgrammeRecord]
    total_contribution_years: Decimal
    pension_personal_account: Decimal
    late_fees_paid: Decimal
    credit_balance: Decimal
    enrolments: list[dict[str, Any]]
    refunds: list[dict[str, Any]]


async def person_region(units: UnitsOfWork, person_id: uuid.UUID) -> str | None:
    """The region of the person's contribution account; None if billing does not know them."""
    async with units.lookup() as uow:
        account = await payments_repo.account(uow.conn, person_id)
    return account.region if account else None


@dataclass(frozen=True)
class PersonBills:
    """A person's bills and refunds, and the region of their account (for the access check)."""

    region: str
    bills: list[PersonBill]
    refunds: list[dict[str, Any]]


async def bills_of(units: UnitsOfWork, person_id: uuid.UUID, status: str | None, today: date) -> PersonBills | None:
    """The person's bills (in ``status``, or all), newest cycle first, and refunds; None if billing
    does not know them."""
    async with units.lookup() as uow:
        found = await repo.bills_view(uow.conn, person_id, status)
    if found is None:
        return None
    bills = [PersonBill(row, *still_owed(BillBalance.from_mapping(row), row["status"], today)) for row in found.bills]
    return PersonBills(found.account.region, bills, found.account.refunds)


async def statement_of(units: UnitsOfWork, person_id: uuid.UUID, today: date) -> Statement | None:
    """The person's contribution record: months paid, missed and due, years, personal account;
    None if billing does not know them."""
    async with units.lookup() as uow:
        found = await repo.statement_view(uow.conn, person_id)
    if found is None:
        return None
    account, lines, enrolments = found.account, found.lines, found.enrolments
    records = build_record(lines)
    pension = records.get("pension")
    return Statement(
        person_id=person_id, region=account.region, as_of=today, programmes=list(records.values()),
        total_contribution_years=contribution_years(pension.contribution_months if pension else 0),
        pension_personal_account=pension.personal_account if pension else Decimal(0),
        late_fees_paid=account.late_fees_paid, credit_balance=account.credit_balance,
        enrolments=enrolments, refunds=account.refunds,
    )


async def vouchers_of(units: UnitsOfWork, person_id: uuid.UUID) -> list[StoredVoucher]:
    """Every voucher of the person, newest first."""
    async with units.lookup() as uow:
        return await payments_repo.vouchers_of(uow.conn, person_id)


async def voucher(units: UnitsOfWork, voucher_no: str) -> StoredVoucher | None:
    async with units.lookup() as uow:
        return await payments_repo.voucher(uow.conn, voucher_no)
