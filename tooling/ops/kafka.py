"""Kafka plumbing of the operator tools: clients, offsets, and exclusive group membership.

Works on Apache Kafka and on Tansu (the local broker). Where Tansu differs:

- ``OffsetFetch`` without a partition list (aiokafka's ``list_consumer_group_offsets(group)``)
  gets an answer aiokafka cannot decode, so committed offsets are always asked for with
  explicit partitions;
- ``DescribeGroups`` keeps listing a member after it left the group, until the next
  rebalance; so whether a group is in use is decided by joining it (``sole_member``),
  never by the description alone;
- ``ListOffsets`` by time answers offset 0 with timestamp -1 when no record is at or after
  the time (Kafka answers no offset); both mean "the end of the partition";
- ``ListOffsets`` for the end answers one past the *first* record of the last batch written,
  so a partition whose last batch held several records looks shorter than it is. The
  high watermark of a fetch is right, so ``end_offsets`` fetches the last batch to read it.
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.kafka import client_options
from shared.settings import Settings
from tooling.ops import OpsError

NO_OFFSET = -1


@contextlib.asynccontextmanager
async def admin_client(settings: Settings) -> AsyncIterator[AIOKafkaAdminClient]:
    """A started admin client for the configured broker."""
    admin = AIOKafkaAdminClient(**client_options(settings), request_timeout_ms=15_000)
    await admin.start()
    try:
        yield admin
    finally:
        await admin.close()


@contextlib.asynccontextmanager
async def offsets_reader(settings: Settings) -> AsyncIterator[AIOKafkaConsumer]:
    """A consumer in no group, for reading offsets and records without committing anything."""
    consumer = AIOKafkaConsumer(**client_options(settings), enable_auto_commit=False, request_timeout_ms=15_000)
    await consumer.start()
    try:
        yield consumer
    finally:
        await consumer.stop()


async def existing_topics(admin: AIOKafkaAdminClient) -> list[str]:
    """Every topic of the cluster except the broker's internal ones, sorted."""
    return sorted(topic for topic in await admin.list_topics() if not topic.startswith("__"))


class UnknownTopic(OpsError):
    """A topic named by the operator does not exist (and was not created)."""


async def ensure_topics_exist(admin: AIOKafkaAdminClient, topics: Iterable[str]) -> None:
    """Raise ``UnknownTopic`` unless every one of ``topics`` exists.

    Asked of the full topic list: a metadata request *naming* a topic creates it on brokers
    that auto-create topics (Tansu does, whatever the request says), so a typo would
    otherwise become a new, empty topic.
    """
    known = set(await admin.list_topics())
    missing = sorted(set(topics) - known)
    if not missing:
        return
    ours = sorted(t for t in known if not t.startswith("__"))
    close = [match for name in missing for match in difflib.get_close_matches(name, ours, n=3, cutoff=0.6)]
    hint = f"did you mean {' or '.join(dict.fromkeys(close))}?" if close else \
        f"the broker has {len(ours)} topic(s) (`shebao topics --all` lists them)."
    raise UnknownTopic(f"topic {', '.join(missing)} does not exist (nothing was created); {hint} "
                       "Check the name and --topic-prefix / SHEBAO_TOPIC_PREFIX")


async def partitions_of(admin: AIOKafkaAdminClient, topics: Iterable[str]) -> list[TopicPartition]:
    """The partitions of ``topics``; an unknown topic is an ``UnknownTopic`` error, never created."""
    topics = sorted(set(topics))
    if not topics:
        return []
    await ensure_topics_exist(admin, topics)
    found: list[TopicPartition] = []
    for description in await admin.describe_topics(topics):
        if description["error_code"] or not description["partitions"]:
            raise OpsError(f"topic {description['topic']} does not exist")
        found += [TopicPartition(description["topic"], p["partition"]) for p in description["partitions"]]
    return sorted(found)


async def committed_offsets(
    admin: AIOKafkaAdminClient, group_id: str, partitions: list[TopicPartition]
) -> dict[TopicPartition, int]:
    """The group's committed offset of each partition (``NO_OFFSET`` where it has none)."""
    if not partitions:
        return {}
    answer = await admin.list_consumer_group_offsets(group_id, partitions=partitions)
    return {tp: answer[tp].offset if tp in answer else NO_OFFSET for tp in partitions}


async def end_offsets(reader: AIOKafkaConsumer, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
    """The end offset (one past the last record) of each partition, on any broker (see above).

    ``reader`` is a consumer in no group; its assignment is replaced.
    """
    if not partitions:
        return {}
    listed = await reader.end_offsets(partitions)
    earliest = await reader.beginning_offsets(partitions)
    probed = [tp for tp in partitions if listed[tp] > earliest[tp]]
    if not probed:
        return dict(listed)
    reader.assign(probed)
    for tp in probed:
        reader.seek(tp, listed[tp] - 1)
    deadline = time.monotonic() + 10
    while any(reader.highwater(tp) is None for tp in probed) and time.monotonic() < deadline:
        await reader.getmany(*probed, timeout_ms=200)
    return {tp: max(listed[tp], reader.highwater(tp) or 0) if tp in probed else listed[tp] for tp in partitions}


async def offsets_at(
    reader: AIOKafkaConsumer, partitions: list[TopicPartition], at_ms: int, ends: Mapping[TopicPartition, int]
) -> dict[TopicPartition, int]:
    """The offset of the first record at or after ``at_ms`` in each partition (its end if none)."""
    if not partitions:
        return {}
    found = await reader.offsets_for_times({tp: at_ms for tp in partitions})
    return {
        tp: found[tp].offset if found.get(tp) is not None and found[tp].timestamp >= 0 else ends[tp]
        for tp in partitions
    }


@dataclass(frozen=True)
class Member:
    """One member of a consumer group as the broker describes it."""

    member_id: str
    client_id: str
    client_host: str


async def group_members(admin: AIOKafkaAdminClient, group_id: str) -> list[Member]:
    """The members the broker lists for ``group_id`` (possibly stale on Tansu, see above)."""
    responses = await admin.describe_consumer_groups([group_id])
    members: list[Member] = []
    for response in responses:
        for group in response.groups:
            error_code, _group, _state, _protocol_type, _protocol, group_members_ = group[:6]
            if error_code:
                continue
            members += [Member(m[0], m[1], m[2]) for m in group_members_]
    return members


class GroupInUse(OpsError):
    """The consumer group has other live members: its service is running."""


@contextlib.asynccontextmanager
async def sole_member(
    settings: Settings, group_id: str, topics: list[str], *, join_timeout_s: float | None = None
) -> AsyncIterator[AIOKafkaConsumer]:
    """Join ``group_id`` subscribed to ``topics`` and hold every partition of them, or fail.

    While inside, this process is the group's only member: nothing else consumes for the
    group, and offsets committed with the yielded consumer are the ones the service resumes
    from. If a live member answers the rebalance (the service is running), ``GroupInUse``
    is raised and nothing is committed. An unknown topic is ``UnknownTopic`` (never created).
    """
    async with admin_client(settings) as admin:
        await ensure_topics_exist(admin, topics)
    consumer = AIOKafkaConsumer(
        *topics,
        **client_options(settings),
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=settings.kafka_session_timeout_ms,
        heartbeat_interval_ms=settings.kafka_heartbeat_interval_ms,
        request_timeout_ms=15_000,
    )
    await consumer.start()
    try:
        async with admin_client(settings) as admin:
            expected = set(await partitions_of(admin, topics))
            # a broker waits up to a session timeout for members that stopped without leaving
            timeout_s = join_timeout_s or 3 * settings.kafka_session_timeout_ms / 1000 + 10
            joined = await _wait_for_assignment(consumer, timeout_s)
            listed = len(await group_members(admin, group_id))
        if not joined:
            raise GroupInUse(
                f"could not join consumer group {group_id} within {timeout_s:.0f} s (the broker lists {listed} "
                "member(s)): stop its consumers; a broker may wait for members that stopped until their "
                "rebalance timeout passes (Tansu: minutes), so try again later"
            )
        others = listed - 1
        if others > 0 or set(consumer.assignment()) != expected:
            raise GroupInUse(
                f"consumer group {group_id} has {max(others, 1)} other active member(s): "
                "stop the service that consumes with it, then run this again"
            )
        yield consumer
    finally:
        await consumer.stop()


async def _wait_for_assignment(consumer: AIOKafkaConsumer, timeout_s: float) -> bool:
    """Whether the group gave ``consumer`` partitions within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not consumer.assignment():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True
