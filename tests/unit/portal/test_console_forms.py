"""The forms of item 3 without the platform: a rejection needs a reason, preferences the service
refuses are not reported saved, and a person is found by a posted ID number, shown masked."""

from __future__ import annotations

from services.portal.caseworker import mask_id
from shared.identity import person_id_for
from tests.unit.portal.services_double import APPLICATION_ID, PERSON_ID, ServicesDouble, portal_with
from tooling.journey import a_resident_id_number

CSRF = {"csrf": "csrf-of-the-test"}


def _a_dossier_waiting() -> ServicesDouble:
    services = ServicesDouble()
    services.answer("GET", "documents", f"/v1/dossiers/{APPLICATION_ID}",
                    body={"programmes": ["pension"], "region": "110000", "materials": []})
    services.answer("GET", "enrollment", f"/v1/applications/{APPLICATION_ID}", body={"status": "awaiting_documents"})
    return services


def test_an_application_is_not_rejected_without_a_reason():
    services = _a_dossier_waiting()
    page = portal_with(services, role="caseworker", language="en").post(f"/review/{APPLICATION_ID}/reject",
                                                                        data={**CSRF, "reason": "  "})
    assert page.status_code == 422
    assert 'id="app-reason-error"' in page.text
    assert not [call for call in services.calls if call[2].endswith("/reject")]


def test_the_reason_of_a_rejection_goes_to_enrollment_as_typed():
    services = _a_dossier_waiting()
    services.answer("POST", "enrollment", f"/v1/applications/{APPLICATION_ID}/reject", body={"status": "rejected"})
    page = portal_with(services, role="caseworker").post(f"/review/{APPLICATION_ID}/reject",
                                                         data={**CSRF, "reason": "证明材料不实"},
                                                         follow_redirects=False)
    assert page.status_code == 303
    [(_, _, _, sent)] = [call for call in services.calls if call[2].endswith("/reject")]
    assert sent["json"] == {"reasons": ["证明材料不实"]}


def test_preferences_the_service_refuses_are_shown_refused_not_saved():
    services = ServicesDouble()
    services.refuse("PUT", "notifications", f"/v1/persons/{PERSON_ID}/preferences", 422, "validation_error",
                    {"field": "body.channels", "reason": "no e-mail address on record for this person"})
    page = portal_with(services).post("/preferences", data={**CSRF, "channels": ["email"], "language": "en"},
                                      follow_redirects=False)
    assert page.status_code == 422
    assert "未登记电子邮箱" in page.text and 'id="preferences-saved"' not in page.text


def test_a_person_is_found_by_a_posted_id_number_and_shown_masked_until_asked():
    id_number = a_resident_id_number()
    services = ServicesDouble()
    services.answer("GET", "enrollment", f"/v1/persons/{person_id_for(id_number)}/applications",
                    body={"applications": [{"application_id": APPLICATION_ID, "programmes": ["pension"],
                                            "status": "awaiting_documents"}]})
    portal = portal_with(services, role="caseworker")
    masked = portal.post("/person", data={**CSRF, "id_number": id_number})
    assert f'<strong id="shown-id">{mask_id(id_number)}</strong>' in masked.text
    assert f"/review/{APPLICATION_ID}" in masked.text
    shown = portal.post("/person", data={**CSRF, "id_number": id_number, "reveal": "1"})
    assert f'<strong id="shown-id">{id_number}</strong>' in shown.text
    assert shown.headers["cache-control"] == "no-store"
    assert id_number not in portal.get(f"/person?id_number={id_number}").text  # no search by address
