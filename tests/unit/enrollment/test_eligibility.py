"""Every eligibility rule of an application, with its boundaries (DOMAIN.md Eligibility,
Resident ID numbers, Choosing the base)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.enrollment.domain.eligibility import (
    PersonRecord,
    assess_application,
    check_identity,
    check_not_already_covered,
    check_pension_age,
    check_programmes,
    policies_for_application,
    with_recorded_category,
)
from shared.identity import person_id_for

from .builders import (
    BEIJING,
    SHANGHAI,
    a_form,
    a_policy,
    an_id_number,
    beijing_policies,
    shanghai_policies,
    with_wrong_check_digit,
)

TODAY = date(2026, 3, 15)
CENT = Decimal("0.01")


def faults(violations) -> set[tuple[str, str]]:
    return {(v.field, v.rule) for v in violations}


def identity_faults(**changes) -> set[tuple[str, str]]:
    return faults(check_identity(a_form(**changes), TODAY)[1])


def programme_faults(policies=None, **changes) -> set[tuple[str, str]]:
    return faults(check_programmes(a_form(**changes), beijing_policies() if policies is None else policies))


def pension_faults(id_number: str, on: date = TODAY, **changes) -> set[tuple[str, str]]:
    form = a_form(id_number=id_number, **changes)
    applicant, _ = check_identity(form, on)
    return faults(check_pension_age(applicant, form.programmes, on))


# --- identity ----------------------------------------------------------------------------


def test_a_valid_form_has_no_faults():
    applicant, violations = check_identity(a_form(), TODAY)
    assert violations == []
    assert applicant.resident_id.birth_date == date(1990, 5, 17)
    assert applicant.retirement_category == "male_60"


@pytest.mark.parametrize(
    "id_number, rule",
    [
        ("11010519900517101", "format"),                # 17 characters
        ("1101051990051710A1", "format"),               # a letter inside
        ("990105199005171011", "region_code"),          # 99 is no province
        ("110105199002301011", "birth_date"),           # 30 February
        ("110105203001011011", "birth_date"),           # born in the future
        (with_wrong_check_digit(an_id_number()), "check_digit"),
        ("340524198001010013", "check_digit"),          # DOMAIN.md's invalid example
    ],
)
def test_each_invalid_id_class_is_named(id_number, rule):
    assert ("id_number", rule) in identity_faults(id_number=id_number)


def test_domain_examples_of_valid_id_numbers_pass():
    assert identity_faults(id_number="11010519491231002X", programmes=("medical_employee",)) == set()
    assert identity_faults(id_number="440524188001010014", programmes=("medical_employee",)) == set()


@pytest.mark.parametrize("name", ["", "   "])
def test_the_name_must_not_be_empty(name):
    assert identity_faults(name=name) == {("name", "required")}


def test_typed_birth_date_and_sex_must_match_the_id_number():
    assert identity_faults(birth_date=date(1990, 5, 17), sex="male") == set()
    assert identity_faults(birth_date=date(1990, 5, 18)) == {("birth_date", "mismatch_id_number")}
    assert identity_faults(sex="female") == {("sex", "mismatch_id_number")}


def test_sixteen_on_the_birthday_but_not_the_day_before():
    born = date(TODAY.year - 16, TODAY.month, TODAY.day)
    assert identity_faults(id_number=an_id_number(born)) == set()
    day_later = date(TODAY.year - 16, TODAY.month, TODAY.day + 1)
    assert identity_faults(id_number=an_id_number(day_later)) == {("id_number", "minimum_age")}


def test_a_woman_is_in_the_original_55_category_unless_she_says_50():
    woman = an_id_number(date(1980, 1, 1), "female")
    applicant, _ = check_identity(a_form(id_number=woman), TODAY)
    assert applicant.retirement_category == "female_55"
    applicant, _ = check_identity(a_form(id_number=woman, retirement_category="female_50"), TODAY)
    assert applicant.retirement_category == "female_50"


def test_a_retirement_category_must_fit_the_sex_in_the_id_number():
    assert identity_faults(retirement_category="female_55") == {("retirement_category", "not_for_sex")}
    woman = an_id_number(date(1980, 1, 1), "female")
    assert identity_faults(id_number=woman, retirement_category="male_60") == {("retirement_category", "not_for_sex")}


@given(
    born=st.dates(min_value=date(1900, 1, 1), max_value=date(2010, 3, 15)),
    sequence=st.integers(min_value=0, max_value=999),
    province=st.sampled_from(["11", "31", "44", "65", "82"]),
)
def test_any_valid_id_number_yields_its_birth_date_and_sex(born, sequence, province):
    number = an_id_number(born, sequence=sequence, region_code=f"{province}0105")
    applicant, violations = check_identity(a_form(id_number=number), TODAY)
    assert [v for v in violations if v.field == "id_number"] == []
    assert applicant.resident_id.birth_date == born
    assert applicant.resident_id.sex == ("male" if sequence % 2 else "female")


@given(position=st.integers(min_value=0, max_value=17), digit=st.sampled_from("0123456789X"))
def test_changing_any_one_character_of_a_valid_id_number_is_refused(position, digit):
    number = an_id_number(date(1990, 5, 17))
    changed = number[:position] + digit + number[position + 1:]
    if changed == number:
        return
    applicant, violations = check_identity(a_form(id_number=changed), TODAY)
    assert applicant is None
    assert {v.field for v in violations} == {"id_number"}


# --- pension below the statutory retirement age ------------------------------------------


def test_pension_refused_from_the_day_the_retirement_age_is_reached():
    man = an_id_number(date(1965, 1, 10))  # retires at 60y1m on 2025-02-10
    assert pension_faults(man, on=date(2025, 2, 9)) == set()
    assert pension_faults(man, on=date(2025, 2, 10)) == {("programmes", "retirement_age")}


def test_a_man_at_the_cap_keeps_pension_until_63():
    man = an_id_number(date(1976, 9, 1))
    assert pension_faults(man, on=date(2039, 8, 31)) == set()
    assert pension_faults(man, on=date(2039, 9, 1)) == {("programmes", "retirement_age")}


def test_the_womens_category_decides_when_pension_ends():
    woman = an_id_number(date(1975, 1, 20), "female")  # original 50: 50y1m → 2025-02-20
    on = date(2025, 6, 1)
    assert pension_faults(woman, on=on, retirement_category="female_50") == {("programmes", "retirement_age")}
    assert pension_faults(woman, on=on) == set()  # original 55: still years to go


def test_past_retirement_age_medical_alone_is_fine():
    man = an_id_number(date(1950, 1, 1))
    assert pension_faults(man, programmes=("medical_employee",)) == set()


# --- programmes, bases, frequencies ------------------------------------------------------


def test_a_programme_the_region_does_not_offer_is_refused():
    assert programme_faults(programmes=("pension", "work_injury")) == {("programmes", "not_offered")}


def test_no_policy_known_for_the_region_means_nothing_is_offered():
    assert programme_faults(policies={}) == {("programmes", "not_offered")}


def test_a_programme_listed_twice_is_refused():
    assert programme_faults(programmes=("pension", "pension")) == {("programmes", "repeated")}


@pytest.mark.parametrize(
    "base, faults_expected",
    [
        ("7162", set()),                                      # exactly at the floor
        ("35811", set()),                                     # exactly at the ceiling
        ("7161.99", {("declared_base", "below_floor")}),      # one cent below
        ("35811.01", {("declared_base", "above_ceiling")}),   # one cent above
    ],
)
def test_the_base_lies_within_floor_and_ceiling(base, faults_expected):
    assert programme_faults(programmes=("pension",), declared_base=Decimal(base)) == faults_expected


@given(base=st.decimals(min_value=Decimal("0"), max_value=Decimal("100000"), places=2))
def test_any_base_is_accepted_exactly_when_floor_le_base_le_ceiling(base):
    refused = programme_faults(programmes=("pension",), declared_base=base)
    assert (refused == set()) == (Decimal("7162") <= base <= Decimal("35811"))


def test_a_flat_priced_programme_has_no_base_range():
    assert programme_faults(programmes=("medical_employee",), declared_base=Decimal("1")) == set()


def test_medical_programmes_are_checked_on_the_medical_base_when_given():
    form = dict(programmes=("pension", "medical_employee"), declared_base=Decimal("8000"))
    assert programme_faults(shanghai_policies(), region=SHANGHAI, medical_base=Decimal("7459.99"), **form) == {
        ("medical_base", "below_floor")}
    assert programme_faults(shanghai_policies(), region=SHANGHAI, medical_base=Decimal("7460"), **form) == set()


def test_a_medical_base_without_a_medical_programme_is_refused():
    assert programme_faults(programmes=("pension",), medical_base=Decimal("8000")) == {
        ("medical_base", "without_medical_programme")}


def test_the_frequency_must_be_allowed_by_the_region():
    assert programme_faults(shanghai_policies(), region=SHANGHAI, declared_base=Decimal("7460"),
                            frequency="quarterly") == {("frequency", "not_allowed")}
    assert programme_faults(region=BEIJING, frequency="annual") == set()


# --- one enrolment per programme ---------------------------------------------------------


def test_already_enrolled_or_applied_programmes_are_refused():
    assert faults(check_not_already_covered(("pension", "medical_employee"), {"pension"}, set())) == {
        ("programmes", "already_enrolled")}
    assert faults(check_not_already_covered(("pension",), set(), {"pension"})) == {
        ("programmes", "application_open")}
    assert check_not_already_covered(("unemployment",), {"pension"}, {"medical_employee"}) == []


# --- the whole assessment, against the person's record -----------------------------------


def assessed(form, record: PersonRecord | None = None, policies=None, on: date = TODAY):
    applicant, violations = check_identity(form, on)
    return assess_application(form, applicant, violations, policies=beijing_policies() if policies is None
                              else policies, record=record, today=on)


def test_an_application_is_checked_against_the_policies_in_force_the_month_after_today():
    old = a_policy("pension", "7162", "35811", effective_from=date(2025, 7, 1))
    new = a_policy("pension", "7500", "37500", effective_from=date(2026, 4, 1))
    assert policies_for_application([old, new], date(2026, 3, 15)) == {"pension": new}
    assert policies_for_application([old, new], date(2026, 2, 28)) == {"pension": old}
    assert policies_for_application([new], date(2026, 2, 28)) == {}


def test_a_category_on_record_holds_when_the_form_names_none():
    applicant, _ = check_identity(a_form(id_number=an_id_number(sex="female")), TODAY)
    assert with_recorded_category(applicant, None, "female_50").retirement_category == "female_50"
    assert with_recorded_category(applicant, "female_55", "female_50").retirement_category == "female_55"
    assert with_recorded_category(applicant, None, None).retirement_category == "female_55"


def test_the_recorded_womens_category_closes_pension_to_her_later_application():
    woman = a_form(id_number=an_id_number(date(1975, 2, 10), "female"), programmes=("pension",))
    on = date(2025, 6, 1)
    applicant, violations = assessed(woman, PersonRecord(retirement_category="female_50"), on=on)
    assert applicant.retirement_category == "female_50"
    assert faults(violations) == {("programmes", "retirement_age")}
    assert assessed(woman, PersonRecord(), on=on)[1] == []  # a new person: female_55 by default


def test_the_person_record_refuses_programmes_already_covered():
    _, violations = assessed(a_form(), PersonRecord(enrolled=frozenset({"pension"}),
                                                    applied_for=frozenset({"medical_employee"})))
    assert faults(violations) == {("programmes", "already_enrolled"), ("programmes", "application_open")}


def test_every_fault_is_named_identity_first_then_programmes_then_the_record():
    form = a_form(name=" ", declared_base=Decimal("1"), programmes=("pension", "maternity"))
    applicant, violations = assessed(form, PersonRecord(enrolled=frozenset({"pension"})))
    assert [(v.field, v.rule) for v in violations] == [
        ("name", "required"), ("declared_base", "below_floor"), ("programmes", "not_offered"),
        ("programmes", "already_enrolled")]
    assert applicant is not None


def test_an_invalid_id_number_is_still_checked_against_the_policies_but_not_any_record():
    form = a_form(id_number=with_wrong_check_digit(an_id_number()), programmes=("work_injury",))
    applicant, violations = assessed(form, PersonRecord(enrolled=frozenset({"work_injury"})))
    assert applicant is None
    assert faults(violations) == {("id_number", "check_digit"), ("programmes", "not_offered")}


def test_the_applicant_is_the_person_of_their_id_number_in_every_service():
    applicant, _ = check_identity(a_form(), TODAY)
    assert applicant.person_id == person_id_for(an_id_number())
