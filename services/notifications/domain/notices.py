"""A notice and its deliveries, from the moment it is composed to the moment it is shown.

``compose`` words a notice for a person in their language and lays out its deliveries: the
inbox at once, SMS and e-mail pending (an SMS decided in quiet hours waits for 08:00), or
nothing when the person switched the notice off. ``DueDelivery`` is a delivery a worker
claimed; ``attempt_refused``/``text_for`` say what it may send, and ``announcement`` which
event a delivery's outcome is announced with. ``InboxEntry`` is a notice as the person sees it.
``reminders`` are the notices of a day's reminder scan.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from services.notifications.domain.model import (
    DIGESTED_TEMPLATES,
    INBOX,
    SMS,
    Channel,
    Message,
    Recipient,
    channels_for,
    language_for,
)
from services.notifications.domain.reminders import OpenBill, reminder_template
from services.notifications.domain.templates import digest, email_text, render, sms_text, variables
from services.notifications.domain.timing import Outcome, earliest_send, region_tz
from shared.events import NotificationDelivered, NotificationFailed

NOTIFICATION_NAMESPACE = uuid.UUID("2d8a3c71-4f0e-4b8e-9a35-6c1f0e7d9b42")


@dataclass(frozen=True)
class NewDelivery:
    channel: Channel
    status: Literal["pending", "delivered"]
    next_attempt_at: datetime | None


@dataclass(frozen=True)
class NewNotification:
    notification_id: uuid.UUID
    person_id: uuid.UUID
    region: str
    template: str
    caused_by: uuid.UUID
    correlation_id: uuid.UUID
    language: str
    message: Message
    created_at: datetime
    deliveries: tuple[NewDelivery, ...]


def notification_id_for(caused_by: uuid.UUID, template: str) -> uuid.UUID:
    """The same event and template always make the same notification id."""
    return uuid.uuid5(NOTIFICATION_NAMESPACE, f"{caused_by}/{template}")


def new_notification(
    *,
    template: str,
    caused_by: uuid.UUID,
    correlation_id: uuid.UUID,
    region: str,
    recipient: Recipient,
    language: str,
    message: Message,
    now: datetime,
) -> NewNotification | None:
    """The notice with its deliveries: the inbox at once, SMS and e-mail pending (an SMS
    decided in quiet hours waits for 08:00). None when the person switched this notice off."""
    channels = channels_for(template, recipient)
    if channels is None:
        return None
    tz = region_tz(region)
    deliveries = tuple(
        NewDelivery(INBOX, "delivered", None) if channel == INBOX
        else NewDelivery(channel, "pending", earliest_send(channel, now, tz))
        for channel in channels
    )
    return NewNotification(
        notification_id=notification_id_for(caused_by, template), person_id=recipient.person_id, region=region,
        template=template, caused_by=caused_by, correlation_id=correlation_id, language=language,
        message=message, created_at=now, deliveries=deliveries,
    )


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


def joins_a_digest(notice: NewNotification, delivery: NewDelivery) -> bool:
    """Whether this delivery goes out in a digest: the outside channels of a digested kind of notice."""
    return notice.template in DIGESTED_TEMPLATES and delivery.channel != INBOX


def inbox_delivered(notice: NewNotification) -> NotificationDelivered:
    """A recorded notice is in the inbox at once, and that delivery is announced like the others."""
    return NotificationDelivered(notification_id=notice.notification_id, person_id=notice.person_id,
                                 channel=INBOX, template=notice.template, caused_by=notice.caused_by, error=None)


# --- delivering -------------------------------------------------------------------------


@dataclass(frozen=True)
class DigestMember:
    """A notice that goes out inside another's delivery (the digest's lead) on the same channel."""

    notification_id: uuid.UUID
    caused_by: uuid.UUID
    correlation_id: uuid.UUID
    message: Message


@dataclass(frozen=True)
class DueDelivery:
    """A delivery a worker claimed: the notice, its channel, and the address we know now; for
    the lead of a digest, the notices that go out with it (``members``, oldest first)."""

    notification_id: uuid.UUID
    channel: Channel
    attempts: int  # including the one about to be made
    person_id: uuid.UUID
    region: str
    template: str
    caused_by: uuid.UUID
    correlation_id: uuid.UUID
    language: str
    message: Message
    phone: str | None
    email: str | None
    members: tuple[DigestMember, ...] = ()

    @property
    def address(self) -> str | None:
        return self.phone if self.channel == SMS else self.email

    @property
    def message_sent(self) -> Message:
        """What goes out: the notice, or for a digest one message listing it and its members."""
        if not self.members:
            return self.message
        return digest(self.language, [self.message, *(member.message for member in self.members)])


def attempt_refused(due: DueDelivery) -> str | None:
    """Why the attempt cannot even be made (no address on record), or None."""
    if due.address:
        return None
    return "no phone number on record" if due.channel == SMS else "no e-mail address on record"


def text_for(due: DueDelivery) -> str:
    """The text sent on the delivery's channel: signed for SMS, with the footer for e-mail."""
    message = due.message_sent
    return sms_text(due.language, message) if due.channel == SMS else email_text(due.language, message)


def announcement(due: DueDelivery, outcome: Outcome) -> NotificationDelivered | NotificationFailed | None:
    """The event an attempt's outcome is announced with: none while it is still to be retried."""
    if outcome.status == "pending":
        return None
    kind = NotificationDelivered if outcome.status == "delivered" else NotificationFailed
    return kind(notification_id=due.notification_id, person_id=due.person_id, channel=due.channel,
                template=due.template, caused_by=due.caused_by, error=outcome.error)


def member_announcements(due: DueDelivery, outcome: Outcome
                         ) -> list[tuple[DigestMember, NotificationDelivered | NotificationFailed]]:
    """Each member of a digest shares its lead's outcome, announced in the member's own chain."""
    if outcome.status == "pending":
        return []
    kind = NotificationDelivered if outcome.status == "delivered" else NotificationFailed
    return [(member, kind(notification_id=member.notification_id, person_id=due.person_id, channel=due.channel,
                          template=due.template, caused_by=member.caused_by, error=outcome.error))
            for member in due.members]


# --- the inbox as the person sees it -------------------------------------------------------


@dataclass(frozen=True)
class DeliveryState:
    """One channel of a recorded notice, as it stands."""

    channel: Channel
    status: Literal["pending", "sending", "delivered", "failed", "digested"]
    attempts: int
    error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None


@dataclass(frozen=True)
class InboxEntry:
    """A recorded notice with the state of each of its channels (inbox, SMS, e-mail order)."""

    notification_id: uuid.UUID
    template: str
    caused_by: uuid.UUID
    language: str
    message: Message
    created_at: datetime
    deliveries: tuple[DeliveryState, ...]


# --- reminders ----------------------------------------------------------------------------


def reminders(open_bills: Iterable[tuple[OpenBill, Recipient]], *, as_of: date, now: datetime
              ) -> list[NewNotification]:
    """The reminders of business date ``as_of``: one per open bill due 7 days or 1 day later, about
    the bill's PremiumDue and in its chain, unless the person switched reminders off."""
    notices = []
    for bill, recipient in open_bills:
        template = reminder_template(bill.due_date, as_of)
        if template is None:
            continue
        notice = compose(
            template=template, caused_by=bill.due_event_id, correlation_id=bill.correlation_id,
            region=bill.region, recipient=recipient, variables_for=variables.payment_reminder(bill), now=now,
        )
        if notice is not None:
            notices.append(notice)
    return notices
