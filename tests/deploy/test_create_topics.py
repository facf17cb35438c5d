"""The one-shot topic job (deploy/create_topics.py) against the real broker."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from pydantic import ValidationError

from shared.events import all_topics
from tests.deploy.deployfiles import topics_job_module

pytestmark = pytest.mark.integration

job = topics_job_module()


def topic_settings(infrastructure, prefix: str, **overrides):
    return job.TopicSettings(kafka_bootstrap_servers=infrastructure.bootstrap_servers, topic_prefix=prefix,
                             topic_create_timeout_s=10, **overrides)


async def partitions_by_topic(bootstrap_servers: str, topics: list[str]) -> dict[str, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        return {d["topic"]: len(d["partitions"]) for d in await admin.describe_topics(topics)}
    finally:
        await admin.close()


async def test_creates_every_topic_of_the_prefix_with_the_configured_partitions(infrastructure, unique_name):
    prefix = f"{unique_name}."
    created = await job.create_topics(topic_settings(infrastructure, prefix, topic_partitions=4))
    assert sorted(created) == sorted(all_topics(prefix))
    assert await partitions_by_topic(infrastructure.bootstrap_servers, all_topics(prefix)) == {
        topic: 4 for topic in all_topics(prefix)}


async def test_a_second_run_creates_nothing_and_changes_no_partition_count(infrastructure, unique_name):
    prefix = f"{unique_name}."
    await job.create_topics(topic_settings(infrastructure, prefix, topic_partitions=2))
    assert await job.create_topics(topic_settings(infrastructure, prefix, topic_partitions=5)) == []
    counts = await partitions_by_topic(infrastructure.bootstrap_servers, all_topics(prefix))
    assert set(counts.values()) == {2}


def test_topics_carry_retention_replication_and_min_insync_replicas():
    settings = job.TopicSettings(topic_prefix="bj.", topic_partitions=6, topic_replication_factor=3,
                                 topic_min_insync_replicas=2, topic_retention_ms=-1, dlq_retention_ms=86_400_000)
    specs = {spec.name: spec for spec in job.topic_specs(settings)}
    assert set(specs) == set(all_topics("bj."))
    events, dead_letters = specs["bj.shebao.billing.v1"], specs["bj.shebao.billing.v1.dlq"]
    assert (events.num_partitions, events.replication_factor) == (6, 3)
    assert events.topic_configs == {"cleanup.policy": "delete", "retention.ms": "-1", "min.insync.replicas": "2"}
    assert dead_letters.topic_configs["retention.ms"] == "86400000"


def test_min_insync_replicas_above_the_replication_factor_is_refused():
    with pytest.raises(ValidationError, match="min_insync_replicas"):
        job.TopicSettings(topic_replication_factor=1, topic_min_insync_replicas=2)


def test_a_topic_the_broker_refuses_fails_the_job_but_an_existing_one_does_not():
    existing = SimpleNamespace(topic_errors=[("a", 0, None), ("b", 36, "exists")])
    job._raise_topic_errors(existing)
    refused = SimpleNamespace(topic_errors=[("a", 0, None), ("c", 38, "replication factor 3 > brokers 1")])
    with pytest.raises(job.TopicCreationFailed, match="c: InvalidReplicationFactorError"):
        job._raise_topic_errors(refused)


async def test_gives_up_after_the_timeout_when_no_broker_answers(unused_tcp_port):
    settings = job.TopicSettings(kafka_bootstrap_servers=f"127.0.0.1:{unused_tcp_port}", topic_create_timeout_s=0.5)
    with pytest.raises(KafkaError):
        await job.create_topics(settings)
