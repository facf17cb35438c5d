"""A person's contribution account per programme, as enrollment's events shape it.

Billing keeps, per enrolment, the base and frequency it bills and the first month not
yet billed (``next_cycle_start``); cycles run from there in steps of the frequency.
"""

from __future__ import annotations

from datetime import date

from shared.periods import Month


def change_applies_now(effective_month: Month, next_cycle_start: Month) -> bool:
    """A base/frequency change applies from the first cycle that starts at or after its
    effective month; a cycle already started (or billed) is never split."""
    return effective_month <= next_cycle_start


def resume_month(next_cycle_start: Month, reinstated_on: date) -> Month:
    """After a suspension, billing resumes with the month after the reinstatement: the
    suspended months are a gap in cover, not arrears."""
    return max(next_cycle_start, Month.of(reinstated_on).next())
