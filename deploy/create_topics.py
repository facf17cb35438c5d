"""The one-shot job that creates a deployment's topics (compose service ``create-topics``,
Kubernetes Job ``create-topics``): the four service topics and their dead-letter topics of
``shared.events.all_topics(SHEBAO_TOPIC_PREFIX)``.

Partitions, replication, ``min.insync.replicas`` and retention come from the environment
(``SHEBAO_TOPIC_*``, ``SHEBAO_DLQ_RETENTION_MS``); the broker connection (bootstrap servers,
TLS, SASL) from the same settings the services read. Topics that exist are left alone:
adding partitions to a live topic would move persons to other partitions and break their
order, so a partition count below the setting is only reported. Waits for the brokers for
up to ``SHEBAO_TOPIC_CREATE_TIMEOUT_S`` (they may still be starting) and exits non-zero
if the topics could not be created.

    python deploy/create_topics.py            (in the image: entrypoint.sh create-topics)
"""

from __future__ import annotations

import asyncio
import sys
import time

import structlog
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code
from pydantic import Field, model_validator

from shared.events import all_topics
from shared.kafka import client_options
from shared.logging import configure_logging
from shared.settings import Settings

log = structlog.get_logger("create-topics")

DAY_MS = 24 * 60 * 60 * 1000


class TopicCreationFailed(RuntimeError):
    """The brokers refused to create a topic."""


class TopicSettings(Settings):
    """The shared settings plus the shape of the topics this job creates."""

    service: str = "create-topics"
    topic_replication_factor: int = Field(default=1, ge=1)
    topic_min_insync_replicas: int = Field(default=1, ge=1)
    # -1 keeps events for ever: projections can always be rebuilt from the beginning of a topic.
    topic_retention_ms: int = Field(default=-1, ge=-1)
    dlq_retention_ms: int = Field(default=30 * DAY_MS, ge=-1)
    topic_create_timeout_s: float = Field(default=120.0, gt=0)

    @model_validator(mode="after")
    def _isr_fits_replicas(self) -> TopicSettings:
        if self.topic_min_insync_replicas > self.topic_replication_factor:
            raise ValueError("topic_min_insync_replicas cannot exceed topic_replication_factor")
        return self


def topic_specs(settings: TopicSettings) -> list[NewTopic]:
    """The topics of the deployment with their partitions, replication and configuration."""
    specs = []
    for name in all_topics(settings.topic_prefix):
        retention = settings.dlq_retention_ms if name.endswith(".dlq") else settings.topic_retention_ms
        specs.append(NewTopic(
            name, num_partitions=settings.topic_partitions, replication_factor=settings.topic_replication_factor,
            topic_configs={
                "cleanup.policy": "delete",
                "retention.ms": str(retention),
                "min.insync.replicas": str(settings.topic_min_insync_replicas),
            },
        ))
    return specs


async def create_topics(settings: TopicSettings) -> list[str]:
    """Create the missing topics; return the names created now."""
    deadline = time.monotonic() + settings.topic_create_timeout_s
    while True:
        try:
            return await _create_missing(settings)
        except (KafkaError, OSError, TopicCreationFailed) as error:
            # brokers still starting, or too few of them up yet for the replication factor
            if time.monotonic() >= deadline:
                raise
            log.warning("topics not created yet, retrying", error=f"{type(error).__name__}: {error}")
            await asyncio.sleep(min(2.0, max(deadline - time.monotonic(), 0.0)))


async def _create_missing(settings: TopicSettings) -> list[str]:
    admin = AIOKafkaAdminClient(**client_options(settings), request_timeout_ms=15_000)
    try:
        await admin.start()
        existing = set(await admin.list_topics())
        specs = topic_specs(settings)
        missing = [spec for spec in specs if spec.name not in existing]
        if missing:
            response = await admin.create_topics(missing)
            _raise_topic_errors(response)
        present = [spec.name for spec in specs if spec.name in existing]
        if present:
            await _report_partition_drift(admin, present, settings.topic_partitions)
        return [spec.name for spec in missing]
    finally:
        await admin.close()


def _raise_topic_errors(response) -> None:
    """CreateTopics answers per topic; an existing topic (another run was faster) is fine."""
    failed = []
    for topic, code, *message in response.topic_errors:
        if code not in (0, TopicAlreadyExistsError.errno):
            detail = message[0] if message and message[0] else ""
            failed.append(f"{topic}: {for_code(code).__name__} {detail}".strip())
    if failed:
        raise TopicCreationFailed("; ".join(failed))


async def _report_partition_drift(admin: AIOKafkaAdminClient, topics: list[str], wanted: int) -> None:
    for description in await admin.describe_topics(topics):
        count = len(description.get("partitions", []))
        if count < wanted:
            log.warning("topic has fewer partitions than SHEBAO_TOPIC_PARTITIONS; left unchanged",
                        topic=description.get("topic"), partitions=count, wanted=wanted)


def main() -> int:
    settings = TopicSettings()
    configure_logging("create-topics", level=settings.log_level, fmt=settings.log_format)
    try:
        created = asyncio.run(create_topics(settings))
    except Exception as error:
        log.error("topics not created", error=f"{type(error).__name__}: {error}")
        return 1
    log.info("topics ready", created=created, topics=all_topics(settings.topic_prefix),
             partitions=settings.topic_partitions, replication_factor=settings.topic_replication_factor)
    return 0


if __name__ == "__main__":
    sys.exit(main())
