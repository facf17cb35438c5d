"""The service's own delivery worker sends what the handlers recorded, after their commit,
and the outcome reaches the notifications topic."""

from __future__ import annotations

import email
import email.policy

import pytest

from shared.events import decode_envelope, topic_for
from tests.integration.harness import eventually, read_topic
from tests.unit.notifications.examples import a_person, an_application

from .conftest import notifications_service

pytestmark = pytest.mark.integration


async def test_the_worker_sends_the_email_of_a_new_notice_and_announces_it(infrastructure, tmp_path):
    async with notifications_service(infrastructure, tmp_path) as notifications:  # worker on, as in production
        person = a_person()
        notice = await notifications.notice_about(
            await notifications.publish(an_application(person, language="en", email="lei.li@example.com")))
        eml = tmp_path / "outbox-mail" / f"{notice['notification_id']}.eml"

        async def email_announced():
            events = await notifications.emitted("NotificationDelivered", notice["notification_id"])
            return events if "email" in {event.data.channel for event in events} else None

        delivered = await eventually(email_announced, timeout_s=10)
        records = await read_topic(infrastructure.bootstrap_servers,
                                   topic_for("notifications", notifications.prefix), expected=2)

    mail = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert mail["To"] == "lei.li@example.com" and mail["Subject"] == "Application received"
    assert "Please hand in these materials" in mail.get_content()
    assert {"inbox", "email"} <= {event.data.channel for event in delivered}
    published = [decode_envelope(record.value) for record in records]
    assert {(e.type, e.data.channel) for e in published} >= {("NotificationDelivered", "inbox"),
                                                             ("NotificationDelivered", "email")}
    assert all(record.key == str(person).encode() for record in records)

