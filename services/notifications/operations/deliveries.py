"""The delivery worker: send what is due on SMS and e-mail, after the transactions that
recorded it.

A delivery is claimed in one short unit of work (``FOR UPDATE SKIP LOCKED``, so replicas share
the work rather than take turns), sent outside any transaction, and its outcome stored in a
second unit together with NotificationDelivered or, after the last attempt, NotificationFailed.
A worker that dies between the two leaves its claim to expire; the message may then go out
twice (at least once). In quiet hours SMS deliveries that fall due are moved to 08:00 instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from services.notifications import repository
from services.notifications.adapters.channels import OutgoingMessage, Sender, senders_from
from services.notifications.domain.model import Channel
from services.notifications.domain.notices import (
    DueDelivery,
    announcement,
    attempt_refused,
    member_announcements,
    text_for,
)
from services.notifications.domain.timing import (
    Outcome,
    RetryPolicy,
    after_attempt,
    in_quiet_hours,
    region_tz,
    sms_release_time,
)
from services.notifications.operations.notices import announce
from services.notifications.settings import NotificationsSettings
from shared.periods import now_utc
from shared.unit_of_work import UnitsOfWork

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class DeliveryRound:
    """What one pass of the worker did."""

    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    held: int = 0


async def deliver_due(
    units: UnitsOfWork, settings: NotificationsSettings, *, now: datetime | None = None,
    senders: Mapping[Channel, Sender] | None = None,
) -> DeliveryRound:
    """One pass: claim due deliveries (no SMS in quiet hours), send them, store the outcomes."""
    now = now or now_utc()
    held, claimed = await _claim(units, settings, now)
    if not claimed:
        return DeliveryRound(held=held)
    errors = await _send_all(claimed, senders or senders_from(settings), settings)
    policy = _retry_policy(settings)
    outcomes = [
        (due, after_attempt(error, attempts=due.attempts, channel=due.channel, now=now, tz=region_tz(due.region),
                            policy=policy))
        for due, error in zip(claimed, errors, strict=True)
    ]
    async with units.begin() as uow:
        stored = await repository.record_outcomes(uow.conn, outcomes, now)
        for due, outcome in stored:
            if (payload := announcement(due, outcome)) is not None:
                announce(uow, payload, region=due.region, correlation_id=due.correlation_id)
            for member, shared in member_announcements(due, outcome):
                announce(uow, shared, region=due.region, correlation_id=member.correlation_id)
    return _summary(stored, claimed=len(claimed), held=held)


async def work_through_due(units: UnitsOfWork, settings: NotificationsSettings) -> None:
    """The periodic worker: passes until a pass finds less than a full batch."""
    if not settings.notifications_delivery_worker:
        return
    while (await deliver_due(units, settings)).claimed >= settings.notifications_delivery_batch:
        pass


async def _claim(units: UnitsOfWork, settings: NotificationsSettings, now: datetime
                 ) -> tuple[int, list[DueDelivery]]:
    """Hold SMS due in quiet hours until 08:00, then claim what is due; (held, claimed)."""
    tz = region_tz(settings.region)
    quiet = in_quiet_hours(now, tz)
    held = 0
    async with units.begin() as uow:
        if quiet:
            held = await repository.hold_sms_until(uow.conn, now, sms_release_time(now, tz))
        claimed = await repository.claim_due_deliveries(
            uow.conn, now=now, limit=settings.notifications_delivery_batch, include_sms=not quiet,
            lease_until=now + timedelta(seconds=settings.notifications_sending_lease_s),
            digests_closed_before=now - timedelta(seconds=settings.notifications_digest_window_s),
        )
    return held, claimed


def _retry_policy(settings: NotificationsSettings) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=settings.notifications_max_attempts,
        backoff=timedelta(seconds=settings.notifications_retry_backoff_s),
        backoff_max=timedelta(seconds=settings.notifications_retry_backoff_max_s),
    )


async def _send_all(claimed: Sequence[DueDelivery], senders: Mapping[Channel, Sender],
                    settings: NotificationsSettings) -> list[str | None]:
    gate = asyncio.Semaphore(settings.notifications_delivery_concurrency)

    async def attempt(due: DueDelivery) -> str | None:
        async with gate:
            return await _attempt(due, senders[due.channel], settings.notifications_send_timeout_s)

    return list(await asyncio.gather(*(attempt(due) for due in claimed)))


async def _attempt(due: DueDelivery, sender: Sender, timeout_s: float) -> str | None:
    """None when the channel took the message, else why not."""
    if (refused := attempt_refused(due)) is not None:
        return refused
    message = OutgoingMessage(due.notification_id, due.address, due.message_sent.title, text_for(due),
                              due.language)
    try:
        async with asyncio.timeout(timeout_s):
            await sender.send(message)
    except Exception as error:  # whatever a channel raises is that attempt's error
        return f"{type(error).__name__}: {error}"[:1000]
    return None


def _summary(stored: list[tuple[DueDelivery, Outcome]], *, claimed: int, held: int) -> DeliveryRound:
    statuses = [outcome.status for _, outcome in stored]
    summary = DeliveryRound(claimed=claimed, delivered=statuses.count("delivered"),
                            retrying=statuses.count("pending"), failed=statuses.count("failed"), held=held)
    for due, outcome in stored:
        if outcome.status == "failed":
            log.warning("notification failed for good", notification_id=str(due.notification_id),
                        channel=due.channel, attempts=due.attempts)
    log.info("deliveries attempted", delivered=summary.delivered, retrying=summary.retrying,
             failed=summary.failed)
    return summary
