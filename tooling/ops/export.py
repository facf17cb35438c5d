"""``shebao events export``: the chosen events to JSON Lines or Parquet, resumably.

Export reads each chosen partition from where the previous export stopped (its offsets file)
up to the end offsets as of the start, so a run is bounded and a second run picks up what
arrived since. JSON Lines: one envelope per line, exactly as published (money stays a decimal
string), appended to the file; the offsets are saved after each batch is on disk, so a run cut
short repeats at most one batch (deduplicate on ``id``). Parquet: a directory with one
sub-directory per event type and one part file per run (``part-<n>.parquet``, columns of
``tooling.ops.columns``); a part is written whole or not at all, and the offsets are saved
when it is.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from shared.settings import Settings
from tooling.ops import OpsError
from tooling.ops.events import Event, Reading, Selection, Unmasking, as_seen_by, keep, partitions_for, read_range
from tooling.ops.kafka import end_offsets, offsets_reader


@dataclass
class Exported:
    """One export run: where to, how much, and the offsets it stopped at."""

    out: str
    format: str
    reading: Reading
    by_type: dict[str, int] = field(default_factory=dict)
    part: str | None = None  # the Parquet part written by this run
    complete: bool = True  # every selected partition was read to its end as of the start

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "reading": asdict(self.reading)}


def offsets_path(out: Path, fmt: str) -> Path:
    """Where an export to ``out`` records how far it got."""
    return out / "offsets.json" if fmt == "parquet" else out.with_name(out.name + ".offsets.json")


def load_offsets(path: Path, selection: Selection, fmt: str) -> dict[str, dict[str, int]]:
    """The offsets a previous export recorded (none at first); ``OpsError`` if it chose other events."""
    if not path.exists():
        return {}
    recorded = json.loads(path.read_text(encoding="utf-8"))
    if recorded.get("selection") != selection.as_json() or recorded.get("format") != fmt:
        raise OpsError(f"{path} belongs to an export of other events ({recorded.get('selection')}, "
                       f"{recorded.get('format')}): export to another --out, or remove it to start over")
    return recorded["positions"]


def save_offsets(path: Path, selection: Selection, fmt: str, positions: dict[str, dict[str, int]]) -> None:
    """Write the offsets file atomically (a crash leaves the old one or the new one)."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps({"selection": selection.as_json(), "format": fmt, "positions": positions},
                                    indent=2), encoding="utf-8")
    temporary.replace(path)


async def export(
    settings: Settings,
    selection: Selection,
    out: Path,
    *,
    fmt: str = "jsonl",
    unmasking: Unmasking | None = None,
    limit: int | None = None,
    on_progress: Callable[[int, int], None] = lambda done, total: None,
) -> Exported:
    """Export the selected events not exported yet to ``out`` (see the module)."""
    unmasking = unmasking or Unmasking()
    person_id = selection.person_id()
    partitions = await partitions_for(settings, selection)
    if fmt == "parquet":
        out.mkdir(parents=True, exist_ok=True)
    positions_file = offsets_path(out, fmt)
    recorded = load_offsets(positions_file, selection, fmt)
    result = Exported(str(out), fmt, Reading(positions=recorded))
    writer = _writer(out, fmt)
    async with offsets_reader(settings) as reader:
        ends = await end_offsets(reader, partitions)
        earliest = await reader.beginning_offsets(partitions)
        starts = {tp: max(recorded.get(tp.topic, {}).get(str(tp.partition), 0), earliest[tp]) for tp in partitions}
        total = sum(max(ends[tp] - starts[tp], 0) for tp in partitions)
        if limit is not None:
            total = min(total, limit)
        on_progress(0, total)
        try:
            async for records in read_range(reader, starts, ends, limit=limit):
                events = [e for r in records if (e := keep(r, selection, person_id, result.reading))]
                writer.write([as_seen_by(e, unmasking) for e in events])
                for record in records:
                    result.reading.positions.setdefault(record.topic, {})[str(record.partition)] = record.offset + 1
                for event in events:
                    result.by_type[event.envelope["type"]] = result.by_type.get(event.envelope["type"], 0) + 1
                result.reading.read += len(records)
                result.reading.kept += len(events)
                if writer.durable_per_batch:
                    save_offsets(positions_file, selection, fmt, result.reading.positions)
                on_progress(result.reading.read, total)
            result.part = writer.close()
        except BaseException:
            writer.abandon()
            raise
        save_offsets(positions_file, selection, fmt, result.reading.positions)
        if result.reading.read:
            result.complete = all([await reader.position(tp) >= ends[tp] for tp in partitions if starts[tp] < ends[tp]])
    return result


def _writer(out: Path, fmt: str):
    if fmt == "jsonl":
        return _JsonLines(out)
    if fmt == "parquet":
        return _ParquetParts(out)
    raise OpsError(f"unknown format {fmt!r}: jsonl or parquet")


class _JsonLines:
    """Appends each event's envelope as one line; each batch is on disk before its offsets are saved."""

    durable_per_batch = True

    def __init__(self, out: Path) -> None:
        out.parent.mkdir(parents=True, exist_ok=True)
        self.file = open(out, "ab")

    def write(self, events: list[Event]) -> None:
        if events:
            self.file.write(b"".join(event.raw.rstrip(b"\n") + b"\n" for event in events))
            self.file.flush()
            os.fsync(self.file.fileno())

    def close(self) -> None:
        self.file.close()

    def abandon(self) -> None:
        self.file.close()


class _ParquetParts:
    """One ``part-<n>.parquet`` per event type and run, written whole when the run ends."""

    durable_per_batch = False

    def __init__(self, out: Path) -> None:
        import pyarrow.parquet  # noqa: F401  (fail before reading anything if it is missing)

        from tooling.ops.columns import EventTable

        self.out = out
        self.tables: dict[str, EventTable] = {}
        self.rows: dict[str, list[dict]] = {}
        self.make_table = EventTable
        self.part = f"part-{_next_part(out):05d}.parquet"

    def write(self, events: list[Event]) -> None:
        for event in events:
            event_type = event.envelope["type"]
            table = self.tables.setdefault(event_type, self.make_table(event_type))
            self.rows.setdefault(event_type, []).append(
                table.row(event.envelope, event.topic, event.partition, event.offset))

    def close(self) -> str | None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        for event_type, rows in self.rows.items():
            directory = self.out / event_type
            directory.mkdir(exist_ok=True)
            temporary = directory / (self.part + ".tmp")
            pq.write_table(pa.Table.from_pylist(rows, schema=self.tables[event_type].schema), temporary)
            temporary.replace(directory / self.part)
        return self.part if self.rows else None

    def abandon(self) -> None:
        self.rows.clear()


def _next_part(out: Path) -> int:
    numbers = [int(p.name[5:10]) for p in out.glob("*/part-*.parquet") if p.name[5:10].isdigit()]
    return max(numbers, default=-1) + 1
