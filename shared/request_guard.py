"""The outermost guard of every service's HTTP API: a request id, no control characters, no bare 500.

- **Request id.** Every request gets one (the caller's ``X-Request-ID`` if it is a plain token,
  else a new one): it is bound to every log line written while the request is served and
  returned in the ``X-Request-ID`` header, and in the body of an unexpected error.
- **Control characters.** NUL and the other C0 control characters (tab, line feed and carriage
  return aside) and DEL are refused in the path, the query and every string of a JSON body, with
  ``422 validation_error`` naming where: PostgreSQL cannot store NUL, and no field of ours holds
  a control character.
- **No bare 500.** An error no handler expected still answers the project's JSON problem shape
  (``500 internal_error`` with the request id) and is logged once with its traceback; it is not
  re-raised to the server, so the client's keep-alive connection stays usable.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

import structlog
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import error_body

log = structlog.get_logger(__name__)

REQUEST_ID_HEADER = "x-request-id"
REQUEST_ID_SCOPE_KEY = "shebao.request_id"  # where the id waits for whoever records the request
_PLAIN_TOKEN = re.compile(r"[A-Za-z0-9._-]{1,64}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_CHECKED_JSON_BYTES = 4 * 1024 * 1024


def control_characters_in(value: Any, where: str) -> Iterator[str]:
    """The places (``body.name``, ``body.lines[0].note``) of strings with control characters."""
    if isinstance(value, str):
        if _CONTROL.search(value):
            yield where
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from control_characters_in(key, where)
            yield from control_characters_in(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from control_characters_in(item, f"{where}[{index}]")


def _refusal(places: list[str]) -> JSONResponse:
    detail = [{"field": place, "reason": "control characters (such as NUL) are not allowed"} for place in places]
    return JSONResponse(error_body("validation_error", detail), status_code=422)


class RequestGuard:
    """Pure ASGI middleware (it must see the body before the app and the error after it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope[REQUEST_ID_SCOPE_KEY] = request_id
        with structlog.contextvars.bound_contextvars(request_id=request_id):
            await self._serve(scope, receive, _with_request_id(send, request_id), request_id)

    async def _serve(self, scope: Scope, receive: Receive, send: Send, request_id: str) -> None:
        places = _places_in_url(scope)
        if _is_json(scope) and not places:
            body, receive = await _buffered(receive)
            places = _places_in_json(body)
        if places:
            await _refusal(places)(scope, receive, send)
            return
        started = False

        async def track(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, track)
        except Exception:
            log.exception("unexpected error answering a request", method=scope.get("method"),
                          route=scope.get("route").path if scope.get("route") else None)
            if not started:
                await _internal_error(request_id)(scope, receive, send)


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER.encode():
            text = value.decode("latin-1")
            if _PLAIN_TOKEN.fullmatch(text):
                return text
    return uuid.uuid4().hex


def _with_request_id(send: Send, request_id: str) -> Send:
    async def send_with_id(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", []), (REQUEST_ID_HEADER.encode(), request_id.encode())]
        await send(message)

    return send_with_id


def _places_in_url(scope: Scope) -> list[str]:
    places = ["path"] if _CONTROL.search(scope.get("path", "")) else []
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        if _CONTROL.search(name) or _CONTROL.search(value):
            places.append(f"query.{name}" if not _CONTROL.search(name) else "query")
    return places


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return b"json" in value.lower()
    return False


async def _buffered(receive: Receive) -> tuple[bytes, Receive]:
    """The whole body, and a ``receive`` that hands it to the app again."""
    chunks, more = [], True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            return b"", receive  # the client went away; let the app see it
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


def _places_in_json(body: bytes) -> list[str]:
    if not body or len(body) > MAX_CHECKED_JSON_BYTES:
        return []  # nothing to check, or too big for any of our bodies: the app's validation answers
    try:
        document = json.loads(body)
    except ValueError:
        return []  # not JSON: the app answers 422 for it
    return list(control_characters_in(document, "body"))


def _internal_error(request_id: str) -> JSONResponse:
    detail = [{"reason": "an unexpected error; it has been logged", "request_id": request_id}]
    return JSONResponse(error_body("internal_error", detail), status_code=500)
