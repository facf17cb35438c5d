"""One request as the portal serves it: the session, the language, the signed-in user, rendering
and the CSRF check of every posted form; and who may see a page."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment

from services.portal import i18n, service_errors
from services.portal.backend import Answer, Backend
from services.portal.security import SESSION_COOKIE, SESSION_MAX_AGE_S, csrf_matches, new_csrf_token
from services.portal.settings import PortalSettings

SCRIPTED_HEADER = "x-requested-with"
"""Sent (``XMLHttpRequest``) by the portal's own script (static/upload.js) when it posts a form."""


class Page:
    """One request's session, language and rendering."""

    def __init__(self, request: Request) -> None:
        self.request = request
        portal = request.app.state
        self.settings: PortalSettings = portal.settings
        self.session = portal.sessions.load(request.cookies.get(SESSION_COOKIE))
        if "csrf" not in self.session:
            self.session["csrf"] = new_csrf_token()
        self.language = i18n.choose_language(request.cookies.get(i18n.LANGUAGE_COOKIE),
                                             request.headers.get("accept-language"))
        self.translations = i18n.translations(self.language)

    @property
    def backend(self) -> Backend:
        return self.request.app.state.backend

    @property
    def user(self) -> dict | None:
        return self.session.get("user")

    @property
    def token(self) -> str | None:
        return (self.user or {}).get("token")

    def _(self, message: str) -> str:
        return self.translations.gettext(message)

    def finish(self, response: Response) -> Response:
        response.set_cookie(SESSION_COOKIE, self.request.app.state.sessions.dump(self.session),
                            max_age=SESSION_MAX_AGE_S, httponly=True, samesite="lax",
                            secure=self.settings.cookie_secure, path="/")
        return response

    def render(self, template: str, status: int = 200, **context: Any) -> Response:
        """``template`` as the page; ``path`` (the page the language chooser comes back to) is the
        request's unless the context names another (a form's page re-rendered with its errors)."""
        env: Environment = self.request.app.state.templates
        html = env.get_template(template).render(**{
            "_": self._, "user": self.user, "csrf": self.session["csrf"], "lang": self.language,
            "path": self.request.url.path, "local": not self.settings.production, **context})
        return self.finish(HTMLResponse(html, status_code=status))

    @property
    def scripted(self) -> bool:
        """Posted by the portal's script rather than by the browser's plain form submission."""
        return self.request.headers.get(SCRIPTED_HEADER) == "XMLHttpRequest"

    def redirect(self, to: str) -> Response:
        """303 to ``to``; to the portal's script, which cannot stop an XMLHttpRequest from following a
        redirect, ``{"location": to}`` (200) instead, which it follows by loading ``to``."""
        if self.scripted:
            return self.finish(JSONResponse({"location": to}, headers={"Cache-Control": "no-store"}))
        return self.finish(RedirectResponse(to, status_code=303))

    async def form(self) -> Any:
        """The posted form, refused with 403 when its CSRF token is not the session's."""
        form = await self.request.form()
        if not csrf_matches(self.session, form.get("csrf")):
            raise CsrfRefused()
        return form

    def person_id(self) -> str:
        return self.user["sub"]

    def refusals_by_field(self, answer: Answer) -> dict[str, str]:
        """A service's refusal of a form, in the page's language, by the field it concerns."""
        return service_errors.field_reasons(answer, self._)

    def refusal(self, answer: Answer) -> str:
        """A service's refusal in one line, in the page's language."""
        return service_errors.summary(answer, self._)


class CsrfRefused(Exception):
    """A posted form without the session's CSRF token (answered 403)."""


class SignInNeeded(Exception):
    """A page of someone signed in, asked for by someone else (sent to the sign-in page)."""


def resident_of(page: Page) -> dict:
    """The signed-in resident, or :class:`SignInNeeded`."""
    if not page.user or page.user["role"] != "resident":
        raise SignInNeeded()
    return page.user


def caseworker_of(page: Page) -> dict:
    """The signed-in caseworker, or :class:`SignInNeeded`."""
    if not page.user or page.user["role"] != "caseworker":
        raise SignInNeeded()
    return page.user
