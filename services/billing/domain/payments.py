"""Applying a payment: oldest open bill first, its late fee before its principal; what is
left over becomes credit for the next bill (DOMAIN.md, Dues, payment, overdue)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from services.billing.domain.late_fee import ArrearsBill, accrual, is_overdue, late_fee_to_date
from shared.money import CENT

ZERO = Decimal("0.00")
UNPAID = ("open", "overdue")
"""The statuses of a bill that still asks for money."""
SETTLED = ("paid", "missed", "cancelled")
"""The statuses of a bill that asks for nothing more."""


def arrears_bill(person_id: UUID, region: str, bill_id: UUID, programmes: Iterable[str], status: str,
                 overdue_level: int, arrears_reported: bool) -> ArrearsBill | None:
    """The bill as one of its person's arrears — it reached an overdue level and is still overdue,
    or was settled since and not announced yet — or None if it is not one."""
    if overdue_level < 1 or not (status == "overdue" or (status in SETTLED and not arrears_reported)):
        return None
    return ArrearsBill(person_id, region, bill_id, list(programmes), still_overdue=status == "overdue")


@dataclass(frozen=True)
class BillBalance:
    """The money state of one bill: principal, what was paid, and its late-fee accrual."""

    bill_id: UUID
    due_date: date
    first_month: date
    principal: Decimal
    principal_paid: Decimal
    grace_days: int
    late_fee_daily_rate: Decimal
    frozen_accrual: Decimal
    accrued_through: date
    late_fee_paid: Decimal

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> BillBalance:
        """The balance among ``values`` (a stored bill's columns, say), taken by field name."""
        return cls(*(values[name] for name in _BALANCE_FIELDS))

    @property
    def unpaid_principal(self) -> Decimal:
        return self.principal - self.principal_paid

    def late_fee_due(self, on: date) -> Decimal:
        """The late fee still to pay if the bill is settled on ``on`` (none within the grace days)."""
        if not is_overdue(self.due_date, self.grace_days, on):
            return ZERO
        total = late_fee_to_date(self.frozen_accrual, self.unpaid_principal, self.late_fee_daily_rate,
                                 self.accrued_through, on)
        return max(ZERO, total - self.late_fee_paid)

    def paid(self, on: date, principal: Decimal, late_fee: Decimal) -> BillBalance:
        """The bill after a payment on ``on``: the open stretch of accrual is frozen first."""
        frozen = self.frozen_accrual + accrual(self.unpaid_principal, self.late_fee_daily_rate,
                                               self.accrued_through, on)
        return replace(
            self,
            frozen_accrual=frozen,
            accrued_through=max(self.accrued_through, on),
            principal_paid=self.principal_paid + principal,
            late_fee_paid=self.late_fee_paid + late_fee,
        )


_BALANCE_FIELDS = tuple(field.name for field in fields(BillBalance))


@dataclass(frozen=True)
class OpenBill:
    """What a bill still asks for on the day of a payment."""

    bill_id: UUID
    due_date: date
    first_month: date
    principal_due: Decimal
    late_fee_due: Decimal

    @property
    def total_due(self) -> Decimal:
        return self.principal_due + self.late_fee_due


@dataclass(frozen=True)
class Applied:
    """The part of a payment that went to one bill, and whether it settled the bill."""

    bill_id: UUID
    principal: Decimal
    late_fee: Decimal
    settles: bool

    @property
    def total(self) -> Decimal:
        return self.principal + self.late_fee


@dataclass(frozen=True)
class Allocation:
    """How a payment was spent: per bill, and the credit left over."""

    applied: tuple[Applied, ...]
    credit: Decimal

    @property
    def applied_total(self) -> Decimal:
        return sum((part.total for part in self.applied), ZERO)


def payment_problems(amount: Decimal, paid_at: datetime, now: datetime, skew: timedelta,
                     cap: Decimal | None = None) -> list[tuple[str, str]]:
    """What makes a payment unacceptable, as (field, reason): not a positive amount in cents,
    above the ``cap`` one transaction may carry, or made in the future — later than ``now``
    plus the ``skew`` a channel's clock may have."""
    problems = []
    if amount <= 0:
        problems.append(("body.amount", "a payment must be a positive amount"))
    if cap is not None and amount > cap:
        problems.append(("body.amount", f"one payment carries at most {cap:.2f}; split larger sums"))
    if amount != amount.quantize(CENT):
        problems.append(("body.amount", "money has at most two decimal places"))
    if paid_at > now + skew:
        problems.append(("body.paid_at", "a payment cannot have been made in the future"))
    return problems


def still_owed(balance: BillBalance, status: str, on: date) -> tuple[Decimal, Decimal]:
    """(principal, late fee) a bill in ``status`` still asks for on ``on``: nothing once it
    is paid, missed or cancelled."""
    if status not in UNPAID:
        return Decimal(0), Decimal(0)
    return balance.unpaid_principal, balance.late_fee_due(on)


def oldest_first(bills: Iterable[OpenBill]) -> list[OpenBill]:
    """Bills in the order a payment reaches them: earliest due date, then earliest cycle."""
    return sorted(bills, key=lambda bill: (bill.due_date, bill.first_month, str(bill.bill_id)))


def allocate(amount: Decimal, bills: Iterable[OpenBill]) -> Allocation:
    """Spend ``amount`` on ``bills``, oldest first, each bill's late fee before its principal.

    A bill reached by the money but not fully covered is left partly paid; whatever is
    left after every bill is covered is credit. Nothing is created or lost: the applied
    parts plus the credit always equal ``amount``.
    """
    if amount <= 0 or amount != amount.quantize(CENT):
        raise ValueError(f"a payment is a positive amount in cents, got {amount}")
    remaining = amount
    applied = []
    for bill in oldest_first(bills):
        if remaining <= 0:
            break
        late_fee = min(remaining, bill.late_fee_due)
        principal = min(remaining - late_fee, bill.principal_due)
        remaining -= late_fee + principal
        if late_fee or principal:
            settles = principal == bill.principal_due and late_fee == bill.late_fee_due
            applied.append(Applied(bill.bill_id, principal, late_fee, settles))
    return Allocation(tuple(applied), remaining)


def open_bill(balance: BillBalance, on: date) -> OpenBill:
    """What ``balance`` asks for if paid on ``on``."""
    return OpenBill(balance.bill_id, balance.due_date, balance.first_month, balance.unpaid_principal,
                    balance.late_fee_due(on))


def paid_before_cover(pay_date: date, covered_from: date | None) -> list[tuple[str, str]]:
    """A payment dated long before the person's cover began pays for nothing that existed then (a
    channel's wrong date, year 0001): refused, as (field, reason). Cover starts the month after
    the approval, and the first bill is issued before that month: a payment from the first day
    of the second month before cover is accepted (one month of margin)."""
    if covered_from is None:
        return []
    earliest = earliest_payment_date(covered_from)
    if pay_date < earliest:
        return [("body.paid_at", f"a payment cannot be dated before {earliest} (cover begins {covered_from:%Y-%m})")]
    return []


def earliest_payment_date(covered_from: date) -> date:
    """The first day of the second month before the first month of cover."""
    month, year = covered_from.month - 2, covered_from.year
    if month < 1:
        month, year = month + 12, year - 1
    return date(year, month, 1)
