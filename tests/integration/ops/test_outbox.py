"""`shebao outbox republish`: re-emitting sent events changes nothing a consumer already did."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.harness import eventually

from .conftest import duplicates_skipped

pytestmark = pytest.mark.integration


async def test_republish_re_emits_sent_events_and_consumers_skip_them(deployment, operator):
    events = await deployment.withdraw(2)
    await eventually(lambda: deployment.applied_all(events))
    await eventually(deployment.documents_caught_up)
    skipped_before = duplicates_skipped()
    republish = ("outbox", "republish", "enrollment", "--schema", deployment.enrollment_schema,
                 "--since", (datetime.now(UTC) - timedelta(minutes=5)).isoformat())

    dry_run = await operator(*republish, "--dry-run", database=True)
    assert dry_run.code == 0, dry_run.err
    assert f"would re-emit 2 event(s) from {deployment.enrollment_schema}.outbox" in dry_run.out
    assert await deployment.end_total() == 2

    outcome = await operator(*republish, database=True)

    assert outcome.code == 0, outcome.err
    assert "re-emitting 2 event(s)" in outcome.out and f"{deployment.topic}: 2" in outcome.out
    await eventually(lambda: _end_total_is(deployment, 4))
    await eventually(lambda: deployment.all_sent(events))
    await eventually(deployment.documents_caught_up)
    assert duplicates_skipped() - skipped_before == 2
    assert sorted(await deployment.withdrawals_applied()) == sorted(event.id for event in events)


async def test_republish_of_a_window_with_nothing_sent_says_so(deployment, operator):
    await deployment.withdraw(1)

    outcome = await operator("outbox", "republish", "enrollment", "--schema", deployment.enrollment_schema,
                             "--since", (datetime.now(UTC) + timedelta(hours=1)).isoformat(), database=True)

    assert outcome.code == 0, outcome.err
    assert "no sent events in that window" in outcome.out


async def test_republish_of_a_schema_without_an_outbox_fails_clearly(operator, unique_name):
    outcome = await operator("outbox", "republish", "billing", "--schema", f"{unique_name}_none",
                             "--since", "2025-07-01T00:00:00+08:00", database=True)

    assert outcome.code == 1
    assert "has no outbox table" in outcome.err


async def _end_total_is(deployment, count: int) -> bool:
    return await deployment.end_total() == count
