"""The outermost guard of every service's HTTP API: a request id, no control characters, no bare 500.

- **Request id.** Every request gets one (the caller's ``X-Request-ID`` if it is a plain token,
  else a new one): it is bound to every log line written while the request is served and
  returned in the ``X-Request-ID`` header, and in the body of an unexpected error.
- **Control characters.** NUL and the other C0 control characters (tab, line feed and carriage
  return aside) and DEL are refused in the path, the query and every string of a JSON body, with
  ``422 validation_error`` naming where: PostgreSQL cannot store NUL, and no field of ours holds
  a control character.
- **Size and nesting.** A JSON body over ``MAX_JSON_BODY_BYTES`` is ``413 payload_too_large`` (it is
  not read further), one nested deeper than ``MAX_JSON_DEPTH`` a ``422 validation_error``: no body
  of ours is either, and a parser (or a walk over the document) recursing thousands of levels deep
  runs out of stack — a ``RecursionError`` that would otherwise be a 500.
- **A bounded number of requests in flight.** A process serves at most ``max_in_flight`` requests
  at once (``SHEBAO_HTTP_MAX_IN_FLIGHT``); one more is answered ``503 service_busy`` with
  ``Retry-After`` on arrival, before its body is read or its token checked, and counted in
  ``shebao_http_shed_total``. Past its CPU an event loop otherwise takes every request in and serves
  them all more slowly (ten seconds each, measured, though no wait for the database is longer than
  two): the cap keeps the ones taken in fast and tells the others at once. Health checks and
  scrapes are never refused.
- **A bounded wait for the database.** A pool's line holds the request no longer than
  ``pool_wait_limit_s`` for its first connection (``shared.db.POOL_WAIT_LIMIT``): when every
  connection stays taken that long the answer is ``503 service_busy`` with ``Retry-After``, before
  anything is written, instead of a wait that grows with the load until the client gives up (and
  the work is done for no one).
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
from fastapi import FastAPI
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import metrics
from shared.db import POOL_WAIT_LIMIT
from shared.errors import ServiceBusy, error_body, error_response
from shared.http_metrics import PROBE_PATHS

log = structlog.get_logger(__name__)

REQUEST_ID_HEADER = "x-request-id"
REQUEST_ID_SCOPE_KEY = "shebao.request_id"  # where the id waits for whoever records the request
_PLAIN_TOKEN = re.compile(r"[A-Za-z0-9._-]{1,64}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
FREE_TEXT_PATTERN = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$"
"""What the published OpenAPI documents say of every string without a pattern of its own: what the guard
lets through (ECMA-262 syntax, which Python's ``re`` reads the same)."""
MAX_JSON_BODY_BYTES = 1024 * 1024
"""The largest JSON body any route takes (files come as multipart, not JSON): a larger one is 413."""
MAX_JSON_DEPTH = 32
"""Arrays and objects inside one another: a presented voucher, the deepest body we take, has a handful."""
_CONTROL_REASON = "control characters (such as NUL) are not allowed"
_DEPTH_REASON = f"JSON nested deeper than {MAX_JSON_DEPTH} levels is not accepted"


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


def _refusal(problems: list[tuple[str, str]]) -> JSONResponse:
    detail = [{"field": place, "reason": reason} for place, reason in problems]
    return JSONResponse(error_body("validation_error", detail), status_code=422)


class RequestGuard:
    """Pure ASGI middleware (it must see the body before the app and the error after it)."""

    def __init__(self, app: ASGIApp, service: str, pool_wait_limit_s: float | None = None,
                 max_in_flight: int = 0) -> None:
        self.app = app
        self.pool_wait_limit_s = pool_wait_limit_s
        self.max_in_flight = max_in_flight  # 0: no cap
        self.in_flight = 0
        self.shed = metrics.HTTP_SHED.labels(service)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope[REQUEST_ID_SCOPE_KEY] = request_id
        send = _with_request_id(send, request_id)
        if self._full() and scope.get("path") not in PROBE_PATHS:
            self.shed.inc()
            busy = ServiceBusy(f"it is already serving {self.max_in_flight} requests")
            await error_response(busy)(scope, receive, send)
            return
        self.in_flight += 1
        limited = POOL_WAIT_LIMIT.set(self.pool_wait_limit_s)
        try:
            with structlog.contextvars.bound_contextvars(request_id=request_id):
                await self._serve(scope, receive, send, request_id)
        finally:
            POOL_WAIT_LIMIT.reset(limited)
            self.in_flight -= 1

    def _full(self) -> bool:
        return 0 < self.max_in_flight <= self.in_flight

    async def _serve(self, scope: Scope, receive: Receive, send: Send, request_id: str) -> None:
        problems = [(place, _CONTROL_REASON) for place in _places_in_url(scope)]
        if _is_json(scope) and not problems:
            body, receive = await _buffered(receive, MAX_JSON_BODY_BYTES)
            if body is None:
                await _too_large()(scope, receive, send)
                return
            problems = _problems_in_json(body)
        if problems:
            await _refusal(problems)(scope, receive, send)
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


async def _buffered(receive: Receive, limit: int) -> tuple[bytes | None, Receive]:
    """The whole body (None once it grows past ``limit`` bytes), and a ``receive`` that hands it to the
    app again."""
    chunks, more, size = [], True, 0
    while more:
        message = await receive()
        if message["type"] != "http.request":
            return b"", receive  # the client went away; let the app see it
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if size > limit:
            return None, receive
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


def _problems_in_json(body: bytes) -> list[tuple[str, str]]:
    """(where, why) for each part of a JSON body that no route of ours takes."""
    if not body:
        return []
    try:
        document = json.loads(body)
    except RecursionError:
        return [("body", _DEPTH_REASON)]
    except ValueError:
        return []  # not JSON: the app answers 422 for it
    if json_depth(document) > MAX_JSON_DEPTH:
        return [("body", _DEPTH_REASON)]  # before the recursive walk below can run out of stack
    return [(place, _CONTROL_REASON) for place in control_characters_in(document, "body")]


def json_depth(document: Any) -> int:
    """How many arrays and objects deep ``document`` goes (a scalar is 0, ``[]`` is 1), without recursion."""
    deepest, pending = 0, [(document, 0)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            pending.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            pending.extend((item, depth + 1) for item in value)
        else:
            deepest = max(deepest, depth)
            continue
        deepest = max(deepest, depth + 1)
    return deepest


def _too_large() -> JSONResponse:
    detail = [{"field": "body", "reason": f"a JSON body has at most {MAX_JSON_BODY_BYTES} bytes"}]
    return JSONResponse(error_body("payload_too_large", detail), status_code=413)


def _internal_error(request_id: str) -> JSONResponse:
    detail = [{"reason": "an unexpected error; it has been logged", "request_id": request_id}]
    return JSONResponse(error_body("internal_error", detail), status_code=500)


def publish_guarded_text(app: FastAPI) -> None:
    """Make ``app``'s OpenAPI document say what the guard enforces: every free-text string of a JSON
    body, a path or a query (one with no pattern, enum or format of its own) gets FREE_TEXT_PATTERN."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build()
            for schema in _guarded_schemas(document):
                _constrain_free_text(schema)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _guarded_schemas(document: dict[str, Any]) -> Iterator[Any]:
    """The schemas of what the guard reads: components (JSON bodies), path and query parameters and
    JSON request bodies written inline. Headers and multipart uploads are not the guard's."""
    yield from document.get("components", {}).get("schemas", {}).values()
    for operation in (op for item in document.get("paths", {}).values() for op in item.values()
                      if isinstance(op, dict)):
        for parameter in operation.get("parameters", []):
            if parameter.get("in") in ("path", "query"):
                yield parameter.get("schema", {})
        yield operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})


def _constrain_free_text(schema: Any) -> None:
    if isinstance(schema, list):
        for item in schema:
            _constrain_free_text(item)
    elif isinstance(schema, dict):
        if schema.get("type") == "string" and not {"pattern", "enum", "const", "format"} & schema.keys():
            schema["pattern"] = FREE_TEXT_PATTERN
        for value in schema.values():
            _constrain_free_text(value)
