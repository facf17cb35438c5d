"""``shebao events export|tail``: choosing, reading and masking the events for analysts, and
following them live (``tail``); writing them to files is ``tooling.ops.export``.

Both read the deployment's topics as a consumer in no group (nothing is committed, no group
to join, no service disturbed) and keep only the events chosen by ``Selection``: topics,
event types, a time window on the envelope's ``time`` and a person.

Personal data (the contact's phone and e-mail of ``ApplicationSubmitted``, anything shaped
like an ID or mobile number) is masked as in the services' logs, unless the caller asked for
it *and* showed a token of a caseworker or admin (``shared.auth``) of the events' region:
an event of another region stays masked.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from shared.auth import AuthError, Principal, decode_token
from shared.events import EVENT_TYPES, SERVICES, InvalidEvent, decode_envelope, topic_for
from shared.events.topics import TYPE_HEADER
from shared.identity import person_id_for
from shared.logging import mask_personal_data
from shared.resident_id import check_character
from shared.settings import Settings
from tooling.ops import OpsError
from tooling.ops.kafka import admin_client, end_offsets, offsets_reader, partitions_of

UNMASKING_ROLES = ("caseworker", "admin")


@dataclass(frozen=True)
class Selection:
    """Which events: topics (default the four service topics), types, ``[since, until)`` and person."""

    topics: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    person: str | None = None  # a person id (UUID) or a resident ID number

    def topic_names(self, prefix: str) -> list[str]:
        names = self.topics or SERVICES
        return sorted({topic_for(name, prefix) if name in SERVICES else name for name in names})

    def person_id(self) -> str | None:
        """The person id to match: as given, or derived from a resident ID number."""
        if self.person is None:
            return None
        try:
            return str(UUID(self.person))
        except ValueError:
            pass
        if len(self.person) == 18 and check_character(self.person[:17]) == self.person[17].upper():
            return str(person_id_for(self.person))
        raise OpsError(f"--person {self.person!r} is neither a person id (UUID) nor a valid resident ID number")

    def as_json(self) -> dict[str, Any]:
        return {"topics": list(self.topics), "types": list(self.types),
                "since": self.since.isoformat() if self.since else None,
                "until": self.until.isoformat() if self.until else None, "person": self.person}


@dataclass(frozen=True)
class Event:
    """One event read: where it sits on the topic and its envelope (as published, or masked)."""

    topic: str
    partition: int
    offset: int
    key: str | None
    envelope: dict[str, Any]
    raw: bytes  # the value as published


class Unmasking:
    """Who may see personal data: nobody, unless a caseworker's or admin's token is shown."""

    def __init__(self, principal: Principal | None = None) -> None:
        self.principal = principal

    @classmethod
    def from_token(cls, token: str | None, settings: Settings) -> Unmasking:
        """The principal of ``token`` if it may unmask; ``OpsError`` saying why not otherwise."""
        if not token:
            raise OpsError("personal data is shown only with a token of a caseworker or admin: "
                           "--token TOKEN or SHEBAO_TOKEN (mint one with `shebao token`)")
        try:
            principal = decode_token(token, secret=settings.jwt_secret, issuer=settings.jwt_issuer)
        except AuthError as error:
            raise OpsError(f"the token is not valid: {error}") from None
        if principal.role not in UNMASKING_ROLES:
            raise OpsError(f"a token of role {principal.role} may not see personal data "
                           f"(only {' or '.join(UNMASKING_ROLES)})")
        return cls(principal)

    def shows(self, envelope: dict[str, Any]) -> bool:
        return self.principal is not None and envelope.get("region") == self.principal.region

    def apply(self, envelope: dict[str, Any]) -> dict[str, Any]:
        """``envelope`` as this caller may see it."""
        return envelope if self.shows(envelope) else mask_personal_data(None, "info", dict(envelope))


@dataclass
class Reading:
    """What a read went through: records read, kept, skipped as invalid; where it stopped."""

    read: int = 0
    kept: int = 0
    invalid: int = 0
    positions: dict[str, dict[str, int]] = field(default_factory=dict)  # topic -> partition -> next offset


def keep(record: ConsumerRecord, selection: Selection, person_id: str | None, reading: Reading) -> Event | None:
    """The record as an ``Event`` if it is a valid envelope the selection keeps, else None."""
    wanted_types = set(selection.types)
    header_type = next((v.decode() for k, v in record.headers or () if k == TYPE_HEADER), None)
    if wanted_types and header_type is not None and header_type not in wanted_types:
        return None  # skipped without parsing, as the docs advise consumers to do
    try:
        envelope = decode_envelope(record.value)
    except InvalidEvent:
        reading.invalid += 1
        return None
    if wanted_types and envelope.type not in wanted_types:
        return None
    if selection.since and envelope.time < selection.since or selection.until and envelope.time >= selection.until:
        return None
    if person_id is not None and str(getattr(envelope.data, "person_id", "")) != person_id:
        return None
    key = record.key.decode(errors="replace") if record.key is not None else None
    return Event(record.topic, record.partition, record.offset, key, json.loads(record.value), record.value)


async def partitions_for(settings: Settings, selection: Selection) -> list[TopicPartition]:
    """The partitions of the selected topics; unknown types or topics are ``OpsError``s."""
    unknown = sorted(set(selection.types) - set(EVENT_TYPES))
    if unknown:
        raise OpsError(f"unknown event type(s): {', '.join(unknown)}")
    async with admin_client(settings) as admin:
        return await partitions_of(admin, selection.topic_names(settings.topic_prefix))


async def read_range(
    reader: AIOKafkaConsumer,
    starts: dict[TopicPartition, int],
    ends: dict[TopicPartition, int],
    *,
    limit: int | None = None,
) -> AsyncIterator[list[ConsumerRecord]]:
    """Batches of the records in ``[starts, ends)`` of each partition, at most ``limit`` records."""
    pending = [tp for tp in starts if starts[tp] < ends[tp]]
    if not pending:
        return
    reader.assign(pending)
    for tp in pending:
        reader.seek(tp, starts[tp])
    left = limit
    while pending and (left is None or left > 0):
        batch = await reader.getmany(*pending, timeout_ms=500, max_records=min(left or 1000, 1000))
        records = sorted((r for tp, rs in batch.items() for r in rs if r.offset < ends[tp]),
                         key=lambda r: (r.topic, r.partition, r.offset))
        if records:
            left = None if left is None else left - len(records)
            yield records
        pending = [tp for tp in pending if await reader.position(tp) < ends[tp]]


def as_seen_by(event: Event, unmasking: Unmasking) -> Event:
    """``event`` as the caller may see it: unchanged, or with its personal data masked."""
    shown = unmasking.apply(event.envelope)
    if shown is event.envelope:
        return event
    return Event(event.topic, event.partition, event.offset, event.key, shown, json.dumps(shown).encode())


# --- tail ---------------------------------------------------------------------------------


async def tail(
    settings: Settings,
    selection: Selection,
    *,
    from_beginning: bool = False,
    unmasking: Unmasking | None = None,
    limit: int | None = None,
    idle_exit_s: float | None = None,
    on_event: Callable[[Event], None],
) -> int:
    """Follow the selected events as they arrive (from the end, or the beginning, or ``since``) and
    call ``on_event`` for each; stop after ``limit`` events or ``idle_exit_s`` quiet seconds."""
    unmasking = unmasking or Unmasking()
    person_id = selection.person_id()
    partitions = await partitions_for(settings, selection)
    seen, reading = 0, Reading()
    async with offsets_reader(settings) as reader:
        starts = await _tail_starts(reader, partitions, from_beginning, selection.since)
        reader.assign(partitions)
        for tp in partitions:
            reader.seek(tp, starts[tp])
        quiet = 0.0
        while limit is None or seen < limit:
            batch = await reader.getmany(*partitions, timeout_ms=500)
            records = sorted((r for rs in batch.values() for r in rs), key=lambda r: r.timestamp)
            quiet = 0.0 if records else quiet + 0.5
            if idle_exit_s is not None and quiet >= idle_exit_s:
                break
            for record in records:
                event = keep(record, selection, person_id, reading)
                if event is not None and (limit is None or seen < limit):
                    on_event(as_seen_by(event, unmasking))
                    seen += 1
    return seen


async def _tail_starts(reader, partitions, from_beginning: bool, since: datetime | None) -> dict:
    if from_beginning:
        return await reader.beginning_offsets(partitions)
    ends = await end_offsets(reader, partitions)
    if since is None:
        return ends
    found = await reader.offsets_for_times({tp: int(since.timestamp() * 1000) for tp in partitions})
    return {tp: found[tp].offset if found.get(tp) is not None and found[tp].timestamp >= 0 else ends[tp]
            for tp in partitions}


def summary(event: Event) -> str:
    """One line for a person reading the terminal: time, type, person, key facts of the payload."""
    envelope, data = event.envelope, event.envelope.get("data") or {}
    person = data.get("person_id") or "-"
    facts = " ".join(f"{k}={v}" for k, v in data.items()
                     if k != "person_id" and isinstance(v, str | int | float | bool) and len(str(v)) <= 40)
    return f"{envelope.get('time')}  {envelope.get('type'):<22} person={person}  {facts}"
