"""The audit trail of staff writes: every POST/PUT/PATCH/DELETE of an admin, ops or caseworker,
with who, when, what (route, path parameters, query and body with personal data masked) and why
(the reason, reasons, note or back-run reason given), readable by the admins of the region
(``GET /v1/audit/staff-actions``) and by nothing changeable (``staff_actions`` is append-only).

How it is written, so that no action is lost:
- the authentication dependency notes a staff write on the request (``note_staff_request``);
- every unit of work that commits while serving it records the action in its own transaction
  (``record_in``): the change and its record commit together, or neither does;
- a request that committed nothing (refused, a dry run, nothing to do) is recorded when it has
  been answered, with its status (``StaffAudit``, the middleware).
"""

from __future__ import annotations

import contextvars
import json
import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any

import asyncpg
import structlog
from fastapi import APIRouter, Depends, Query, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.logging import mask_personal_data
from shared.request_guard import REQUEST_ID_SCOPE_KEY
from shared.wire import IsoDateTime

log = structlog.get_logger(__name__)

STAFF = ("admin", "ops", "caseworker")
WRITES = ("POST", "PUT", "PATCH", "DELETE")
REASON_FIELDS = ("reason", "reasons", "back_run_reason", "note")


@dataclass
class StaffAction:
    request_id: str
    actor_sub: str
    actor_role: str
    actor_region: str
    method: str
    route: str
    path_params: dict[str, str]
    request: dict[str, Any] | None
    reason: str | None


@dataclass
class _Holder:
    """Per request: the action noted, and whether a committed unit of work recorded it."""

    action: StaffAction | None = None
    recorded: bool = False
    answered: int | None = field(default=None)


_current: contextvars.ContextVar[_Holder | None] = contextvars.ContextVar("shebao_staff_action", default=None)


async def note_staff_request(request: Request, sub: str, role: str, region: str) -> None:
    """Called once the caller is known: a staff write is noted for the audit trail."""
    holder = _current.get()
    if holder is None or role not in STAFF or request.method not in WRITES:
        return
    body = await _json_body(request)
    route = request.scope.get("route")
    holder.action = StaffAction(
        request_id=_request_id(request),
        actor_sub=sub, actor_role=role, actor_region=region, method=request.method,
        route=getattr(route, "path", request.url.path), path_params=dict(request.path_params),
        request=_masked({"query": dict(request.query_params), "body": body}), reason=_reason(body),
    )


def staff_write_pending() -> bool:
    """Whether a staff action being served waits to be recorded with its change."""
    holder = _current.get()
    return holder is not None and holder.action is not None and not holder.recorded


async def record_in(conn: asyncpg.Connection) -> None:
    """Record the staff action being served, once, in the transaction open on ``conn``."""
    holder = _current.get()
    if holder is None or holder.action is None or holder.recorded:
        return
    await _insert(conn, holder.action, "changed")
    holder.recorded = True


def _request_id(request: Request) -> str:
    """The id the request guard answers with in ``X-Request-ID``."""
    return request.scope.setdefault(REQUEST_ID_SCOPE_KEY, uuid.uuid4().hex)


async def _json_body(request: Request) -> Any:
    if "json" not in request.headers.get("content-type", ""):
        return None
    try:
        return json.loads(await request.body() or b"null")
    except (ValueError, RuntimeError):  # not JSON, or a body already streamed away
        return None


def _masked(value: dict[str, Any]) -> dict[str, Any]:
    return mask_personal_data(None, "audit", {"value": value})["value"]


def _reason(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    given = [body[name] for name in REASON_FIELDS if body.get(name)]
    flat = [", ".join(map(str, item)) if isinstance(item, list) else str(item) for item in given]
    return "; ".join(flat)[:2000] or None


async def _insert(conn: asyncpg.Connection, action: StaffAction, outcome: str) -> None:
    await conn.execute(
        """INSERT INTO staff_actions (request_id, actor_sub, actor_role, actor_region, method, route, path_params,
                                      request, reason, outcome)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (request_id) DO NOTHING""",
        action.request_id, action.actor_sub, action.actor_role, action.actor_region, action.method, action.route,
        action.path_params, action.request, action.reason, outcome,
    )


class StaffAudit:
    """Pure ASGI middleware: gives each request its holder, and records a staff write that no
    unit of work recorded once it has been answered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in WRITES:
            await self.app(scope, receive, send)
            return
        holder = _Holder()
        token = _current.set(holder)

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                holder.answered = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            _current.reset(token)
            if holder.action is not None and not holder.recorded:
                await _record_answered(scope, holder)


async def _record_answered(scope: Scope, holder: _Holder) -> None:
    runtime = scope["app"].state.runtime
    try:
        async with runtime.pool.acquire() as conn:
            await _insert(conn, holder.action, f"answered {holder.answered or 500}")
    except Exception as error:  # the answer is out; a lost record is logged, loudly
        log.error("staff action not recorded in the audit trail", route=holder.action.route,
                  actor=holder.action.actor_sub, error=f"{type(error).__name__}: {error}")


def audit_router(admin: Any) -> APIRouter:
    """``GET /v1/audit/staff-actions``: the region's staff writes, newest first (admins only)."""
    router = APIRouter(prefix="/v1/audit", tags=["audit"])

    @router.get("/staff-actions")
    async def staff_actions(
        request: Request, principal: Any = Depends(admin),
        before: IsoDateTime | None = None, limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> dict:
        runtime = request.app.state.runtime
        async with runtime.units.read() as uow:
            rows = await uow.conn.fetch(
                """SELECT * FROM staff_actions WHERE actor_region = $1 AND ($2::timestamptz IS NULL OR at < $2)
                   ORDER BY at DESC LIMIT $3""",
                principal.region, before, limit,
            )
        return {"region": principal.region, "actions": [_view(row) for row in rows]}

    return router


def _view(row: asyncpg.Record) -> dict[str, Any]:
    return {**dict(row), "at": row["at"].isoformat()}
