"""The four services, called over HTTP with the signed-in user's token."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from services.portal.settings import PortalSettings


@dataclass
class Answer:
    status: int
    body: Any = None
    content: bytes = b""
    content_type: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def code(self) -> str:
        """The services' error code (``validation_error``, ``file_too_large`` …), or ``http_<status>``."""
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), str):
            return self.body["error"]
        return f"http_{self.status}"

    def problems(self) -> list[dict]:
        """The error items of the services' one error shape (field, rule, reason)."""
        if isinstance(self.body, dict) and isinstance(self.body.get("detail"), list) and self.body["detail"]:
            return [item if isinstance(item, dict) else {"reason": str(item)} for item in self.body["detail"]]
        return [{"reason": f"HTTP {self.status}"}]


@dataclass
class Backend:
    settings: PortalSettings
    client: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=30))

    async def call(self, method: str, service: str, path: str, token: str | None, **kwargs) -> Answer:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            response = await self.client.request(method, self.settings.service_url(service) + path,
                                                 headers=headers, **kwargs)
        except httpx.HTTPError as error:
            return Answer(503, {"error": "unavailable", "detail": [{"reason": f"{service} is unreachable: "
                                                                              f"{type(error).__name__}"}]})
        kind = response.headers.get("content-type", "")
        body = response.json() if kind.startswith("application/json") and response.content else None
        return Answer(response.status_code, body, response.content, kind)

    async def close(self) -> None:
        await self.client.aclose()
