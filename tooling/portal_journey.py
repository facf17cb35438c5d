"""``make demo PORTAL=1``: the journey of ``make demo`` through the portal's pages instead of the
services' APIs — a resident applies and hands in the four materials, a caseworker approves them,
the bill appears, the resident pays through the simulated channel and opens the voucher, and
anyone checks it on the public verification page.

Each person is a :class:`~tooling.portal_pages.PortalVisitor`: the development sign-in, the
forms with their CSRF tokens, the session cookie. The operator's billing run, which is no
person's page, is asked of billing's API as in ``tooling.journey``. The browser tests run the
same function (tests/browser/test_portal_demo.py), so the demo shows what they check.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from shared.logging import mask_id_number
from tooling.journey import (
    JourneyError,
    Operator,
    Platform,
    a_resident_id_number,
    billing_date_for,
    sample_files,
    today_in_region,
)
from tooling.portal_pages import PortalPage, PortalVisitor

PORTAL_URL = "http://127.0.0.1:8100"
PROGRAMMES = ("pension", "medical_employee")
BILLING_RUNS = 20  # 3 s apart
Say = Callable[[str], None]


def apply(resident: PortalVisitor, platform: Platform, id_number: str) -> str:
    """Fill in the apply form (again while enrollment has not heard the region's policies, which
    it refuses beside the programmes); the application id."""
    fields = {"id_number": id_number, "name": "Li Hua", "phone": "13812345678", "email": "li.hua@example.cn",
              "programmes": list(PROGRAMMES), "declared_base": "7162.00", "frequency": "monthly",
              "retirement_category": ""}

    def submitted() -> str | None:
        page = resident.submit(resident.get("/apply").form("/apply"), fields)
        if page.path.startswith("/applications/"):
            return page.path.rsplit("/", 1)[1]
        refusals = {name: page.text(f"{name}-error") for name in (*fields, "_") if page.text(f"{name}-error")}
        if set(refusals) != {"programmes"}:
            raise JourneyError(f"the portal refused the application: {refusals or page.status}")
        return None

    return platform.wait_for("the region's policies to reach enrollment", submitted)


def upload_materials(resident: PortalVisitor, platform: Platform, application_id: str, say: Say) -> None:
    """Hand in each material of the checklist, once the dossier is open."""
    path = f"/applications/{application_id}"
    checklist = platform.wait_for("the materials checklist", lambda: _upload_forms(resident.get(path), path))
    for material, file in sample_files().items():
        if material not in checklist:
            continue
        page = resident.submit(checklist[material], files={"file": file})
        [shown] = page.having("li", id=f"material-{material}") or [{}]
        if shown.get("data-status") != "received":
            raise JourneyError(f"{material} was not received: {page.text(f'err-{material}') or shown}")
        say(f"portal        resident uploaded {material} ({file[0]}, {len(file[1])} bytes): received")


def _upload_forms(page: PortalPage, path: str) -> dict:
    forms = page.forms_where(lambda form: form.action.startswith(f"{path}/materials/"))
    return {form.action.rsplit("/", 1)[1]: form for form in forms}


def approve_materials(caseworker: PortalVisitor, application_id: str) -> int:
    """Press Approve on every material waiting in the dossier's review page; how many."""
    page = caseworker.get(f"/review/{application_id}")
    approvals = page.forms_where(lambda form: form.fields.get("decision") == "approve")
    for form in approvals:
        reviewed = caseworker.submit(form)
        if reviewed.path != f"/review/{application_id}":
            raise JourneyError(f"the approval was refused: {reviewed.status} at {reviewed.path}")
    return len(approvals)


def active_cover(resident: PortalVisitor, platform: Platform) -> list[dict[str, str]]:
    """The rows of the home page's cover table, once every programme is active."""

    def active() -> list[dict[str, str]] | None:
        rows = resident.get("/").having("tr", data_status="active")
        return rows if len(rows) >= len(PROGRAMMES) else None

    return platform.wait_for("the cover to become active", active, timeout_s=60)


def the_bill(resident: PortalVisitor, platform: Platform, start_month: str) -> str:
    """The address of the bill on the home page after the operator's billing run, run again while
    billing has not yet heard of the cover (the run is idempotent for its date)."""
    operator = Operator(platform)
    run_date = billing_date_for(start_month, today_in_region(platform))
    for _ in range(BILLING_RUNS):
        operator.billing_run(run_date)
        try:
            return platform.wait_for("the bill", lambda: resident.get("/").links("/bills/")[:1], timeout_s=3)[0]
        except JourneyError:
            continue
    raise JourneyError(f"no bill on the resident's home page after {BILLING_RUNS} billing runs for {run_date}")


def pay(resident: PortalVisitor, bill_link: str) -> PortalPage:
    """From the bill to the simulated channel's page and its Confirm button; the voucher's page."""
    bill = resident.get(bill_link)
    [pay_link] = bill.links("/pay/") or [None]
    if pay_link is None:
        raise JourneyError("the bill has no Pay button: this portal has no simulated channel (production?)")
    voucher = resident.submit(resident.get(pay_link).form(pay_link))
    if not voucher.path.startswith("/vouchers/"):
        raise JourneyError(f"the payment was refused: {voucher.status} at {voucher.path}")
    return voucher


def verify(portal_url: str, link: str) -> PortalPage:
    """The public verification page of ``link``, as anyone opens it (no sign-in)."""
    public = PortalVisitor(portal_url, language="zh-CN")
    try:
        return public.get(link)
    finally:
        public.close()


def is_valid(verification: PortalPage) -> bool:
    """Whether the verification page says the voucher is valid (its outcome's class)."""
    return any("outcome-valid" in outcome.get("class", "").split()
               for outcome in verification.having("section", id="outcome"))


def portal_journey(portal_url: str, platform: Platform, say: Say = print) -> dict[str, Any]:
    """The whole journey through the portal; what each step showed."""
    resident, caseworker = PortalVisitor(portal_url), PortalVisitor(portal_url)
    try:
        return _journey(resident, caseworker, portal_url, platform, say)
    finally:
        resident.close()
        caseworker.close()


def _journey(resident: PortalVisitor, caseworker: PortalVisitor, portal_url: str, platform: Platform,
             say: Say) -> dict[str, Any]:
    id_number = a_resident_id_number()
    resident.sign_in("resident", platform.region, id_number)
    say(f"portal        resident {mask_id_number(id_number)} signed in (development sign-in)")
    application_id = apply(resident, platform, id_number)
    say(f"portal        resident applied for {', '.join(PROGRAMMES)}: application {application_id}")
    upload_materials(resident, platform, application_id, say)

    caseworker.sign_in("caseworker", platform.region)
    say(f"portal        caseworker of {platform.region} approved {approve_materials(caseworker, application_id)}"
        " materials")
    cover = active_cover(resident, platform)
    say(f"portal        resident's home page: {len(cover)} programmes active from {cover[0]['data-start-month']}")

    bill_link = the_bill(resident, platform, cover[0]["data-start-month"])
    total = resident.get(bill_link).text("bill-total")
    say(f"portal        bill {bill_link.rsplit('/', 1)[1]} total {total}")
    voucher = pay(resident, bill_link)
    voucher_no = voucher.text("voucher-no")
    [link] = voucher.links(f"{portal_url.rstrip('/')}/verify/") or [None]
    say(f"portal        paid through the simulated channel → voucher {voucher_no}, QR code for {link}")

    checked = verify(portal_url, link or f"/verify/{voucher_no}")
    valid = is_valid(checked)
    say(f"portal        public verification of {voucher_no}: {'valid' if valid else 'NOT valid'}")
    return {"application_id": application_id, "bill_total": total, "voucher_no": voucher_no,
            "verify_link": link, "voucher_valid": valid, "verified_text": checked.text("outcome")}


def main(argv: Sequence[str] | None = None) -> int:
    """``make demo PORTAL=1``: the journey through a running ``make run`` portal."""
    parser = argparse.ArgumentParser(prog="python -m tooling.portal_journey", description=main.__doc__)
    parser.add_argument("--portal-url", default=PORTAL_URL, help=f"the portal (default {PORTAL_URL})")
    args = parser.parse_args(argv)
    print(f"Shebao demo: one resident's journey through the portal at {args.portal_url} "
          "(make run must be running)\n")
    try:
        seen = portal_journey(args.portal_url, Platform())
    except (JourneyError, httpx.HTTPError) as error:
        print(f"\ndemo failed: {error}")
        return 1
    if not seen["voucher_valid"]:
        print("\ndemo failed: the public page did not find the voucher valid")
        return 1
    print("\ndone.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
