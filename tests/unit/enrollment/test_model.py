"""Decisions on applications and enrolments: activation, change of terms, reinstatement."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from services.enrollment.domain.lifecycle import (
    TransitionRefused,
    can_move_application,
    can_move_enrollment,
    ensure_application_move,
)
from services.enrollment.domain.model import (
    Application,
    Enrollment,
    activations_for,
    check_change_asked,
    plan_approval,
    plan_change,
    policies_for_change,
    reinstatement_waiting_until,
)
from services.enrollment.domain.policy import policies_in_force
from shared.periods import Month

from .builders import a_policy, beijing_policies


def an_application(**changes) -> Application:
    values = dict(
        application_id=uuid.uuid4(), person_id=uuid.uuid4(), region="110000",
        programmes=("pension", "medical_employee"), declared_base=Decimal("8000.00"), medical_base=None,
        frequency="quarterly", retirement_category="male_60", status="awaiting_documents",
        submitted_at=datetime(2025, 8, 1, tzinfo=UTC),
    )
    values.update(changes)
    return Application(**values)


def an_active_enrolment(**changes) -> Enrollment:
    values = dict(
        enrollment_id=uuid.uuid4(), person_id=uuid.uuid4(), application_id=uuid.uuid4(), region="110000",
        programme="pension", base=Decimal("8000.00"), frequency="monthly", start_month=Month(2025, 9),
        terms_from=Month(2025, 9), status="active", activated_at=datetime(2025, 8, 20, tzinfo=UTC),
    )
    values.update(changes)
    return Enrollment(**values)


# --- activation --------------------------------------------------------------------------


def test_approval_activates_one_enrolment_per_programme_from_the_next_month():
    activations = activations_for(an_application(), date(2025, 8, 20), None)
    assert [(a.programme, a.base, a.frequency, a.start_month, a.waiting_until) for a in activations] == [
        ("pension", Decimal("8000.00"), "quarterly", Month(2025, 9), None),
        ("medical_employee", Decimal("8000.00"), "quarterly", Month(2025, 9), None),
    ]


def test_medical_programmes_carry_the_medical_base_when_one_was_given():
    activations = activations_for(an_application(medical_base=Decimal("9000.00")), date(2025, 8, 20), None)
    assert {a.programme: a.base for a in activations} == {
        "pension": Decimal("8000.00"), "medical_employee": Decimal("9000.00")}


def test_re_enrolling_in_medical_after_a_long_gap_waits():
    # last covered 2024-01, starts 2025-09: 19 months without cover → 3 + 1 months
    activations = activations_for(an_application(), date(2025, 8, 20), Month(2024, 1))
    assert {a.programme: a.waiting_until for a in activations} == {
        "pension": None, "medical_employee": date(2025, 12, 31)}


def test_an_approval_skips_the_programmes_enrolled_meanwhile():
    approval = plan_approval(an_application(), date(2025, 8, 20), None, enrolled={"pension"})
    assert [a.programme for a in approval.activations] == ["medical_employee"]
    assert approval.already_enrolled == ["pension"]


def test_an_approval_with_nothing_enrolled_activates_every_programme_in_the_application_order():
    application = an_application(programmes=("medical_employee", "pension", "unemployment"))
    approval = plan_approval(application, date(2025, 8, 20), None, enrolled={"work_injury"})
    assert [a.programme for a in approval.activations] == ["medical_employee", "pension", "unemployment"]
    assert all(a.start_month == Month(2025, 9) for a in approval.activations)
    assert approval.already_enrolled == []


def test_an_approval_of_programmes_all_enrolled_meanwhile_activates_nothing():
    approval = plan_approval(an_application(), date(2025, 8, 20), Month(2024, 1),
                             enrolled={"pension", "medical_employee"})
    assert (approval.activations, approval.already_enrolled) == ([], ["pension", "medical_employee"])


@pytest.mark.parametrize("status, still_open", [
    ("submitted", True), ("awaiting_documents", True), ("approved", False), ("rejected", False),
    ("withdrawn", False),
])
def test_documents_outcomes_apply_only_to_an_open_application(status, still_open):
    assert an_application(status=status).is_open is still_open


# --- change of base and frequency --------------------------------------------------------


def test_a_change_takes_effect_from_the_next_unbilled_month():
    change, violations = plan_change(an_active_enrolment(), date(2025, 10, 5), beijing_policies(),
                                     base=Decimal("9000"))
    assert violations == []
    assert (change.base, change.frequency, change.effective_month) == (Decimal("9000"), "monthly", Month(2025, 11))


def test_a_change_is_checked_against_the_policy_in_force_in_its_effective_month():
    versions = [*beijing_policies().values(),
                a_policy("pension", "7500", "37500", effective_from=date(2026, 1, 1))]
    enrolment = an_active_enrolment()
    in_force = policies_in_force(versions, Month(2026, 1).first_day)
    _, violations = plan_change(enrolment, date(2025, 12, 10), in_force, base=Decimal("7200"))
    assert {(v.field, v.rule) for v in violations} == {("base", "below_floor")}
    _, violations = plan_change(enrolment, date(2025, 12, 10), in_force, base=Decimal("7500"))
    assert violations == []


def test_a_change_must_name_a_base_or_a_frequency():
    assert [(v.field, v.rule) for v in check_change_asked(None, None)] == [("", "required")]
    assert check_change_asked(Decimal("9000"), None) == []
    assert check_change_asked(None, "annual") == []


def test_a_change_is_checked_against_the_policies_of_its_effective_month_not_of_today():
    old = a_policy("pension", "7162", "35811", effective_from=date(2025, 7, 1))
    new = a_policy("pension", "7500", "37500", effective_from=date(2026, 1, 1))
    assert policies_for_change([old, new], an_active_enrolment(), date(2025, 12, 10)) == {"pension": new}
    assert policies_for_change([old, new], an_active_enrolment(), date(2025, 11, 10)) == {"pension": old}
    # not started yet: the start month is the first one a change can apply to
    later_start = an_active_enrolment(start_month=Month(2026, 1), terms_from=Month(2026, 1))
    assert policies_for_change([old, new], later_start, date(2025, 11, 10)) == {"pension": new}


def test_a_frequency_the_region_does_not_allow_is_refused():
    monthly_only = {"pension": a_policy("pension", "7460", "37302", region="310000", frequencies=("monthly",))}
    _, violations = plan_change(an_active_enrolment(region="310000"), date(2025, 10, 5), monthly_only,
                                frequency="annual")
    assert {(v.field, v.rule) for v in violations} == {("frequency", "not_allowed")}


# --- reinstatement -----------------------------------------------------------------------


def test_medical_resuming_long_after_suspension_waits_but_pension_does_not():
    suspended = dict(status="suspended", suspended_since=date(2025, 11, 13))
    medical = an_active_enrolment(programme="medical_employee", **suspended)
    assert reinstatement_waiting_until(medical, date(2026, 4, 2)) == date(2026, 6, 30)  # Dec–Mar: 4 months
    assert reinstatement_waiting_until(medical, date(2026, 3, 2)) is None               # Dec–Feb: 3 months
    assert reinstatement_waiting_until(an_active_enrolment(**suspended), date(2027, 4, 2)) is None


# --- policies and states -----------------------------------------------------------------


def test_the_policy_in_force_is_the_latest_version_started_on_or_before_the_day():
    old = a_policy("pension", "7162", "35811", effective_from=date(2025, 7, 1))
    new = a_policy("pension", "7500", "37500", effective_from=date(2026, 7, 1))
    assert policies_in_force([new, old], date(2026, 6, 30)) == {"pension": old}
    assert policies_in_force([old, new], date(2026, 7, 1)) == {"pension": new}
    assert policies_in_force([old, new], date(2025, 6, 30)) == {}


def test_application_and_enrolment_moves():
    assert can_move_application("awaiting_documents", "withdrawn")
    assert not can_move_application("approved", "withdrawn")
    assert not can_move_application("withdrawn", "approved")
    assert can_move_enrollment("suspended", "active")
    assert not can_move_enrollment("terminated", "active")
    with pytest.raises(TransitionRefused):
        ensure_application_move("rejected", "withdrawn")
