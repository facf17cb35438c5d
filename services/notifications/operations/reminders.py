"""The reminder scan: remind every person whose bill falls due in 7 days or tomorrow and is
not paid in full. Running it again on the same day (or concurrently) adds nothing: a notice
is recorded once per PremiumDue and template.

The job runs hourly rather than daily, so that a restart cannot skip a day; a day the
service is down for the whole day is not caught up.
"""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import structlog

from services.notifications import repository
from services.notifications.domain.notices import reminders
from services.notifications.domain.reminders import reminder_due_dates
from services.notifications.operations.notices import record
from shared.periods import business_date, now_utc
from shared.rehearsal import rehearse
from shared.unit_of_work import UnitsOfWork

log = structlog.get_logger(__name__)


async def scan(units: UnitsOfWork, as_of: date, region: str | None = None, *, dry_run: bool = False) -> int:
    """The reminders of business date ``as_of`` (in ``region``, or all); returns how many notices
    are new. A dry run counts them and records nothing."""
    if dry_run:
        async with rehearse(units) as rehearsal:
            return await scan(rehearsal, as_of, region)
    async with units.begin() as uow:
        open_bills = await repository.unpaid_bills_due_on(uow.conn, reminder_due_dates(as_of), region)
        return await record(uow, reminders(open_bills, as_of=as_of, now=now_utc()))


async def scan_today(units: UnitsOfWork, tz: ZoneInfo) -> int:
    """The scan of today's business date in the region's time zone (the periodic job)."""
    created = await scan(units, business_date(now_utc(), tz))
    log.info("reminder scan", reminders=created)
    return created
