"""Local history survives a restart of ``make run``: the embedded broker keeps nothing, so the
launcher refills its topics from the services' outboxes before the services start; replay from
the beginning sees the events of before the restart, and the services change nothing (their
inbox absorbs what they had applied). Also: the CLI with no flags finds the platform it sits
beside, through the state file the launcher writes."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections import defaultdict

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer

from shared.events import all_topics, topic_for
from shared.settings import SERVICE_NAMES
from tests.e2e.local_run.conftest import environment_without_located_variables
from tests.e2e.test_operations import wait_until_quiet
from tooling.journey import Platform as PlatformClient
from tooling.journey import enrol_resident

pytestmark = pytest.mark.e2e

def test_after_a_restart_the_topics_hold_every_event_of_before_in_order_and_nothing_is_applied_twice(make_run):
    first = make_run()
    enrol_resident(PlatformClient(ports=dict(first.ports)), say=lambda _: None)
    before = wait_until_quiet(first)
    history, sent_at_ms = asyncio.run(outbox_history(first.database_url))
    first.stop()

    second = make_run()
    on_topics = asyncio.run(read_everything(second.bootstrap_servers, sum(map(len, history.values()))))

    assert {"PolicyPublished", "ApplicationSubmitted", "DocumentsVerified", "EnrollmentActivated",
            "NotificationDelivered"} <= {event_type for _, event_type, _ in on_topics.values()}
    assert set(on_topics) == {event_id for events in history.values() for event_id in events}
    assert {event_id: timestamp for event_id, (_, _, timestamp) in on_topics.items()} == sent_at_ms
    for key, events in history.items():  # each key's events in commit (outbox) order
        assert [e for e in order_on_topics(on_topics) if e in set(events)] == events, key
    assert wait_until_quiet(second) == before  # the services consumed it all again and changed nothing


def test_the_cli_with_no_flags_reaches_the_platform_it_sits_beside(make_run, tmp_path):
    platform = make_run()
    env = environment_without_located_variables()

    def shebao(*argv: str) -> subprocess.CompletedProcess:
        # run in the directory that holds .shebao, as `make run` and the operator would
        return subprocess.run([sys.executable, "-m", "tooling.cli", *argv], capture_output=True, text=True,
                              timeout=120, cwd=tmp_path, env=env)

    where = shebao("platform", "--json")
    topics = shebao("topics", "--json")
    dead_letters = shebao("dlq", "list", "billing", "--json")

    assert json.loads(where.stdout)["kafka_bootstrap_servers"] == {
        "value": platform.bootstrap_servers, "source": str(platform.state_dir / "platform.json")}
    assert topics.returncode == 0, topics.stderr
    assert {t["name"] for t in json.loads(topics.stdout)["topics"]} == set(all_topics())
    assert dead_letters.returncode == 0, dead_letters.stderr
    assert json.loads(dead_letters.stdout)["topic"] == "shebao.billing.v1.dlq"


async def outbox_history(database_url: str) -> tuple[dict[tuple[str, str], list[str]], dict[str, int]]:
    """Every sent event id of the four outboxes, per (topic, key), in sequence order; and when each
    was first sent (epoch milliseconds)."""
    conn = await asyncpg.connect(database_url)
    try:
        history: dict[tuple[str, str], list[str]] = defaultdict(list)
        sent_at_ms: dict[str, int] = {}
        for schema in SERVICE_NAMES:
            for row in await conn.fetch(f"SELECT topic, partition_key, event_id, sent_at FROM {schema}.outbox "
                                        "WHERE status = 'sent' ORDER BY seq"):
                history[(row["topic"], row["partition_key"])].append(str(row["event_id"]))
                sent_at_ms[str(row["event_id"])] = int(row["sent_at"].timestamp() * 1000)
        return dict(history), sent_at_ms
    finally:
        await conn.close()


async def read_everything(bootstrap_servers: str, expected: int, timeout_s: float = 30) -> dict:
    """{event id: ((topic, partition, offset), type, timestamp)} of every record of the four service topics."""
    consumer = AIOKafkaConsumer(*(topic_for(s) for s in SERVICE_NAMES), bootstrap_servers=bootstrap_servers,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    seen: dict[str, tuple] = {}
    try:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while len(seen) < expected and asyncio.get_running_loop().time() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    headers = {k: v.decode() for k, v in record.headers}
                    where = (record.topic, record.partition, record.offset)
                    seen[headers["ce_id"]] = (where, headers["ce_type"], record.timestamp)
    finally:
        await consumer.stop()
    return seen


def order_on_topics(on_topics: dict) -> list[str]:
    """The event ids sorted by where they sit: topic, partition, offset (one key is in one partition)."""
    return [event_id for event_id, _ in sorted(on_topics.items(), key=lambda item: item[1][0])]
