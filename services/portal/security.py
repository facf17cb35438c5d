"""The session (a signed cookie: Secure, HttpOnly, SameSite=Lax), the CSRF token of every form,
and the security headers (Content-Security-Policy) of every page."""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SESSION_COOKIE = "shebao_session"
SESSION_MAX_AGE_S = 8 * 3600
# scripts: the portal's own static files only (static/upload.js) — no inline script, no eval
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "object-src 'self'; frame-src 'self'; frame-ancestors 'self'; form-action 'self'; base-uri 'none'")


class Sessions:
    def __init__(self, secret: str) -> None:
        self.serializer = URLSafeTimedSerializer(secret, salt="shebao-portal-session")

    def load(self, cookie: str | None) -> dict[str, Any]:
        if not cookie:
            return {}
        try:
            value = self.serializer.loads(cookie, max_age=SESSION_MAX_AGE_S)
        except BadSignature:
            return {}
        return value if isinstance(value, dict) else {}

    def dump(self, session: dict[str, Any]) -> str:
        return self.serializer.dumps(session)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)


def csrf_matches(session: dict[str, Any], presented: str | None) -> bool:
    expected = session.get("csrf")
    return bool(expected and presented and hmac.compare_digest(str(expected), str(presented)))


class SecurityHeaders:
    """Adds the Content-Security-Policy and friends to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
                            (b"referrer-policy", b"same-origin"), (b"x-frame-options", b"SAMEORIGIN")]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, sending)
