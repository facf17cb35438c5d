"""Rate, errors and duration of every HTTP request, by route template and status.

An ASGI middleware (not Starlette's ``BaseHTTPMiddleware``, which would buffer the body and cost a
task per request). The route label is the template the router matched (``/v1/persons/{person_id}/bills``),
never the path a client sent: person ids in a label would make one time series per resident. A
request that matched no route is ``unmatched``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from shared import metrics

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

UNMATCHED = "unmatched"
PROBE_PATHS = ("/healthz", "/readyz", "/metrics")
"""Health checks and scrapes: never traced, never refused for load (a busy replica is still alive)."""


class HttpMetricsMiddleware:
    """Observes ``shebao_http_request_duration_seconds{service, method, route, status}``.

    A request whose handler raised before answering counts as status 500, which is what the
    error handlers send.
    """

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            metrics.HTTP_REQUEST_DURATION.labels(
                self.service, scope["method"], route_template(scope), str(status)
            ).observe(time.perf_counter() - started)


def route_template(scope: Scope) -> str:
    """The path template of the route that handled ``scope`` (``unmatched`` when none did)."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template or UNMATCHED
