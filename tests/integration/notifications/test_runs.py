"""Applications and payments come to the service in runs (the consumer's batches): a run applied at
once leaves exactly what its events applied one at a time leave (contacts, bills paid, notices,
deliveries and their announcements, each in its own event's chain), at a cost that does not grow
with the run."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import asyncpg
import pytest

from services.notifications.handlers import HANDLERS
from shared.events import Contact, Envelope, decode_envelope, make_envelope
from tests.integration import harness
from tests.unit.notifications.examples import a_payment, a_person, an_application

from .conftest import notifications_service

pytestmark = pytest.mark.integration

BEIJING, SHANGHAI = "110000", "310000"


@pytest.fixture(scope="module")
async def notifications(infrastructure, tmp_path_factory):
    async with notifications_service(infrastructure, tmp_path_factory.mktemp("sink"),
                                     notifications_delivery_worker=False) as service:
        yield service


def consumed(payload, *, region: str = BEIJING) -> Envelope:
    """``payload`` as consumed: the middle of a chain, so that its cause and its chain differ."""
    return make_envelope(payload, subject=str(uuid.uuid4()), region=region, correlationid=uuid.uuid4(),
                         causationid=uuid.uuid4())


def an_application_reaching(person: uuid.UUID, *, phone: str, email: str | None, language: str) -> Envelope:
    application = an_application(person)
    return consumed(application.model_copy(update={
        "contact": Contact(phone=phone, email=email, language=language)}))


def announced_again(envelope: Envelope) -> Envelope:
    """The same fact re-announced under a new event id (a re-emit from the producer's outbox)."""
    return make_envelope(envelope.data, subject=envelope.subject, region=envelope.region,
                         correlationid=envelope.correlationid, causationid=envelope.causationid)


@dataclass(frozen=True)
class Story:
    applications: list[Envelope]
    payments: list[Envelope]
    persons: list[uuid.UUID]

    @property
    def events(self) -> list[Envelope]:
        return [*self.applications, *self.payments]


def a_story() -> Story:
    """Two applications of one person with other contact details between others' (the later one
    wins the directory, each notice speaks to its own), then payments: one in Shanghai, one
    announced twice."""
    wang, li, zhao = a_person(), a_person(), a_person()
    applications = [
        an_application_reaching(wang, phone="13800000001", email="wang@example.com", language="en"),
        an_application_reaching(li, phone="13800000002", email=None, language="zh-CN"),
        an_application_reaching(wang, phone="13800000003", email=None, language="zh-CN"),
        an_application_reaching(zhao, phone="13800000004", email="zhao@example.com", language="en"),
    ]
    wangs_payment = consumed(a_payment(wang, principal="2017.32"))
    payments = [
        wangs_payment,
        consumed(a_payment(li, principal="1000.00"), region=SHANGHAI),
        announced_again(wangs_payment),
        consumed(a_payment(zhao, principal="584.92")),
    ]
    return Story(applications, payments, [wang, li, zhao])


@dataclass(frozen=True)
class Effects:
    contacts: list[dict]
    bill_payments: list[dict]
    notices: list[dict]
    deliveries: list[dict]
    announcements: list[dict]

    def notice_about(self, envelope: Envelope) -> dict:
        [notice] = [notice for notice in self.notices if notice["caused_by"] == envelope.id]
        return notice

    def channels_of(self, notice: dict) -> list[str]:
        return [d["channel"] for d in self.deliveries if d["notification_id"] == notice["notification_id"]]


def rolled_back(notifications):
    return harness.rolled_back(notifications.service.pool)


async def apply(notifications, conn: asyncpg.Connection, run: Sequence[Envelope]) -> list[str]:
    """Apply ``run`` (consecutive events of one type) as the consumer does, in a transaction of its
    own; returns the statements the handler ran."""
    return await harness.apply_run(conn, notifications.service.runtime.units, HANDLERS[type(run[0].data)], run)


async def effects_on(conn: asyncpg.Connection, story: Story) -> Effects:
    """What the story's events left, apart from when they were handled."""
    persons = story.persons
    payment_ids = [payment.data.payment_id for payment in story.payments]
    contacts = await conn.fetch("SELECT person_id, region, phone, email, language FROM contacts "
                                "WHERE person_id = ANY($1) ORDER BY person_id", persons)
    bill_payments = await conn.fetch("SELECT payment_id, bill_id, principal FROM bill_payments "
                                     "WHERE payment_id = ANY($1) ORDER BY payment_id, bill_id", payment_ids)
    notices = await conn.fetch(
        """SELECT notification_id, person_id, region, template, caused_by, correlation_id, language, title, body
           FROM notifications WHERE person_id = ANY($1) ORDER BY notification_id""", persons)
    deliveries = await conn.fetch(
        """SELECT d.notification_id, d.channel, d.status, d.digest_of FROM deliveries d
           JOIN notifications n USING (notification_id) WHERE n.person_id = ANY($1)
           ORDER BY d.notification_id, d.channel""", persons)
    outbox = await conn.fetch("SELECT envelope FROM outbox WHERE event_type = 'NotificationDelivered' ORDER BY seq")
    announced = [decode_envelope(bytes(row["envelope"])) for row in outbox]
    return Effects(
        contacts=[dict(row) for row in contacts], bill_payments=[dict(row) for row in bill_payments],
        notices=[dict(row) for row in notices], deliveries=[dict(row) for row in deliveries],
        announcements=[{"subject": e.subject, "region": e.region, "correlation_id": e.correlationid,
                        "causation_id": e.causationid, "data": e.data}
                       for e in announced if e.data.person_id in persons],
    )


async def effects_of(notifications, story: Story, runs: list[list[Envelope]]) -> Effects:
    async with rolled_back(notifications) as conn:
        for run in runs:
            await apply(notifications, conn, run)
        return await effects_on(conn, story)


async def test_a_run_leaves_exactly_what_its_events_leave_one_at_a_time(notifications):
    story = a_story()

    one_at_a_time = await effects_of(notifications, story, [[event] for event in story.events])
    together = await effects_of(notifications, story, [story.applications, story.payments])

    assert together == one_at_a_time
    assert len(together.notices) == len(story.events)


async def test_each_notice_of_a_run_speaks_to_its_own_application_and_the_latest_one_wins(notifications):
    story = a_story()
    wang = story.persons[0]
    first, _, second, _ = story.applications

    async with rolled_back(notifications) as conn:
        await apply(notifications, conn, story.applications)
        effects = await effects_on(conn, story)

    assert {"person_id": wang, "region": BEIJING, "phone": "13800000003", "email": None,
            "language": "zh-CN"} in effects.contacts
    first_notice, second_notice = effects.notice_about(first), effects.notice_about(second)
    assert (first_notice["language"], effects.channels_of(first_notice)) == ("en", ["email", "inbox", "sms"])
    assert (second_notice["language"], effects.channels_of(second_notice)) == ("zh-CN", ["inbox", "sms"])


async def test_each_receipt_of_a_run_is_in_its_own_payments_chain_and_a_payment_counts_once(notifications):
    story = a_story()
    wangs_payment, lis_payment, wangs_again, _ = story.payments

    async with rolled_back(notifications) as conn:
        await apply(notifications, conn, story.applications)
        await apply(notifications, conn, story.payments)
        effects = await effects_on(conn, story)

    wangs_bill = wangs_payment.data.applied[0].bill_id
    assert [(row["bill_id"], row["principal"]) for row in effects.bill_payments
            if row["payment_id"] == wangs_payment.data.payment_id] == [(wangs_bill, Decimal("2017.32"))]
    receipts = [(event["region"], event["correlation_id"], event["causation_id"], event["data"].caused_by)
                for event in effects.announcements if event["data"].template == "payment_received"]
    assert receipts == [(payment.region, payment.correlationid, payment.id, payment.id) for payment in story.payments]
    assert effects.notice_about(lis_payment)["region"] == SHANGHAI
    assert effects.notice_about(wangs_again)["region"] == BEIJING


async def test_a_run_delivered_again_past_the_inbox_adds_nothing(notifications):
    story = a_story()

    async with rolled_back(notifications) as conn:
        for run in (story.applications, story.payments):
            await apply(notifications, conn, run)
        once = await effects_on(conn, story)
        for run in (story.applications, story.payments):
            await apply(notifications, conn, run)
        again = await effects_on(conn, story)

    assert again == once


@pytest.mark.parametrize("kind", ["applications", "payments"])
async def test_a_run_costs_the_same_statements_whatever_its_length(notifications, kind):
    def run_of(count: int) -> list[Envelope]:
        persons = [a_person() for _ in range(count)]
        if kind == "applications":
            return [consumed(an_application(person)) for person in persons]
        return [consumed(a_payment(person)) for person in persons]

    async with rolled_back(notifications) as conn:
        of_one = await apply(notifications, conn, run_of(1))
        of_twenty = await apply(notifications, conn, run_of(20))

    assert len(of_twenty) == len(of_one) <= 4
