"""SQL of regional policy versions."""

from __future__ import annotations

import uuid
from datetime import date

import asyncpg

from services.billing.domain.policy import Policy

_COLUMNS = """region, programme, effective_from, base_floor, base_ceiling, rate, personal_account_rate,
              flat_amount, flat_period, frequencies, due_day, grace_days, late_fee_daily_rate,
              back_payment_allowed, back_payment_limit_days"""


def policy_from_row(row: asyncpg.Record) -> Policy:
    return Policy(
        region=row["region"],
        programme=row["programme"],
        effective_from=row["effective_from"],
        frequencies=tuple(row["frequencies"]),
        due_day=row["due_day"],
        grace_days=row["grace_days"],
        late_fee_daily_rate=row["late_fee_daily_rate"],
        back_payment_allowed=row["back_payment_allowed"],
        base_floor=row["base_floor"],
        base_ceiling=row["base_ceiling"],
        rate=row["rate"],
        personal_account_rate=row["personal_account_rate"],
        flat_amount=row["flat_amount"],
        flat_period=row["flat_period"],
        back_payment_limit_days=row["back_payment_limit_days"],
    )


async def all_policies(conn: asyncpg.Connection) -> list[Policy]:
    """Every version of every region (a few rows per region and year)."""
    rows = await conn.fetch(f"SELECT {_COLUMNS} FROM policies ORDER BY region, programme, effective_from")
    return [policy_from_row(row) for row in rows]


async def insert_policy(conn: asyncpg.Connection, policy: Policy, *, announced: bool) -> uuid.UUID | None:
    """Store a new version; None when the region already has one for that programme and date."""
    return await conn.fetchval(
        f"""INSERT INTO policies (policy_id, {_COLUMNS}, announced_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                    CASE WHEN $17 THEN now() END)
            ON CONFLICT (region, programme, effective_from) DO NOTHING
            RETURNING policy_id""",
        uuid.uuid4(), policy.region, policy.programme, policy.effective_from, policy.base_floor,
        policy.base_ceiling, policy.rate, policy.personal_account_rate, policy.flat_amount, policy.flat_period,
        list(policy.frequencies), policy.due_day, policy.grace_days, policy.late_fee_daily_rate,
        policy.back_payment_allowed, policy.back_payment_limit_days, announced,
    )


async def claim_unannounced(conn: asyncpg.Connection, regions: list[str] | None) -> list[tuple[uuid.UUID, Policy]]:
    """Versions (of ``regions``, or all) not yet published as events, locked so that two
    replicas never both announce one."""
    rows = await conn.fetch(
        f"""SELECT policy_id, {_COLUMNS} FROM policies
            WHERE announced_at IS NULL AND ($1::text[] IS NULL OR region = ANY($1::text[]))
            ORDER BY region, programme, effective_from FOR UPDATE SKIP LOCKED""",
        regions,
    )
    return [(row["policy_id"], policy_from_row(row)) for row in rows]


async def mark_announced(conn: asyncpg.Connection, policy_ids: list[uuid.UUID]) -> None:
    await conn.execute("UPDATE policies SET announced_at = now() WHERE policy_id = ANY($1::uuid[])", policy_ids)


async def policy_id_of(conn: asyncpg.Connection, region: str, programme: str, effective_from: date) -> uuid.UUID | None:
    return await conn.fetchval(
        "SELECT policy_id FROM policies WHERE region = $1 AND programme = $2 AND effective_from = $3",
        region, programme, effective_from,
    )
