"""What the notifications service decides, without I/O: who hears what, in which language,
on which channels, when an SMS may go out, when a failed delivery is tried again, and which
bills are due a reminder.

Vocabulary: a *notification* is one notice to one person about one event (its inbox entry);
a *delivery* is that notice on one channel (inbox, SMS, e-mail), with its own status.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo

from shared.periods import DEFAULT_TZ

Channel = Literal["inbox", "sms", "email"]
INBOX: Channel = "inbox"
SMS: Channel = "sms"
EMAIL: Channel = "email"
CHANNELS: tuple[Channel, ...] = (INBOX, SMS, EMAIL)

LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"

NOTIFICATION_NAMESPACE = uuid.UUID("2d8a3c71-4f0e-4b8e-9a35-6c1f0e7d9b42")


class Category(StrEnum):
    """How far a person may switch a notice off."""

    SERVICE = "service"  # follows the person's channel choice
    REMINDER = "reminder"  # follows the channel choice, and "reminders off" silences it
    MANDATORY = "mandatory"  # receipts and overdue notices: every channel we can reach


TEMPLATE_CATEGORIES: dict[str, Category] = {
    "application_received": Category.SERVICE,
    "materials_rejected": Category.SERVICE,
    "enrolment_active": Category.SERVICE,
    "bill_issued": Category.SERVICE,
    "payment_reminder_7d": Category.REMINDER,
    "payment_reminder_1d": Category.REMINDER,
    "payment_received": Category.MANDATORY,
    "payment_overdue": Category.MANDATORY,
    "coverage_suspended": Category.SERVICE,
    "coverage_reinstated": Category.SERVICE,
    "policy_changed": Category.SERVICE,
}
TEMPLATE_NAMES = tuple(TEMPLATE_CATEGORIES)

# --- materials ------------------------------------------------------------------------

# DOMAIN.md "Materials", kept here as data so the application-received notice can list what
# to hand in without asking the documents service. The authoritative checklist is the
# documents service's; this is a deliberate duplicate and must follow it when it changes.
_MEDICAL = frozenset({"medical_employee", "medical_resident"})
MATERIALS: tuple[tuple[str, frozenset[str] | None], ...] = (
    ("id_card", None),  # None: every programme
    ("household_register", None),
    ("social_security_card", _MEDICAL | {"pension"}),
    ("work_unit_certificate", frozenset({"pension"})),
)


def materials_for(programmes: Iterable[str]) -> tuple[str, ...]:
    """The materials an application for ``programmes`` needs, in the table's order."""
    wanted = set(programmes)
    return tuple(material for material, needed_for in MATERIALS if needed_for is None or wanted & needed_for)


# --- the person -----------------------------------------------------------------------


@dataclass(frozen=True)
class Contact:
    """How to reach a person, as their latest application gave it."""

    person_id: uuid.UUID
    region: str
    phone: str
    email: str | None
    language: str


@dataclass(frozen=True)
class Preferences:
    """What the person chose: outside channels (the inbox is always on), language, reminders."""

    person_id: uuid.UUID
    channels: frozenset[Channel]
    language: str | None
    reminders: bool


@dataclass(frozen=True)
class Recipient:
    person_id: uuid.UUID
    contact: Contact | None
    preferences: Preferences | None


def language_for(recipient: Recipient) -> str:
    """The preferred language if set, else the application's, else Chinese."""
    if recipient.preferences is not None and recipient.preferences.language:
        return recipient.preferences.language
    if recipient.contact is not None:
        return recipient.contact.language
    return DEFAULT_LANGUAGE


def reachable_channels(contact: Contact | None) -> tuple[Channel, ...]:
    """Outside channels we have an address for. Every application carries a phone number, so
    SMS is assumed even before the application reaches us (the number is looked up at delivery)."""
    if contact is None or not contact.email:
        return (SMS,)
    return (SMS, EMAIL)


def channels_for(template: str, recipient: Recipient) -> tuple[Channel, ...] | None:
    """The channels a notice goes out on, inbox first; None when the person switched it off."""
    category = TEMPLATE_CATEGORIES[template]
    preferences = recipient.preferences
    if category is Category.REMINDER and preferences is not None and not preferences.reminders:
        return None
    outside = reachable_channels(recipient.contact)
    if category is not Category.MANDATORY and preferences is not None:
        outside = tuple(channel for channel in outside if channel in preferences.channels)
    return (INBOX, *outside)


# --- time -----------------------------------------------------------------------------

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


# --- notifications and deliveries ------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """A rendered notice: the title (e-mail subject) and the text."""

    title: str
    body: str


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


@dataclass(frozen=True)
class DueDelivery:
    """A delivery a worker claimed: the notice, its channel, and the address we know now."""

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

    @property
    def address(self) -> str | None:
        return self.phone if self.channel == SMS else self.email


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


# --- reminders ------------------------------------------------------------------------

@dataclass(frozen=True)
class OpenBill:
    """A bill not yet paid in full, as PremiumDue announced it and PremiumPaid reduced it."""

    bill_id: uuid.UUID
    person_id: uuid.UUID
    region: str
    months: tuple[str, ...]
    total: Decimal
    paid_principal: Decimal
    due_date: date
    due_event_id: uuid.UUID  # the PremiumDue event: what a reminder is about
    correlation_id: uuid.UUID

    @property
    def outstanding(self) -> Decimal:
        return max(self.total - self.paid_principal, Decimal("0.00"))


REMINDER_TEMPLATES: dict[int, str] = {7: "payment_reminder_7d", 1: "payment_reminder_1d"}


def reminder_due_dates(as_of: date) -> list[date]:
    """The due dates whose unpaid bills get a reminder on business date ``as_of``."""
    return [as_of + timedelta(days=days) for days in REMINDER_TEMPLATES]


def reminder_template(due: date, as_of: date) -> str | None:
    """Which reminder a bill due on ``due`` gets on ``as_of`` (7 days or 1 day before), if any."""
    return REMINDER_TEMPLATES.get((due - as_of).days)
