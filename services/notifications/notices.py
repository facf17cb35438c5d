"""Making notices: word one for a person, record it with its deliveries, and announce the
inbox delivery, all inside the caller's transaction. The event handlers and the daily
reminder scan both come through here; sending on the outside channels happens later,
after commit (``delivery.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime

import asyncpg

from services.notifications import repository
from services.notifications.domain import (
    INBOX,
    NewNotification,
    Recipient,
    language_for,
    new_notification,
    reminder_due_dates,
    reminder_template,
)
from services.notifications.templates import render, variables
from shared.events import Envelope, NotificationDelivered, NotificationFailed, make_envelope
from shared.outbox import Outbox


def compose(
    *, template: str, caused_by: uuid.UUID, correlation_id: uuid.UUID, region: str, recipient: Recipient,
    variables_for: variables.VariablesFor, now: datetime,
) -> NewNotification | None:
    """The notice worded in the person's language, or None when they switched it off."""
    language = language_for(recipient)
    return new_notification(
        template=template, caused_by=caused_by, correlation_id=correlation_id, region=region,
        recipient=recipient, language=language, message=render(template, language, variables_for), now=now,
    )


async def record(conn: asyncpg.Connection, outbox: Outbox, notifications: Sequence[NewNotification]) -> int:
    """Store the notices not recorded before and emit NotificationDelivered for their inbox entry."""
    new = await repository.record_notifications(conn, notifications)
    await outbox.add_events(conn, [
        outcome_envelope(NotificationDelivered, notification_id=n.notification_id, person_id=n.person_id,
                         channel=INBOX, template=n.template, caused_by=n.caused_by,
                         correlation_id=n.correlation_id, region=n.region)
        for n in new
    ])
    return len(new)


def outcome_envelope(
    kind: type[NotificationDelivered] | type[NotificationFailed], *, notification_id: uuid.UUID,
    person_id: uuid.UUID, channel: str, template: str, caused_by: uuid.UUID, correlation_id: uuid.UUID,
    region: str, error: str | None = None,
) -> Envelope:
    payload = kind(notification_id=notification_id, person_id=person_id, channel=channel, template=template,
                   caused_by=caused_by, error=error)
    return make_envelope(payload, subject=str(notification_id), region=region, correlationid=correlation_id,
                         causationid=caused_by)


async def scan_reminders(conn: asyncpg.Connection, outbox: Outbox, as_of: date, now: datetime) -> int:
    """Remind every person whose bill falls due in 7 days or tomorrow and is not paid in full.
    Running it again on the same day (or concurrently) adds nothing. Returns the new notices."""
    notices = []
    for bill, recipient in await repository.unpaid_bills_due_on(conn, reminder_due_dates(as_of)):
        template = reminder_template(bill.due_date, as_of)
        notice = compose(
            template=template, caused_by=bill.due_event_id, correlation_id=bill.correlation_id,
            region=bill.region, recipient=recipient, variables_for=variables.payment_reminder(bill), now=now,
        )
        if notice is not None:
            notices.append(notice)
    return await record(conn, outbox, notices)
