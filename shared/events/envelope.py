"""The envelope every Shebao event travels in (CloudEvents 1.0 attribute names).

``make_envelope`` wraps a payload for publishing; ``decode_envelope`` turns the bytes of
a Kafka message back into an envelope with its typed payload, or raises ``InvalidEvent``
saying which field is wrong and why.
"""

from __future__ import annotations

import json
import os
import time as clock
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    SerializeAsAny,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from shared.events.topics import CORRELATION_HEADER, ID_HEADER, SERVICES, SOURCE_HEADER, TYPE_HEADER
from shared.periods import now_utc

Region = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
"""A GB/T 2260 six-digit region code, e.g. "110000"."""


class EventPayload(BaseModel):
    """Base of every event payload: immutable, and tolerant of fields it does not know."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    source_service: ClassVar[str]
    schema_version: ClassVar[int] = 1

    @classmethod
    def event_type(cls) -> str:
        """The event's type name, which is the class name (``PremiumPaid``)."""
        return cls.__name__

    @classmethod
    def dataschema(cls) -> str:
        """The URN naming this payload's schema and version."""
        return f"urn:shebao:event:{cls.event_type()}:v{cls.schema_version}"

    def partition_key(self) -> str:
        """The Kafka key: the person id, or the region for events about no one person."""
        person_id = getattr(self, "person_id", None)
        if person_id is not None:
            return str(person_id)
        region = getattr(self, "region", None)
        if region is None:
            raise TypeError(f"{type(self).__name__} has neither person_id nor region to key it by")
        return str(region)


EVENT_TYPES: dict[str, type[EventPayload]] = {}
"""Every event type name mapped to its payload model; filled by the catalog."""


def register_event_types(*models: type[EventPayload]) -> None:
    """Add payload models to ``EVENT_TYPES``; each needs a unique name and a known source."""
    for model in models:
        if getattr(model, "source_service", None) not in SERVICES:
            raise TypeError(f"{model.__name__}.source_service must be one of {SERVICES}")
        known = EVENT_TYPES.setdefault(model.event_type(), model)
        if known is not model:
            raise TypeError(f"event type {model.event_type()} is registered twice")


class Envelope(BaseModel):
    """One event as published: CloudEvents attributes plus the typed payload in ``data``."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    specversion: Literal["1.0"] = "1.0"
    id: UUID
    type: str
    source: str
    subject: Annotated[str, StringConstraints(min_length=1)]
    time: AwareDatetime
    dataschema: str
    region: Region
    correlationid: UUID
    causationid: UUID | None = None
    data: SerializeAsAny[EventPayload]

    @field_validator("time")
    @classmethod
    def _in_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

    @field_validator("data", mode="before")
    @classmethod
    def _typed_data(cls, value: Any, info: ValidationInfo) -> Any:
        """The payload as the model its ``type`` names, which must be a known event type.

        One check for both ways in: a decoded message's ``data`` (a dict, validated here by its model)
        and a payload given whole (``make_envelope``), whose class must be the one the type names.
        The consumer runs this for every record, so the common case, a dict, is tested first.
        """
        if "type" not in info.data:
            return value  # the type itself is invalid: that is the error to report
        event_type = info.data["type"]
        model = EVENT_TYPES.get(event_type)
        if type(value) is dict and model is not None:
            return model.model_validate(value)
        if isinstance(value, EventPayload):
            if model is None or type(value).__name__ != event_type:
                raise ValueError(f"type {event_type!r} does not match data of type {type(value).__name__}")
            return value
        if model is None:
            raise ValueError(f"type {event_type!r} is not a known event type")
        return model.model_validate(value)

    def to_json_bytes(self) -> bytes:
        """The message value: the envelope as UTF-8 JSON (pydantic's bytes, not a str encoded again)."""
        return self.__pydantic_serializer__.to_json(self)

    def partition_key(self) -> bytes:
        """The message key: the payload's partition key as UTF-8."""
        return self.data.partition_key().encode()

    def kafka_headers(self) -> dict[str, str]:
        """Headers that let a consumer route or skip the message without parsing it."""
        return {
            TYPE_HEADER: self.type,
            ID_HEADER: str(self.id),
            SOURCE_HEADER: self.source,
            CORRELATION_HEADER: str(self.correlationid),
        }


class InvalidEvent(ValueError):
    """A message that is not a valid Shebao event; ``reason`` says which field and why."""

    def __init__(self, reason: str, *, event_type: str | None = None, event_id: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.event_type = event_type
        self.event_id = event_id


def time_ordered_event_id() -> UUID:
    """A new event id: a UUIDv7 (RFC 9562), the millisecond it was made, then 74 random bits.

    Ids made later sort later (to the millisecond), so each service's inbox, keyed by event id,
    adds them at the end of its index instead of at random places in it: that insert was the
    consumer's dearest statement (issue 13).
    """
    value = (clock.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10), "big")
    value = value & ~(0xF << 76) | 0x7 << 76  # version 7
    value = value & ~(0x3 << 62) | 0x2 << 62  # the RFC's variant
    return UUID(int=value)


def make_envelope(
    payload: EventPayload,
    *,
    subject: str | UUID,
    region: str,
    correlationid: UUID | None = None,
    causationid: UUID | None = None,
    event_id: UUID | None = None,
    time: datetime | None = None,
) -> Envelope:
    """Wrap ``payload`` for publishing.

    Type, source and dataschema come from the payload's class; the id is new and the
    time is now (UTC) unless given. An event that starts a chain is its own correlation.
    """
    event_id = event_id or time_ordered_event_id()
    return Envelope(
        id=event_id,
        type=payload.event_type(),
        source=payload.source_service,
        subject=str(subject),
        time=time or now_utc(),
        dataschema=payload.dataschema(),
        region=region,
        correlationid=correlationid or event_id,
        causationid=causationid,
        data=payload,
    )


def decode_envelope(raw: bytes | str | dict) -> Envelope:
    """Parse and validate one message into an ``Envelope`` with its typed payload.

    Raises ``InvalidEvent`` for bad JSON, a missing or malformed attribute, an unknown
    type or invalid data; the reason names each field, e.g. ``data.amount: ...``.

    A valid message is parsed and validated in one pass of pydantic's JSON parser (the consumer's
    main cost); one that fails it is taken apart again to say what is wrong.
    """
    if not isinstance(raw, dict):
        try:
            return Envelope.model_validate_json(raw)
        except ValidationError:
            pass
    message = _load(raw)
    event_type = message.get("type")
    event_id = message.get("id")
    context = {"event_type": _str_or_none(event_type), "event_id": _str_or_none(event_id)}
    if isinstance(event_type, str) and event_type not in EVENT_TYPES:
        raise InvalidEvent(f"type: unknown event type {event_type!r}", **context)
    try:
        return Envelope.model_validate(message)
    except ValidationError as exc:
        raise InvalidEvent("; ".join(_describe(exc)), **context) from None


def _load(raw: bytes | str | dict) -> dict:
    if isinstance(raw, dict):
        return raw
    try:
        message = json.loads(raw)
    except (ValueError, TypeError) as exc:
        raise InvalidEvent(f"envelope: not valid JSON ({exc})") from None
    if not isinstance(message, dict):
        raise InvalidEvent(f"envelope: expected a JSON object, got {type(message).__name__}")
    return message


def _describe(exc: ValidationError) -> list[str]:
    return [f"{_where(error['loc'])}: {error['msg']}" for error in exc.errors()]


def _where(loc: tuple[str | int, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text or "envelope"


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)
