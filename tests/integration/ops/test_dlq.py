"""`shebao dlq list|redrive`: dead letters with their errors, sent back once when fixed."""

from __future__ import annotations

import pytest

from shared.events import ApplicationWithdrawn
from shared.events.topics import TYPE_HEADER, dlq_topic
from shared.unit_of_work import UnitOfWork
from tests.integration.harness import eventually, publish_raw, read_topic

from .conftest import Deployment, record_withdrawal

pytestmark = pytest.mark.integration


class UntilFixed:
    """A handler that fails on every withdrawal until the bug is fixed."""

    def __init__(self) -> None:
        self.fixed = False

    async def __call__(self, uow: UnitOfWork, event: ApplicationWithdrawn) -> None:
        if not self.fixed:
            raise RuntimeError("contact directory unavailable")
        await record_withdrawal(uow, event)


@pytest.fixture
async def broken_deployment(infrastructure, unique_name):
    handler = UntilFixed()
    deployment = Deployment(infrastructure, unique_name, handler)
    deployment.handler_state = handler
    await deployment.start()
    yield deployment
    await deployment.stop()


async def dead_letters(deployment, count: int) -> list:
    return await read_topic(deployment.infrastructure.bootstrap_servers, dlq_topic(deployment.topic), expected=count)


async def test_dlq_list_shows_each_dead_letter_with_its_error(broken_deployment, operator):
    [poison] = await broken_deployment.withdraw(1)
    await publish_raw(broken_deployment.infrastructure.bootstrap_servers, broken_deployment.topic, b"{not json",
                      b"someone", [(TYPE_HEADER, b"ApplicationWithdrawn")])
    await eventually(lambda: _has(dead_letters(broken_deployment, 2), 2))

    outcome = await operator("dlq", "list", "enrollment", "--json")

    assert outcome.code == 0, outcome.err
    listing = outcome.json()
    assert listing["topic"] == dlq_topic(broken_deployment.topic)
    by_key = {letter["key"]: letter for letter in listing["dead_letters"]}
    failed = by_key[str(poison.data.person_id)]
    assert failed["error"] == "RuntimeError: contact directory unavailable"
    assert failed["event_type"] == "ApplicationWithdrawn"
    assert failed["attempts"] == "3"
    assert failed["consumer_group"] == broken_deployment.documents_group
    assert failed["original"].startswith(f"{broken_deployment.topic}:")
    assert failed["failed_at"] and not failed["redriven"]
    assert by_key["someone"]["error"].startswith("invalid event: envelope: not valid JSON")

    as_text = await operator("dlq", "list", "shebao.enrollment.v1.dlq")
    assert "2 dead letter(s), 2 not redriven" in as_text.out
    assert "error: RuntimeError: contact directory unavailable" in as_text.out


async def test_redrive_sends_dead_letters_back_once(broken_deployment, operator):
    [poison] = await broken_deployment.withdraw(1)
    await eventually(lambda: _has(dead_letters(broken_deployment, 1), 1))
    broken_deployment.handler_state.fixed = True

    first = await operator("dlq", "redrive", "shebao.enrollment.v1")

    assert first.code == 0, first.err
    assert "1 dead letter(s) redriven" in first.out
    await eventually(lambda: broken_deployment.applied_all([poison]))

    second = await operator("dlq", "redrive", "shebao.enrollment.v1")

    assert second.code == 0, second.err
    assert "0 dead letter(s) redriven" in second.out
    assert await broken_deployment.end_total() == 2  # the original and one redriven copy
    original, redriven = await read_topic(broken_deployment.infrastructure.bootstrap_servers, broken_deployment.topic,
                                          expected=2)
    assert redriven.value == original.value and redriven.key == original.key
    assert all(not key.startswith("dlq_") for key, _ in redriven.headers)
    assert dict(redriven.headers)[TYPE_HEADER] == b"ApplicationWithdrawn"
    listing = (await operator("dlq", "list", "enrollment", "--json")).json()
    assert [letter["redriven"] for letter in listing["dead_letters"]] == [True]
    assert await broken_deployment.withdrawals_applied() == [poison.id]


async def _has(records_coroutine, count: int):
    records = await records_coroutine
    return records if len(records) >= count else None
