"""Regional policy versions: what a programme costs in a region from a given date.

A version is valid from ``effective_from`` (always the first day of a month) until the
next version of the same region and programme. Every number is data, never code.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from shared.periods import FREQUENCY_MONTHS, Month

FLAT_PERIODS = ("month", "year")


@dataclass(frozen=True)
class Policy:
    """One version of a region's rules for one programme."""

    region: str
    programme: str
    effective_from: date
    frequencies: tuple[str, ...]
    due_day: int
    grace_days: int
    late_fee_daily_rate: Decimal
    back_payment_allowed: bool
    base_floor: Decimal | None = None
    base_ceiling: Decimal | None = None
    rate: Decimal | None = None
    personal_account_rate: Decimal | None = None
    flat_amount: Decimal | None = None
    flat_period: str | None = None
    # where back-payment is not allowed: days after the due date after which unpaid months are missed
    back_payment_limit_days: int | None = None

    @property
    def is_flat(self) -> bool:
        return self.flat_amount is not None

    @property
    def effective_month(self) -> Month:
        return Month.of(self.effective_from)

    def clamp(self, base: Decimal) -> Decimal:
        """The base carried into this version: raised to its floor, lowered to its ceiling."""
        if self.base_floor is not None and base < self.base_floor:
            return self.base_floor
        if self.base_ceiling is not None and base > self.base_ceiling:
            return self.base_ceiling
        return base


def in_force(policies: Iterable[Policy], region: str, programme: str, on: date) -> Policy | None:
    """The version of ``region``/``programme`` valid on ``on`` (the latest that started by then)."""
    candidates = [
        policy for policy in policies
        if policy.region == region and policy.programme == programme and policy.effective_from <= on
    ]
    return max(candidates, key=lambda policy: policy.effective_from, default=None)


def all_in_force(policies: Iterable[Policy], on: date, region: str | None = None) -> list[Policy]:
    """Every programme's version valid on ``on`` (in one region, or in all)."""
    latest: dict[tuple[str, str], Policy] = {}
    for policy in policies:
        if policy.effective_from > on or (region is not None and policy.region != region):
            continue
        key = (policy.region, policy.programme)
        if key not in latest or latest[key].effective_from < policy.effective_from:
            latest[key] = policy
    return sorted(latest.values(), key=lambda p: (p.region, p.programme))


@dataclass(frozen=True)
class Problem:
    """A rule a proposed policy breaks: which field, and why (answered as 422)."""

    field: str
    reason: str


@dataclass
class _Check:
    problems: list[Problem] = field(default_factory=list)

    def require(self, ok: bool, field_name: str, reason: str) -> None:
        if not ok:
            self.problems.append(Problem(f"body.{field_name}", reason))


def policy_problems(policy: Policy, today: date) -> list[Problem]:
    """Why ``policy`` cannot be published on ``today`` (empty when it can).

    A new version starts on the first day of a future month, is priced either by
    ``rate`` on a whole-yuan base range or by a flat amount, and allows at least one
    known frequency.
    """
    check = _Check()
    check.require(policy.effective_from > today, "effective_from",
                  f"a new version must take effect after today ({today.isoformat()})")
    check.require(policy.effective_from.day == 1, "effective_from", "a version takes effect on the 1st of a month")
    if policy.is_flat:
        _check_flat(policy, check)
    else:
        _check_rated(policy, check)
    check.require(bool(policy.frequencies), "frequencies", "at least one frequency must be allowed")
    for frequency in policy.frequencies:
        check.require(frequency in FREQUENCY_MONTHS, "frequencies", f"unknown frequency {frequency!r}")
    check.require(len(set(policy.frequencies)) == len(policy.frequencies), "frequencies", "a frequency is repeated")
    check.require(1 <= policy.due_day <= 28, "due_day", "the due day is 1..28, so that every month has it")
    check.require(0 <= policy.grace_days <= 90, "grace_days", "grace is 0..90 days")
    check.require(policy.late_fee_daily_rate <= Decimal("0.01"), "late_fee_daily_rate",
                  "a daily late-fee rate above 1% is not plausible")
    if policy.back_payment_limit_days is not None:
        check.require(not policy.back_payment_allowed, "back_payment_limit_days",
                      "a limit applies only where back-payment is not allowed")
        check.require(policy.back_payment_limit_days >= 1, "back_payment_limit_days", "the limit is at least 1 day")
    return check.problems


def _check_flat(policy: Policy, check: _Check) -> None:
    check.require(policy.flat_amount is not None and policy.flat_amount > 0, "flat_amount",
                  "a flat amount must be positive")
    check.require(policy.flat_period in FLAT_PERIODS, "flat_period", "a flat amount is per 'month' or per 'year'")
    check.require(policy.rate is None, "rate", "a programme is priced by a rate or by a flat amount, not both")
    check.require(policy.personal_account_rate is None, "personal_account_rate",
                  "a personal-account share needs a rate")


def _check_rated(policy: Policy, check: _Check) -> None:
    check.require(policy.rate is not None and policy.rate > 0, "rate", "a rate (or a flat amount) is required")
    check.require(policy.flat_period is None, "flat_period", "a flat period needs a flat amount")
    floor, ceiling = policy.base_floor, policy.base_ceiling
    check.require(floor is not None and floor > 0, "base_floor", "a rated programme needs a positive base floor")
    check.require(ceiling is not None, "base_ceiling", "a rated programme needs a base ceiling")
    for name, value in (("base_floor", floor), ("base_ceiling", ceiling)):
        if value is not None:
            check.require(value == value.to_integral_value(), name, "bases are published in whole yuan")
    if floor is not None and ceiling is not None:
        check.require(floor <= ceiling, "base_ceiling", "the ceiling must not be below the floor")
    if policy.personal_account_rate is not None and policy.rate is not None:
        check.require(policy.personal_account_rate <= policy.rate, "personal_account_rate",
                      "the personal-account share is part of the rate")


def bill_terms(policies: Sequence[Policy]) -> tuple[int, int, Decimal, bool, int | None]:
    """Due day, grace days, late-fee rate and back-payment rule of a bill mixing programmes.

    Policies of one region normally agree; where they do not, the bill is due on the
    earliest due day with the shortest grace and the highest late-fee rate, and it may be
    paid late only if every programme allows it (then the shortest limit applies).
    """
    limits = [p.back_payment_limit_days for p in policies
              if not p.back_payment_allowed and p.back_payment_limit_days is not None]
    return (
        min(p.due_day for p in policies),
        min(p.grace_days for p in policies),
        max(p.late_fee_daily_rate for p in policies),
        all(p.back_payment_allowed for p in policies),
        min(limits) if limits else None,
    )
