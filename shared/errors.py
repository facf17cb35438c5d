"""The one error shape of every Shebao HTTP API: ``{"error": code, "detail": [...]}``.

Routes and dependencies raise :class:`ApiError`; :func:`install_error_handlers` turns it,
FastAPI's request validation errors and Starlette's own HTTP errors (unknown route,
wrong method) into that shape, so a client never has to parse two formats.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException


class ApiError(Exception):
    """An error answered to the client as ``{"error": code, "detail": detail}``.

    ``detail`` is a list; each item is usually ``{"field": ..., "reason": ...}`` or
    ``{"reason": ...}``. ``headers`` go out with the response (``WWW-Authenticate``).
    """

    def __init__(
        self,
        status: int,
        code: str,
        detail: Sequence[Any] | None = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code
        self.detail = list(detail or [])
        self.headers = dict(headers or {})


class ServiceBusy(ApiError):
    """The service is short of capacity (``why``: what ran out): ``503 service_busy`` with
    ``Retry-After: 1``, before anything was written."""

    def __init__(self, why: str) -> None:
        super().__init__(503, "service_busy", [{"reason": f"the service is busy: {why}; try again shortly"}],
                         headers={"Retry-After": "1"})


def error_body(code: str, detail: Iterable[Any]) -> dict[str, Any]:
    """The JSON body of an error response."""
    return {"error": code, "detail": list(detail)}


def error_response(exc: ApiError) -> JSONResponse:
    """An :class:`ApiError` in the project's error shape (also for middleware, outside the handlers)."""
    return JSONResponse(error_body(exc.code, exc.detail), status_code=exc.status, headers=exc.headers or None)


async def api_error_handler(request: Request, exc: ApiError) -> JSONResponse:
    """Answer an :class:`ApiError` in the project's error shape."""
    return error_response(exc)


def validation_detail(errors: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Pydantic/FastAPI error entries as ``[{"field": "body.x.y", "reason": ...}]``.

    The offending input is deliberately not echoed back: it may be an ID number.
    """
    return [
        {"field": ".".join(str(part) for part in err.get("loc", ())), "reason": str(err.get("msg", ""))}
        for err in errors
    ]


async def validation_error_handler(request: Request, exc: RequestValidationError) -> JSONResponse:
    """Answer a request validation error with 422 naming each field and its rule."""
    return JSONResponse(error_body("validation_error", validation_detail(exc.errors())), status_code=422)


async def http_error_handler(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """Answer Starlette's own HTTP errors (404 route, 405 method) in the same shape."""
    try:
        code = HTTPStatus(exc.status_code).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        code = "http_error"
    detail = [] if exc.detail in (None, "") else [{"reason": str(exc.detail)}]
    return JSONResponse(
        error_body(code, detail), status_code=exc.status_code, headers=getattr(exc, "headers", None)
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the project's error handlers on ``app``."""
    app.add_exception_handler(ApiError, api_error_handler)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, validation_error_handler)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, http_error_handler)  # type: ignore[arg-type]
