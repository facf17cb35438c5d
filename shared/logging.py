"""Structured logs: one JSON object per line on stdout, personal data masked.

Every line carries ``timestamp`` (ISO 8601, UTC), ``level``, ``service``, whatever
:func:`bind_event_context` bound (``event_id``, ``correlation_id``) and, inside a trace (an
HTTP request, a consumed event, a job), its ``trace_id`` and ``span_id``. Records of the
standard library (aiokafka, uvicorn, faststream, ...) go through the same chain, and
:func:`mask_personal_data` sits right before the renderer for both, so no path writes
an ID number or a mobile number in clear.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from shared.tracing import add_trace_ids

NOISY_LOGGERS = (
    "aiokafka",
    "kafka",
    "uvicorn",
    "uvicorn.access",
    "uvicorn.error",
    "faststream",
    "faststream.access",
    "asyncio",
    "httpx",
    "httpcore",
)
_HANDLER_MARK = "_shebao_handler"
_FORMATTER_META = ("_record", "_from_structlog")

# --- masking -------------------------------------------------------------------------

# Bounded by anything but a letter or digit (CJK text around a number still counts as a
# boundary) and never part of a decimal such as an amount.
_LEFT = r"(?<![0-9A-Za-z])(?<!\d\.)"
_RIGHT = r"(?![0-9A-Za-z])(?!\.\d)"
_ID_NUMBER = re.compile(_LEFT + r"(\d{6})(\d{10})(\d[\dXx])" + _RIGHT)
_MOBILE = re.compile(_LEFT + r"((?:\+?86[- ]?)?1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})" + _RIGHT)

_MASKED_MOBILE = re.compile(r"(?:\+?86[- ]?)?1[3-9]\d\*{4}\d{4}")

_NAME_KEYS = frozenset({"name", "full_name", "person_name"})
_ID_KEYS = frozenset({"id_number"})
_PHONE_KEYS = frozenset({"phone", "mobile"})
_EMAIL_KEYS = frozenset({"email"})
_PLAIN = (int, float, bool, type(None))


def mask_text(text: str) -> str:
    """Mask resident ID numbers (keep region and last 2) and mobile numbers (3+4) in ``text``."""
    text = _ID_NUMBER.sub(lambda m: m[1] + "*" * 10 + m[3], text)
    return _MOBILE.sub(lambda m: m[1] + "****" + m[3], text)


def mask_name(value: str) -> str:
    """``张三丰`` → ``张*``: the first character only."""
    return value[:1] + "*" if value else value


def mask_email(value: str) -> str:
    """``zhang.san@example.cn`` → ``z***@example.cn``."""
    local, at, domain = value.partition("@")
    if not at or not local:
        return "***"
    return local[0] + "***@" + domain


def mask_id_number(value: str) -> str:
    """Keep the 6-digit region and the last 2 characters of an ID number; mask the rest."""
    if len(value) < 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 8) + value[-2:]


def mask_phone(value: str) -> str:
    """Mask a phone number, keeping the last 4 digits (mobiles keep 3 + 4)."""
    masked = mask_text(value)
    if masked != value or _MASKED_MOBILE.fullmatch(value):
        return masked
    digits = sum(ch.isdigit() for ch in value)
    seen = 0
    out = []
    for ch in value:
        if ch.isdigit():
            seen += 1
            ch = ch if seen > digits - 4 else "*"
        out.append(ch)
    return "".join(out)


_KEY_MASKS = {
    **{key: mask_name for key in _NAME_KEYS},
    **{key: mask_id_number for key in _ID_KEYS},
    **{key: mask_phone for key in _PHONE_KEYS},
    **{key: mask_email for key in _EMAIL_KEYS},
}


def _mask_value(value: Any, key: object = None) -> Any:
    """A masked copy of ``value``; containers are copied, never changed in place."""
    rule = _KEY_MASKS.get(key.lower()) if isinstance(key, str) else None
    if isinstance(value, str):
        return rule(value) if rule else mask_text(value)
    if isinstance(value, Mapping):
        return {_mask_key(k): _mask_value(v, k) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(_mask_value(item, key) for item in value)
    if isinstance(value, (list, set, frozenset)):
        return [_mask_value(item, key) for item in value]
    if isinstance(value, bool | float) or value is None:
        return value
    if isinstance(value, int):
        text = str(value)
        masked = rule(text) if rule else mask_text(text)
        return value if masked == text else masked
    # Anything else would be repr()'d by the renderer, unmasked: turn it into text here.
    return _mask_value(str(value), key)


def _mask_key(key: object) -> object:
    return mask_text(key) if isinstance(key, str) else key


def mask_personal_data(logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
    """structlog processor: mask ID numbers, mobiles, names and e-mails at any depth.

    Free text anywhere (the event, values, exception tracebacks) loses ID numbers and
    mobile numbers; values under keys ``name``, ``full_name``, ``person_name``,
    ``id_number``, ``phone``, ``mobile`` and ``email`` are masked whatever they hold.
    UUIDs, amounts, timestamps and region codes pass untouched.
    """
    return {_mask_key(key): _mask_value(value, key) for key, value in event_dict.items()}


# --- context -------------------------------------------------------------------------


@contextmanager
def bind_event_context(
    event_id: object = None, correlation_id: object = None, **extra: object
) -> Iterator[None]:
    """Within the block, every log line carries ``event_id``/``correlation_id`` (and ``extra``).

    Bound through ``structlog.contextvars``, so each asyncio task sees its own values;
    the previous values come back when the block ends.
    """
    values = {"event_id": event_id, "correlation_id": correlation_id, **extra}
    bound = {key: str(value) for key, value in values.items() if value is not None}
    with structlog.contextvars.bound_contextvars(**bound):
        yield


# --- configuration -------------------------------------------------------------------


def _add_service(service: str) -> Processor:
    def add_service(logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
        event_dict["service"] = service
        return event_dict

    return add_service


def _shared_processors(service: str) -> list[Processor]:
    """What every line gets, whether it comes from structlog or from stdlib logging."""
    return [
        structlog.contextvars.merge_contextvars,
        add_trace_ids,
        _add_service(service),
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def _renderer(fmt: str) -> Processor:
    if fmt == "json":
        return structlog.processors.JSONRenderer()
    if fmt == "console":
        return structlog.dev.ConsoleRenderer(colors=False)
    raise ValueError(f"log format must be 'json' or 'console', got {fmt!r}")


class _StdoutHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stdout`` is at the time (as stdlib's ``lastResort`` does
    for stderr), so redirections made after configuration are honoured."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    @property
    def stream(self):  # type: ignore[override]
        return sys.stdout

    @stream.setter
    def stream(self, value: object) -> None:
        pass


def _mask_foreign_records(logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
    """Mask records from stdlib logging; structlog's own were masked before leaving it."""
    if event_dict.get("_from_structlog"):
        return event_dict
    meta = {key: event_dict.pop(key) for key in _FORMATTER_META if key in event_dict}
    return {**mask_personal_data(logger, method, event_dict), **meta}


def _stdout_handler(service: str, fmt: str) -> logging.Handler:
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(service),
        processors=[
            structlog.processors.format_exc_info,
            _mask_foreign_records,  # after tracebacks, before rendering: nothing leaves unmasked
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _renderer(fmt),
        ],
    )
    handler = _StdoutHandler()
    handler.setFormatter(formatter)
    setattr(handler, _HANDLER_MARK, True)
    return handler


def _install_root_handler(handler: logging.Handler, level: int) -> None:
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in NOISY_LOGGERS:
        noisy = logging.getLogger(name)
        noisy.handlers.clear()
        noisy.propagate = True
        noisy.setLevel(max(level, logging.WARNING))


def configure_logging(service: str, *, level: str = "INFO", fmt: str = "json") -> None:
    """Send structlog and stdlib logging to stdout as masked JSON lines (or ``console``).

    Safe to call again (tests, reloads): the previous handler is replaced. Noisy
    libraries log at WARNING and above. Run uvicorn with ``log_config=None`` so its
    records reach this handler instead of its own.
    """
    numeric = logging.getLevelNamesMapping().get(level.upper())
    if numeric is None:
        raise ValueError(f"unknown log level {level!r}")
    handler = _stdout_handler(service, fmt)
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(service),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            # Render tracebacks now, while sys.exc_info() is still the caller's.
            structlog.processors.format_exc_info,
            # Masked before the record leaves structlog, so any other handler on the
            # root logger (pytest's capture, a sidecar) never sees clear data either.
            mask_personal_data,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    _install_root_handler(handler, numeric)


def get_logger(name: str | None = None, **initial: Any) -> structlog.stdlib.BoundLogger:
    """A structlog logger (optionally named and with initial bound values)."""
    return structlog.get_logger(name, **initial)
