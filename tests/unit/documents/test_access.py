"""Who may hand in, read and review a dossier's materials, and who is shown duplicates."""

from __future__ import annotations

import uuid

import pytest

from services.documents.domain import (
    Caller,
    DossierStatus,
    UploadRefusal,
    UploadRule,
    may_read,
    may_review,
    sees_duplicates,
    upload_refusal,
)

APPLICANT = uuid.uuid4()
BEIJING, SHANGHAI = "110000", "310000"
CHECKLIST = ("id_card", "household_register")


def the_applicant() -> Caller:
    return Caller(role="resident", id=str(APPLICANT), region=BEIJING)


def a_resident() -> Caller:
    return Caller(role="resident", id=str(uuid.uuid4()), region=BEIJING)


def a_caseworker(region: str = BEIJING) -> Caller:
    return Caller(role="caseworker", id="caseworker-wang", region=region)


def refusal_of(caller: Caller, *, status: str = DossierStatus.OPEN, material: str = "id_card",
               checklist=CHECKLIST) -> UploadRefusal | None:
    return upload_refusal(caller, applicant=APPLICANT, dossier_status=status, material=material, checklist=checklist)


# --- uploads ---------------------------------------------------------------------------------


def test_the_applicant_hands_in_a_material_of_the_checklist_to_an_open_dossier():
    assert refusal_of(the_applicant()) is None
    assert refusal_of(the_applicant(), material="household_register") is None


@pytest.mark.parametrize("caller", [a_resident(), a_caseworker(), Caller("admin", str(APPLICANT), BEIJING)],
                         ids=["another resident", "a caseworker", "staff under the applicant's id"])
def test_nobody_but_the_applicant_hands_in_materials(caller):
    assert refusal_of(caller) == UploadRefusal(UploadRule.NOT_THE_APPLICANT,
                                               "only the applicant uploads materials to a dossier")


@pytest.mark.parametrize("status", [DossierStatus.VERIFIED, DossierStatus.WITHDRAWN, DossierStatus.REJECTED])
def test_a_closed_dossier_takes_no_upload(status):
    assert refusal_of(the_applicant(), status=status) == UploadRefusal(UploadRule.DOSSIER_CLOSED,
                                                                       f"the dossier is {status}")


def test_a_material_off_the_checklist_is_refused_naming_what_is_needed():
    refusal = refusal_of(the_applicant(), material="work_unit_certificate")

    assert refusal == UploadRefusal(UploadRule.MATERIAL_NOT_REQUIRED,
                                    "this application needs only id_card, household_register")
    assert refusal_of(the_applicant(), checklist=()).reason == "this application needs only nothing"


def test_whose_dossier_it_is_is_asked_before_whether_it_is_open():
    assert refusal_of(a_resident(), status=DossierStatus.WITHDRAWN, material="passport").rule is (
        UploadRule.NOT_THE_APPLICANT)
    assert refusal_of(the_applicant(), status=DossierStatus.WITHDRAWN, material="passport").rule is (
        UploadRule.DOSSIER_CLOSED)


# --- reading and reviewing ---------------------------------------------------------------------


def test_the_owner_and_caseworkers_of_the_region_read_a_file():
    assert may_read(the_applicant(), owner=APPLICANT, region=BEIJING)
    assert may_read(a_caseworker(BEIJING), owner=APPLICANT, region=BEIJING)


@pytest.mark.parametrize("caller", [a_resident(), a_caseworker(SHANGHAI), Caller("admin", "admin-1", BEIJING),
                                    Caller("ops", "ops-1", BEIJING)],
                         ids=["another resident", "a caseworker elsewhere", "an admin", "ops"])
def test_nobody_else_reads_a_file(caller):
    assert not may_read(caller, owner=APPLICANT, region=BEIJING)


def test_only_a_caseworker_of_the_dossiers_region_reviews():
    assert may_review(a_caseworker(BEIJING), region=BEIJING)
    assert not may_review(a_caseworker(SHANGHAI), region=BEIJING)
    assert not may_review(the_applicant(), region=BEIJING)


def test_staff_are_shown_duplicates_and_residents_are_not():
    assert sees_duplicates(a_caseworker())
    assert sees_duplicates(Caller("admin", "admin-1", BEIJING))
    assert not sees_duplicates(the_applicant())
