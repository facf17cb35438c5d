"""Who hears what, on which channel, when: the rules without any I/O."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.notifications.domain.model import (
    EMAIL,
    INBOX,
    SMS,
    Contact,
    Message,
    Preferences,
    Recipient,
    channels_for,
    language_for,
    materials_for,
)
from services.notifications.domain.notices import new_notification, notification_id_for
from services.notifications.domain.reminders import reminder_due_dates, reminder_template
from services.notifications.domain.timing import RetryPolicy, after_attempt, in_quiet_hours, sms_release_time
from shared.periods import DEFAULT_TZ as BEIJING_TIME

PERSON = uuid.uuid4()


def beijing(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 8, day, hour, minute, tzinfo=BEIJING_TIME)


def a_recipient(*, language: str = "zh-CN", email: str | None = "lei.li@example.com", channels=None,
                preferred_language: str | None = None, reminders: bool = True, known: bool = True) -> Recipient:
    contact = Contact(PERSON, "110000", "13812345678", email, language) if known else None
    preferences = None
    if channels is not None or preferred_language is not None or not reminders:
        preferences = Preferences(PERSON, frozenset(channels if channels is not None else {SMS, EMAIL}),
                                  preferred_language, reminders)
    return Recipient(PERSON, contact, preferences)


# quiet hours


@pytest.mark.parametrize(("local", "quiet"), [
    (beijing(10, 21, 59), False),
    (beijing(10, 22, 0), True),
    (beijing(11, 7, 59), True),
    (beijing(11, 8, 0), False),
])
def test_sms_is_quiet_from_22_00_until_08_00_region_time(local, quiet):
    assert in_quiet_hours(local, BEIJING_TIME) is quiet
    assert in_quiet_hours(local.astimezone(UTC), BEIJING_TIME) is quiet


@pytest.mark.parametrize(("decided", "sent"), [
    (beijing(10, 21, 59), beijing(10, 21, 59)),
    (beijing(10, 22, 0), beijing(11, 8, 0)),
    (beijing(10, 23, 30), beijing(11, 8, 0)),
    (beijing(11, 0, 0), beijing(11, 8, 0)),
    (beijing(11, 7, 59), beijing(11, 8, 0)),
    (beijing(11, 8, 0), beijing(11, 8, 0)),
])
def test_an_sms_decided_in_quiet_hours_waits_until_08_00(decided, sent):
    assert sms_release_time(decided.astimezone(UTC), BEIJING_TIME) == sent


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)))
def test_release_time_is_never_quiet_never_early_and_at_most_ten_hours_late(at):
    release = sms_release_time(at, BEIJING_TIME)
    assert release >= at
    assert not in_quiet_hours(release, BEIJING_TIME)
    assert release - at <= timedelta(hours=10)
    assert (release == at) is not in_quiet_hours(at, BEIJING_TIME)


def test_a_new_notice_is_in_the_inbox_at_once_and_holds_its_sms_at_night():
    night = beijing(10, 23, 0)
    notice = new_notification(template="bill_issued", caused_by=uuid.uuid4(), correlation_id=uuid.uuid4(),
                              region="110000", recipient=a_recipient(), language="zh-CN",
                              message=Message("t", "b"), now=night)

    deliveries = {delivery.channel: delivery for delivery in notice.deliveries}
    assert deliveries[INBOX].status == "delivered"
    assert deliveries[SMS].next_attempt_at == beijing(11, 8, 0)
    assert deliveries[EMAIL].next_attempt_at == night


# channels and language


def test_by_default_every_reachable_channel():
    assert channels_for("bill_issued", a_recipient()) == (INBOX, SMS, EMAIL)
    assert channels_for("bill_issued", a_recipient(email=None)) == (INBOX, SMS)
    assert channels_for("bill_issued", a_recipient(known=False)) == (INBOX, SMS)


def test_the_person_chooses_the_outside_channels_but_the_inbox_stays():
    assert channels_for("policy_changed", a_recipient(channels={EMAIL})) == (INBOX, EMAIL)
    assert channels_for("policy_changed", a_recipient(channels=set())) == (INBOX,)


def test_reminders_off_silences_reminders_only():
    quiet_person = a_recipient(reminders=False)
    assert channels_for("payment_reminder_7d", quiet_person) is None
    assert channels_for("payment_reminder_1d", quiet_person) is None
    assert channels_for("bill_issued", quiet_person) == (INBOX, SMS, EMAIL)


@pytest.mark.parametrize("template", ["payment_received", "payment_overdue", "refund_issued"])
def test_receipts_and_overdue_notices_cannot_be_switched_off(template):
    opted_out = a_recipient(channels=set(), reminders=False)
    assert channels_for(template, opted_out) == (INBOX, SMS, EMAIL)


@pytest.mark.parametrize("template", ["coverage_suspended", "coverage_terminated"])
def test_a_loss_of_cover_goes_out_whatever_was_switched_off_on_the_channels_chosen(template):
    assert channels_for(template, a_recipient(channels=set(), reminders=False)) == (INBOX, SMS, EMAIL)
    assert channels_for(template, a_recipient(channels=set(), email=None)) == (INBOX, SMS)
    assert channels_for(template, a_recipient(channels={EMAIL})) == (INBOX, EMAIL)  # the choice of channel holds
    assert channels_for("policy_changed", a_recipient(channels=set())) == (INBOX,)  # an optional notice does not


def test_language_is_the_preference_then_the_application_then_chinese():
    assert language_for(a_recipient(language="en")) == "en"
    assert language_for(a_recipient(language="en", preferred_language="zh-CN")) == "zh-CN"
    assert language_for(a_recipient(known=False)) == "zh-CN"


def test_one_notification_id_per_event_and_template():
    event = uuid.uuid4()
    assert notification_id_for(event, "bill_issued") == notification_id_for(event, "bill_issued")
    assert notification_id_for(event, "bill_issued") != notification_id_for(event, "payment_reminder_7d")


# materials (DOMAIN.md table)


@pytest.mark.parametrize(("programmes", "materials"), [
    (["pension"], ("id_card", "household_register", "social_security_card", "work_unit_certificate")),
    (["medical_employee"], ("id_card", "household_register", "social_security_card")),
    (["unemployment"], ("id_card", "household_register")),
    (["unemployment", "medical_resident"], ("id_card", "household_register", "social_security_card")),
])
def test_materials_to_hand_in_follow_the_programmes(programmes, materials):
    assert materials_for(programmes) == materials


# retries


POLICY = RetryPolicy(max_attempts=4, backoff=timedelta(seconds=30), backoff_max=timedelta(minutes=1))


def test_a_failed_attempt_is_retried_with_growing_backoff_until_the_limit():
    noon = beijing(10, 12, 0)
    waits = [after_attempt("500", attempts=n, channel=EMAIL, now=noon, tz=BEIJING_TIME, policy=POLICY)
             for n in (1, 2, 3)]
    assert [outcome.status for outcome in waits] == ["pending"] * 3
    assert [outcome.next_attempt_at - noon for outcome in waits] == [
        timedelta(seconds=30), timedelta(seconds=60), timedelta(seconds=60)]

    last = after_attempt("500", attempts=4, channel=EMAIL, now=noon, tz=BEIJING_TIME, policy=POLICY)
    assert (last.status, last.next_attempt_at, last.error) == ("failed", None, "500")


def test_an_sms_retry_never_lands_in_quiet_hours():
    late = beijing(10, 21, 59)
    retry = after_attempt("timeout", attempts=2, channel=SMS, now=late, tz=BEIJING_TIME, policy=POLICY)
    assert retry.next_attempt_at == beijing(11, 8, 0)  # 22:00 is quiet

    email = after_attempt("timeout", attempts=2, channel=EMAIL, now=late, tz=BEIJING_TIME, policy=POLICY)
    assert email.next_attempt_at == beijing(10, 22, 0)


def test_a_successful_attempt_is_delivered():
    assert after_attempt(None, attempts=3, channel=SMS, now=beijing(10, 9), tz=BEIJING_TIME,
                         policy=POLICY).status == "delivered"


# reminders


def test_reminders_go_seven_days_and_one_day_before_the_due_date():
    as_of = date(2025, 8, 8)
    assert reminder_due_dates(as_of) == [date(2025, 8, 15), date(2025, 8, 9)]
    assert reminder_template(date(2025, 8, 15), as_of) == "payment_reminder_7d"
    assert reminder_template(date(2025, 8, 9), as_of) == "payment_reminder_1d"
    assert reminder_template(date(2025, 8, 11), as_of) is None
    assert reminder_template(date(2025, 8, 8), as_of) is None
