"""The caseworker console in the browser: finding a person by resident ID number (masked until
asked for, never in an address) and rejecting a whole application, whose reason the resident
then reads on their application's page."""

from __future__ import annotations

import pytest

from tests.browser.portal_user import apply, sign_in_caseworker, sign_in_resident, submit, visit, wait_for
from tooling.journey import a_resident_id_number

pytestmark = pytest.mark.e2e


def an_application_and_its_caseworker(browser, portal_url: str, resident_locale: str):
    """A new resident's page, ID number and application, and a caseworker of the region signed in."""
    resident = browser.new_context(locale=resident_locale).new_page()
    id_number = a_resident_id_number()
    sign_in_resident(resident, portal_url, id_number)
    application_id = apply(resident, portal_url, id_number)
    caseworker = browser.new_context(locale="en-US").new_page()
    sign_in_caseworker(caseworker, portal_url)
    return resident, id_number, application_id, caseworker


def test_a_caseworker_finds_a_person_by_id_number_shown_masked_then_in_full_on_request(browser, portal_url):
    _, id_number, application_id, caseworker = an_application_and_its_caseworker(browser, portal_url, "en-US")
    visit(caseworker, f"{portal_url}/person")
    caseworker.fill("#find-id", id_number)
    submit(caseworker, "#find-person button[type=submit]")
    assert caseworker.inner_text("#shown-id") == id_number[:3] + "*" * 11 + id_number[-4:]
    assert id_number not in caseworker.inner_text("main")
    assert caseworker.locator(f"#person-applications a[href='/review/{application_id}']").count() == 1

    submit(caseworker, "#reveal button[type=submit]")
    assert caseworker.inner_text("#shown-id") == id_number
    assert caseworker.locator("#reveal").count() == 0
    assert id_number not in caseworker.url  # a posted form: the number is in no address, so in no log


def test_a_caseworker_rejects_an_application_with_a_reason_the_resident_then_reads(browser, portal_url):
    resident, _, application_id, caseworker = an_application_and_its_caseworker(browser, portal_url, "zh-CN")
    visit(caseworker, f"{portal_url}/review/{application_id}")
    wait_for(caseworker, "the dossier", lambda: caseworker.locator("#reject-application").count() == 1)
    reason = "The certificate names a work unit that is not registered in this region"
    caseworker.fill("#app-reason", reason)
    submit(caseworker, "#reject-application button[type=submit]")
    assert caseworker.url.endswith("/review")

    visit(resident, f"{portal_url}/applications/{application_id}")
    assert resident.inner_text("#application-status") == "已退回"
    rejection = resident.inner_text("#application-rejection")
    assert reason in rejection and "您的申请已被驳回" in rejection
    assert resident.locator("input[type=file]").count() == 0  # nothing more to hand in
    visit(caseworker, f"{portal_url}/review/{application_id}")
    assert caseworker.locator("#reject-application").count() == 0  # decided: no second rejection
