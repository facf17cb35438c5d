"""A notice from the event to the channel: composed in the person's language, its attempts'
texts and refusals, which outcome is announced, and the reminders of a day — without I/O."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from services.notifications.domain.model import EMAIL, INBOX, SMS, Contact, Message, Preferences, Recipient
from services.notifications.domain.notices import (
    DueDelivery,
    announcement,
    attempt_refused,
    compose,
    inbox_delivered,
    notification_id_for,
    reminders,
    text_for,
)
from services.notifications.domain.reminders import bill_from, principal_per_bill
from services.notifications.domain.templates import variables
from services.notifications.domain.timing import Outcome
from shared.events import NotificationDelivered, NotificationFailed
from shared.periods import DEFAULT_TZ as BEIJING_TIME

from .examples import a_bill, a_payment, a_person, an_application

NOON = datetime(2025, 8, 8, 12, 0, tzinfo=BEIJING_TIME)


def a_recipient(person: uuid.UUID, *, language: str = "en", email: str | None = "lei.li@example.com",
                reminders: bool = True) -> Recipient:
    preferences = None if reminders else Preferences(person, frozenset({SMS, EMAIL}), None, False)
    return Recipient(person, Contact(person, "110000", "13812345678", email, language), preferences)


def a_due_delivery(channel, *, language: str = "en", phone: str | None = "13812345678",
                   email: str | None = "lei.li@example.com", attempts: int = 1) -> DueDelivery:
    return DueDelivery(
        notification_id=uuid.uuid4(), channel=channel, attempts=attempts, person_id=a_person(), region="110000",
        template="payment_received", caused_by=uuid.uuid4(), correlation_id=uuid.uuid4(), language=language,
        message=Message("Payment received", "We received your payment."), phone=phone, email=email,
    )


# composing


def test_a_notice_is_worded_in_the_persons_language_about_its_event():
    person = a_person()
    caused_by, chain = uuid.uuid4(), uuid.uuid4()

    notice = compose(template="application_received", caused_by=caused_by, correlation_id=chain, region="110000",
                     recipient=a_recipient(person, language="en"),
                     variables_for=variables.application_received(an_application(person)), now=NOON)

    assert (notice.language, notice.message.title) == ("en", "Application received")
    assert "Please hand in these materials" in notice.message.body
    assert (notice.caused_by, notice.correlation_id, notice.person_id) == (caused_by, chain, person)
    assert notice.notification_id == notification_id_for(caused_by, "application_received")
    assert [d.channel for d in notice.deliveries] == [INBOX, SMS, EMAIL]


def test_a_notice_the_person_switched_off_is_not_composed():
    person = a_person()
    bill = bill_from(a_bill(person), due_event_id=uuid.uuid4(), correlation_id=uuid.uuid4())
    notice = compose(template="payment_reminder_7d", caused_by=uuid.uuid4(), correlation_id=uuid.uuid4(),
                     region="110000", recipient=a_recipient(person, reminders=False),
                     variables_for=variables.payment_reminder(bill), now=NOON)
    assert notice is None


def test_the_inbox_delivery_of_a_notice_is_announced_at_once():
    person = a_person()
    notice = compose(template="application_received", caused_by=uuid.uuid4(), correlation_id=uuid.uuid4(),
                     region="110000", recipient=a_recipient(person),
                     variables_for=variables.application_received(an_application(person)), now=NOON)

    delivered = inbox_delivered(notice)

    assert isinstance(delivered, NotificationDelivered)
    assert (delivered.notification_id, delivered.person_id, delivered.channel, delivered.template,
            delivered.caused_by, delivered.error) == (
        notice.notification_id, person, "inbox", "application_received", notice.caused_by, None)


# delivering


def test_an_attempt_without_an_address_is_refused_with_the_reason():
    assert attempt_refused(a_due_delivery(SMS, phone=None)) == "no phone number on record"
    assert attempt_refused(a_due_delivery(EMAIL, email=None)) == "no e-mail address on record"
    assert attempt_refused(a_due_delivery(SMS, email=None)) is None
    assert attempt_refused(a_due_delivery(EMAIL, phone=None)) is None


def test_an_sms_is_signed_and_an_email_has_its_footer():
    assert text_for(a_due_delivery(SMS, language="en")) == "[Shebao] We received your payment."
    assert text_for(a_due_delivery(SMS, language="zh-CN")).startswith("【社保】")
    email = text_for(a_due_delivery(EMAIL, language="en"))
    assert email.startswith("We received your payment.\n\n--\n") and "please do not reply" in email


def test_a_delivery_is_announced_when_it_is_delivered_or_failed_for_good_not_while_it_retries():
    due = a_due_delivery(SMS, attempts=3)

    delivered = announcement(due, Outcome("delivered", None, None))
    failed = announcement(due, Outcome("failed", None, "DeliveryError: SMS gateway answered 500"))
    retrying = announcement(due, Outcome("pending", NOON, "timeout"))

    assert isinstance(delivered, NotificationDelivered) and delivered.error is None
    assert isinstance(failed, NotificationFailed) and failed.error == "DeliveryError: SMS gateway answered 500"
    assert (failed.notification_id, failed.channel, failed.caused_by, failed.person_id) == (
        due.notification_id, "sms", due.caused_by, due.person_id)
    assert retrying is None


# bills and reminders


def test_a_bill_is_kept_open_from_its_premium_due_with_nothing_paid():
    person = a_person()
    due = a_bill(person, months=("2025-08", "2025-09"))
    event_id, chain = uuid.uuid4(), uuid.uuid4()

    bill = bill_from(due, due_event_id=event_id, correlation_id=chain)

    assert (bill.bill_id, bill.person_id, bill.months, bill.due_date) == (
        due.bill_id, person, ("2025-08", "2025-09"), due.due_date)
    assert (bill.total, bill.paid_principal, bill.outstanding) == (due.total, Decimal("0.00"), due.total)
    assert (bill.due_event_id, bill.correlation_id) == (event_id, chain)


def test_only_the_principal_of_a_payment_reduces_its_bill():
    payment = a_payment(a_person(), principal="2017.32", late_fee="30.26")
    assert principal_per_bill(payment) == [(payment.applied[0].bill_id, Decimal("2017.32"))]


def test_a_days_reminders_are_about_each_bills_premium_due_in_its_chain():
    as_of = date(2025, 8, 8)
    in_a_week, tomorrow, later, muted = (a_person() for _ in range(4))
    bills = {
        person: bill_from(a_bill(person, due_date=due), due_event_id=uuid.uuid4(), correlation_id=uuid.uuid4())
        for person, due in ((in_a_week, date(2025, 8, 15)), (tomorrow, date(2025, 8, 9)),
                            (later, date(2025, 8, 12)), (muted, date(2025, 8, 15)))
    }
    recipients = {person: a_recipient(person, reminders=person is not muted) for person in bills}

    notices = reminders([(bills[person], recipients[person]) for person in bills], as_of=as_of, now=NOON)

    assert [(notice.person_id, notice.template) for notice in notices] == [
        (in_a_week, "payment_reminder_7d"), (tomorrow, "payment_reminder_1d")]
    week = notices[0]
    assert (week.caused_by, week.correlation_id) == (bills[in_a_week].due_event_id, bills[in_a_week].correlation_id)
    assert "¥2,017.32 of your contributions" in week.message.body
