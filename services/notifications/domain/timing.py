"""When a delivery may go out: no SMS in quiet hours (22:00–08:00 in the region's time), and
a failed attempt is tried again after an exponential backoff, up to a last attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from services.notifications.domain.model import SMS, Channel
from shared.periods import DEFAULT_TZ

QUIET_FROM = time(22, 0)
QUIET_UNTIL = time(8, 0)


def region_tz(region: str) -> ZoneInfo:
    """The time zone of a region: every GB/T 2260 region keeps Beijing time."""
    return DEFAULT_TZ


def in_quiet_hours(at: datetime, tz: ZoneInfo) -> bool:
    """Whether ``at`` falls between 22:00 and 08:00 local time, when no SMS is sent."""
    local = at.astimezone(tz).time()
    return local >= QUIET_FROM or local < QUIET_UNTIL


def sms_release_time(at: datetime, tz: ZoneInfo) -> datetime:
    """The earliest instant at or after ``at`` an SMS may go out: ``at`` itself, or 08:00 after quiet hours."""
    if not in_quiet_hours(at, tz):
        return at
    local = at.astimezone(tz)
    release_day = local.date() if local.time() < QUIET_UNTIL else local.date() + timedelta(days=1)
    return datetime.combine(release_day, QUIET_UNTIL, tzinfo=tz)


def earliest_send(channel: Channel, at: datetime, tz: ZoneInfo) -> datetime:
    return sms_release_time(at, tz) if channel == SMS else at


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    backoff: timedelta
    backoff_max: timedelta


@dataclass(frozen=True)
class Outcome:
    """What becomes of a delivery after one attempt."""

    status: Literal["delivered", "pending", "failed"]
    next_attempt_at: datetime | None
    error: str | None


def after_attempt(
    error: str | None, *, attempts: int, channel: Channel, now: datetime, tz: ZoneInfo, policy: RetryPolicy
) -> Outcome:
    """Delivered; or tried again after an exponential backoff (an SMS never in quiet hours);
    or failed for good once ``policy.max_attempts`` attempts were made."""
    if error is None:
        return Outcome("delivered", None, None)
    if attempts >= policy.max_attempts:
        return Outcome("failed", None, error)
    delay = min(policy.backoff * 2 ** (attempts - 1), policy.backoff_max)
    return Outcome("pending", earliest_send(channel, now + delay, tz), error)
