"""Digest (issue 16): a burst of overdue notices for one person goes out as one message per channel
once the window has passed, listing every one; the inbox keeps each notice; each is announced."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from shared.periods import now_utc
from tests.unit.notifications.examples import a_person, an_application, an_overdue_notice
from tests.unit.notifications.fakes import RecordingSender

from .conftest import beijing_time, notifications_service

pytestmark = pytest.mark.integration

BURST = 50
NOON = beijing_time(1, 12, 0)


@pytest.fixture(scope="module")
async def notifications(infrastructure, tmp_path_factory):
    async with notifications_service(infrastructure, tmp_path_factory.mktemp("sink"),
                                     notifications_delivery_worker=False,
                                     notifications_digest_window_s=600) as service:
        yield service


async def a_burst(notifications, person, count: int) -> list:
    envelopes = [await notifications.publish(an_overdue_notice(person, level=(1, 30, 60, 90)[i % 4], days=i + 1))
                 for i in range(count)]
    return [await notifications.notice_about(envelope) for envelope in envelopes]


def sent_to(senders, channel: str, notices) -> list:
    ids = {notice["notification_id"] for notice in notices}
    return [message for message in senders[channel].sent if message.notification_id in ids]


async def test_a_burst_of_overdue_notices_is_one_message_per_channel_once_the_window_has_passed(notifications):
    person = a_person()
    await notifications.notice_about(await notifications.publish(an_application(person, language="en")))
    senders = {"sms": RecordingSender("sms"), "email": RecordingSender("email")}

    await notifications.deliver(NOON, senders)  # the application's notice goes first

    notices = await a_burst(notifications, person, BURST)
    early = await notifications.deliver(now_utc() + timedelta(minutes=1), senders)  # inside the window
    assert early.claimed == 0 and sent_to(senders, "sms", notices) == sent_to(senders, "email", notices) == []

    await notifications.deliver(NOON, senders)

    [sms] = sent_to(senders, "sms", notices)
    [email] = sent_to(senders, "email", notices)
    assert sms.notification_id == notices[0]["notification_id"]  # the first of the burst leads
    assert sms.subject == email.subject == f"{BURST} notices: Overdue notice: 1 days late"
    assert all(f"{number}. Overdue notice" in sms.text for number in range(1, BURST + 1))
    assert sms.text.count(" is unpaid, ") == BURST
    inbox = [n for n in await notifications.inbox(person) if n["template"] == "payment_overdue"]
    assert len(inbox) == BURST
    assert {(d["channel"], d["status"]) for n in inbox for d in n["deliveries"]} == {
        ("inbox", "delivered"), ("sms", "delivered"), ("email", "delivered")}
    delivered = [e for e in await notifications.emitted("NotificationDelivered")
                 if e.data.person_id == person and e.data.template == "payment_overdue"]
    assert sorted((e.data.channel, str(e.data.notification_id)) for e in delivered) == sorted(
        (channel, str(n["notification_id"])) for n in notices for channel in ("inbox", "sms", "email"))
    assert {e.data.caused_by for e in delivered} == {n["caused_by"] for n in notices}


async def test_a_notice_after_the_digest_went_out_leads_the_next_one(notifications):
    person = a_person()
    await notifications.notice_about(await notifications.publish(an_application(person, language="en")))
    senders = {"sms": RecordingSender("sms"), "email": RecordingSender("email")}
    first = await a_burst(notifications, person, 3)
    await notifications.deliver(NOON, senders)

    later = await a_burst(notifications, person, 2)
    await notifications.deliver(NOON + timedelta(hours=1), senders)

    assert [m.notification_id for m in sent_to(senders, "sms", first + later)] == [
        first[0]["notification_id"], later[0]["notification_id"]]
    assert sent_to(senders, "sms", later)[0].subject.startswith("2 notices")


async def test_two_people_get_their_own_digests(notifications):
    people = [a_person(), a_person()]
    for person in people:
        await notifications.notice_about(await notifications.publish(an_application(person, language="en")))
    senders = {"sms": RecordingSender("sms"), "email": RecordingSender("email")}
    bursts = await asyncio.gather(*(a_burst(notifications, person, 4) for person in people))

    await notifications.deliver(NOON, senders)

    for burst in bursts:
        [message] = sent_to(senders, "sms", burst)
        assert message.subject.startswith("4 notices")
