"""The deliveries job beside a mass billing run (issue 12): while a burst of bills for the same
people arrives, the consumer's batches and the worker's outcome units both write outbox rows
about those people. Both take their outbox locks in one order, so neither ever meets a
``DeadlockDetectedError``, and every delivery goes out and is announced exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from tests.integration.harness import eventually
from tests.unit.notifications.examples import a_bill, a_person, an_application
from tests.unit.notifications.fakes import RecordingSender

from .conftest import beijing_time, notifications_service

pytestmark = pytest.mark.integration

NOON = beijing_time(1, 12, 0)
PEOPLE = 30
BILLS_EACH = 4


@pytest.fixture(scope="module")
async def notifications(infrastructure, tmp_path_factory):
    async with notifications_service(
        infrastructure, tmp_path_factory.mktemp("sink"), notifications_delivery_worker=False,
        notifications_delivery_batch=10, notifications_delivery_concurrency=4,
    ) as service:
        yield service


async def deliveries_of(notifications, bill_ids: set) -> list:
    async with notifications.service.pool.acquire() as conn:
        return await conn.fetch(
            "SELECT d.notification_id, d.channel, d.status FROM deliveries d "
            "JOIN notifications n USING (notification_id) "
            "WHERE n.caused_by = ANY($1::uuid[])", list(bill_ids))


async def test_the_worker_beside_a_burst_of_bills_never_deadlocks_and_sends_each_once(notifications):
    people = [a_person() for _ in range(PEOPLE)]
    for person in people:
        await notifications.notice_about(await notifications.publish(an_application(person, language="en")))
    senders = {"sms": RecordingSender("sms"), "email": RecordingSender("email")}
    billing_done = asyncio.Event()

    async def billing_run() -> set:
        published = set()
        for round_ in range(BILLS_EACH):
            for person in people:
                month = f"2025-{round_ + 8:02d}"
                envelope = await notifications.publish(a_bill(person, months=(month,)))
                published.add(envelope.id)
        billing_done.set()
        return published

    async def worker() -> int:
        rounds = 0
        while True:
            billed = billing_done.is_set()
            claimed = (await notifications.deliver(NOON, senders)).claimed  # raised DeadlockDetectedError before
            rounds += 1
            if billed and not claimed:
                return rounds
            if not claimed:
                await asyncio.sleep(0.05)

    bills, rounds = await asyncio.wait_for(asyncio.gather(billing_run(), worker()), timeout=120)

    async def all_sent() -> list | None:
        await notifications.deliver(NOON, senders)
        rows = await deliveries_of(notifications, bills)
        sent_out = [row for row in rows if row["channel"] != "inbox"]
        return rows if sent_out and all(row["status"] == "delivered" for row in sent_out) else None

    rows = await eventually(all_sent, timeout_s=60)
    assert rounds > 0
    notices = {row["notification_id"] for row in rows}
    delivered = await notifications.emitted("NotificationDelivered")
    announced = Counter((e.data.notification_id, e.data.channel)
                        for e in delivered if e.data.notification_id in notices)
    assert set(announced) == {(row["notification_id"], row["channel"]) for row in rows}
    assert set(announced.values()) == {1}
    messages = Counter((m.notification_id, channel) for channel, sender in senders.items() for m in sender.sent
                       if m.notification_id in notices)
    assert set(messages.values()) == {1}
    assert set(messages) == {(row["notification_id"], row["channel"]) for row in rows if row["channel"] != "inbox"}
