"""The error paths of issue 15 in the browser — an ineligible applicant, an oversized upload, a
wrong file type (JavaScript on, through static/upload.js, and off: the same errors) — and the
apply form done with the keyboard alone."""

from __future__ import annotations

from datetime import date

import pytest

from tests.browser.portal_user import (
    answered,
    apply,
    assert_labelled,
    fill_application,
    open_checklist,
    sign_in_resident,
    submit,
    upload,
    visit,
)
from tooling.journey import a_resident_id_number, sample_files

pytestmark = pytest.mark.e2e


def test_an_ineligible_applicant_sees_the_reason_beside_the_field(browser, portal_url):
    page = browser.new_context(locale="en-US").new_page()
    child = a_resident_id_number(born=date(date.today().year - 10, 3, 1))
    sign_in_resident(page, portal_url, child)
    visit(page, f"{portal_url}/apply")
    fill_application(page, child)
    submit(page, "form.card button[type=submit]")
    assert "/apply" in page.url
    error = page.locator("#id_number-error")
    assert "16" in error.inner_text()  # at least 16 years old
    assert page.get_attribute("#id_number", "aria-describedby") == "id_number-error"
    assert page.input_value("#name") == "Li Hua"  # what was typed is kept
    assert_labelled(page)


def test_a_base_outside_the_policy_range_is_shown_beside_the_base(browser, portal_url):
    page = browser.new_context(locale="en-US").new_page()
    id_number = a_resident_id_number()
    sign_in_resident(page, portal_url, id_number)
    visit(page, f"{portal_url}/apply")
    assert "–" in page.inner_text("#base-range")  # the range of the region's policy is shown
    fill_application(page, id_number, base="1.00")
    submit(page, "form.card button[type=submit]")
    assert page.locator("#declared_base-error").count() == 1 or page.locator("main .error").count() >= 1


@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_an_oversized_upload_and_a_wrong_file_type_are_refused_with_the_reason(browser, portal_url, javascript):
    """The same errors beside the field whether static/upload.js sent the form or the browser did."""
    page = browser.new_context(locale="en-US", java_script_enabled=javascript).new_page()
    id_number = a_resident_id_number()
    sign_in_resident(page, portal_url, id_number)
    application_id = apply(page, portal_url, id_number)
    open_checklist(page, portal_url, application_id)

    too_big = b"\x89PNG\r\n\x1a\n" + b"\x00" * (10 * 1024 * 1024 + 1)
    upload(page, "id_card", "huge.png", too_big, "image/png")
    assert page.inner_text("#err-id_card") == "The file is too large."
    assert page.get_attribute("#file-id_card", "aria-describedby") == "err-id_card"
    assert page.get_attribute("#err-id_card", "role") == "alert"
    assert "missing" in page.inner_text("#material-id_card")
    if javascript:  # the page put in place, not loaded: the field with the error has the focus
        assert page.url == f"{portal_url}/applications/{application_id}"
        assert page.evaluate("() => document.activeElement.id") == "file-id_card"
        assert page.title().startswith("Application")

    upload(page, "household_register", "notes.txt", b"just some text, not a scan", "text/plain")
    assert page.inner_text("#err-household_register") == "Only JPEG, PNG or PDF files are accepted."
    assert "missing" in page.inner_text("#material-household_register")
    assert page.locator("#err-id_card").count() == 0  # one answer's error at a time, as after a page load

    # after a refusal, the form put in place uploads as well
    name, content, mime = sample_files()["id_card"]
    upload(page, "id_card", name, content, mime)
    assert "received" in page.inner_text("#material-id_card")


def _tab_to(page, element_id: str, limit: int = 80) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement && document.activeElement.id") == element_id:
            return
    raise AssertionError(f"#{element_id} cannot be reached with the Tab key")


def test_the_apply_form_works_with_the_keyboard_alone(browser, portal_url):
    page = browser.new_context(locale="en-US").new_page()
    id_number = a_resident_id_number()
    sign_in_resident(page, portal_url, id_number)
    deadline_tries = 60
    for _ in range(deadline_tries):
        page.goto(f"{portal_url}/apply")
        for field, text in (("id_number", id_number), ("name", "Wang Fang"), ("phone", "13912345678")):
            _tab_to(page, field)
            page.keyboard.type(text)
        for programme in ("prog-pension", "prog-medical_employee"):
            _tab_to(page, programme)
            page.keyboard.press("Space")
        _tab_to(page, "declared_base")
        page.keyboard.type("7162.00")
        _tab_to(page, "retirement_category")
        page.keyboard.press("Tab")  # to the submit button
        assert page.evaluate("() => document.activeElement.type") == "submit"
        answered(page, lambda: page.keyboard.press("Enter"))
        if "/applications/" in page.url:
            break
        page.wait_for_timeout(500)  # enrollment has not heard the region's policies yet
    assert "/applications/" in page.url, page.inner_text("main")
    assert page.locator("#application-status").count() == 1
