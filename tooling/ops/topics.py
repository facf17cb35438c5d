"""``shebao topics``: every topic with its partitions, end offsets and each consumer group's lag."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from shared.settings import Settings
from tooling.ops.kafka import (
    NO_OFFSET,
    admin_client,
    committed_offsets,
    end_offsets,
    existing_topics,
    offsets_reader,
    partitions_of,
)


@dataclass(frozen=True)
class PartitionLag:
    partition: int
    committed: int | None  # None: the group has committed nothing here (it would start at the earliest)
    lag: int


@dataclass(frozen=True)
class GroupLag:
    group: str
    partitions: list[PartitionLag]

    @property
    def lag(self) -> int:
        return sum(p.lag for p in self.partitions)


@dataclass(frozen=True)
class PartitionOffsets:
    partition: int
    earliest: int
    end: int


@dataclass
class TopicReport:
    name: str
    partitions: list[PartitionOffsets]
    groups: list[GroupLag] = field(default_factory=list)

    @property
    def end_total(self) -> int:
        return sum(p.end for p in self.partitions)


@dataclass
class TopicsReport:
    topics: list[TopicReport]
    warnings: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "topics": [
                {**asdict(topic), "end_total": topic.end_total,
                 "groups": [{**asdict(group), "lag": group.lag} for group in topic.groups]}
                for topic in self.topics
            ],
            "warnings": self.warnings,
        }


async def topics_report(
    settings: Settings,
    *,
    all_topics: bool = False,
    groups: list[str] | None = None,
    progress: Callable[[Iterable[str]], Iterable[str]] = lambda items: items,
) -> TopicsReport:
    """Offsets and lag of the deployment's topics (those starting with ``<prefix>shebao.``, or every
    topic with ``all_topics``), for every consumer group of the cluster or only ``groups``."""
    report = TopicsReport(topics=[])
    async with admin_client(settings) as admin, offsets_reader(settings) as reader:
        ours = f"{settings.topic_prefix}shebao."
        names = [t for t in await existing_topics(admin) if all_topics or t.startswith(ours)]
        partitions = await partitions_of(admin, names)
        earliest = await reader.beginning_offsets(partitions) if partitions else {}
        ends = await end_offsets(reader, partitions)
        by_topic = {name: TopicReport(name, []) for name in names}
        for tp in partitions:
            by_topic[tp.topic].partitions.append(PartitionOffsets(tp.partition, earliest[tp], ends[tp]))
        report.topics = list(by_topic.values())
        if groups is None:
            groups = await _group_names(admin, report)
        for group in progress(groups):
            try:
                committed = await committed_offsets(admin, group, partitions)
            except KafkaError as error:
                report.warnings.append(f"committed offsets of group {group} unavailable: {error}")
                continue
            _add_group(report, group, committed, earliest, ends)
    return report


async def _group_names(admin, report: TopicsReport) -> list[str]:
    try:
        listed = await admin.list_consumer_groups()
    except KafkaError as error:
        report.warnings.append(
            f"the broker does not list consumer groups ({error}); name them with --group to see their lag"
        )
        return []
    return sorted({name for name, *_ in listed})


def _add_group(report: TopicsReport, group: str, committed: dict[TopicPartition, int], earliest, ends) -> None:
    for topic in report.topics:
        mine = {tp: offset for tp, offset in committed.items() if tp.topic == topic.name}
        if all(offset == NO_OFFSET for offset in mine.values()):
            continue  # this group does not consume this topic
        lags = []
        for tp, offset in sorted(mine.items()):
            position = earliest[tp] if offset == NO_OFFSET else offset
            committed_here = None if offset == NO_OFFSET else offset
            lags.append(PartitionLag(tp.partition, committed_here, max(ends[tp] - position, 0)))
        topic.groups.append(GroupLag(group, lags))


def format_report(report: TopicsReport) -> str:
    """The report as text: one block per topic, one line per consuming group."""
    if not report.topics:
        return "no topics"
    lines = []
    for topic in report.topics:
        ends = " ".join(f"{p.partition}:{p.end}" for p in topic.partitions)
        lines.append(f"{topic.name}  partitions={len(topic.partitions)}  end offsets {ends}  (total {topic.end_total})")
        if not topic.groups:
            lines.append("  (no consumer group has committed offsets)")
        width = max((len(group.group) for group in topic.groups), default=0)
        for group in topic.groups:
            committed = " ".join(
                f"{p.partition}:{'-' if p.committed is None else p.committed}" for p in group.partitions
            )
            lines.append(f"  group {group.group:<{width}}  committed {committed}  lag {group.lag}")
    return "\n".join(lines)
