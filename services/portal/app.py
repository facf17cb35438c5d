"""The portal's routes: sign-in, resident pages and public verification (the caseworker console
is ``caseworker.py``).

Every page is server-rendered (Jinja2), every form a plain HTML form carrying the session's CSRF
token (the material uploads are taken over by static/upload.js, when JavaScript runs, for a
progress bar); the services are reached through :class:`Backend` with the signed-in user's JWT."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import qrcode
import qrcode.image.svg
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.middleware.sessions import SessionMiddleware

from services.portal import caseworker, i18n
from services.portal.backend import Backend
from services.portal.oidc import ClaimsRefused, oauth_client, principal_from_claims
from services.portal.page import CsrfRefused, Page, SignInNeeded, resident_of
from services.portal.payment_channels import how_to_pay
from services.portal.security import SecurityHeaders, Sessions, csrf_matches, new_csrf_token
from services.portal.settings import PortalSettings
from services.portal.uploads import file_too_large, read_upload
from shared.auth import mint_token
from shared.identity import person_id_for
from shared.periods import now_utc
from shared.resident_id import parse_resident_id

HERE = Path(__file__).parent
PROGRAMMES = ("pension", "medical_employee", "medical_resident", "unemployment", "work_injury", "maternity")
FREQUENCIES = ("monthly", "quarterly", "half_yearly", "annual")
RETIREMENT = ("", "male_60", "female_55", "female_50")
MATERIALS = ("id_card", "household_register", "social_security_card", "work_unit_certificate")


def qr_svg(text: str) -> Markup:
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    out = io.BytesIO()
    image.save(out)
    svg = out.getvalue().decode()
    return Markup(svg[svg.index("<svg"):])  # noqa: S704 — our own SVG, no user markup in it


def create_app(settings: PortalSettings | None = None) -> FastAPI:
    settings = settings or PortalSettings()
    app = FastAPI(title="Shebao portal", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.sessions = Sessions(settings.session_secret)
    app.state.backend = Backend(settings)
    app.state.templates = Environment(loader=FileSystemLoader(HERE / "templates"),
                                      autoescape=select_autoescape(["html"]))
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(caseworker.router)
    app.add_middleware(SecurityHeaders)
    # authlib keeps the OIDC state and nonce of a sign-in in flight in Starlette's session
    app.add_middleware(SessionMiddleware, secret_key=settings.session_secret, session_cookie="shebao_oidc",
                       max_age=600, same_site="lax", https_only=settings.cookie_secure)

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, exc: CsrfRefused) -> Response:
        page = Page(request)
        return page.render("message.html", status=403, title=page._("Refused"),
                           message=page._("This form has expired or did not come from this site. Please try again."))

    @app.exception_handler(SignInNeeded)
    async def _signin(request: Request, exc: SignInNeeded) -> Response:
        return RedirectResponse("/signin", status_code=303)

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/", response_class=HTMLResponse)
    async def home(request: Request) -> Response:
        page = Page(request)
        if page.user and page.user["role"] == "caseworker":
            return page.redirect("/review")
        if not page.user:
            return page.render("home_public.html")
        pid = page.person_id()
        apps = await page.backend.call("GET", "enrollment", f"/v1/persons/{pid}/applications", page.token)
        enrolments = await page.backend.call("GET", "enrollment", f"/v1/persons/{pid}/enrollments", page.token)
        bills = await page.backend.call("GET", "billing", f"/v1/persons/{pid}/bills", page.token)
        return page.render("home.html", applications=(apps.body or {}).get("applications", []) if apps.ok else [],
                           enrollments=(enrolments.body or {}).get("enrollments", []) if enrolments.ok else [],
                           bills=(bills.body or {}).get("bills", []) if bills.ok else [])

    # --- language and sign-in -------------------------------------------------------------

    @app.post("/language")
    async def language(request: Request) -> Response:
        page = Page(request)
        form = await page.form()
        chosen = form.get("lang") if form.get("lang") in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE
        response = page.redirect(str(form.get("next") or "/") if str(form.get("next") or "/").startswith("/")
                                 else "/")
        response.set_cookie(i18n.LANGUAGE_COOKIE, chosen, max_age=365 * 86400, samesite="lax",
                            secure=settings.cookie_secure, httponly=True)
        return response

    @app.get("/signin", response_class=HTMLResponse)
    async def signin(request: Request) -> Response:
        page = Page(request)
        if settings.production:
            return page.render("signin_oidc.html", configured=bool(settings.oidc_issuer))
        return page.render("signin.html", errors={}, region=settings.region)

    @app.post("/signin/dev")
    async def signin_dev(request: Request) -> Response:
        page = Page(request)
        if settings.production:
            return page.render("message.html", status=403, title=page._("Refused"),
                               message=page._("Development sign-in is not available in production."))
        form = await page.form()
        role, errors = form.get("role"), {}
        region = str(form.get("region") or settings.region)
        if role == "resident":
            id_number = str(form.get("id_number") or "").strip().upper()
            try:
                parse_resident_id(id_number)
            except ValueError:
                errors["id_number"] = page._("Enter a valid 18-character resident ID number.")
            sub = str(person_id_for(id_number)) if not errors else ""
        elif role == "caseworker":
            sub = f"caseworker-{region}"
        else:
            errors["role"] = page._("Choose resident or caseworker.")
        if not (len(region) == 6 and region.isdigit()):
            errors["region"] = page._("A region is 6 digits.")
        if errors:
            return page.render("signin.html", status=422, errors=errors, region=region)
        token = mint_token(sub=sub, role=role, region=region, secret=settings.jwt_secret, issuer=settings.jwt_issuer)
        page.session = {"csrf": new_csrf_token(), "user": {"sub": sub, "role": role, "region": region,
                                                           "token": token}}
        return page.redirect("/review" if role == "caseworker" else "/")

    @app.get("/signin/oidc")
    async def signin_oidc(request: Request) -> Response:
        client = oauth_client(settings)
        return await client.authorize_redirect(request, f"{settings.public_url}/signin/oidc/callback")

    @app.get("/signin/oidc/callback")
    async def signin_oidc_callback(request: Request) -> Response:
        page = Page(request)
        client = oauth_client(settings)
        tokens = await client.authorize_access_token(request)
        try:
            who = principal_from_claims(tokens.get("userinfo") or {}, settings)
        except ClaimsRefused as refused:
            return page.render("message.html", status=403, title=page._("Refused"), message=str(refused))
        page.session = {"csrf": new_csrf_token(), "user": {"sub": who.sub, "role": who.role, "region": who.region,
                                                           "token": tokens.get("id_token")}}
        return page.redirect("/")

    @app.post("/signout")
    async def signout(request: Request) -> Response:
        page = Page(request)
        await page.form()
        page.session = {"csrf": new_csrf_token()}
        return page.redirect("/")

    # --- resident: apply --------------------------------------------------------------------

    async def _policies(page: Page) -> list[dict]:
        answer = await page.backend.call("GET", "billing", f"/v1/policies?region={page.user['region']}", page.token)
        return (answer.body or {}).get("policies", []) if answer.ok else []

    @app.get("/apply", response_class=HTMLResponse)
    async def apply_form(request: Request) -> Response:
        page = Page(request)
        resident_of(page)
        return page.render("apply.html", policies=await _policies(page), errors={}, values={},
                           programmes=PROGRAMMES, frequencies=FREQUENCIES, retirement=RETIREMENT)

    @app.post("/apply")
    async def apply(request: Request) -> Response:
        page = Page(request)
        user = resident_of(page)
        form = await page.form()
        values = {key: str(form.get(key) or "").strip() for key in
                  ("id_number", "name", "phone", "email", "declared_base", "frequency", "retirement_category")}
        chosen = [p for p in form.getlist("programmes") if p in PROGRAMMES]
        body: dict[str, Any] = {
            "id_number": values["id_number"].upper(), "name": values["name"], "phone": values["phone"],
            "email": values["email"] or None, "language": page.language, "region": user["region"],
            "programmes": chosen, "declared_base": values["declared_base"] or "0",
            "frequency": values["frequency"] or "monthly",
        }
        if values["retirement_category"]:
            body["retirement_category"] = values["retirement_category"]
        errors: dict[str, str] = {}
        if not chosen:
            errors["programmes"] = page._("Choose at least one programme.")
        if not errors:
            answer = await page.backend.call("POST", "enrollment", "/v1/applications", page.token, json=body)
            if answer.ok:
                return page.redirect(f"/applications/{answer.body['application_id']}")
            errors = page.refusals_by_field(answer)
        return page.render("apply.html", status=422, policies=await _policies(page), errors=errors,
                           values={**values, "programmes": chosen}, programmes=PROGRAMMES,
                           frequencies=FREQUENCIES, retirement=RETIREMENT)

    # --- resident: application, materials --------------------------------------------------

    @app.get("/applications/{application_id}", response_class=HTMLResponse)
    async def application(request: Request, application_id: uuid.UUID) -> Response:
        page = Page(request)
        resident_of(page)
        return await _application_page(page, application_id, errors={})

    async def _application_page(page: Page, application_id: uuid.UUID, errors: dict, status: int = 200) -> Response:
        record = await page.backend.call("GET", "enrollment", f"/v1/applications/{application_id}", page.token)
        dossier = await page.backend.call("GET", "documents", f"/v1/dossiers/{application_id}", page.token)
        return page.render("application.html", status=status, application_id=application_id,
                           record=record.body if record.ok else None,
                           dossier=dossier.body if dossier.ok else None, errors=errors,
                           path=f"/applications/{application_id}")

    @app.post("/applications/{application_id}/materials/{material}")
    async def upload(request: Request, application_id: uuid.UUID, material: str) -> Response:
        """A material's file, to documents. Posted by the plain form (JavaScript off) or by
        static/upload.js (``X-Requested-With``, for the progress bar): the same CSRF check, the same
        pages with the same errors; only a success is answered to the script as ``{"location"}``.
        The body streams in (``uploads.py``): a file over documents' limit is refused here."""
        page = Page(request)
        resident_of(page)
        form = await read_upload(request, settings.max_upload_bytes)
        try:
            if not csrf_matches(page.session, form.get("csrf")):
                raise CsrfRefused()
            if material not in MATERIALS:
                return await _application_page(page, application_id, {"_": page._("Unknown material.")}, 422)
            if form.too_large:
                return await _application_page(page, application_id, {
                    material: page.refusal(file_too_large(settings.max_upload_bytes))}, 413)
            if form.malformed:
                return await _application_page(page, application_id, {
                    material: page._("The upload could not be read. Please try again.")}, 400)
            if form.file is None or not form.filename:
                return await _application_page(page, application_id, {material: page._("Choose a file.")}, 422)
            answer = await page.backend.call(
                "PUT", "documents", f"/v1/dossiers/{application_id}/materials/{material}", page.token,
                files={"file": (form.filename, form.file, form.content_type or "application/octet-stream")})
        finally:
            form.close()
        if answer.ok:
            return page.redirect(f"/applications/{application_id}")
        return await _application_page(page, application_id, {material: page.refusal(answer)}, answer.status
                                       if 400 <= answer.status < 500 else 422)

    # --- resident: bills, payment, vouchers, statement, inbox --------------------------------

    @app.get("/bills", response_class=HTMLResponse)
    async def bills(request: Request) -> Response:
        page = Page(request)
        resident_of(page)
        answer = await page.backend.call("GET", "billing", f"/v1/persons/{page.person_id()}/bills", page.token)
        vouchers = await page.backend.call("GET", "billing", f"/v1/persons/{page.person_id()}/vouchers", page.token)
        return page.render("bills.html", bills=(answer.body or {}).get("bills", []) if answer.ok else [],
                           vouchers=(vouchers.body or {}).get("vouchers", []) if vouchers.ok else [])

    async def _bill(page: Page, bill_id: str) -> dict | None:
        answer = await page.backend.call("GET", "billing", f"/v1/persons/{page.person_id()}/bills", page.token)
        return next((b for b in (answer.body or {}).get("bills", []) if b["bill_id"] == bill_id), None) \
            if answer.ok else None

    @app.get("/bills/{bill_id}", response_class=HTMLResponse)
    async def bill(request: Request, bill_id: str) -> Response:
        page = Page(request)
        resident_of(page)
        found = await _bill(page, bill_id)
        if found is None:
            return page.render("message.html", status=404, title=page._("Not found"), message=page._("No such bill."))
        channels = how_to_pay(settings.payment_channels, page._) if settings.production else []
        return page.render("bill.html", bill=found, channels=channels)

    @app.get("/pay/{bill_id}", response_class=HTMLResponse)
    async def pay_page(request: Request, bill_id: str) -> Response:
        page = Page(request)
        resident_of(page)
        found = None if settings.production else await _bill(page, bill_id)
        if found is None:
            return page.render("message.html", status=404, title=page._("Not found"), message=page._("No such bill."))
        return page.render("pay.html", bill=found, error=None)

    @app.post("/pay/{bill_id}")
    async def pay(request: Request, bill_id: str) -> Response:
        page = Page(request)
        user = resident_of(page)
        await page.form()
        found = await _bill(page, bill_id)
        if found is None or settings.production:
            return page.render("message.html", status=404, title=page._("Not found"), message=page._("No such bill."))
        amount = found["outstanding"]
        channel_token = mint_token(sub=settings.simulated_channel, role="channel", region=user["region"],
                                   secret=settings.jwt_secret, issuer=settings.jwt_issuer, ttl=timedelta(minutes=5))
        answer = await page.backend.call("POST", "billing", "/v1/payments", channel_token, json={
            "person_id": page.person_id(), "amount": str(amount), "channel": settings.simulated_channel,
            "channel_txn_id": f"SIM-{uuid.uuid4().hex[:16]}", "paid_at": now_utc().isoformat()})
        if not answer.ok:
            return page.render("pay.html", status=422, bill=found,
                               error=page.refusal(answer))
        return page.redirect(f"/vouchers/{quote(answer.body['voucher_no'])}")

    @app.get("/vouchers/{voucher_no}", response_class=HTMLResponse)
    async def voucher(request: Request, voucher_no: str) -> Response:
        page = Page(request)
        resident_of(page)
        answer = await page.backend.call("GET", "billing", f"/v1/vouchers/{quote(voucher_no)}", page.token)
        if not answer.ok:
            return page.render("message.html", status=404, title=page._("Not found"),
                               message=page._("No such voucher."))
        link = f"{settings.public_url}/verify/{quote(voucher_no)}"
        return page.render("voucher.html", voucher=answer.body, link=link, qr=qr_svg(link))

    @app.get("/statement", response_class=HTMLResponse)
    async def statement(request: Request) -> Response:
        page = Page(request)
        resident_of(page)
        answer = await page.backend.call("GET", "billing", f"/v1/persons/{page.person_id()}/statement", page.token)
        return page.render("statement.html", statement=answer.body if answer.ok else None)

    async def _inbox_page(page: Page, *, saved: bool = False, error: str | None = None,
                          status: int = 200) -> Response:
        pid = page.person_id()
        answer = await page.backend.call("GET", "notifications", f"/v1/persons/{pid}/notifications", page.token)
        prefs = await page.backend.call("GET", "notifications", f"/v1/persons/{pid}/preferences", page.token)
        return page.render("inbox.html", status=status, saved=saved, error=error,
                           notices=(answer.body or {}).get("notifications", []) if answer.ok else [],
                           prefs=prefs.body if prefs.ok else None)

    @app.get("/inbox", response_class=HTMLResponse)
    async def inbox(request: Request) -> Response:
        page = Page(request)
        resident_of(page)
        return await _inbox_page(page, saved=request.query_params.get("saved") == "1")

    @app.post("/preferences")
    async def preferences(request: Request) -> Response:
        """Save the notification preferences (the inbox is always on: only outside channels are sent)."""
        page = Page(request)
        resident_of(page)
        form = await page.form()
        channels = [c for c in form.getlist("channels") if c in ("sms", "email")]
        language = form.get("language") if form.get("language") in i18n.LANGUAGES else None
        answer = await page.backend.call("PUT", "notifications", f"/v1/persons/{page.person_id()}/preferences",
                                         page.token, json={"channels": ["inbox", *channels], "language": language,
                                                           "reminders": form.get("reminders") == "on"})
        if not answer.ok:
            return await _inbox_page(page, error=page.refusal(answer), status=422)
        return page.redirect("/inbox?saved=1")

    # --- a material's file (its resident, or a caseworker of the region) -------------------

    @app.get("/documents/{document_id}/content")
    async def document_content(request: Request, document_id: uuid.UUID) -> Response:
        page = Page(request)
        if not page.user:
            raise SignInNeeded()
        answer = await page.backend.call("GET", "documents", f"/v1/documents/{document_id}/content", page.token)
        if not answer.ok:
            return Response(status_code=answer.status)
        return Response(answer.content, media_type=answer.content_type.split(";")[0],
                        headers={"Cache-Control": "no-store", "Content-Disposition": "inline"})

    # --- public verification ---------------------------------------------------------------

    async def _verify(page: Page, voucher_no: str) -> Response:
        token = settings.verifier_token or (None if settings.production else mint_token(
            sub=f"{settings.simulated_channel}-verify", role="channel", region=settings.region,
            secret=settings.jwt_secret, issuer=settings.jwt_issuer, ttl=timedelta(minutes=5)))
        kept = await page.backend.call("GET", "billing", f"/v1/vouchers/{quote(voucher_no, safe='')}", token)
        if kept.status == 404:
            return page.render("verify.html", outcome="unknown", voucher_no=voucher_no, facts=None)
        checked = await page.backend.call("GET", "billing", f"/v1/vouchers/{quote(voucher_no, safe='')}/verify",
                                          token)
        valid = kept.ok and checked.ok and (checked.body or {}).get("valid") is True
        facts = (kept.body or {}).get("document") if kept.ok else None
        return page.render("verify.html", outcome="valid" if valid else "invalid", voucher_no=voucher_no, facts=facts)

    @app.get("/verify", response_class=HTMLResponse)
    async def verify_form(request: Request) -> Response:
        page = Page(request)
        number = (request.query_params.get("voucher_no") or "").strip()
        if number:
            return await _verify(page, number)
        return page.render("verify.html", outcome=None, voucher_no="", facts=None)

    @app.get("/verify/{voucher_no}", response_class=HTMLResponse)
    async def verify_link(request: Request, voucher_no: str) -> Response:
        return await _verify(Page(request), voucher_no)

    @app.on_event("shutdown")
    async def _close() -> None:
        await app.state.backend.close()

    return app
