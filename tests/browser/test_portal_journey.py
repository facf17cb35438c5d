"""The journey of issue 15 in headless Chromium, through the portal only (an operator's billing
run aside, which is no person's page): apply, four uploads, a rejection, the re-upload, the
approval, the bill, the payment, the printable voucher and the public check of it."""

from __future__ import annotations

from datetime import date

import pytest

from tests.browser.portal_user import (
    apply,
    assert_labelled,
    open_checklist,
    sign_in_caseworker,
    sign_in_resident,
    submit,
    upload,
    upload_all,
    visit,
    wait_for,
)
from tooling.journey import Operator, a_resident_id_number, billing_date_for, sample_files, today_in_region

pytestmark = pytest.mark.e2e


def test_resident_applies_caseworker_rejects_then_approves_resident_pays_and_public_verifies(
        browser, portal_url, client, screenshots):
    portal = portal_url
    resident = browser.new_context(locale="en-US", viewport={"width": 414, "height": 896})
    me = resident.new_page()
    id_number = a_resident_id_number()
    sign_in_resident(me, portal, id_number)
    application_id = apply(me, portal, id_number)
    open_checklist(me, portal, application_id)
    upload_all(me)

    staff = browser.new_context(locale="en-US")
    caseworker = staff.new_page()
    sign_in_caseworker(caseworker, portal)
    wait_for(caseworker, "the dossier in the review queue", lambda: application_id[:8] in caseworker.inner_text("main"))
    assert_labelled(caseworker)
    caseworker.screenshot(path=str(screenshots / "review-queue.png"), full_page=True)
    visit(caseworker, f"{portal}/review/{application_id}")
    assert caseworker.locator("#review-id_card img.doc").count() == 1  # the image shown inline
    assert caseworker.locator("#review-household_register object.doc").count() == 1  # the PDF too
    caseworker.select_option("#reason-id_card", "illegible")
    submit(caseworker, "#review-id_card form:has(#reason-id_card) button[type=submit]")
    for material in ("household_register", "social_security_card", "work_unit_certificate"):
        submit(caseworker, f"#review-{material} form.inline button[type=submit]")
        assert "approved" in caseworker.inner_text(f"#review-{material}")

    open_checklist(me, portal, application_id)
    wait_for(me, "the rejection", lambda: "Rejected" in me.inner_text("#material-id_card"))
    assert "illegible" in me.inner_text("#material-id_card")
    name, content, mime = sample_files()["id_card"]
    upload(me, "id_card", name, content, mime)
    assert "received" in me.inner_text("#material-id_card")

    visit(caseworker, f"{portal}/review/{application_id}")
    submit(caseworker, "#review-id_card form.inline button[type=submit]")
    assert "approved" in caseworker.inner_text("#review-id_card")

    visit(me, portal)
    wait_for(me, "active cover", lambda: me.inner_text("main").count("active") >= 2)
    [start_month] = {cell.inner_text() for cell in me.locator("tbody tr td:nth-child(3)").all()}
    Operator(client).billing_run(billing_date_for(start_month, today_in_region(client)))
    wait_for(me, "the bill", lambda: me.locator("a[href^='/bills/']").count() == 1)
    me.screenshot(path=str(screenshots / "resident-home.png"), full_page=True)

    submit(me, "a[href^='/bills/']")
    assert_labelled(me)
    assert me.inner_text("#bill-total") == "2017.32"
    assert "1432.40" in me.inner_text("table") and "584.92" in me.inner_text("table")
    me.screenshot(path=str(screenshots / "bill.png"), full_page=True)
    submit(me, "text=Pay")
    assert me.inner_text("#pay-amount") == "2017.32"
    submit(me, "main button[type=submit]")
    voucher_no = me.inner_text("#voucher-no")
    assert voucher_no and "/vouchers/" in me.url
    assert me.locator("figure.qr svg").count() == 1
    me.screenshot(path=str(screenshots / "voucher.png"), full_page=True)
    me.emulate_media(media="print")
    assert not me.locator("header.top").is_visible()  # the printed voucher is the voucher alone
    assert me.pdf()[:4] == b"%PDF"
    me.emulate_media(media="screen")
    link = me.locator("figure.qr a").get_attribute("href")
    assert link == f"{portal}/verify/{voucher_no}"

    public = browser.new_context(locale="zh-CN").new_page()
    visit(public, link)
    assert "有效" in public.inner_text("#outcome")
    assert "2017.32" in public.inner_text("#outcome")
    visit(public, f"{portal}/verify?voucher_no=NO-SUCH-VOUCHER")
    assert "未知" in public.inner_text("#outcome")

    visit(me, f"{portal}/statement")
    assert "572.96" in me.inner_text("main")
    visit(me, f"{portal}/inbox")
    assert me.locator("li.card").count() >= 1
    assert date.today().year > 2000
