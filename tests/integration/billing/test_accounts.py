"""Contribution accounts follow enrollment: changes, suspension, reinstatement, termination;
the statement a resident sees; who may see what."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from shared.events import EnrollmentChanged, EnrollmentReinstated, EnrollmentSuspended, EnrollmentTerminated
from tests.integration.billing.story import (
    an_active_enrolment,
    billing_run,
    bills_of,
    deliver,
    events,
    months_from_today,
    on,
    pay,
)

pytestmark = pytest.mark.integration


async def test_a_changed_base_applies_from_the_first_cycle_starting_in_its_month(billing):
    person = await an_active_enrolment(billing)
    pension = person.enrolments["pension"]
    await billing_run(billing, "2025-06-25")  # July billed at 7162

    await deliver(billing, EnrollmentChanged(enrollment_id=pension, person_id=person.person_id, programme="pension",
                                             base=Decimal("10000"), frequency="monthly", effective_month="2025-09"))
    await billing_run(billing, "2025-07-25")  # August: still the old base
    await billing_run(billing, "2025-08-25")  # September: the new one

    totals = [e.data.total for e in await events(billing, "PremiumDue", person)]
    assert totals == [Decimal("1432.40"), Decimal("1432.40"), Decimal("2000.00")]


async def test_a_suspended_enrolment_is_not_billed_and_resumes_after_reinstatement(billing):
    person = await an_active_enrolment(billing)
    pension = person.enrolments["pension"]
    await billing_run(billing, "2025-06-25")

    await deliver(billing, EnrollmentSuspended(enrollment_id=pension, person_id=person.person_id, programme="pension",
                                               reason="overdue 90 days", since="2025-07-20"))
    await billing_run(billing, "2025-07-25")
    assert len(await events(billing, "PremiumDue", person)) == 1

    await deliver(billing, EnrollmentReinstated(enrollment_id=pension, person_id=person.person_id,
                                                programme="pension"))
    await billing_run(billing, str(months_from_today(2)))  # catches up from the month after the reinstatement

    months = [e.data.months[0] for e in await events(billing, "PremiumDue", person)]
    assert months[0] == "2025-07" and months[1] > "2026-01"


async def test_termination_takes_unpaid_months_after_the_last_one_off_their_bill(billing):
    person = await an_active_enrolment(billing, frequency="quarterly", programmes=("pension", "medical_employee"))
    await billing_run(billing, "2025-06-25")

    await deliver(billing, EnrollmentTerminated(enrollment_id=person.enrolments["pension"],
                                                person_id=person.person_id, programme="pension",
                                                reason="moved away", last_month="2025-07"))

    [bill] = await bills_of(billing, person)
    assert bill["total"] == str(Decimal("1432.40") + 3 * Decimal("584.92"))
    assert [(line["programme"], line["month"]) for line in bill["lines"]] == [
        ("medical_employee", "2025-07"), ("pension", "2025-07"), ("medical_employee", "2025-08"),
        ("medical_employee", "2025-09")]


async def test_the_statement_counts_paid_months_and_the_pension_personal_account(billing):
    person = await an_active_enrolment(billing, base="10000", programmes=("pension", "medical_employee"))
    await billing_run(billing, "2025-07-25")
    await pay(billing, person, "5169.84", paid_at=on("2025-07-10"))  # July and August: 2 × (2000.00 + 584.92)
    await billing_run(billing, "2025-08-25")

    response = await billing.client.get(f"/v1/persons/{person.person_id}/statement",
                                        headers=billing.auth("resident", sub=person.person_id))

    statement = response.json()
    programmes = {p["programme"]: p for p in statement["programmes"]}
    assert programmes["pension"]["months_paid"] == ["2025-07", "2025-08"]
    assert programmes["pension"]["months_due"] == ["2025-09"]
    assert programmes["pension"]["total_paid"] == "4000.00"
    assert programmes["medical_employee"]["contribution_months"] == 2
    assert statement["pension_personal_account"] == "1600.00"
    assert statement["total_contribution_years"] == "0.16"


async def test_people_see_only_what_they_may(billing):
    person = await an_active_enrolment(billing)
    stranger = str(uuid.uuid4())
    path = f"/v1/persons/{person.person_id}"

    own = await billing.client.get(f"{path}/bills", headers=billing.auth("resident", sub=person.person_id))
    other = await billing.client.get(f"{path}/bills", headers=billing.auth("resident", sub=stranger))
    caseworker = await billing.client.get(f"{path}/statement", headers=billing.auth("caseworker", region="110000"))
    elsewhere = await billing.client.get(f"{path}/statement", headers=billing.auth("caseworker", region="310000"))
    channel = await billing.client.get(f"{path}/statement", headers=billing.auth("channel", sub="unionpay"))
    unknown = await billing.client.get(f"/v1/persons/{stranger}/bills", headers=billing.auth("caseworker"))
    anonymous = await billing.client.get(f"{path}/bills")
    run_elsewhere = await billing.client.post("/v1/ops/billing-run", json={"as_of": "2025-06-25", "region": "310000"},
                                              headers=billing.auth("ops", region="110000"))
    run_by_resident = await billing.client.post("/v1/ops/overdue-scan", json={"as_of": "2025-06-25"},
                                                headers=billing.auth("resident", sub=person.person_id))

    assert [r.status_code for r in (own, other, caseworker, elsewhere, channel, unknown, anonymous,
                                    run_elsewhere, run_by_resident)] == [200, 403, 200, 403, 403, 404, 401, 403, 403]
