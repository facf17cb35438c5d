"""What a person may choose and what holds until they do: the decisions behind the
preferences routes, without a database."""

from __future__ import annotations

import uuid

import pytest

from services.notifications.domain.model import (
    EMAIL,
    INBOX,
    SMS,
    Contact,
    NoEmailAddress,
    Preferences,
    Recipient,
    choose_preferences,
    preferences_in_force,
    shown_channels,
)

PERSON = uuid.uuid4()


def an_applicant(*, email: str | None = "lei.li@example.com", chose: Preferences | None = None) -> Recipient:
    return Recipient(PERSON, Contact(PERSON, "110000", "13812345678", email, "zh-CN"), chose)


def a_stranger() -> Recipient:
    """A person whose application has not reached us (yet)."""
    return Recipient(PERSON, None, None)


def test_until_a_person_chooses_every_reachable_channel_and_reminders_hold():
    assert preferences_in_force(an_applicant()) == Preferences(PERSON, frozenset({SMS, EMAIL}), None, True)
    assert preferences_in_force(an_applicant(email=None)) == Preferences(PERSON, frozenset({SMS}), None, True)
    assert preferences_in_force(a_stranger()).channels == frozenset({SMS})


def test_a_choice_once_made_is_what_holds():
    chosen = Preferences(PERSON, frozenset({EMAIL}), "en", False)
    assert preferences_in_force(an_applicant(chose=chosen)) is chosen


def test_naming_no_channels_means_every_outside_channel():
    chosen = choose_preferences(an_applicant(), channels=None, language="en", reminders=False)
    assert chosen == Preferences(PERSON, frozenset({SMS, EMAIL}), "en", False)


def test_the_inbox_cannot_be_chosen_away_so_naming_it_changes_nothing():
    chosen = choose_preferences(an_applicant(), channels=[INBOX, EMAIL], language=None, reminders=True)
    assert chosen.channels == frozenset({EMAIL})
    assert choose_preferences(an_applicant(), channels=[INBOX], language=None, reminders=True).channels == frozenset()


def test_email_cannot_be_chosen_without_an_address_on_record():
    with pytest.raises(NoEmailAddress, match="no e-mail address on record for this person"):
        choose_preferences(an_applicant(email=None), channels=[SMS, EMAIL], language=None, reminders=True)


def test_without_an_address_everything_but_naming_email_is_allowed():
    # "every channel" and choices about other things do not trip the rule
    no_email = an_applicant(email=None)
    every = choose_preferences(no_email, channels=None, language=None, reminders=False)
    assert (every.channels, every.reminders) == ({SMS, EMAIL}, False)
    assert choose_preferences(no_email, channels=[SMS], language=None, reminders=True).channels == {SMS}


def test_email_may_be_chosen_before_the_application_arrives():
    # nothing on record yet to contradict it; the address is looked up when the e-mail goes out
    assert choose_preferences(a_stranger(), channels=[EMAIL], language=None, reminders=True).channels == {EMAIL}


def test_channels_are_shown_inbox_first_then_sms_then_email():
    assert shown_channels(Preferences(PERSON, frozenset({EMAIL, SMS}), None, True)) == [INBOX, SMS, EMAIL]
    assert shown_channels(Preferences(PERSON, frozenset({EMAIL}), None, True)) == [INBOX, EMAIL]
    assert shown_channels(Preferences(PERSON, frozenset(), None, True)) == [INBOX]
