"""How the notifications service's answers look: the JSON of a person's inbox, of their
preferences, and of a reminder scan, shaped from what the operations return."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel

from services.notifications.domain.model import Preferences, shown_channels
from services.notifications.domain.notices import DeliveryState, InboxEntry


class DeliveryOut(BaseModel):
    channel: str
    status: Literal["pending", "sending", "delivered", "failed", "digested"]
    attempts: int
    error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None


class NotificationOut(BaseModel):
    notification_id: uuid.UUID
    template: str
    caused_by: uuid.UUID
    language: str
    title: str
    text: str
    created_at: datetime
    deliveries: list[DeliveryOut]


class InboxOut(BaseModel):
    person_id: uuid.UUID
    notifications: list[NotificationOut]


class PreferencesOut(BaseModel):
    person_id: uuid.UUID
    channels: list[str]
    language: str | None
    reminders: bool
    # shown so a client sees they exist; they cannot be switched off
    receipts: bool = True
    overdue_notices: bool = True
    loss_of_cover_notices: bool = True  # suspension, termination: on the chosen channels, or all if none


class ReminderScanOut(BaseModel):
    as_of: date
    reminders: int
    dry_run: bool = False


def inbox_out(person_id: uuid.UUID, entries: Sequence[InboxEntry]) -> InboxOut:
    return InboxOut(person_id=person_id, notifications=[_notification_out(entry) for entry in entries])


def preferences_out(preferences: Preferences) -> PreferencesOut:
    return PreferencesOut(person_id=preferences.person_id, channels=shown_channels(preferences),
                          language=preferences.language, reminders=preferences.reminders)


def reminder_scan_out(as_of: date, reminders: int, *, dry_run: bool = False) -> ReminderScanOut:
    return ReminderScanOut(as_of=as_of, reminders=reminders, dry_run=dry_run)


def _notification_out(entry: InboxEntry) -> NotificationOut:
    return NotificationOut(
        notification_id=entry.notification_id, template=entry.template, caused_by=entry.caused_by,
        language=entry.language, title=entry.message.title, text=entry.message.body, created_at=entry.created_at,
        deliveries=[_delivery_out(delivery) for delivery in entry.deliveries],
    )


def _delivery_out(delivery: DeliveryState) -> DeliveryOut:
    return DeliveryOut(channel=delivery.channel, status=delivery.status, attempts=delivery.attempts,
                       error=delivery.error, next_attempt_at=delivery.next_attempt_at,
                       delivered_at=delivery.delivered_at)
