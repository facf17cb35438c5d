"""``shebao replay``: rewind a stopped service's consumer group so that it consumes again.

Before anything is committed the group must be idle. For a service's group
(``<prefix>shebao.<service>``) that is asked of the database: no process of the service may
be connected to its schema. For any other group the broker must list no member (``force``
skips that check, for brokers such as Tansu that keep listing members that have left).
The new offsets are then committed by joining the group as its only member (``sole_member``).
Replaying is safe by construction: each service's inbox makes a repeated event a no-op.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from aiokafka import TopicPartition

from shared.settings import Settings
from tooling.ops import OpsError
from tooling.ops.kafka import (
    NO_OFFSET,
    GroupInUse,
    admin_client,
    committed_offsets,
    end_offsets,
    existing_topics,
    group_members,
    offsets_at,
    offsets_reader,
    partitions_of,
    sole_member,
)
from tooling.ops.services import ensure_stopped, service_of_group


@dataclass(frozen=True)
class Target:
    """Where to rewind to: the earliest offset, the first record at or after a time, or explicit
    ``{partition: offset}`` (partitions not named keep their committed offset)."""

    earliest: bool = False
    at: datetime | None = None
    offsets: dict[int, int] | None = None

    def describe(self) -> str:
        if self.earliest:
            return "the earliest offset"
        if self.at is not None:
            return f"the first record at or after {self.at.isoformat()}"
        return "offsets " + ", ".join(f"{p}:{o}" for p, o in sorted((self.offsets or {}).items()))


@dataclass(frozen=True)
class Rewind:
    """One partition's move: from the committed offset (None: nothing committed) to ``offset``."""

    topic: str
    partition: int
    before: int | None
    offset: int
    end: int

    @property
    def to_consume(self) -> int:
        return max(self.end - self.offset, 0)


async def rewind_group(
    settings: Settings,
    group_id: str,
    target: Target,
    *,
    topics: list[str] | None = None,
    dry_run: bool = False,
    schema: str | None = None,
    force: bool = False,
) -> list[Rewind]:
    """Commit ``target`` offsets for ``group_id`` on ``topics`` (default: every topic it has
    committed offsets on). With ``dry_run`` only the plan is returned. The group must be idle
    (see the module); ``schema`` is the service's schema when it is not the service's name."""
    async with admin_client(settings) as admin:
        topics = topics or await consumed_topics(admin, group_id)
        partitions = await partitions_of(admin, topics)
        before = await committed_offsets(admin, group_id, partitions)
        if target.offsets is not None:
            _check_partitions(target.offsets, partitions, topics)
        plan = await _plan(settings, partitions, before, target)
        if dry_run or not plan:
            return plan
        service = service_of_group(group_id, settings.topic_prefix)
        if service is not None:
            await ensure_stopped(settings, service, schema or service)
        elif not force:
            await _ensure_no_members(admin, group_id)
    async with sole_member(settings, group_id, topics) as consumer:
        offsets = {TopicPartition(r.topic, r.partition): r.offset for r in plan}
        for tp, offset in offsets.items():
            consumer.seek(tp, offset)
        await consumer.commit(offsets)
    return plan


async def consumed_topics(admin, group_id: str) -> list[str]:
    """The topics on which ``group_id`` has committed offsets."""
    partitions = await partitions_of(admin, await existing_topics(admin))
    committed = await committed_offsets(admin, group_id, partitions)
    topics = sorted({tp.topic for tp, offset in committed.items() if offset != NO_OFFSET})
    if not topics:
        raise OpsError(
            f"consumer group {group_id} has no committed offsets on any topic: it will start from the "
            "earliest offset anyway; name the topics with --topic to set offsets explicitly"
        )
    return topics


async def _ensure_no_members(admin, group_id: str) -> None:
    members = await group_members(admin, group_id)
    if members:
        raise GroupInUse(
            f"the broker lists {len(members)} member(s) of consumer group {group_id}: stop its consumers first "
            "(Tansu keeps listing members that have left until the group next rebalances: "
            "if they are stopped, run again with --force)"
        )


def _check_partitions(offsets: dict[int, int], partitions: list[TopicPartition], topics: list[str]) -> None:
    if len(topics) != 1:
        raise OpsError(f"--to-offset needs exactly one topic; the group consumes {', '.join(topics)}: add --topic")
    unknown = set(offsets) - {tp.partition for tp in partitions}
    if unknown:
        raise OpsError(f"topic {topics[0]} has no partition {', '.join(map(str, sorted(unknown)))}")


async def _plan(settings: Settings, partitions: list[TopicPartition], before: dict, target: Target) -> list[Rewind]:
    async with offsets_reader(settings) as reader:
        earliest = await reader.beginning_offsets(partitions)
        ends = await end_offsets(reader, partitions)
        if target.earliest:
            chosen = earliest
        elif target.at is not None:
            chosen = await offsets_at(reader, partitions, int(target.at.timestamp() * 1000), ends)
        else:
            chosen = {tp: target.offsets[tp.partition] for tp in partitions if tp.partition in target.offsets}
    plan = []
    for tp in partitions:
        if tp not in chosen:
            continue
        offset = chosen[tp]
        if not earliest[tp] <= offset <= ends[tp]:
            raise OpsError(f"offset {offset} is outside {tp.topic} partition {tp.partition} "
                           f"(earliest {earliest[tp]}, end {ends[tp]})")
        committed = before.get(tp, NO_OFFSET)
        plan.append(Rewind(tp.topic, tp.partition, None if committed == NO_OFFSET else committed, offset, ends[tp]))
    return plan


def format_plan(group_id: str, target: Target, plan: list[Rewind], *, dry_run: bool) -> str:
    """What was (or would be, with ``dry_run``) committed, one line per partition."""
    verb = "would rewind" if dry_run else "rewound"
    lines = [f"{verb} group {group_id} to {target.describe()}:"]
    for r in plan:
        before = "-" if r.before is None else r.before
        lines.append(f"  {r.topic} partition {r.partition}: {before} -> {r.offset}  ({r.to_consume} to consume)")
    lines.append(f"{sum(r.to_consume for r in plan)} record(s) will be consumed again when the group's consumers start")
    return "\n".join(lines)


def plan_as_json(group_id: str, plan: list[Rewind]) -> dict:
    return {"group": group_id, "partitions": [{**asdict(r), "to_consume": r.to_consume} for r in plan]}
