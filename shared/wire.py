"""Dates and instants read from outside exactly as the published schema says.

Pydantic's lax mode reads more than an OpenAPI ``format: date`` or ``format: date-time`` allows:
a number (``0`` is 1970-01-01: seconds since the epoch), a datetime with a zero time for a date,
an instant without seconds or with a space for the ``T``. What a client sends is read strictly, as
RFC 3339 says (``2026-12-08``, ``2026-12-08T10:00:00+08:00``, ``...Z``), and anything else is a
``422`` naming the field; what code builds (a ``date``, a ``datetime``) passes unchanged.

Years run from 1900 to 2999, and the published pattern says so: nothing a resident, a caseworker
or a channel sends lies outside, and the edges of Python's calendar are far away — an instant of
year 1 or 9999 with an offset overflows the moment it is converted to UTC or to the region's zone.

Like ``shared.money`` for amounts: the route declares the type, the check happens once, here.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import AwareDatetime, BeforeValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

_YEAR = r"(19[0-9]{2}|2[0-9]{3})"
DATE_PATTERN = rf"^{_YEAR}-[0-9]{{2}}-[0-9]{{2}}$"
DATE_TIME_PATTERN = (rf"^{_YEAR}-[0-9]{{2}}-[0-9]{{2}}[Tt][0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}}(\.[0-9]{{1,9}})?"
                     r"([Zz]|[+-][0-9]{2}:[0-9]{2})$")
_DATE = re.compile(DATE_PATTERN)
_DATE_TIME = re.compile(DATE_TIME_PATTERN)


def _text_like(kind: str, pattern: re.Pattern[str], example: str, passes: type):
    """A before-validator: a value of ``passes`` from code goes through; from outside only a string
    matching ``pattern`` (ASCII digits, nothing before or after)."""

    def check(value: object) -> object:
        if isinstance(value, passes):
            return value
        if not isinstance(value, str) or pattern.match(value) is None:
            raise PydanticCustomError(f"{kind}_text", "must be a {kind} like {example} (RFC 3339, years 1900-2999)",
                                      {"kind": kind.replace("_", "-"), "example": example})
        return value

    return check


IsoDate = Annotated[
    date,
    BeforeValidator(_text_like("date", _DATE, "2026-12-08", date)),
    WithJsonSchema({"type": "string", "format": "date", "pattern": DATE_PATTERN, "examples": ["2026-12-08"]}),
]
"""A calendar date: ``YYYY-MM-DD`` from outside, a ``date`` from code."""

IsoDateTime = Annotated[
    AwareDatetime,
    BeforeValidator(_text_like("date_time", _DATE_TIME, "2026-12-08T10:00:00+08:00", datetime)),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": DATE_TIME_PATTERN,
                    "examples": ["2026-12-08T10:00:00+08:00"]}),
]
"""An instant with its offset: RFC 3339 ``date-time`` from outside, an aware ``datetime`` from code."""

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
_UUID = re.compile(UUID_PATTERN)


def _uuid_text(value: object) -> object:
    """Only the hyphenated form OpenAPI's ``format: uuid`` names: pydantic alone also reads 32 bare hex
    digits, ``{...}`` and ``urn:uuid:...``, which no schema of ours publishes."""
    if isinstance(value, uuid.UUID):
        return value
    if not isinstance(value, str) or _UUID.fullmatch(value) is None:
        raise PydanticCustomError("uuid_text", "must be a UUID like 5f0c6a52-3f4b-4c1e-9a52-8f0f3c1d2e01")
    return value


WireUuid = Annotated[
    uuid.UUID,
    BeforeValidator(_uuid_text),
    WithJsonSchema({"type": "string", "format": "uuid", "pattern": UUID_PATTERN,
                    "examples": ["5f0c6a52-3f4b-4c1e-9a52-8f0f3c1d2e01"]}),
]
"""An id from outside: a hyphenated UUID (either case), a ``UUID`` from code."""
