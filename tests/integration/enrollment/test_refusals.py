"""Every way an application is refused over HTTP: 422 naming the field and the rule."""

from __future__ import annotations

from datetime import date

import pytest

from shared.periods import business_date, now_utc
from tests.unit.enrollment.builders import an_id_number, with_wrong_check_digit

from .conftest import SHANGHAI, Resident

pytestmark = pytest.mark.integration


def a_day_too_young() -> date:
    """Born 16 years before tomorrow: turns 16 tomorrow."""
    today = business_date(now_utc())
    tomorrow = date.fromordinal(today.toordinal() + 1)
    try:
        return tomorrow.replace(year=tomorrow.year - 16)
    except ValueError:  # 29 February
        return date(tomorrow.year - 16, 3, 1)


REFUSALS = {
    "check digit": (dict(id_number=with_wrong_check_digit(an_id_number())), "body.id_number", "check_digit"),
    "no such birth date": (dict(id_number="110105199002301011"), "body.id_number", "birth_date"),
    "no such province": (dict(id_number="990105199005171011"), "body.id_number", "region_code"),
    "not 18 characters": (dict(id_number="1101051990"), "body.id_number", "format"),
    "empty name": (dict(name="  "), "body.name", "required"),
    "typed birth date differs": (dict(birth_date="1970-01-01"), "body.birth_date", "mismatch_id_number"),
    "typed sex differs": (dict(sex="female"), "body.sex", "mismatch_id_number"),
    "a man in a women's category": (dict(retirement_category="female_55"), "body.retirement_category",
                                    "not_for_sex"),
    "programme not offered": (dict(programmes=["pension", "work_injury"]), "body.programmes", "not_offered"),
    "programme listed twice": (dict(programmes=["pension", "pension"]), "body.programmes", "repeated"),
    "base a cent below the floor": (dict(declared_base="7161.99"), "body.declared_base", "below_floor"),
    "base a cent above the ceiling": (dict(programmes=["pension"], declared_base="35811.01"),
                                      "body.declared_base", "above_ceiling"),
    "medical base below Shanghai's floor": (
        dict(region=SHANGHAI, declared_base="7460", medical_base="7459.99"), "body.medical_base", "below_floor"),
    "frequency Shanghai does not allow": (dict(region=SHANGHAI, declared_base="7460", frequency="annual"),
                                          "body.frequency", "not_allowed"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
async def test_each_rule_is_named_with_its_field(enrollment, case):
    changes, field, rule = REFUSALS[case]
    resident = Resident()
    headers = enrollment.as_caseworker(changes.get("region", "110000"))

    response = await enrollment.apply(resident, headers=headers, **changes)

    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "validation_error"
    assert (field, rule) in {(d["field"], d["rule"]) for d in body["detail"]}
    assert all(d["reason"] for d in body["detail"])


async def test_a_day_before_the_sixteenth_birthday_is_too_young(enrollment):
    resident = Resident(birth=a_day_too_young())

    response = await enrollment.apply(resident, programmes=["medical_employee"])

    assert response.status_code == 422
    assert {(d["field"], d["rule"]) for d in response.json()["detail"]} == {("body.id_number", "minimum_age")}


async def test_base_exactly_at_floor_and_at_ceiling_is_accepted(enrollment):
    assert (await enrollment.apply(Resident(), programmes=["pension"], declared_base="7162")).status_code == 202
    assert (await enrollment.apply(Resident(), programmes=["pension"], declared_base="35811.00")).status_code == 202


async def test_pension_past_the_statutory_retirement_age_is_refused_but_medical_is_not(enrollment):
    retired = Resident(birth=date(1958, 3, 1))

    pension = await enrollment.apply(retired, programmes=["pension", "medical_employee"])
    assert pension.status_code == 422
    assert {(d["field"], d["rule"]) for d in pension.json()["detail"]} == {("body.programmes", "retirement_age")}

    assert (await enrollment.apply(retired, programmes=["medical_employee"])).status_code == 202


async def test_all_faults_are_named_at_once(enrollment):
    response = await enrollment.apply(Resident(), name="", declared_base="1", frequency="monthly",
                                      programmes=["pension", "maternity"])

    assert response.status_code == 422
    assert {(d["field"], d["rule"]) for d in response.json()["detail"]} == {
        ("body.name", "required"), ("body.declared_base", "below_floor"), ("body.programmes", "not_offered")}


async def test_malformed_fields_are_refused_before_any_rule(enrollment):
    response = await enrollment.apply(Resident(), declared_base=7162.5, phone="12345")

    assert response.status_code == 422
    assert {d["field"] for d in response.json()["detail"]} == {"body.declared_base", "body.phone"}


async def test_the_recorded_womens_category_holds_for_a_later_application(enrollment):
    # original 50, born 1975-02: 50 years 1 month in March 2025, so pension is closed to her
    woman = Resident(birth=date(1975, 2, 10), sex="female")
    first = await enrollment.apply(woman, programmes=["medical_employee"], retirement_category="female_50")
    assert first.status_code == 202

    later = await enrollment.apply(woman, programmes=["pension"])  # category not given again

    assert later.status_code == 422
    assert {(d["field"], d["rule"]) for d in later.json()["detail"]} == {("body.programmes", "retirement_age")}
