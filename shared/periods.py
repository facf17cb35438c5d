"""Business dates and calendar months in the region's time zone.

Instants are stored and passed around as aware UTC datetimes; the *business date*
(which day a bill is due, which month a payment falls in) is the calendar date of
that instant in the region's local time zone, Asia/Shanghai unless told otherwise.

A :class:`Month` is a calendar month (``2025-07``). Billing cycles of the allowed
frequencies are runs of consecutive months aligned to the enrolment's start month.
"""

from __future__ import annotations

import calendar
import os
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

__all__ = [
    "DEFAULT_TZ",
    "FREQUENCY_MONTHS",
    "Month",
    "business_date",
    "cycle_months",
    "cycle_start_for",
    "due_date",
    "frequency_months",
    "now_utc",
]

DEFAULT_TZ = ZoneInfo("Asia/Shanghai")

FREQUENCY_MONTHS: dict[str, int] = {
    "monthly": 1,
    "quarterly": 3,
    "half_yearly": 6,
    "annual": 12,
}

_MONTH_TEXT = re.compile(r"([0-9]{4})-([0-9]{2})")


CLOCK_FILE_ENV = "SHEBAO_CLOCK_FILE"


def now_utc() -> datetime:
    """Return the current instant as an aware datetime in UTC.

    Every service asks this one function for "now". When ``SHEBAO_CLOCK_FILE`` names a file,
    the clock runs ahead by the number of seconds written in it: end-to-end tests and
    training drills use it to let a whole platform of processes live through due dates and
    90 overdue days in minutes. Production never sets it.
    """
    return datetime.now(UTC) + _clock_offset()


def _clock_offset() -> timedelta:
    path = os.environ.get(CLOCK_FILE_ENV)
    if not path:
        return timedelta(0)
    try:
        return timedelta(seconds=float(Path(path).read_text().strip() or 0))
    except (OSError, ValueError):
        return timedelta(0)


def business_date(at: datetime, tz: tzinfo = DEFAULT_TZ) -> date:
    """Return the calendar date of the instant ``at`` in time zone ``tz``.

    ``at`` must be timezone-aware: a naive datetime has no defined instant, so it
    is rejected with ``ValueError`` rather than silently assumed to be local or UTC.
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime has no time zone: {at!r}")
    return at.astimezone(tz).date()


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month; ordered chronologically, printed as ``YYYY-MM``."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not (1 <= self.month <= 12):
            raise ValueError(f"month must be 1..12, got {self.month}")
        if not (1 <= self.year <= 9999):
            raise ValueError(f"year must be 1..9999, got {self.year}")

    @classmethod
    def parse(cls, text: str) -> Month:
        """Parse ``"YYYY-MM"`` (e.g. ``"2025-07"``); raise ``ValueError`` otherwise."""
        match = _MONTH_TEXT.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            raise ValueError(f"not a month (expected YYYY-MM): {text!r}")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, d: date) -> Month:
        """Return the month containing the date ``d``."""
        return cls(d.year, d.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> date:
        """The first day of the month."""
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        """The last day of the month (28, 29, 30 or 31)."""
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    def plus(self, n: int) -> Month:
        """Return the month ``n`` months later (earlier when ``n`` is negative)."""
        index = self.year * 12 + (self.month - 1) + n
        return Month(index // 12, index % 12 + 1)

    def next(self) -> Month:
        """Return the following month."""
        return self.plus(1)

    def months_until(self, other: Month) -> int:
        """Return ``other - self`` in months (negative if ``other`` is earlier)."""
        return (other.year - self.year) * 12 + (other.month - self.month)

    def day(self, n: int) -> date:
        """Return day ``n`` of this month, clamped to its last day.

        A due day of 31 in February gives 28 (29 in a leap year). ``n`` must be >= 1.
        """
        if n < 1:
            raise ValueError(f"day must be >= 1, got {n}")
        return date(self.year, self.month, min(n, self.last_day.day))


def frequency_months(frequency: str) -> int:
    """Return the number of months in one cycle of ``frequency``.

    Raises ``ValueError`` for a frequency not in :data:`FREQUENCY_MONTHS`.
    """
    try:
        return FREQUENCY_MONTHS[frequency]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown frequency {frequency!r}; expected one of {sorted(FREQUENCY_MONTHS)}"
        ) from None


def cycle_months(start: Month, frequency: str) -> list[Month]:
    """Return the months of the cycle of ``frequency`` that begins at ``start``."""
    return [start.plus(i) for i in range(frequency_months(frequency))]


def cycle_start_for(month: Month, frequency: str, anchor: Month) -> Month:
    """Return the first month of the cycle that contains ``month``.

    Cycles are aligned to ``anchor`` (the enrolment's start month): a quarterly
    enrolment starting 2025-02 has cycles 2025-02..04, 2025-05..07, and so on.
    Months before the anchor fall in cycles extended backwards on the same grid.
    """
    length = frequency_months(frequency)
    offset = anchor.months_until(month)
    return anchor.plus(offset - offset % length)


def due_date(first_month: Month, due_day: int) -> date:
    """Return the due date of a bill whose cycle begins in ``first_month``.

    The bill is due on the region's ``due_day`` of that month, clamped to the
    month's last day. ``due_day`` must be 1..31.
    """
    if not (1 <= due_day <= 31):
        raise ValueError(f"due_day must be 1..31, got {due_day}")
    return first_month.day(due_day)
