"""Delivery after commit: a channel that keeps failing is retried up to the limit and then
announced as NotificationFailed, while the other channels of the same notice go out."""

from __future__ import annotations

import pytest

from tests.unit.notifications.examples import a_payment, a_person, an_application
from tests.unit.notifications.fakes import FailingSender, RecordingSender, SmsGateway, serving

from .conftest import beijing_time, notifications_service

pytestmark = pytest.mark.integration

NOON = beijing_time(1, 12, 0)


@pytest.fixture(scope="module")
async def broken_gateway():
    async with serving(SmsGateway(status=500)) as gateway:
        yield gateway


@pytest.fixture(scope="module")
async def notifications(infrastructure, tmp_path_factory, broken_gateway):
    async with notifications_service(
        infrastructure, tmp_path_factory.mktemp("sink"), notifications_delivery_worker=False,
        notifications_sms_transport="http", notifications_sms_gateway_url=broken_gateway.url,
        notifications_max_attempts=3, notifications_retry_backoff_s=0,
    ) as service:
        yield service


async def a_receipt(notifications):
    person = a_person()
    await notifications.notice_about(await notifications.publish(an_application(person, language="en")))
    payment = await notifications.publish(a_payment(person))
    return person, await notifications.notice_about(payment)


async def test_a_failing_sms_gateway_is_retried_then_fails_without_holding_up_email(notifications, broken_gateway):
    person, receipt = await a_receipt(notifications)
    notice_id = receipt["notification_id"]
    calls_before = len(broken_gateway.requests)

    rounds = [await notifications.deliver(NOON) for _ in range(4)]

    deliveries = await notifications.deliveries(notice_id)
    assert (deliveries["email"]["status"], deliveries["email"]["attempts"]) == ("delivered", 1)
    assert (deliveries["sms"]["status"], deliveries["sms"]["attempts"]) == ("failed", 3)
    assert deliveries["sms"]["last_error"] == "DeliveryError: SMS gateway answered 500"
    assert rounds[-1].claimed == 0  # nothing left to try
    assert sum(1 for r in broken_gateway.requests[calls_before:] if r["reference"] == str(notice_id)) == 3
    [failed] = await notifications.emitted("NotificationFailed", notice_id)
    assert (failed.data.channel, failed.data.template, failed.data.person_id) == ("sms", "payment_received", person)
    assert failed.data.caused_by == receipt["caused_by"] and failed.causationid == receipt["caused_by"]
    assert failed.data.error == "DeliveryError: SMS gateway answered 500"
    assert [e.data.channel for e in await notifications.emitted("NotificationDelivered", notice_id)] == [
        "inbox", "email"]
    [shown] = [n for n in await notifications.inbox(person) if n["notification_id"] == str(notice_id)]
    assert [(d["channel"], d["status"], d["attempts"]) for d in shown["deliveries"]] == [
        ("inbox", "delivered", 0), ("sms", "failed", 3), ("email", "delivered", 1)]


async def test_any_sender_that_fails_is_retried_up_to_the_limit(notifications):
    _, receipt = await a_receipt(notifications)
    email_down, sms = FailingSender("email"), RecordingSender("sms")

    for _ in range(3):
        await notifications.deliver(NOON, senders={"email": email_down, "sms": sms})

    deliveries = await notifications.deliveries(receipt["notification_id"])
    assert (deliveries["email"]["status"], deliveries["email"]["attempts"]) == ("failed", 3)
    assert deliveries["email"]["last_error"] == "DeliveryError: email provider down"
    assert deliveries["sms"]["status"] == "delivered"
    [sent] = [m for m in sms.sent if m.notification_id == receipt["notification_id"]]
    assert sent.to == "13812345678" and sent.text.startswith("[Shebao] We received your payment of ¥2,017.32")
    assert len(await notifications.emitted("NotificationFailed", receipt["notification_id"])) == 1

