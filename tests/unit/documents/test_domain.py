"""The documents service's rules: checklists, file types, review verdicts, dossier outcomes, retention."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.documents.domain import (
    JPEG,
    PDF,
    PNG,
    DossierStatus,
    MaterialState,
    MaterialStatus,
    Rejected,
    Requirement,
    ReviewDecision,
    Verified,
    checklist,
    detect_file_type,
    documents_rejected,
    documents_verified,
    in_checklist_order,
    outcome_of_review,
    retention_cutoff,
    review_refusal,
)
from tests.unit.documents.sample_files import a_jpeg, a_pdf, a_png

ALL_PROGRAMMES = ("pension", "medical_employee", "medical_resident", "unemployment", "work_injury", "maternity")


def the_domain_table() -> list[Requirement]:
    """DOMAIN.md's Materials table as default rows (what the migration seeds)."""
    rows = [Requirement("*", p, m) for p in ALL_PROGRAMMES for m in ("id_card", "household_register")]
    rows += [Requirement("*", p, "social_security_card") for p in ("pension", "medical_employee", "medical_resident")]
    rows.append(Requirement("*", "pension", "work_unit_certificate"))
    return rows


# --- checklist ---------------------------------------------------------------------------


def test_pension_needs_every_material_including_the_work_unit_certificate():
    assert checklist(["pension"], "110000", the_domain_table()) == (
        "id_card", "household_register", "social_security_card", "work_unit_certificate")


def test_medical_needs_the_social_security_card_but_no_work_unit_certificate():
    assert checklist(["medical_employee"], "110000", the_domain_table()) == (
        "id_card", "household_register", "social_security_card")


def test_optional_programmes_need_only_the_id_card_and_household_register():
    assert checklist(["unemployment", "maternity"], "110000", the_domain_table()) == ("id_card", "household_register")


def test_a_checklist_lists_each_material_once_whatever_the_programmes():
    assert checklist(ALL_PROGRAMMES, "310000", the_domain_table()) == (
        "id_card", "household_register", "social_security_card", "work_unit_certificate")


def test_a_region_adds_a_material_for_a_programme():
    table = the_domain_table() + [Requirement("440300", "unemployment", "work_unit_certificate")]

    assert checklist(["unemployment"], "440300", table) == ("id_card", "household_register", "work_unit_certificate")
    assert checklist(["unemployment"], "110000", table) == ("id_card", "household_register")


def test_a_region_drops_a_default_material_for_one_programme_only():
    table = the_domain_table() + [Requirement("310000", "medical_employee", "social_security_card", required=False)]

    assert checklist(["medical_employee"], "310000", table) == ("id_card", "household_register")
    # pension still asks for it in that region, through its own default row
    assert "social_security_card" in checklist(["medical_employee", "pension"], "310000", table)
    assert "social_security_card" in checklist(["medical_employee"], "110000", table)


def test_the_order_of_the_rows_does_not_change_an_override():
    table = [Requirement("310000", "pension", "work_unit_certificate", required=False)] + the_domain_table()

    assert "work_unit_certificate" not in checklist(["pension"], "310000", table)


def test_a_dossier_lists_its_materials_in_the_order_of_domain_md_once_each():
    stored = ["work_unit_certificate", "id_card", "social_security_card", "id_card", "household_register"]

    assert in_checklist_order(stored) == (
        "id_card", "household_register", "social_security_card", "work_unit_certificate")
    assert in_checklist_order(["passport", "household_register"]) == ("household_register",)
    assert in_checklist_order([]) == ()


# --- file types --------------------------------------------------------------------------


def test_real_files_are_recognised_by_their_bytes():
    assert detect_file_type(a_jpeg()) is JPEG
    assert detect_file_type(a_png()) is PNG
    assert detect_file_type(a_pdf()) is PDF


@pytest.mark.parametrize("head", [
    b"", b"hello, I am a text file renamed .jpg", b"\xff\xd8", b"\x89PNG\r\n", b"%PDF", b"GIF89a\x01\x00",
    b"PK\x03\x04", b"<svg xmlns='http://www.w3.org/2000/svg'/>", b" %PDF-1.4",
])
def test_anything_else_is_not_accepted(head):
    assert detect_file_type(head) is None


@given(st.sampled_from([JPEG, PNG, PDF]), st.binary(max_size=64))
def test_a_signature_decides_the_type_whatever_follows(file_type, tail):
    assert detect_file_type(file_type.signature + tail) is file_type


@given(st.binary(max_size=64).filter(
    lambda data: not any(data.startswith(t.signature) for t in (JPEG, PNG, PDF))))
def test_bytes_without_a_signature_are_refused(data):
    assert detect_file_type(data) is None


# --- review verdicts ---------------------------------------------------------------------


def test_an_approval_needs_nothing_more():
    assert ReviewDecision("approve").problems() == []


def test_an_approval_carries_no_reason():
    assert ReviewDecision("approve", reason="illegible").problems()[0]["field"] == "body.reason"


def test_a_rejection_needs_a_reason_code():
    assert ReviewDecision("reject").problems()[0]["field"] == "body.reason"
    assert ReviewDecision("reject", reason="blurry").problems()[0]["field"] == "body.reason"


@pytest.mark.parametrize("reason", ["illegible", "expired", "mismatch", "incomplete"])
def test_a_rejection_with_a_listed_reason_is_enough(reason):
    decision = ReviewDecision("reject", reason=reason)

    assert decision.problems() == []
    assert decision.resulting_status == "rejected"


def test_other_needs_a_note():
    assert ReviewDecision("reject", reason="other").problems()[0]["field"] == "body.note"
    assert ReviewDecision("reject", reason="other", note="   ").problems()[0]["field"] == "body.note"
    assert ReviewDecision("reject", reason="other", note="stamp of another bureau").problems() == []


def test_only_the_current_unreviewed_version_of_an_open_dossier_takes_a_verdict():
    assert review_refusal(dossier_status="open", is_current=True, document_status="received") is None
    assert "already approved" in review_refusal(dossier_status="open", is_current=True, document_status="approved")
    assert "already rejected" in review_refusal(dossier_status="open", is_current=True, document_status="rejected")
    assert "newer version" in review_refusal(dossier_status="open", is_current=False, document_status="received")
    for closed in (DossierStatus.VERIFIED, DossierStatus.WITHDRAWN, DossierStatus.REJECTED):
        assert closed in review_refusal(dossier_status=closed, is_current=True, document_status="received")


# --- dossier outcomes ----------------------------------------------------------------------


def a_material(material: str, status: MaterialStatus, reason: str | None = None, note: str | None = None):
    has_document = status is not MaterialStatus.MISSING
    return MaterialState(material, status, uuid.uuid4() if has_document else None,
                         "ab" * 32 if has_document else None, reason, note)


APPROVE = ReviewDecision("approve")


def test_the_approval_that_completes_the_checklist_verifies_the_dossier():
    materials = [a_material("id_card", MaterialStatus.APPROVED),
                 a_material("household_register", MaterialStatus.APPROVED)]

    assert outcome_of_review(APPROVE, materials) == Verified(tuple(materials))


@pytest.mark.parametrize("other", [MaterialStatus.MISSING, MaterialStatus.RECEIVED, MaterialStatus.REJECTED])
def test_an_approval_waits_while_another_material_is_not_approved(other):
    materials = [a_material("id_card", MaterialStatus.APPROVED), a_material("household_register", other)]

    assert outcome_of_review(APPROVE, materials) is None


def test_a_rejection_reports_every_material_currently_rejected():
    first = a_material("id_card", MaterialStatus.REJECTED, "expired")
    second = a_material("household_register", MaterialStatus.REJECTED, "other", "wrong page")
    materials = [first, a_material("social_security_card", MaterialStatus.APPROVED), second]

    outcome = outcome_of_review(ReviewDecision("reject", reason="other", note="wrong page"), materials)

    assert outcome == Rejected((first, second))


def test_the_events_carry_documents_hashes_reasons_and_reviewer():
    application_id, person_id = uuid.uuid4(), uuid.uuid4()
    approved = a_material("id_card", MaterialStatus.APPROVED)
    rejected = a_material("id_card", MaterialStatus.REJECTED, "illegible")

    verified = documents_verified(application_id, person_id, Verified((approved,)), "caseworker-7")
    refused = documents_rejected(application_id, person_id, Rejected((rejected,)))

    assert verified.verified_by == "caseworker-7"
    assert [(m.material, m.document_id, m.sha256) for m in verified.materials] == [
        ("id_card", approved.document_id, approved.sha256)]
    assert [(m.material, m.document_id, m.reason, m.note) for m in refused.rejected] == [
        ("id_card", rejected.document_id, "illegible", "")]


# --- retention -------------------------------------------------------------------------------


def test_materials_are_purged_from_the_tenth_anniversary_of_closing():
    closed = date(2025, 3, 1)

    assert closed > retention_cutoff(date(2035, 2, 28), 10)
    assert closed <= retention_cutoff(date(2035, 3, 1), 10)


def test_a_dossier_closed_on_29_february_is_purged_from_1_march():
    closed = date(2024, 2, 29)

    assert closed > retention_cutoff(date(2034, 2, 28), 10)
    assert closed <= retention_cutoff(date(2034, 3, 1), 10)
    assert retention_cutoff(date(2036, 2, 29), 10) == date(2026, 2, 28)


def anniversary(closed: date, years: int) -> date:
    try:
        return closed.replace(year=closed.year + years)
    except ValueError:
        return date(closed.year + years, 3, 1)


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2060, 12, 31)),
       st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31)),
       st.integers(min_value=0, max_value=30))
def test_a_dossier_is_past_retention_exactly_from_its_anniversary(closed, as_of, years):
    assert (closed <= retention_cutoff(as_of, years)) == (as_of >= anniversary(closed, years))


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2080, 12, 31)), st.integers(min_value=0, max_value=30))
def test_the_cutoff_never_moves_back_as_days_pass(as_of, years):
    assert retention_cutoff(as_of, years) <= retention_cutoff(as_of + timedelta(days=1), years)
