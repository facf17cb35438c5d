"""Statutory retirement age after the 2025 reform (in force 2025-01-01, DOMAIN.md Eligibility).

Birth months are numbered from the first affected one (k = 0 for that month); the delay is
``min(cap, k // step + 1)`` months on top of the original age. Born before the first
affected month: the original age.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from shared.periods import Month

RetirementCategory = Literal["male_60", "female_55", "female_50"]

#: Women who do not say otherwise are in the original-55 category (DOMAIN.md: the usual
#: one for female flexible workers); men have one category.
DEFAULT_CATEGORY: dict[str, RetirementCategory] = {"male": "male_60", "female": "female_55"}
CATEGORY_SEX: dict[RetirementCategory, str] = {"male_60": "male", "female_55": "female", "female_50": "female"}


@dataclass(frozen=True)
class ReformRow:
    """One row of the reform table."""

    original_age: int
    first_affected: Month
    step: int
    cap: int


REFORM_TABLE: dict[RetirementCategory, ReformRow] = {
    "male_60": ReformRow(original_age=60, first_affected=Month(1965, 1), step=4, cap=36),
    "female_55": ReformRow(original_age=55, first_affected=Month(1970, 1), step=4, cap=36),
    "female_50": ReformRow(original_age=50, first_affected=Month(1975, 1), step=2, cap=60),
}


def retirement_delay_months(birth_date: date, category: RetirementCategory) -> int:
    """Months the reform adds to the original retirement age of someone born on ``birth_date``."""
    row = REFORM_TABLE[category]
    k = row.first_affected.months_until(Month.of(birth_date))
    if k < 0:
        return 0
    return min(row.cap, k // row.step + 1)


def statutory_retirement_age_months(birth_date: date, category: RetirementCategory) -> int:
    """The statutory retirement age in months (60 years 1 month → 721)."""
    return REFORM_TABLE[category].original_age * 12 + retirement_delay_months(birth_date, category)


def retirement_date(birth_date: date, category: RetirementCategory) -> date:
    """The day the statutory retirement age is reached (day of birth, clamped to month end)."""
    reached = Month.of(birth_date).plus(statutory_retirement_age_months(birth_date, category))
    return reached.day(birth_date.day)


def below_retirement_age(birth_date: date, category: RetirementCategory, on: date) -> bool:
    """Whether someone born on ``birth_date`` has not yet reached retirement age on ``on``."""
    return on < retirement_date(birth_date, category)
