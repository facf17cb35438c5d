"""A resident's notification preferences in the browser: saved, and shown as saved when the
inbox is opened again."""

from __future__ import annotations

import pytest

from tests.browser.portal_user import apply, sign_in_resident, submit, visit
from tooling.journey import a_resident_id_number

pytestmark = pytest.mark.e2e


def _choose(page, *, sms: bool, language: str, reminders: bool) -> None:
    page.set_checked("#ch-sms", sms)
    page.set_checked("#ch-email", False)  # the application gave no e-mail address
    page.select_option("#pref-language", language)
    page.set_checked("#reminders", reminders)
    submit(page, "form[action='/preferences'] button[type=submit]")
    assert page.locator("#preferences-saved").count() == 1, page.inner_text("main")


def _shown(page) -> tuple[bool, str, bool]:
    return page.is_checked("#ch-sms"), page.input_value("#pref-language"), page.is_checked("#reminders")


def test_a_resident_saves_notification_preferences_and_finds_them_after_a_reload(browser, portal_url):
    page = browser.new_context(locale="en-US").new_page()
    id_number = a_resident_id_number()
    sign_in_resident(page, portal_url, id_number)
    apply(page, portal_url, id_number)
    visit(page, f"{portal_url}/inbox")

    _choose(page, sms=False, language="en", reminders=False)
    visit(page, f"{portal_url}/inbox")
    page.reload()
    assert _shown(page) == (False, "en", False)
    assert page.is_checked("#ch-inbox")  # always on

    _choose(page, sms=True, language="zh-CN", reminders=True)
    visit(page, f"{portal_url}/inbox")
    assert _shown(page) == (True, "zh-CN", True)
