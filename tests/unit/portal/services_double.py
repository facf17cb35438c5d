"""The four services as the portal sees them, answered from a script: each call is looked up by
method, service and path, and recorded, so a page can be rendered and a form posted without the
platform running."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient

from services.portal.app import create_app
from services.portal.backend import Answer
from services.portal.security import SESSION_COOKIE
from services.portal.settings import PortalSettings

PERSON_ID = "3f2b6c1e-0000-4000-8000-000000000001"
APPLICATION_ID = "5d0e1c2b-0000-4000-8000-00000000000a"


@dataclass
class ServicesDouble:
    """Stands in for :class:`services.portal.backend.Backend`."""

    answers: dict[tuple[str, str, str], Answer] = field(default_factory=dict)
    calls: list[tuple[str, str, str, dict]] = field(default_factory=list)
    # the files sent, read when sent (the portal closes its spooled copy after the call):
    # (field, filename, content, content type, whether it was passed as bytes rather than a file object)
    files: list[tuple[str, str, bytes, str, bool]] = field(default_factory=list)

    def answer(self, method: str, service: str, path: str, status: int = 200, body: Any = None) -> None:
        self.answers[(method, service, path)] = Answer(status, body, content_type="application/json")

    def refuse(self, method: str, service: str, path: str, status: int, code: str, *detail: dict) -> None:
        self.answer(method, service, path, status, {"error": code, "detail": list(detail)})

    async def call(self, method: str, service: str, path: str, token: str | None, **kwargs) -> Answer:
        self.calls.append((method, service, path, kwargs))
        for name, (filename, content, kind) in (kwargs.get("files") or {}).items():
            as_bytes = isinstance(content, bytes)
            self.files.append((name, filename, content if as_bytes else content.read(), kind, as_bytes))
        return self.answers.get((method, service, path.split("?")[0]), Answer(404, {"error": "not_found"}))

    async def close(self) -> None:
        pass


def portal_with(services: ServicesDouble, *, role: str = "resident", language: str = "zh-CN",
                **settings: Any) -> TestClient:
    """The portal on ``services``, with someone of ``role`` signed in and the page language chosen."""
    app = create_app(PortalSettings(cookie_secure=False, **settings))
    app.state.backend = services
    client = TestClient(app, base_url="http://127.0.0.1")
    sub = PERSON_ID if role == "resident" else f"{role}-110000"
    session = {"csrf": "csrf-of-the-test", "user": {"sub": sub, "role": role, "region": "110000", "token": "t"}}
    client.cookies.set(SESSION_COOKIE, app.state.sessions.dump(session))
    client.cookies.set("lang", language)
    return client


def csrf_of(page_html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page_html).group(1)
