"""Months of coverage: when an enrolment starts, when a change takes effect, the last month
covered on termination, when an overdue bill suspends cover, and the medical waiting period
after a gap (DOMAIN.md, Dues: "Medical after a gap").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from shared.events import PaymentOverdue
from shared.periods import Month

MEDICAL_PROGRAMMES = frozenset({"medical_employee", "medical_resident"})

#: 国办发〔2024〕38号: a gap of more than 3 months means a fixed wait of 3 months, plus one
#: month for each further full year without cover.
GAP_WITHOUT_WAIT_MONTHS = 3
FIXED_WAIT_MONTHS = 3


def start_month_after(approved_on: date) -> Month:
    """Coverage starts in the month after the approval's business date."""
    return Month.of(approved_on).next()


def next_unbilled_month(today: date, start_month: Month) -> Month:
    """The first month a change of base or frequency can still apply to.

    Enrollment does not see billing's bills; bills of the current month may already be out,
    so a change applies from the month after the current business month, or from the
    enrolment's start month when that is later.
    """
    return max(Month.of(today).next(), start_month)


def months_without_cover(last_covered: Month, resumed: Month) -> int:
    """The whole months strictly between the last covered month and the month cover resumes."""
    return max(0, last_covered.months_until(resumed) - 1)


def waiting_months(gap_months: int) -> int:
    """The medical waiting period, in months, after ``gap_months`` without cover."""
    if gap_months <= GAP_WITHOUT_WAIT_MONTHS:
        return 0
    return FIXED_WAIT_MONTHS + (gap_months - GAP_WITHOUT_WAIT_MONTHS) // 12


def medical_waiting_until(programme: str, resumed: Month, last_covered: Month | None) -> date | None:
    """The last day of the waiting period of a medical enrolment resuming in ``resumed``.

    ``None`` when there is no wait: not a medical programme, no earlier cover known (a
    first enrolment), or a gap of three months or less. Benefits start the day after.
    """
    if programme not in MEDICAL_PROGRAMMES or last_covered is None:
        return None
    wait = waiting_months(months_without_cover(last_covered, resumed))
    return resumed.plus(wait - 1).last_day if wait else None


def suspended_on(due_date: date, days_overdue: int) -> date:
    """The day a bill reached ``days_overdue`` days overdue: the suspension's date."""
    return due_date + timedelta(days=days_overdue)


@dataclass(frozen=True)
class Suspension:
    """Cover of the overdue bill's programmes stops on ``since``, for ``reason``."""

    since: date
    reason: str


def suspension_for(overdue: PaymentOverdue, suspension_level: int) -> Suspension | None:
    """The suspension an overdue bill causes, or None below ``suspension_level``.

    DOMAIN.md: "at 90 days overdue (configurable) coverage of that programme is suspended";
    billing reports levels 1, 30, 60 and 90, and only a level at or past the configured one suspends.
    """
    if overdue.level < suspension_level:
        return None
    return Suspension(
        since=suspended_on(overdue.due_date, overdue.days_overdue),
        reason=f"payment overdue {overdue.days_overdue} days (bill {overdue.bill_id})",
    )


def last_month_on_termination(today: date, start_month: Month, suspended_since: date | None) -> Month:
    """The last month covered by an enrolment terminated on ``today``.

    An active enrolment covers the current month; a suspended one stopped covering in its
    suspension month; one that has not started yet covers nothing (the month before its start).
    """
    last = Month.of(suspended_since) if suspended_since is not None else Month.of(today)
    return max(last, start_month.plus(-1))
