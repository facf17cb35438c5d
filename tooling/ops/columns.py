"""Typed columns of the events, for Parquet: one column per envelope attribute and per payload
field, typed from the published JSON Schema of each event (the contract, not Python internals).

Money (the schema's money patterns) becomes ``decimal128(14, 2)``, rates ``decimal128(9, 8)``,
dates ``date32``, timestamps ``timestamp[us, UTC]``, ids strings, lists lists and nested
objects structs, so an analyst sums money exactly and filters dates as dates.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa

from shared.events import EVENT_TYPES
from shared.money import MONEY_PATTERN, NON_NEGATIVE_MONEY_PATTERN, RATE_PATTERN

MONEY = pa.decimal128(14, 2)
RATE = pa.decimal128(9, 8)
TIMESTAMP = pa.timestamp("us", tz="UTC")

Convert = Callable[[Any], Any]

# envelope attribute -> (column, type, conversion of the wire value)
ENVELOPE_COLUMNS: list[tuple[str, str, pa.DataType, Convert]] = [
    ("id", "event_id", pa.string(), str),
    ("type", "event_type", pa.string(), str),
    ("source", "event_source", pa.string(), str),
    ("subject", "event_subject", pa.string(), str),
    ("time", "event_time", TIMESTAMP, lambda v: _timestamp(v)),
    ("region", "event_region", pa.string(), str),
    ("correlationid", "event_correlationid", pa.string(), str),
    ("causationid", "event_causationid", pa.string(), lambda v: v),
    ("dataschema", "event_dataschema", pa.string(), str),
]
KAFKA_COLUMNS = [("kafka_topic", pa.string()), ("kafka_partition", pa.int32()), ("kafka_offset", pa.int64())]


class EventTable:
    """The Arrow schema of one event type and how a wire envelope becomes one row of it."""

    def __init__(self, event_type: str) -> None:
        model = EVENT_TYPES[event_type]
        schema = model.model_json_schema(mode="serialization")
        self.event_type = event_type
        self._defs = schema.get("$defs", {})
        self._payload: list[tuple[str, pa.DataType, Convert]] = [
            (name, *self._column(prop)) for name, prop in schema.get("properties", {}).items()
        ]
        fields = [pa.field(column, kind) for _, column, kind, _ in ENVELOPE_COLUMNS]
        fields += [pa.field(name, kind) for name, kind in KAFKA_COLUMNS]
        fields += [pa.field(name, kind) for name, kind, _ in self._payload]
        self.schema = pa.schema(fields)

    def row(self, envelope: dict[str, Any], topic: str, partition: int, offset: int) -> dict[str, Any]:
        """One row: the envelope's attributes, where it was read, and every payload field typed."""
        row = {column: _optional(convert)(envelope.get(name)) for name, column, _, convert in ENVELOPE_COLUMNS}
        row.update(kafka_topic=topic, kafka_partition=partition, kafka_offset=offset)
        data = envelope.get("data") or {}
        row.update({name: convert(data.get(name)) for name, _, convert in self._payload})
        return row

    def _column(self, prop: dict[str, Any]) -> tuple[pa.DataType, Convert]:
        prop = self._resolve(prop)
        pattern, kind, fmt = prop.get("pattern"), prop.get("type"), prop.get("format")
        if pattern in (MONEY_PATTERN, NON_NEGATIVE_MONEY_PATTERN):
            return MONEY, _optional(Decimal)
        if pattern == RATE_PATTERN:
            return RATE, _optional(Decimal)
        if kind == "string" and fmt == "date":
            return pa.date32(), _optional(date.fromisoformat)
        if kind == "string" and fmt == "date-time":
            return TIMESTAMP, _optional(_timestamp)
        if kind == "integer":
            return pa.int64(), _optional(int)
        if kind == "boolean":
            return pa.bool_(), _optional(bool)
        if kind == "array":
            item_type, item = self._column(prop.get("items", {}))
            return pa.list_(item_type), _optional(lambda values: [item(v) for v in values])
        if "properties" in prop:
            parts = [(name, *self._column(p)) for name, p in prop["properties"].items()]
            return (pa.struct([pa.field(name, kind) for name, kind, _ in parts]),
                    _optional(lambda value: {name: convert(value.get(name)) for name, _, convert in parts}))
        return pa.string(), _optional(str)

    def _resolve(self, prop: dict[str, Any]) -> dict[str, Any]:
        """The schema behind a ``$ref``, and the non-null branch of an optional ``anyOf``."""
        if "$ref" in prop:
            return self._resolve(self._defs[prop["$ref"].rsplit("/", 1)[-1]])
        branches = [b for b in prop.get("anyOf", []) if b.get("type") != "null"]
        if len(branches) == 1:
            return self._resolve(branches[0])
        return prop


def _optional(convert: Convert) -> Convert:
    return lambda value: None if value is None else convert(value)


def _timestamp(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)
