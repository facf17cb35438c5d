"""The two jobs of the service: the delivery worker (every second: send what is due on SMS
and e-mail, after the transactions that recorded it) and the daily reminder scan.

A delivery is claimed in one short transaction (``FOR UPDATE SKIP LOCKED``, so replicas share
the work), sent outside any transaction, and its outcome stored in a second one together with
NotificationDelivered or, after the last attempt, NotificationFailed. A worker that dies
between the two leaves its claim to expire; the message may then go out twice (at least once).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import structlog

from services.notifications import notices, repository
from services.notifications.channels import OutgoingMessage, Sender, senders_from
from services.notifications.domain import (
    SMS,
    Channel,
    DueDelivery,
    Outcome,
    RetryPolicy,
    after_attempt,
    in_quiet_hours,
    region_tz,
    sms_release_time,
)
from services.notifications.settings import NotificationsSettings
from services.notifications.templates import email_text, sms_text
from shared.events import NotificationDelivered, NotificationFailed
from shared.periods import business_date, now_utc
from shared.runtime import ServiceRuntime

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
    runtime: ServiceRuntime, *, now: datetime | None = None, senders: Mapping[Channel, Sender] | None = None
) -> DeliveryRound:
    """One pass: claim due deliveries (no SMS in quiet hours), send them, store the outcomes."""
    settings: NotificationsSettings = runtime.settings
    now = now or now_utc()
    tz = region_tz(settings.region)
    quiet = in_quiet_hours(now, tz)
    held = 0
    async with runtime.pool.acquire() as conn, conn.transaction():
        if quiet:
            held = await repository.hold_sms_until(conn, now, sms_release_time(now, tz))
        claimed = await repository.claim_due_deliveries(
            conn, now=now, limit=settings.notifications_delivery_batch, include_sms=not quiet,
            lease_until=now + timedelta(seconds=settings.notifications_sending_lease_s),
        )
    if not claimed:
        return DeliveryRound(held=held)
    errors = await _send_all(claimed, senders or senders_from(settings), settings)
    policy = RetryPolicy(
        max_attempts=settings.notifications_max_attempts,
        backoff=timedelta(seconds=settings.notifications_retry_backoff_s),
        backoff_max=timedelta(seconds=settings.notifications_retry_backoff_max_s),
    )
    outcomes = [
        (due, after_attempt(error, attempts=due.attempts, channel=due.channel, now=now, tz=region_tz(due.region),
                            policy=policy))
        for due, error in zip(claimed, errors)
    ]
    async with runtime.pool.acquire() as conn, conn.transaction():
        stored = await repository.record_outcomes(conn, outcomes, now)
        await runtime.outbox.add_events(conn, [_announcement(due, outcome) for due, outcome in stored
                                               if outcome.status != "pending"])
    return _summary(stored, claimed=len(claimed), held=held)


async def _send_all(claimed: list[DueDelivery], senders: Mapping[Channel, Sender],
                    settings: NotificationsSettings) -> list[str | None]:
    gate = asyncio.Semaphore(settings.notifications_delivery_concurrency)

    async def attempt(due: DueDelivery) -> str | None:
        async with gate:
            return await _attempt(due, senders[due.channel], settings.notifications_send_timeout_s)

    return list(await asyncio.gather(*(attempt(due) for due in claimed)))


async def _attempt(due: DueDelivery, sender: Sender, timeout_s: float) -> str | None:
    """None when the channel took the message, else why not."""
    if not due.address:
        return "no phone number on record" if due.channel == SMS else "no e-mail address on record"
    text = sms_text(due.language, due.message) if due.channel == SMS else email_text(due.language, due.message)
    message = OutgoingMessage(due.notification_id, due.address, due.message.title, text, due.language)
    try:
        async with asyncio.timeout(timeout_s):
            await sender.send(message)
    except Exception as error:  # whatever a channel raises is that attempt's error
        return f"{type(error).__name__}: {error}"[:1000]
    return None


def _announcement(due: DueDelivery, outcome: Outcome):
    kind = NotificationDelivered if outcome.status == "delivered" else NotificationFailed
    return notices.outcome_envelope(
        kind, notification_id=due.notification_id, person_id=due.person_id, channel=due.channel,
        template=due.template, caused_by=due.caused_by, correlation_id=due.correlation_id, region=due.region,
        error=outcome.error,
    )


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


async def delivery_job(runtime: ServiceRuntime) -> None:
    """The periodic worker: passes until a pass finds less than a full batch."""
    settings: NotificationsSettings = runtime.settings
    if not settings.notifications_delivery_worker:
        return
    while (await deliver_due(runtime)).claimed >= settings.notifications_delivery_batch:
        pass


async def reminder_scan(runtime: ServiceRuntime, as_of: date) -> int:
    """The reminders of business date ``as_of``; returns how many notices are new."""
    async with runtime.pool.acquire() as conn, conn.transaction():
        return await notices.scan_reminders(conn, runtime.outbox, as_of, now_utc())


async def reminder_job(runtime: ServiceRuntime) -> None:
    # hourly rather than daily: a restart cannot skip a day, and a repeat the same day adds nothing
    created = await reminder_scan(runtime, business_date(now_utc(), runtime.settings.tz))
    log.info("reminder scan", reminders=created)
