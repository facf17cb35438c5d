"""The pension estimate (DOMAIN.md, Pension estimate; 国发〔2005〕38号).

Monthly pension at retirement = basic part + personal-account part:

- basic part = W × (1 + Z) / 2 × n × 1%, with W the region's average monthly wage of the year
  before retirement, Z the average contribution index and n the contribution years (months ÷ 12);
- personal-account part = the account balance at retirement ÷ the months divisor of the age.

Choices where DOMAIN.md is silent (each stated in the answer's ``assumptions``):

- Future months are paid at one base (today's, the floor or the ceiling) from the month after
  the last paid one (or this month) to the month before the retirement month; unpaid months
  already past are a gap.
- A year's W is the published figure; a year without one grows (or, before the first published
  year, shrinks) the nearest published year's by ``wage_growth`` a year, rounded to the cent.
- Z is the mean of the monthly indices base ÷ W of the month's year (the yearly mean weighted by
  months paid), kept to 4 places, half up.
- The account: each month credits base × the personal share (rounded like a bill line); at each
  year's end the balance brought into the year earns that year's rate (published, else
  ``interest``), rounded to the cent; the year's own contributions earn from the next year. The
  year of retirement earns nothing: its rate is published only after it ends.
- The divisor is that of the age in whole years at retirement (the reform's 60 years 4 months → 60).
- Every amount rounds half-up to the cent once, at the end of each part.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, ROUND_UP, Decimal
from typing import Literal

from shared.money import CENT, round_line
from shared.periods import Month

RetirementCategory = Literal["male_60", "female_55", "female_50"]

INDEX_PLACES = Decimal("0.0001")
MAX_PUBLISHED_RATE = Decimal("0.20")
"""No account interest rate published has come near it (the highest, 2016: 8.31%)."""
PERSONAL_ACCOUNT_RATE = Decimal("0.08")
"""The personal-account share of the base (国发〔2005〕38号), where a policy does not say."""

#: 个人账户养老金计发月数 by age at retirement (国发〔2005〕38号, annex).
MONTHS_DIVISOR: Mapping[int, int] = {
    40: 233, 41: 230, 42: 226, 43: 223, 44: 220, 45: 216, 46: 212, 47: 207, 48: 204, 49: 199,
    50: 195, 51: 190, 52: 185, 53: 180, 54: 175, 55: 170, 56: 164, 57: 158, 58: 152, 59: 145,
    60: 139, 61: 132, 62: 125, 63: 117, 64: 109, 65: 101, 66: 93, 67: 84, 68: 75, 69: 65, 70: 56,
}


@dataclass(frozen=True)
class _Reform:
    original_age: int
    first_affected: Month
    step: int
    cap: int


# DOMAIN.md, Eligibility: the statutory retirement age after the 2025 reform
_REFORM: Mapping[str, _Reform] = {
    "male_60": _Reform(60, Month(1965, 1), 4, 36),
    "female_55": _Reform(55, Month(1970, 1), 4, 36),
    "female_50": _Reform(50, Month(1975, 1), 2, 60),
}


def retirement_age_months(birth: Month, category: RetirementCategory) -> int:
    """The statutory retirement age in months for someone born in ``birth`` (60y4m → 724)."""
    reform = _REFORM[category]
    k = reform.first_affected.months_until(birth)
    delay = 0 if k < 0 else min(reform.cap, k // reform.step + 1)
    return reform.original_age * 12 + delay


def minimum_months(retirement_year: int) -> int:
    """Months of contribution needed for a pension: 15 years through 2029, then 6 months more a
    year up to 20 years in 2039."""
    if retirement_year <= 2029:
        return 180
    return min(240, 180 + 6 * (retirement_year - 2029))


@dataclass(frozen=True)
class Assumptions:
    """What the estimate assumes about the years to come (stated with every estimate)."""

    wage_growth: Decimal = Decimal("0.03")
    interest: Decimal = Decimal("0.025")


@dataclass(frozen=True)
class PensionFigures:
    """The region's published figures: monthly average wage and account interest rate per year,
    and the personal-account share of the base."""

    average_wages: Mapping[int, Decimal]
    interest_rates: Mapping[int, Decimal]
    personal_account_rate: Decimal = PERSONAL_ACCOUNT_RATE


@dataclass(frozen=True)
class ContributionMonth:
    month: Month
    base: Decimal


@dataclass(frozen=True)
class PensionEstimate:
    """One estimate: both parts, the figures they come from, and what is missing to the minimum."""

    future_base: Decimal | None
    future_months: int
    contribution_months: int
    average_index: Decimal
    average_wage_at_retirement: Decimal
    basic_part: Decimal
    account_balance: Decimal
    months_divisor: int
    personal_account_part: Decimal
    minimum_months: int
    months_missing: int
    wages_used: Mapping[int, Decimal] = field(default_factory=dict)

    @property
    def monthly_pension(self) -> Decimal:
        return self.basic_part + self.personal_account_part

    @property
    def years_missing(self) -> Decimal:
        return years_of(self.months_missing)


def years_of(months: int) -> Decimal:
    """Months as years to two places, rounded up: what is missing is never understated."""
    return (Decimal(months) / 12).quantize(CENT, rounding=ROUND_UP)


def average_wage(year: int, published: Mapping[int, Decimal], growth: Decimal) -> Decimal:
    """W of ``year``: published, else the nearest published year's grown by ``growth`` a year."""
    if year in published:
        return published[year]
    if not published:
        raise ValueError("the region has published no average wage")
    nearest = min(published, key=lambda known: (abs(known - year), known))
    return (published[nearest] * (1 + growth) ** (year - nearest)).quantize(CENT, rounding=ROUND_HALF_UP)


def future_months(start: Month, retirement: Month) -> list[Month]:
    """The months still to pay: from ``start`` to the month before retirement."""
    return [start.plus(i) for i in range(max(0, start.months_until(retirement)))]


def estimate(
    record: Iterable[ContributionMonth], *, future_base: Decimal | None, start: Month, retirement: Month,
    age_at_retirement_months: int, figures: PensionFigures, assumptions: Assumptions,
) -> PensionEstimate:
    """The pension at ``retirement`` of a person with the paid ``record``, paying on at
    ``future_base`` from ``start`` (nothing when it is None)."""
    paid = sorted(record, key=lambda item: item.month)
    ahead = [] if future_base is None else [ContributionMonth(m, future_base) for m in future_months(start, retirement)]
    months = paid + ahead
    wages: dict[int, Decimal] = {}

    def wage(year: int) -> Decimal:
        if year not in wages:
            wages[year] = average_wage(year, figures.average_wages, assumptions.wage_growth)
        return wages[year]

    index = _average_index(months, wage)
    w_retirement = wage(retirement.year - 1)
    basic = (w_retirement * (1 + index) * len(months) / 2400).quantize(CENT, rounding=ROUND_HALF_UP)
    balance = account_balance(months, retirement, figures, assumptions)
    divisor = MONTHS_DIVISOR[min(max(age_at_retirement_months // 12, min(MONTHS_DIVISOR)), max(MONTHS_DIVISOR))]
    needed = minimum_months(retirement.year)
    return PensionEstimate(
        future_base=future_base, future_months=len(ahead), contribution_months=len(months), average_index=index,
        average_wage_at_retirement=w_retirement, basic_part=basic, account_balance=balance,
        months_divisor=divisor, personal_account_part=(balance / divisor).quantize(CENT, rounding=ROUND_HALF_UP),
        minimum_months=needed, months_missing=max(0, needed - len(months)), wages_used=dict(sorted(wages.items())),
    )


def _average_index(months: list[ContributionMonth], wage) -> Decimal:
    if not months:
        return Decimal("0.0000")
    total = sum((item.base / wage(item.month.year) for item in months), Decimal(0))
    return (total / len(months)).quantize(INDEX_PLACES, rounding=ROUND_HALF_UP)


def account_balance(months: Iterable[ContributionMonth], retirement: Month, figures: PensionFigures,
                    assumptions: Assumptions) -> Decimal:
    """The personal account at retirement: yearly contributions, credited with each year's rate
    on the balance brought into it (module docstring)."""
    by_year: dict[int, Decimal] = {}
    for item in months:
        by_year[item.month.year] = by_year.get(item.month.year, Decimal("0.00")) + round_line(
            item.base, figures.personal_account_rate)
    if not by_year:
        return Decimal("0.00")
    balance = Decimal("0.00")
    for year in range(min(by_year), retirement.year + 1):
        if year < retirement.year:
            rate = figures.interest_rates.get(year, assumptions.interest)
            balance += (balance * rate).quantize(CENT, rounding=ROUND_HALF_UP)
        balance += by_year.get(year, Decimal("0.00"))
    return balance


def figures_in_force(rows: Iterable[tuple[int, Decimal | None, Decimal | None, date]], on: date
                     ) -> tuple[dict[int, Decimal], dict[int, Decimal]]:
    """From versioned rows ``(year, average_wage, interest_rate, effective_from)``, the figures
    in force on ``on``: per year, the latest version from on or before it that gives each."""
    wages: dict[int, tuple[date, Decimal]] = {}
    rates: dict[int, tuple[date, Decimal]] = {}
    for year, wage, rate, effective_from in rows:
        if effective_from > on:
            continue
        if wage is not None and (year not in wages or wages[year][0] < effective_from):
            wages[year] = (effective_from, wage)
        if rate is not None and (year not in rates or rates[year][0] < effective_from):
            rates[year] = (effective_from, rate)
    return {y: w for y, (_, w) in sorted(wages.items())}, {y: r for y, (_, r) in sorted(rates.items())}


def wages_from_ceilings(published: Mapping[int, Decimal], ceilings: Mapping[int, Decimal]) -> dict[int, Decimal]:
    """Where a year has no published wage, W = the pension base ceiling of that year ÷ 3 (the
    ceiling is 300% of it)."""
    derived = {year: (ceiling / 3).quantize(CENT, rounding=ROUND_HALF_UP) for year, ceiling in ceilings.items()}
    return dict(sorted({**derived, **published}.items()))


def figure_problems(year: int, effective_from: date, average_wage: Decimal | None, interest_rate: Decimal | None,
                    today: date) -> list[tuple[str, str]]:
    """What makes a published figure unacceptable, as (field, reason): a version changes what
    estimates say from its date on, never what they said before."""
    problems = []
    if average_wage is None and interest_rate is None:
        problems.append(("body.average_wage", "give the average wage, the interest rate or both"))
    if average_wage is not None and average_wage <= 0:
        problems.append(("body.average_wage", "an average wage is a positive amount"))
    if interest_rate is not None and interest_rate > MAX_PUBLISHED_RATE:
        problems.append(("body.account_interest_rate", f"an account interest rate is at most {MAX_PUBLISHED_RATE}"))
    if effective_from < today:
        problems.append(("body.effective_from", "a version takes effect today or later, never in the past"))
    if not 1990 <= year <= effective_from.year:
        problems.append(("body.year", "a figure is for a year from 1990 up to the year it takes effect"))
    return problems
