"""The pension estimate over HTTP: the person's paid months, the region's seeded figures, the
three bases; who may ask; what is refused."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.integration.billing.story import an_active_enrolment, billing_run, on, pay

pytestmark = pytest.mark.integration


def _estimate(billing, person, headers=None, **params):
    query = {"birth_month": "1966-01", "category": "male_60", **params}
    return billing.client.get(f"/v1/persons/{person.person_id}/pension-estimate", params=query,
                              headers=headers or billing.auth("resident", sub=person.person_id))


async def test_a_man_retired_in_may_2026_gets_what_his_three_paid_months_are_worth(billing):
    # Beijing, July to September 2025 at the floor 7 162, paid as one quarter; born 1966-01 he
    # retired in 2026-05 (60 years 4 months), so nothing more is paid. W 2025 = 11 937 (seed).
    # Z = 7162 / 11937 = 0.59998… → 0.6000; basic = 11937 × 1.6 / 2 × 3/12 / 100 = 23.874 → 23.87
    # account 3 × 572.96 = 1 718.88 (no interest: 2025's own months, then the retirement year)
    # personal = 1718.88 / 139 = 12.366… → 12.37; monthly 36.24
    person = await an_active_enrolment(billing, frequency="quarterly")
    await billing_run(billing, "2025-06-25")
    await pay(billing, person, "4297.20", paid_at=on("2025-07-05"))

    response = await _estimate(billing, person)

    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["retirement_month"], answer["retirement_age"], answer["months_paid"]) == (
        "2026-05", {"years": 60, "months": 4}, 3)
    estimate = answer["estimate"]
    assert (estimate["future_months"], estimate["average_index"], estimate["average_wage_at_retirement"]) == (
        0, "0.6000", "11937.00")
    assert (estimate["basic_part"], estimate["account_balance"], estimate["personal_account_part"],
            estimate["monthly_pension"]) == ("23.87", "1718.88", "12.37", "36.24")
    assert (estimate["minimum_months"], estimate["months_missing"], estimate["years_missing"]) == (180, 177, "14.75")
    assert answer["assumptions"]["wage_growth"] == "0.03"
    assert answer["at_floor"]["monthly_pension"] == answer["at_ceiling"]["monthly_pension"] == "36.24"


async def test_paying_on_at_the_floor_gives_less_than_at_the_ceiling(billing):
    person = await an_active_enrolment(billing, base="10000")
    await billing_run(billing, "2025-06-25")
    await pay(billing, person, "2000.00", paid_at=on("2025-07-05"))

    answer = (await _estimate(billing, person, birth_month="1990-06", wage_growth="0.02", interest="0.03")).json()

    floor, current, ceiling = (Decimal(answer[key]["monthly_pension"])
                               for key in ("at_floor", "estimate", "at_ceiling"))
    assert floor < current < ceiling
    assert (answer["at_floor"]["future_base"], answer["estimate"]["future_base"], answer["at_ceiling"]["future_base"]
            ) == ("7162.00", "10000.00", "35811.00")
    assert answer["retirement_month"] == "2053-06"  # born 1990-06: 63 years
    assert answer["estimate"]["months_missing"] == 0


async def test_the_caseworker_may_ask_and_nobody_else(billing):
    person = await an_active_enrolment(billing)

    caseworker = await _estimate(billing, person, headers=billing.auth("caseworker"))
    elsewhere = await _estimate(billing, person, headers=billing.auth("caseworker", region="310000"))
    channel = await _estimate(billing, person, headers=billing.auth("channel", sub="unionpay"))

    assert caseworker.status_code == 200
    assert (elsewhere.status_code, channel.status_code) == (403, 403)


async def test_what_the_estimate_refuses(billing):
    person = await an_active_enrolment(billing)

    too_young = await _estimate(billing, person, birth_month="2020-01")
    no_month = await _estimate(billing, person, birth_month="1990-13")
    bad_category = await _estimate(billing, person, category="male_65")
    wild_growth = await _estimate(billing, person, wage_growth="0.5")
    as_exponent = await _estimate(billing, person, interest="2e-2")

    assert too_young.status_code == 422
    assert too_young.json()["detail"][0]["field"] == "query.birth_month"
    assert wild_growth.json()["detail"] == [{"field": "query.wage_growth",
                                             "reason": "an assumed yearly rate is at most 0.20"}]
    assert {no_month.status_code, bad_category.status_code, as_exponent.status_code} == {422}


async def test_the_figures_are_versioned_like_the_policies(billing):
    shenzhen = "440300"  # a region of its own: the estimates above read Beijing's seeded figures
    admin = billing.auth("admin", region=shenzhen)
    reader = billing.auth("caseworker")
    today = (await billing.client.get("/v1/pension-figures", params={"region": "110000"}, headers=reader)).json()

    first = await billing.client.post("/v1/pension-figures", headers=admin, json={
        "region": shenzhen, "year": 2025, "effective_from": today["on"], "average_wage": "12964.00",
        "account_interest_rate": "0.0262"})
    again = await billing.client.post("/v1/pension-figures", headers=admin, json={
        "region": shenzhen, "year": 2025, "effective_from": today["on"], "average_wage": "13000.00"})
    in_the_past = await billing.client.post("/v1/pension-figures", headers=admin, json={
        "region": shenzhen, "year": 2025, "effective_from": "2020-01-01", "average_wage": "1.00"})
    nothing = await billing.client.post("/v1/pension-figures", headers=admin, json={
        "region": shenzhen, "year": 2025, "effective_from": today["on"]})
    other_region = await billing.client.post("/v1/pension-figures", headers=billing.auth("admin"), json={
        "region": shenzhen, "year": 2025, "effective_from": today["on"], "average_wage": "1.00"})
    in_force = (await billing.client.get("/v1/pension-figures", params={"region": shenzhen}, headers=reader)).json()
    before = (await billing.client.get("/v1/pension-figures", params={"region": shenzhen, "on": "2025-01-01"},
                                       headers=reader)).json()

    assert first.status_code == 201, first.text
    assert (again.status_code, in_the_past.status_code, nothing.status_code, other_region.status_code) == (
        409, 422, 422, 403)
    assert in_force["figures"] == [{"year": 2025, "average_wage": "12964.00", "account_interest_rate": "0.0262"}]
    assert before["figures"] == []
    assert {"year": 2024, "average_wage": None, "account_interest_rate": "0.0262"} in today["figures"]
