"""Events on the real broker become notices in the person's inbox and pending deliveries on
their channels: once each, in their language, as they chose."""

from __future__ import annotations

import asyncio
import json
from datetime import date

import pytest

from services.notifications.handlers import HANDLERS
from shared.handlers import handles_batches
from shared.unit_of_work import Origin
from tests.unit.notifications.examples import (
    a_bill,
    a_payment,
    a_person,
    a_reinstatement,
    a_repricing,
    a_suspension,
    an_application,
    an_enrolment,
    an_overdue_notice,
    materials_rejected,
)

from .conftest import beijing_time, notifications_service

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def notifications(infrastructure, tmp_path_factory):
    # the worker is driven by hand here, with its clock where each test needs it
    # jobs_ahead_days: the reminder story is set in 2031 so that no other test has bills due then
    async with notifications_service(infrastructure, tmp_path_factory.mktemp("sink"), jobs_ahead_days=3660,
                                     notifications_delivery_worker=False) as service:
        yield service


async def an_applicant(notifications, **contact) -> tuple:
    person = a_person()
    application = await notifications.publish(an_application(person, **contact))
    await notifications.notice_about(application)
    return person, application


async def applicants(notifications, count: int, **contact) -> list:
    persons = [a_person() for _ in range(count)]
    await published_and_handled(notifications, [an_application(person, **contact) for person in persons])
    return persons


async def published_and_handled(notifications, events) -> list:
    envelopes = [await notifications.publish(event) for event in events]
    await asyncio.gather(*(notifications.notice_about(envelope) for envelope in envelopes))
    return envelopes


async def handled_again_past_the_inbox(notifications, envelope) -> None:
    """As if the consumer's inbox had lost the event (e.g. a projection rebuilt by replay)."""
    handler = HANDLERS[type(envelope.data)]
    async with notifications.service.runtime.units.begin(Origin.of_event(envelope)) as uow:
        await (handler(uow, [envelope]) if handles_batches(handler) else handler(uow, envelope.data))


async def test_every_event_a_person_should_hear_about_is_one_notice_on_each_channel(notifications):
    person, _ = await an_applicant(notifications, language="en")
    bill = a_bill(person)
    # chapters by producing service: one topic keeps a person's events in order, two do not
    story = [
        [materials_rejected(person)],
        [an_enrolment(person)],
        [bill, a_payment(person, bill_id=bill.bill_id), an_overdue_notice(person)],
        [a_suspension(person), a_reinstatement(person)],
        [a_repricing(person)],
    ]
    for chapter in story:
        await published_and_handled(notifications, chapter)

    inbox = await notifications.inbox(person)

    assert [notice["template"] for notice in inbox] == [
        "policy_changed", "coverage_reinstated", "coverage_suspended", "payment_overdue", "payment_received",
        "bill_issued", "enrolment_active", "materials_rejected", "application_received"]
    for notice in inbox:
        assert [(d["channel"], d["status"]) for d in notice["deliveries"]] == [
            ("inbox", "delivered"), ("sms", "pending"), ("email", "pending")]
        assert notice["language"] == "en"
    texts = {notice["template"]: notice["text"] for notice in inbox}
    assert "work-unit certificate" in texts["application_received"]
    assert "(illegible: photo is blurred)" in texts["materials_rejected"]
    assert "on a monthly base of ¥7,162.00, paid quarterly" in texts["enrolment_active"]
    assert "come to ¥2,017.32, due by 15 August 2025" in texts["bill_issued"]
    assert "voucher number is SB2025081100042" in texts["payment_received"]
    assert "The late fee so far is ¥30.26" in texts["payment_overdue"]
    assert "suspended from 13 November 2025" in texts["coverage_suspended"]
    assert "waiting period ending on 31 March 2026" in texts["coverage_reinstated"]
    assert "from ¥1,432.40 to ¥1,500.00" in texts["policy_changed"]
    delivered = [event for event in await notifications.emitted("NotificationDelivered")
                 if event.data.person_id == person]
    assert len(delivered) == 9 and {event.data.channel for event in delivered} == {"inbox"}


async def test_a_chinese_speaker_without_email_gets_chinese_on_inbox_and_sms(notifications):
    person, application = await an_applicant(notifications, language="zh-CN", email=None)

    [notice] = await notifications.inbox(person)

    assert notice["title"] == "参保申请已受理"
    assert "户口簿（本人页）" in notice["text"]
    assert [d["channel"] for d in notice["deliveries"]] == ["inbox", "sms"]


async def test_the_same_event_delivered_twice_makes_one_notice(notifications):
    person, _ = await an_applicant(notifications)
    payment = await notifications.publish(a_payment(person))
    await notifications.publish_envelope(payment)
    # same topic and key as the duplicate, so once it is handled the duplicate was too
    await notifications.notice_about(await notifications.publish(an_overdue_notice(person)))

    [notice] = await notifications.notices_about(payment)
    assert set(await notifications.deliveries(notice["notification_id"])) == {"inbox", "sms", "email"}


async def test_a_redelivery_that_gets_past_the_inbox_still_makes_one_notice(notifications):
    person, _ = await an_applicant(notifications)
    overdue = await notifications.publish(an_overdue_notice(person, level=60, days=60))
    notice = await notifications.notice_about(overdue)

    await handled_again_past_the_inbox(notifications, overdue)

    assert len(await notifications.notices_about(overdue)) == 1
    assert len(await notifications.deliveries(notice["notification_id"])) == 3
    assert len(await notifications.emitted("NotificationDelivered", notice["notification_id"])) == 1


async def test_each_repricing_tells_the_person_their_own_old_and_new_amounts(notifications):
    floor_payer, high_payer = await applicants(notifications, 2, language="en")
    repricings = {
        floor_payer: a_repricing(floor_payer, old_base="7162.00", new_base="7500.00", old_amount="1432.40",
                                 new_amount="1500.00"),
        high_payer: a_repricing(high_payer, old_base="20000.00", new_base="20000.00", old_amount="4000.00",
                                new_amount="4000.00"),
    }
    await published_and_handled(notifications, repricings.values())

    [floor_notice] = [n for n in await notifications.inbox(floor_payer) if n["template"] == "policy_changed"]
    [high_notice] = [n for n in await notifications.inbox(high_payer) if n["template"] == "policy_changed"]
    assert "from ¥7,162.00 to ¥7,500.00" in floor_notice["text"]
    assert "from ¥1,432.40 to ¥1,500.00" in floor_notice["text"]
    assert "from July 2026" in floor_notice["text"]
    assert "from ¥20,000.00 to ¥20,000.00" in high_notice["text"]
    assert "¥1,500.00" not in high_notice["text"]


async def test_the_reminder_scan_reminds_unpaid_bills_seven_days_and_one_day_ahead_once(notifications):
    as_of = date(2031, 3, 1)  # no other test has bills due around then
    unpaid, paid, partly_paid, due_tomorrow, due_later, not_wanted = await applicants(notifications, 6, language="en")
    response = await notifications.client.put(f"/v1/persons/{not_wanted}/preferences",
                                              json={"reminders": False}, headers=notifications.auth(
                                                  "resident", sub=not_wanted))
    assert response.status_code == 200
    bills = {
        unpaid: a_bill(unpaid, due_date=date(2031, 3, 8)),
        paid: a_bill(paid, due_date=date(2031, 3, 8)),
        partly_paid: a_bill(partly_paid, due_date=date(2031, 3, 8)),
        due_tomorrow: a_bill(due_tomorrow, due_date=date(2031, 3, 2)),
        due_later: a_bill(due_later, due_date=date(2031, 3, 5)),
        not_wanted: a_bill(not_wanted, due_date=date(2031, 3, 8)),
    }
    payments = [a_payment(person, bill_id=bills[person].bill_id, principal=principal)
                for person, principal in ((paid, "2017.32"), (partly_paid, "1000.00"))]
    # a person's bill and payment share a topic and key, so they are handled in this order
    handled = await published_and_handled(notifications, [*bills.values(), *payments])
    await handled_again_past_the_inbox(notifications, handled[-1])  # the partial payment counts once

    first = await notifications.reminder_scan(as_of)
    again = await notifications.reminder_scan(as_of)

    assert (first, again) == (3, 0)
    reminders = {person: [n for n in await notifications.inbox(person) if n["template"].startswith("payment_rem")]
                 for person in bills}
    assert [n["template"] for n in reminders[unpaid]] == ["payment_reminder_7d"]
    assert "¥2,017.32 of your contributions" in reminders[unpaid][0]["text"]
    assert "¥1,017.32 of your contributions" in reminders[partly_paid][0]["text"]
    assert [n["template"] for n in reminders[due_tomorrow]] == ["payment_reminder_1d"]
    assert reminders[paid] == reminders[due_later] == reminders[not_wanted] == []
    assert [d["channel"] for d in reminders[unpaid][0]["deliveries"]] == ["inbox", "sms", "email"]


async def test_the_reminder_scan_is_bounded_scoped_and_rehearsable(notifications):
    as_of = date(2031, 6, 1)
    [person] = await applicants(notifications, 1, language="en")
    await published_and_handled(notifications, [a_bill(person, due_date=date(2031, 6, 8))])
    ops = notifications.auth("ops")

    far = await notifications.client.post("/v1/ops/reminder-scan", json={"as_of": "9999-12-31"}, headers=ops)
    elsewhere = await notifications.client.post("/v1/ops/reminder-scan", headers=ops,
                                                json={"as_of": as_of.isoformat(), "region": "310000"})
    rehearsed = await notifications.client.post("/v1/ops/reminder-scan", headers=ops,
                                                json={"as_of": as_of.isoformat(), "dry_run": True})
    after_rehearsal = await notifications.inbox(person)
    real = await notifications.reminder_scan(as_of)

    assert (far.status_code, far.json()["detail"][0]["field"]) == (422, "body.as_of")
    assert elsewhere.status_code == 403
    assert (rehearsed.status_code, rehearsed.json()["reminders"], rehearsed.json()["dry_run"]) == (200, 1, True)
    assert [n for n in after_rehearsal if n["template"].startswith("payment_rem")] == []
    assert real == 1


async def test_another_regions_bills_are_not_reminded_by_this_regions_operator(notifications):
    as_of = date(2031, 9, 1)
    [here, there] = await applicants(notifications, 2, language="en")
    shanghai_bill = a_bill(there, due_date=date(2031, 9, 8)).model_copy(update={"region": "310000"})
    await published_and_handled(notifications, [a_bill(here, due_date=date(2031, 9, 8)), shanghai_bill])

    assert await notifications.reminder_scan(as_of) == 1
    assert [n["template"] for n in await notifications.inbox(there) if n["template"].startswith("payment_rem")] == []


async def test_only_operators_run_the_reminder_scan(notifications):
    response = await notifications.client.post("/v1/ops/reminder-scan", json={"as_of": "2031-03-01"},
                                               headers=notifications.auth("caseworker"))
    assert response.status_code == 403
    bad_date = await notifications.client.post("/v1/ops/reminder-scan", json={"as_of": "1 March"},
                                               headers=notifications.auth("ops"))
    assert bad_date.status_code == 422 and bad_date.json()["detail"][0]["field"] == "body.as_of"


async def test_preferences_choose_language_and_channels_but_not_receipts(notifications):
    person, _ = await an_applicant(notifications, language="zh-CN")
    put = await notifications.client.put(
        f"/v1/persons/{person}/preferences", json={"channels": ["email"], "language": "en", "reminders": False},
        headers=notifications.auth("resident", sub=person))
    assert put.status_code == 200
    assert put.json() == {"person_id": str(person), "channels": ["inbox", "email"], "language": "en",
                          "reminders": False, "receipts": True, "overdue_notices": True,
                          "loss_of_cover_notices": True}

    bill = a_bill(person)
    await notifications.notice_about(await notifications.publish(bill))
    await notifications.notice_about(await notifications.publish(a_payment(person, bill_id=bill.bill_id)))

    receipt, bill_notice = (await notifications.inbox(person))[:2]
    assert bill_notice["title"] == "Your bill for August 2025"
    assert [d["channel"] for d in bill_notice["deliveries"]] == ["inbox", "email"]
    assert receipt["template"] == "payment_received"
    assert [d["channel"] for d in receipt["deliveries"]] == ["inbox", "sms", "email"]
    got = await notifications.client.get(f"/v1/persons/{person}/preferences",
                                         headers=notifications.auth("resident", sub=person))
    assert got.json()["channels"] == ["inbox", "email"]


@pytest.mark.parametrize(("body", "field"), [
    ({"receipts": False}, "body.receipts"),
    ({"overdue_notices": False}, "body.overdue_notices"),
    ({"loss_of_cover_notices": False}, "body.loss_of_cover_notices"),
    ({"channels": ["fax"]}, "body.channels.0"),
    ({"language": "fr"}, "body.language"),
])
async def test_preferences_that_break_a_rule_are_refused_with_the_field(notifications, body, field):
    person = a_person()
    response = await notifications.client.put(f"/v1/persons/{person}/preferences", json=body,
                                              headers=notifications.auth("resident", sub=person))
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == field


async def test_email_cannot_be_chosen_without_an_address(notifications):
    person, _ = await an_applicant(notifications, email=None)
    response = await notifications.client.put(f"/v1/persons/{person}/preferences", json={"channels": ["email"]},
                                              headers=notifications.auth("resident", sub=person))
    assert response.status_code == 422
    assert response.json()["detail"] == [{"field": "body.channels",
                                          "reason": "no e-mail address on record for this person"}]
    reminders_off = await notifications.client.put(f"/v1/persons/{person}/preferences", json={"reminders": False},
                                                   headers=notifications.auth("resident", sub=person))
    assert reminders_off.status_code == 200


async def test_residents_see_their_own_inbox_and_staff_their_regions(notifications):
    person, _ = await an_applicant(notifications)
    path = f"/v1/persons/{person}/notifications"

    async def status(headers) -> int:
        return (await notifications.client.get(path, headers=headers)).status_code

    assert await status(notifications.auth("resident", sub=person)) == 200
    assert await status(notifications.auth("resident", sub=a_person())) == 403
    assert await status(notifications.auth("caseworker", region="110000")) == 200
    assert await status(notifications.auth("admin", region="110000")) == 200
    assert await status(notifications.auth("caseworker", region="310000")) == 403
    assert await status(notifications.auth("channel")) == 403
    assert await status({}) == 401
    unknown = await notifications.client.get(f"/v1/persons/{a_person()}/notifications",
                                             headers=notifications.auth("caseworker"))
    assert unknown.status_code == 404


async def test_quiet_hours_hold_an_sms_until_08_00(notifications):
    person, application = await an_applicant(notifications)
    notice = await notifications.notice_about(application)

    at_night = await notifications.deliver(beijing_time(1, 22, 30))
    held = await notifications.deliveries(notice["notification_id"])
    before_eight = await notifications.deliver(beijing_time(2, 7, 59))
    still_held = await notifications.deliveries(notice["notification_id"])
    await notifications.deliver(beijing_time(2, 8, 0))
    sent = await notifications.deliveries(notice["notification_id"])

    assert at_night.held >= 1 and before_eight.delivered == 0
    assert held["email"]["status"] == "delivered"  # e-mail knows no quiet hours
    assert (held["sms"]["status"], held["sms"]["attempts"]) == ("pending", 0)
    assert held["sms"]["next_attempt_at"] == beijing_time(2, 8, 0)
    assert (still_held["sms"]["status"], still_held["sms"]["attempts"]) == ("pending", 0)
    assert (sent["sms"]["status"], sent["sms"]["attempts"]) == ("delivered", 1)
    [line] = [json.loads(line) for line in (notifications.sink / "sms.log").read_text().splitlines()
              if json.loads(line)["notification_id"] == str(notice["notification_id"])]
    assert line["text"].startswith("【社保】您参加基本养老保险")
    assert (notifications.sink / "outbox-mail" / f"{notice['notification_id']}.eml").exists()
    assert [e.data.channel for e in await notifications.emitted("NotificationDelivered", notice["notification_id"])
            ] == ["inbox", "email", "sms"]
