"""The notices of issue 16 over the real broker and database: an application refused, cover
ended, a refund, a certificate ready; and a loss of cover reaches the person on an outside
channel even when every optional notice is switched off."""

from __future__ import annotations

import pytest

from tests.unit.notifications.examples import (
    a_certificate,
    a_person,
    a_refund,
    a_suspension,
    a_termination,
    an_application,
    an_application_rejection,
)
from tests.unit.notifications.fakes import RecordingSender

from .conftest import beijing_time, notifications_service

pytestmark = pytest.mark.integration

NOON = beijing_time(1, 12, 0)


@pytest.fixture(scope="module")
async def notifications(infrastructure, tmp_path_factory):
    async with notifications_service(infrastructure, tmp_path_factory.mktemp("sink"),
                                     notifications_delivery_worker=False) as service:
        yield service


async def an_applicant(notifications):
    person = a_person()
    await notifications.notice_about(await notifications.publish(an_application(person, language="en")))
    return person


async def switch_everything_off(notifications, person) -> None:
    response = await notifications.client.put(
        f"/v1/persons/{person}/preferences", json={"channels": [], "reminders": False},
        headers=notifications.auth("resident", sub=person))
    assert response.status_code == 200, response.text
    assert response.json()["channels"] == ["inbox"]


@pytest.mark.parametrize(("event", "template", "words"), [
    (an_application_rejection, "application_rejected", "not resident in the region"),
    (a_termination, "coverage_terminated", "basic pension cover ended with March 2026"),
    (a_refund, "refund_issued", "refunded ¥582.68 to you via Alipay, UnionPay"),
    (a_certificate, "certificate_issued", "no. 110000-C2026-00000007"),
])
async def test_each_step_of_the_trade_is_a_notice_in_the_persons_language(notifications, event, template, words):
    person = await an_applicant(notifications)

    notice = await notifications.notice_about(await notifications.publish(event(person)))

    assert notice["template"] == template
    [shown] = [n for n in await notifications.inbox(person) if n["template"] == template]
    assert words in shown["text"]
    assert [d["channel"] for d in shown["deliveries"]] == ["inbox", "sms", "email"]


@pytest.mark.parametrize("event", [a_suspension, a_termination])
async def test_a_loss_of_cover_reaches_the_person_with_every_optional_notice_switched_off(notifications, event):
    person = await an_applicant(notifications)
    await switch_everything_off(notifications, person)
    sms, email = RecordingSender("sms"), RecordingSender("email")

    notice = await notifications.notice_about(await notifications.publish(event(person)))
    await notifications.deliver(NOON, senders={"sms": sms, "email": email})

    assert [m.to for m in sms.sent if m.notification_id == notice["notification_id"]] == ["13812345678"]
    assert [m.to for m in email.sent if m.notification_id == notice["notification_id"]] == ["lei.li@example.com"]


async def test_an_optional_notice_stays_in_the_inbox_when_switched_off(notifications):
    person = await an_applicant(notifications)
    await switch_everything_off(notifications, person)

    notice = await notifications.notice_about(await notifications.publish(a_certificate(person)))

    deliveries = await notifications.deliveries(notice["notification_id"])
    assert set(deliveries) == {"inbox"}
