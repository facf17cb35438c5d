"""Operators' tools against the running platform: replaying every topic into every service
changes nothing; malformed messages land in the dead-letter topics and nobody notices."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import TopicPartition

from shared.events import topic_for
from shared.events.topics import TYPE_HEADER
from shared.settings import SERVICE_NAMES
from tests.e2e.conftest import E2E_PREFIX
from tests.integration.harness import publish_raw
from tooling.journey import enrol_resident, resident_journey

pytestmark = pytest.mark.e2e

CONSUMED_TOPICS = ("enrollment", "documents", "billing")  # nobody consumes notifications' own topic


def shebao(platform, *args: str) -> subprocess.CompletedProcess:
    """The operator CLI, as its own process, pointed at the e2e platform."""
    command = [sys.executable, "-m", "tooling.cli", *args, "--bootstrap-servers", platform.bootstrap_servers,
               "--topic-prefix", E2E_PREFIX]
    return subprocess.run(command, capture_output=True, text=True, timeout=120,
                          env={**platform.service_env("enrollment")})


def test_replaying_every_topic_into_every_service_changes_no_table(platform, client):
    enrol_resident(client, say=lambda _: None)
    before = wait_until_quiet(platform)
    positions = asyncio.run(committed_positions(platform))

    replayed_records = 0
    for service in SERVICE_NAMES:
        platform.stop_service(service)
        replayed = shebao(platform, "replay", "--group", group_of(service), "--to-earliest", "--json",
                          "--database-url", platform.database_url)
        assert replayed.returncode == 0, replayed.stdout + replayed.stderr
        replayed_records += sum(p["to_consume"] for p in json.loads(replayed.stdout)["partitions"])
        platform.start_service(service)
    assert replayed_records > 20  # every event of the journeys so far is consumed again
    platform.wait_until_ready(timeout_s=60)
    wait_until_consumed(platform, positions)

    assert wait_until_quiet(platform) == before


def test_malformed_messages_are_dead_lettered_and_the_journey_goes_on(platform, client):
    for service in CONSUMED_TOPICS:
        topic = topic_for(service, E2E_PREFIX)
        asyncio.run(publish_raw(platform.bootstrap_servers, topic, b"{ not json", b"poison"))
        asyncio.run(publish_raw(platform.bootstrap_servers, topic, b'{"type": "PremiumDue", "data": {}}',
                                b"poison", [(TYPE_HEADER, b"PremiumDue")]))

    seen = resident_journey(client, say=lambda _: None)
    assert seen["voucher_valid"] is True

    for service in CONSUMED_TOPICS:
        listed = shebao(platform, "dlq", "list", service, "--json")
        assert listed.returncode == 0, listed.stderr
        letters = json.loads(listed.stdout)["dead_letters"]
        poisoned = [letter for letter in letters if letter["key"] == "poison"]
        assert poisoned, f"no dead letter on {service}'s topic"
        assert all(letter["error"].startswith("invalid event:") for letter in poisoned)


def group_of(service: str) -> str:
    return f"{E2E_PREFIX}shebao.{service}"


async def committed_positions(platform) -> dict[str, dict[TopicPartition, int]]:
    admin = AIOKafkaAdminClient(bootstrap_servers=platform.bootstrap_servers)
    await admin.start()
    try:
        partitions = [TopicPartition(topic_for(service, E2E_PREFIX), p) for service in SERVICE_NAMES
                      for p in range(platform.partitions)]
        positions = {}
        for service in SERVICE_NAMES:
            answer = await admin.list_consumer_group_offsets(group_of(service), partitions=partitions)
            positions[service] = {tp: meta.offset for tp, meta in answer.items() if meta.offset >= 0}
        return positions
    finally:
        await admin.close()


def wait_until_consumed(platform, targets: dict[str, dict[TopicPartition, int]], timeout_s: float = 90) -> None:
    """Until every group has committed at least as far as before the rewind."""
    deadline = time.monotonic() + timeout_s
    while True:
        now = asyncio.run(committed_positions(platform))
        behind = {service: tp for service, offsets in targets.items() for tp, offset in offsets.items()
                  if now[service].get(tp, -1) < offset}
        if not behind:
            return
        assert time.monotonic() < deadline, f"groups still behind after replay: {behind}"
        time.sleep(0.5)


def wait_until_quiet(platform, timeout_s: float = 60) -> str:
    """A digest of every table of the four schemas, once nothing is pending and it stops changing."""
    deadline = time.monotonic() + timeout_s
    previous = None
    while True:
        digest = asyncio.run(database_digest(platform.database_url))
        if digest == previous:
            return digest
        assert time.monotonic() < deadline, "the platform never became quiet"
        previous = digest
        time.sleep(1.0)


async def database_digest(database_url: str) -> str:
    conn = await asyncpg.connect(database_url)
    try:
        tables = await conn.fetch(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema = ANY($1::text[]) AND table_type = 'BASE TABLE' ORDER BY 1, 2",
            list(SERVICE_NAMES),
        )
        digests = []
        for table in tables:
            name = f'"{table["table_schema"]}"."{table["table_name"]}"'
            digest = await conn.fetchval(
                f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {name} t")
            digests.append(f"{name}={digest}")
        pending = await conn.fetchval(
            " + ".join(f"(SELECT count(*) FROM {s}.outbox WHERE status = 'pending')" for s in SERVICE_NAMES)
            .join(("SELECT ", "")))
        return "\n".join(digests) if pending == 0 else f"pending {pending}"
    finally:
        await conn.close()


def test_a_service_killed_mid_stream_catches_up_without_duplicates_after_restart(platform, client):
    platform.stop_service("notifications", signal.SIGKILL)
    try:
        resident, _ = enrol_resident(client, say=lambda _: None)
    finally:
        platform.start_service("notifications")
    platform.wait_until_ready(timeout_s=60)

    resident.wait_for_notice("enrolment_active", count=2)
    templates = sorted(notice["template"] for notice in resident.inbox())
    assert templates == ["application_received", "enrolment_active", "enrolment_active"]
