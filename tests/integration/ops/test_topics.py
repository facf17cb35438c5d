"""`shebao topics`: end offsets of every topic and the lag of each consumer group."""

from __future__ import annotations

import pytest

from tests.integration.harness import eventually

pytestmark = pytest.mark.integration


async def test_topics_shows_end_offsets_and_the_lag_of_a_stopped_service(deployment, operator):
    await deployment.withdraw(3)
    await deployment.stop_documents()
    await deployment.withdraw(2)

    outcome = await operator("topics", "--json")

    assert outcome.code == 0, outcome.err
    topics = {topic["name"]: topic for topic in outcome.json()["topics"]}
    assert set(topics) == {f"{deployment.prefix}shebao.{s}.v1{dlq}" for s in
                           ("enrollment", "documents", "billing", "notifications") for dlq in ("", ".dlq")}
    enrollment = topics[deployment.topic]
    assert enrollment["end_total"] == 5
    assert [p["partition"] for p in enrollment["partitions"]] == [0, 1, 2]
    [documents] = [group for group in enrollment["groups"] if group["group"] == deployment.documents_group]
    assert documents["lag"] == 2


async def test_topics_as_text_names_each_group_and_its_lag(deployment, operator):
    await deployment.withdraw(1)
    await eventually_caught_up(deployment)

    outcome = await operator("topics", "--group", deployment.documents_group)

    assert outcome.code == 0, outcome.err
    lines = outcome.out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(f"{deployment.topic}  "))
    assert "partitions=3" in lines[at] and lines[at].endswith("(total 1)")
    assert lines[at + 1].startswith(f"  group {deployment.documents_group}  committed ")
    assert lines[at + 1].endswith("lag 0")


async def eventually_caught_up(deployment):
    await eventually(deployment.documents_caught_up)
