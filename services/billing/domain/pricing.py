"""What one month of one programme costs, and a bill for a cycle of months.

Each line is one month of one programme: the base clamped to the range of the policy in
force that month, times its rate, rounded half-up to the cent; or the policy's flat
monthly amount. A bill is the sum of its lines, so a quarter spanning a policy change is
priced month by month (DOMAIN.md, Money).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from services.billing.domain.policy import Policy, in_force
from shared.money import round_line, to_money
from shared.periods import Month, cycle_months


class NoPolicy(LookupError):
    """No version of the region's policy covers the month being priced."""


@dataclass(frozen=True)
class Line:
    """One month of one programme on a bill. ``base``/``rate`` are None for a flat amount."""

    programme: str
    month: Month
    amount: Decimal
    base: Decimal | None = None
    rate: Decimal | None = None
    personal_account: Decimal | None = None


def flat_monthly_amount(policy: Policy, month: Month) -> Decimal:
    """A flat programme's amount for ``month``.

    A yearly amount is split in twelve, rounded half-up, and December carries the
    remainder, so the twelve months of a calendar year add up to the published figure.
    """
    assert policy.flat_amount is not None
    if policy.flat_period == "month":
        return to_money(policy.flat_amount)
    twelfth = to_money(policy.flat_amount / 12)
    return to_money(policy.flat_amount - 11 * twelfth) if month.month == 12 else twelfth


def price_line(policy: Policy, month: Month, base: Decimal) -> Line:
    """The line for one month of ``policy``'s programme at the enrolment's ``base``."""
    if policy.is_flat:
        return Line(policy.programme, month, flat_monthly_amount(policy, month))
    assert policy.rate is not None
    clamped = policy.clamp(base)
    personal = round_line(clamped, policy.personal_account_rate) if policy.personal_account_rate else None
    return Line(policy.programme, month, round_line(clamped, policy.rate), clamped, policy.rate, personal)


def monthly_amount(policy: Policy, base: Decimal, month: Month | None = None) -> Decimal:
    """What one month costs under ``policy`` (a January for yearly flat amounts, by default)."""
    return price_line(policy, month or policy.effective_month, base).amount


def price_months(
    policies: Iterable[Policy], region: str, programme: str, months: Sequence[Month], base: Decimal
) -> list[Line]:
    """One line per month, each priced by the version in force in that month."""
    known = list(policies)
    lines = []
    for month in months:
        policy = in_force(known, region, programme, month.first_day)
        if policy is None:
            raise NoPolicy(f"no {programme} policy of region {region} covers {month}")
        lines.append(price_line(policy, month, base))
    return lines


def price_cycle(
    policies: Iterable[Policy], region: str, programme: str, first_month: Month, frequency: str, base: Decimal
) -> list[Line]:
    """The lines of one cycle of ``frequency`` starting at ``first_month``."""
    return price_months(policies, region, programme, cycle_months(first_month, frequency), base)


def bill_total(lines: Iterable[Line]) -> Decimal:
    """A bill is the sum of its lines."""
    return to_money(sum((line.amount for line in lines), Decimal(0)))


@dataclass(frozen=True)
class Repricing:
    """How a new version changes one enrolment: its carried base and its monthly amount."""

    old_base: Decimal
    new_base: Decimal
    old_monthly_amount: Decimal
    new_monthly_amount: Decimal

    @property
    def changes_anything(self) -> bool:
        return self.old_base != self.new_base or self.old_monthly_amount != self.new_monthly_amount


def reprice(old: Policy | None, new: Policy, base: Decimal) -> Repricing:
    """Carry ``base`` into ``new``: clamped to its range, priced by it (DOMAIN.md, carrying the base)."""
    new_base = new.clamp(base)
    month = new.effective_month
    old_amount = monthly_amount(old, base, month) if old is not None else Decimal("0.00")
    return Repricing(base, new_base, old_amount, monthly_amount(new, new_base, month))


def repricing_month(version_from: date, enrolment_start: date) -> Month:
    """The first month a carried base applies to: the new version's first month, or the
    enrolment's own first month when it starts later (it was never priced by the old one)."""
    return max(Month.of(version_from), Month.of(enrolment_start))
