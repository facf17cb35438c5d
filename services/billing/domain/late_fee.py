"""Overdue bills and their late fee (DOMAIN.md, Dues, payment, overdue; SIL Art. 86).

A bill unpaid after its due date plus the grace days is overdue. Its late fee runs from
the day after the due date at the daily rate on the principal still unpaid each day.

When it is computed: the exact (unrounded) accrual is kept on the bill in stretches. A
payment closes the stretch up to its own business date (the accrual of that stretch is
frozen into the bill and a new stretch starts on the reduced principal); the late fee
*to date* is the frozen accrual plus the open stretch, rounded half-up to the cent once.
The fee is charged only if the bill is overdue (past due date + grace) on the day it is
paid; a bill settled within the grace days pays none.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from uuid import UUID

from shared.money import to_money

OVERDUE_LEVELS = (1, 30, 60, 90)
"""Days overdue at which a ``PaymentOverdue`` notice goes out (90: coverage is suspended)."""


def is_overdue(due_date: date, grace_days: int, on: date) -> bool:
    """Whether a bill due on ``due_date`` and still unpaid on ``on`` is overdue."""
    return on > due_date + timedelta(days=grace_days)


def days_overdue(due_date: date, on: date) -> int:
    """Days counted from the day after the due date up to and including ``on``."""
    return max(0, (on - due_date).days)


def accrual(unpaid_principal: Decimal, daily_rate: Decimal, since: date, until: date) -> Decimal:
    """The exact late-fee accrual of one stretch: principal × rate × days in (since, until]."""
    return unpaid_principal * daily_rate * max(0, (until - since).days)


def late_fee(unpaid_principal: Decimal, daily_rate: Decimal, days: int) -> Decimal:
    """The late fee of ``days`` days on an unchanged principal, rounded half-up."""
    return to_money(unpaid_principal * daily_rate * max(0, days))


def late_fee_to_date(
    frozen_accrual: Decimal, unpaid_principal: Decimal, daily_rate: Decimal, accrued_through: date, on: date
) -> Decimal:
    """The whole late fee of a bill on ``on``: frozen stretches plus the open one, rounded once."""
    return to_money(frozen_accrual + accrual(unpaid_principal, daily_rate, accrued_through, on))


def level_reached(days: int) -> int:
    """The highest escalation level ``days`` overdue has reached (0 if none)."""
    return max((level for level in OVERDUE_LEVELS if days >= level), default=0)


def is_missed(due_date: date, back_payment_allowed: bool, limit_days: int | None, on: date) -> bool:
    """Whether months still unpaid on ``on`` can no longer be paid (and are missed)."""
    return not back_payment_allowed and limit_days is not None and (on - due_date).days > limit_days


def settled_programmes(settled_bills: list[tuple[str, ...]], overdue_bills_left: int) -> tuple[str, ...]:
    """The programmes to announce as settled: once a person has no overdue bill left, every
    programme of the overdue bills paid (or missed) since the last announcement."""
    if overdue_bills_left or not settled_bills:
        return ()
    return tuple(sorted({programme for programmes in settled_bills for programme in programmes}))


@dataclass(frozen=True)
class ArrearsBill:
    """A bill of a person's arrears: still overdue, or settled (paid, missed, cancelled) since
    the last ``ArrearsSettled`` about the person."""

    person_id: UUID
    region: str
    bill_id: UUID
    programmes: list[str]
    still_overdue: bool


@dataclass(frozen=True)
class SettledArrears:
    """One ``ArrearsSettled`` to announce, and the bills it reports."""

    person_id: UUID
    region: str
    programmes: tuple[str, ...]
    bill_ids: tuple[UUID, ...]


def settled_arrears(bills: Iterable[ArrearsBill]) -> list[SettledArrears]:
    """The persons whose arrears are settled: no overdue bill left, and some bill that was
    overdue settled since the last announcement (in the order the persons first appear)."""
    by_person: dict[UUID, list[ArrearsBill]] = {}
    for bill in bills:
        by_person.setdefault(bill.person_id, []).append(bill)
    settlements = []
    for person_id, own in by_person.items():
        settled = [bill for bill in own if not bill.still_overdue]
        programmes = settled_programmes([tuple(bill.programmes) for bill in settled],
                                        sum(bill.still_overdue for bill in own))
        if programmes:
            settlements.append(SettledArrears(person_id, own[0].region, programmes,
                                              tuple(bill.bill_id for bill in settled)))
    return settlements
