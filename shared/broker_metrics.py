"""Consumer lag and dead-letter depth, read from the broker when Prometheus scrapes a service.

- ``shebao_consumer_lag_records{group, topic, partition}``: for every partition of the topics the
  service consumes, the records its consumer group has not committed yet (end offset minus the
  group's committed offset; from the partition's start when the group has committed nothing).
  Every replica reports every partition of its group, so the figure survives a member being
  down or a rebalance; rules and graphs take the ``max`` per partition.
- ``shebao_dlq_records{topic}``: the records held in each dead-letter topic this service writes
  to (end minus start offset). Dead letters are never removed (a redrive copies them back), so
  this grows by the records dead-lettered and falls only when retention drops old ones.

The end of a partition comes from ``ListOffsets``; on Tansu (the local broker) that answer can be
short of the real end by the records of the last batch, so for the partitions this replica holds
the high watermark of its own fetches is taken when it is further.

Only topics that exist are asked about: naming a missing topic in a metadata request creates it
on brokers that auto-create topics.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared import metrics
from shared.events.topics import dlq_topic
from shared.kafka import client_options
from shared.settings import Settings

log = structlog.get_logger(__name__)

Member = Callable[[], AIOKafkaConsumer | None]


@dataclass
class Offsets:
    """What the broker says of a set of partitions at one moment."""

    begin: dict[TopicPartition, int]
    end: dict[TopicPartition, int]
    committed: dict[TopicPartition, int] = field(default_factory=dict)

    def lag(self, tp: TopicPartition) -> int:
        """Records of ``tp`` after the group's committed offset (after the start if it has none)."""
        done = self.committed.get(tp, -1)
        return max(0, self.end[tp] - (done if done >= 0 else self.begin[tp]))

    def held(self, topic: str) -> int:
        """Records held in ``topic`` now, over all its partitions."""
        return sum(self.end[tp] - self.begin[tp] for tp in self.end if tp.topic == topic)


class BrokerProbe:
    """Reads the offsets behind the lag and dead-letter gauges of one service."""

    def __init__(self, settings: Settings, service: str, group_id: str, topics: Sequence[str],
                 member: Member = lambda: None) -> None:
        self.settings = settings
        self.service = service
        self.group_id = group_id
        self.topics = sorted(topics)
        self.dlq_topics = [dlq_topic(topic) for topic in self.topics]
        self.member = member
        self._admin: AIOKafkaAdminClient | None = None
        self._reader: AIOKafkaConsumer | None = None

    async def refresh(self) -> None:
        """Set the lag and dead-letter gauges from the broker's offsets now."""
        admin, reader = await self._clients()
        existing = set(await admin.list_topics())
        partitions = await self._partitions(admin, [t for t in self.topics + self.dlq_topics if t in existing])
        consumed = [tp for tp in partitions if tp.topic in self.topics]
        offsets = Offsets(begin=await reader.beginning_offsets(partitions), end=await reader.end_offsets(partitions))
        if consumed:
            answer = await admin.list_consumer_group_offsets(self.group_id, partitions=consumed)
            offsets.committed = {tp: answer[tp].offset for tp in consumed if tp in answer}
        self._take_member_highwater(offsets)
        for tp in consumed:
            metrics.CONSUMER_LAG.labels(self.service, self.group_id, tp.topic, str(tp.partition)).set(offsets.lag(tp))
        for topic in self.dlq_topics:
            if topic in existing:
                metrics.DLQ_RECORDS.labels(self.service, topic).set(offsets.held(topic))

    async def close(self) -> None:
        """Close the clients (they are opened again by the next ``refresh``)."""
        admin, reader, self._admin, self._reader = self._admin, self._reader, None, None
        if reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(reader.stop(), 5)
        if admin is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(admin.close(), 5)

    async def _clients(self) -> tuple[AIOKafkaAdminClient, AIOKafkaConsumer]:
        if self._admin is None or self._reader is None:
            await self.close()
            admin = AIOKafkaAdminClient(**client_options(self.settings), request_timeout_ms=5_000)
            reader = AIOKafkaConsumer(**client_options(self.settings), enable_auto_commit=False,
                                      request_timeout_ms=5_000)
            try:
                await admin.start()
                await reader.start()
            except Exception:
                with contextlib.suppress(Exception):
                    await reader.stop()
                with contextlib.suppress(Exception):
                    await admin.close()
                raise
            self._admin, self._reader = admin, reader
        return self._admin, self._reader

    @staticmethod
    async def _partitions(admin: AIOKafkaAdminClient, topics: list[str]) -> list[TopicPartition]:
        if not topics:
            return []
        found = []
        for description in await admin.describe_topics(topics):
            if not description["error_code"]:
                found += [TopicPartition(description["topic"], p["partition"]) for p in description["partitions"]]
        return sorted(found)

    def _take_member_highwater(self, offsets: Offsets) -> None:
        member = self.member()
        if member is None:
            return
        for tp in member.assignment():
            highwater = member.highwater(tp)
            if highwater is not None and tp in offsets.end:
                offsets.end[tp] = max(offsets.end[tp], highwater)
