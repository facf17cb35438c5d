"""Who hears what, on which channels, in which language: the words of the service, the
person as we know them (contact details from the application, preferences they chose), and
the rules that turn both into the channels and language of a notice.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from shared.events import ApplicationSubmitted

Channel = Literal["inbox", "sms", "email"]
INBOX: Channel = "inbox"
SMS: Channel = "sms"
EMAIL: Channel = "email"
CHANNELS: tuple[Channel, ...] = (INBOX, SMS, EMAIL)
OUTSIDE_CHANNELS: tuple[Channel, ...] = (SMS, EMAIL)

LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"


class Category(StrEnum):
    """How far a person may switch a notice off."""

    SERVICE = "service"  # follows the person's channel choice
    REMINDER = "reminder"  # follows the channel choice, and "reminders off" silences it
    CRITICAL = "critical"  # loss of cover: the person's channel choice, or every channel when they chose none
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
    "coverage_suspended": Category.CRITICAL,
    "coverage_reinstated": Category.SERVICE,
    "policy_changed": Category.SERVICE,
    "application_rejected": Category.SERVICE,
    "coverage_terminated": Category.CRITICAL,
    "refund_issued": Category.MANDATORY,
    "certificate_issued": Category.SERVICE,
}
TEMPLATE_NAMES = tuple(TEMPLATE_CATEGORIES)

DIGESTED_TEMPLATES: frozenset[str] = frozenset({"payment_overdue"})
"""Notices of these kinds for one person, arriving within the digest window, go out on SMS and e-mail as
one message listing them (a back-run can raise dozens of overdue notices at once). Each stays a notice
of its own in the inbox. A loss of cover is never digested: it must not wait."""


@dataclass(frozen=True)
class Message:
    """A rendered notice: the title (e-mail subject) and the text."""

    title: str
    body: str


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


def contact_from(application: ApplicationSubmitted) -> Contact:
    """The contact details an application gives (the latest application's win)."""
    given = application.contact
    return Contact(application.person_id, application.region, given.phone, given.email, given.language)


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
    reachable = reachable_channels(recipient.contact)
    outside = reachable
    if category is not Category.MANDATORY and preferences is not None:
        outside = tuple(channel for channel in reachable if channel in preferences.channels)
    if category is Category.CRITICAL and not outside:
        outside = reachable  # a loss of cover is never left to an inbox the person may not open
    return (INBOX, *outside)


# --- preferences ----------------------------------------------------------------------


class NoEmailAddress(ValueError):
    """E-mail was chosen for a person whose application gave no address."""

    def __init__(self) -> None:
        super().__init__("no e-mail address on record for this person")


def preferences_in_force(recipient: Recipient) -> Preferences:
    """What the person chose, or what holds until they choose: every reachable channel, the
    application's language left as it is, reminders on."""
    if recipient.preferences is not None:
        return recipient.preferences
    return Preferences(recipient.person_id, frozenset(reachable_channels(recipient.contact)), None, True)


def choose_preferences(
    recipient: Recipient, *, channels: Iterable[Channel] | None, language: str | None, reminders: bool
) -> Preferences:
    """The preferences a person asks for: ``channels`` None means every outside channel; the
    inbox is always on, so naming it changes nothing. Raises ``NoEmailAddress`` when e-mail is
    named for a person whose application gave no address."""
    chosen = OUTSIDE_CHANNELS if channels is None else tuple(channel for channel in channels if channel != INBOX)
    contact = recipient.contact
    if channels is not None and EMAIL in chosen and contact is not None and not contact.email:
        raise NoEmailAddress()
    return Preferences(recipient.person_id, frozenset(chosen), language, reminders)


def shown_channels(preferences: Preferences) -> list[Channel]:
    """The channels of a person's preferences as they are shown: inbox, then SMS, then e-mail."""
    return [INBOX, *sorted(preferences.channels, key=OUTSIDE_CHANNELS.index)]
