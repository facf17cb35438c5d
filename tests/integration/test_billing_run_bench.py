"""``bench/billing_run.py``'s round against the session's PostgreSQL: the billing run and the raw
statements write the same numbers of rows, and the round's database is gone afterwards, so that
the next round starts on fresh data."""

from __future__ import annotations

from types import SimpleNamespace

import asyncpg
import pytest

from bench.billing_run import one_round, round_database

pytestmark = pytest.mark.integration


async def test_a_round_bills_its_own_fresh_enrolments_and_drops_them_after(infrastructure):
    args = SimpleNamespace(enrolments=200, batch_size=30, workers=2)

    figures = await one_round(infrastructure.postgres, 1, args)

    # 100 persons with pension and medical; every eighth pays quarterly: three months of both
    assert figures["bills"] == 100 and figures["events"] == 100
    assert figures["lines"] == 88 * 2 + 12 * 6
    assert figures["run_s"] > 0 and figures["raw_s"] > 0
    conn = await asyncpg.connect(infrastructure.postgres.url("postgres"))
    try:
        assert not await conn.fetchval("SELECT count(*) FROM pg_database WHERE datname = $1",
                                       round_database(1))
    finally:
        await conn.close()
