"""What an operator may ask of a job run (billing run, overdue scan, reminder scan, retention purge).

Every job runs for a business date ``as_of`` in the operator's region. The date must lie in a
window around the platform clock: from ``behind_days`` before today to ``ahead_days`` after it
(a run ahead issues next month's bills or reminders early). An earlier date is a back-run: it
needs an explicit ``back_run_reason``, which is logged with who asked. Nothing before
``EARLIEST`` and nothing past the window ahead, ever: one call must not bill a resident for
centuries. ``dry_run`` reports what the run would change and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from shared.events.envelope import Region
from shared.wire import IsoDate

EARLIEST = date(2000, 1, 1)
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)]


@dataclass(frozen=True)
class JobWindow:
    """How far from today a job may run without (behind) and at all (ahead)."""

    behind_days: int = 31
    ahead_days: int = 62


class JobRun(BaseModel):
    """The body of every ``POST /v1/ops/<job>``."""

    model_config = ConfigDict(extra="forbid")

    as_of: IsoDate
    region: Region | None = None
    dry_run: bool = False
    back_run_reason: Reason | None = None


def job_date_problems(as_of: date, today: date, back_run_reason: str | None,
                      window: JobWindow = JobWindow()) -> list[tuple[str, str]]:
    """Why a run for ``as_of`` may not go ahead on ``today``, as (field, reason); empty when it may."""
    latest = today + timedelta(days=window.ahead_days)
    if as_of > latest:
        return [("body.as_of", f"at most {window.ahead_days} days ahead of today ({today}): {latest} or earlier")]
    if as_of < EARLIEST:
        return [("body.as_of", f"no run before {EARLIEST}")]
    if is_back_run(as_of, today, window) and back_run_reason is None:
        return [("body.back_run_reason", f"a run more than {window.behind_days} days back is a back-run: "
                                         "say why in back_run_reason")]
    return []


def is_back_run(as_of: date, today: date, window: JobWindow = JobWindow()) -> bool:
    """Whether a run for ``as_of`` lies further back than a run needs no reason for."""
    return as_of < today - timedelta(days=window.behind_days)
