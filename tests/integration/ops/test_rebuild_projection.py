"""`shebao rebuild-projection`: a projection dropped and rebuilt by replay; source of truth untouched."""

from __future__ import annotations

import pytest

from shared.events import ApplicationWithdrawn
from shared.unit_of_work import UnitOfWork
from tests.integration.harness import eventually
from tooling.ops.projections import PROJECTIONS, Projection

from .conftest import Deployment

pytestmark = pytest.mark.integration


async def project_withdrawal(uow: UnitOfWork, event: ApplicationWithdrawn) -> None:
    """documents keeps a projection of withdrawn applications (from enrollment's events)."""
    await uow.conn.execute(
        "INSERT INTO withdrawn_applications (application_id, person_id) VALUES ($1, $2)",
        event.application_id, event.person_id,
    )


@pytest.fixture
async def projecting_deployment(infrastructure, unique_name, monkeypatch):
    monkeypatch.setitem(PROJECTIONS, "documents", Projection(
        tables=("withdrawn_applications", "not_created_yet"), events=("ApplicationWithdrawn",)))
    deployment = Deployment(infrastructure, unique_name, project_withdrawal)
    await deployment.start()
    async with deployment.documents.pool.acquire() as conn:
        await conn.execute("CREATE TABLE withdrawn_applications (application_id uuid PRIMARY KEY, person_id uuid)")
        await conn.execute("CREATE TABLE dossiers (application_id uuid PRIMARY KEY)")
    yield deployment
    await deployment.stop()


async def projected(deployment) -> list:
    async with deployment.documents.pool.acquire() as conn:
        return sorted(row["application_id"] for row in await conn.fetch("SELECT * FROM withdrawn_applications"))


async def test_rebuild_projection_refills_the_projection_from_the_topic(projecting_deployment, operator):
    deployment = projecting_deployment
    events = await deployment.withdraw(3)
    expected = sorted(event.data.application_id for event in events)
    await eventually(lambda: _equals(projected(deployment), expected))
    async with deployment.documents.pool.acquire() as conn:
        # a bug's damage
        await conn.execute("DELETE FROM withdrawn_applications WHERE application_id = $1", expected[0])
        await conn.execute("INSERT INTO dossiers VALUES ($1)", expected[1])  # a source-of-truth row
    rebuild = ("rebuild-projection", "documents", "--schema", deployment.documents_schema)

    refused = await operator(*rebuild, database=True)
    assert refused.code == 1 and "the documents service is running" in refused.err
    assert len(await projected(deployment)) == 2

    await deployment.stop_documents()
    outcome = await operator(*rebuild, database=True)

    assert outcome.code == 0, outcome.err
    assert "withdrawn_applications: 2 row(s) deleted" in outcome.out
    assert "inbox: 3 row(s)" in outcome.out
    assert f"rewound on {deployment.topic}: 3 record(s)" in outcome.out
    assert f"table {deployment.documents_schema}.not_created_yet does not exist; skipped" in outcome.err
    await deployment.start_documents()
    await eventually(lambda: _equals(projected(deployment), expected))
    async with deployment.documents.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM dossiers") == 1


async def test_a_service_without_declared_projections_is_refused(operator, monkeypatch):
    monkeypatch.delitem(PROJECTIONS, "notifications", raising=False)

    outcome = await operator("rebuild-projection", "notifications", database=True)

    assert outcome.code == 1
    assert "declares no projection tables" in outcome.err


async def _equals(actual, expected) -> bool:
    return await actual == expected
