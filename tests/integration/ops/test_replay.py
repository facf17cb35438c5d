"""`shebao replay`: rewinding a stopped service's consumer group."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from tests.integration.harness import eventually

from .conftest import committed_offsets, duplicates_skipped, end_offsets

pytestmark = pytest.mark.integration


async def test_replay_to_earliest_reconsumes_everything_with_no_double_effects(deployment, operator):
    events = await deployment.withdraw(3)
    await eventually(lambda: deployment.applied_all(events))

    replay_documents = ("replay", "--group", deployment.documents_group, "--to-earliest",
                        "--schema", deployment.documents_schema)
    refused = await operator(*replay_documents, database=True)
    assert refused.code == 1
    assert "the documents service is running" in refused.err

    await deployment.stop_documents()
    outcome = await operator(*replay_documents, database=True)

    assert outcome.code == 0, outcome.err
    assert "3 record(s) will be consumed again" in outcome.out
    committed = await committed_offsets(deployment.infrastructure, deployment.documents_group, deployment.topic)
    assert committed == {0: 0, 1: 0, 2: 0}

    skipped_before = duplicates_skipped()
    await deployment.start_documents()
    await eventually(deployment.documents_caught_up)
    assert duplicates_skipped() - skipped_before == 3
    assert sorted(await deployment.withdrawals_applied()) == sorted(event.id for event in events)


async def test_replay_to_a_time_starts_at_the_first_record_after_it(deployment, operator):
    await deployment.withdraw(2)
    await asyncio.sleep(0.01)
    cut = datetime.now(UTC)
    await deployment.withdraw(3)

    outcome = await operator("replay", "--group", deployment.documents_group, "--topic", "enrollment",
                             "--to-datetime", cut.isoformat(), "--dry-run", "--json")

    assert outcome.code == 0, outcome.err
    plan = outcome.json()["partitions"]
    assert sum(partition["to_consume"] for partition in plan) == 3


async def test_replay_to_an_offset_commits_it_for_that_partition_only(deployment, operator):
    await deployment.withdraw(6)
    ends = await end_offsets(deployment.infrastructure, deployment.topic)
    partition = max(ends, key=ends.get)
    analytics = f"{deployment.prefix}analytics"

    outcome = await operator("replay", "--group", analytics, "--topic", deployment.topic,
                             "--to-offset", f"{partition}:1")

    assert outcome.code == 0, outcome.err
    committed = await committed_offsets(deployment.infrastructure, analytics, deployment.topic)
    assert committed[partition] == 1
    assert [offset for p, offset in committed.items() if p != partition] == [-1, -1]


async def test_replay_of_a_group_that_never_committed_says_so(operator):
    outcome = await operator("replay", "--group", "nobody-consumes-with-this", "--to-earliest")

    assert outcome.code == 1
    assert "has no committed offsets" in outcome.err


async def test_an_offset_past_the_end_is_refused(deployment, operator):
    await deployment.withdraw(1)

    outcome = await operator("replay", "--group", deployment.documents_group, "--topic", deployment.topic,
                             "--to-offset", "0:999")

    assert outcome.code == 1
    assert "outside" in outcome.err
