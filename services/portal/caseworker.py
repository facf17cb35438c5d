"""The caseworker console: the region's review queue, one dossier's materials with approve /
reject-with-reason, rejecting a whole application, and finding a person by resident ID number.

A resident ID number is never part of an address (addresses are logged): the search is a posted
form, and the page shows the number masked until the caseworker asks for it in full."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.portal.page import Page, caseworker_of
from shared.identity import person_id_for
from shared.logging import get_logger
from shared.resident_id import parse_resident_id

REJECTION_REASONS = ("illegible", "expired", "mismatch", "incomplete", "other")
UNDECIDED = ("submitted", "awaiting_documents")

router = APIRouter()
log = get_logger("portal.caseworker")


def mask_id(id_number: str) -> str:
    """An ID number as shown until asked for: the first 3 and the last 4 characters."""
    return id_number[:3] + "*" * max(len(id_number) - 7, 0) + id_number[-4:] if len(id_number) > 7 else "****"


@router.get("/review", response_class=HTMLResponse)
async def review_queue(request: Request) -> Response:
    page = Page(request)
    caseworker_of(page)
    answer = await page.backend.call("GET", "documents", "/v1/review-queue?limit=50", page.token)
    return page.render("review_queue.html", items=(answer.body or {}).get("items", []) if answer.ok else [])


async def _review_page(page: Page, application_id: uuid.UUID, errors: dict | None = None,
                       status: int = 200) -> Response:
    dossier = await page.backend.call("GET", "documents", f"/v1/dossiers/{application_id}", page.token)
    record = await page.backend.call("GET", "enrollment", f"/v1/applications/{application_id}", page.token)
    if not dossier.ok:
        return page.render("message.html", status=dossier.status, title=page._("Not found"),
                           message=page._("No such dossier."))
    return page.render("review.html", status=status, dossier=dossier.body, record=record.body if record.ok else None,
                       reasons=REJECTION_REASONS, application_id=application_id, undecided=UNDECIDED,
                       errors=errors or {})


@router.get("/review/{application_id}", response_class=HTMLResponse)
async def review_dossier(request: Request, application_id: uuid.UUID) -> Response:
    page = Page(request)
    caseworker_of(page)
    return await _review_page(page, application_id)


@router.post("/review/documents/{document_id}")
async def review_document(request: Request, document_id: uuid.UUID) -> Response:
    page = Page(request)
    caseworker_of(page)
    form = await page.form()
    decision = "reject" if form.get("decision") == "reject" else "approve"
    body: dict[str, Any] = {"decision": decision}
    if decision == "reject":
        body["reason"] = form.get("reason") if form.get("reason") in REJECTION_REASONS else "other"
        if form.get("note"):
            body["note"] = str(form.get("note"))[:2000]
    answer = await page.backend.call("POST", "documents", f"/v1/documents/{document_id}/review", page.token,
                                     json=body)
    back = str(form.get("application_id") or "")
    if not answer.ok:
        return page.render("message.html", status=422, title=page._("Refused"), message=page.refusal(answer))
    return page.redirect(f"/review/{back}" if back else "/review")


@router.post("/review/{application_id}/reject")
async def reject_application(request: Request, application_id: uuid.UUID) -> Response:
    """Refuse the whole application with the reason the resident will read on their page."""
    page = Page(request)
    caseworker_of(page)
    form = await page.form()
    reason = str(form.get("reason") or "").strip()
    if not reason:
        return await _review_page(page, application_id, {"app-reason": page._("Say why the application is rejected.")},
                                  422)
    answer = await page.backend.call("POST", "enrollment", f"/v1/applications/{application_id}/reject",
                                     page.token, json={"reasons": [reason]})
    if not answer.ok:
        return await _review_page(page, application_id, {"app-reason": page.refusal(answer)}, 422)
    return page.redirect("/review")


# --- finding a person ---------------------------------------------------------------------


async def _records_of(page: Page, person_id: uuid.UUID) -> dict:
    apps = await page.backend.call("GET", "enrollment", f"/v1/persons/{person_id}/applications", page.token)
    enrolments = await page.backend.call("GET", "enrollment", f"/v1/persons/{person_id}/enrollments", page.token)
    return {"person_id": str(person_id),
            "applications": (apps.body or {}).get("applications", []) if apps.ok else [],
            "enrollments": (enrolments.body or {}).get("enrollments", []) if enrolments.ok else []}


def _person_page(page: Page, *, id_number: str = "", reveal: bool = False, found: dict | None = None,
                 error: str | None = None, status: int = 200) -> Response:
    response = page.render("person.html", status=status, id_number=id_number, reveal=reveal, found=found,
                           error=error, shown=id_number if reveal else mask_id(id_number))
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/person", response_class=HTMLResponse)
async def person_search(request: Request) -> Response:
    page = Page(request)
    caseworker_of(page)
    return _person_page(page)


@router.post("/person", response_class=HTMLResponse)
async def find_person(request: Request) -> Response:
    """The person of a resident ID number: masked, or in full when ``reveal`` is asked for."""
    page = Page(request)
    user = caseworker_of(page)
    form = await page.form()
    id_number = str(form.get("id_number") or "").strip().upper()
    try:
        parse_resident_id(id_number)
    except ValueError:
        return _person_page(page, error=page._("Enter a valid 18-character resident ID number."), status=422)
    person_id = person_id_for(id_number)
    reveal = form.get("reveal") == "1"
    if reveal:
        log.info("resident_id_number_shown", caseworker=user["sub"], region=user["region"], person_id=str(person_id))
    return _person_page(page, id_number=id_number, reveal=reveal, found=await _records_of(page, person_id))
