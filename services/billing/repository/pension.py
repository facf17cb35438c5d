"""SQL of what a pension estimate reads: the paid pension months and the region's figures."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import asyncpg

from services.billing.domain.pension import ContributionMonth
from shared.periods import Month


async def paid_pension_months(conn: asyncpg.Connection, person_id: uuid.UUID) -> list[ContributionMonth]:
    """Every pension month of the person whose bill is paid, with its base."""
    rows = await conn.fetch(
        """SELECT l.month, l.base FROM bill_lines l JOIN bills b ON b.bill_id = l.bill_id
           WHERE b.person_id = $1 AND b.status = 'paid' AND l.programme = 'pension' AND NOT l.voided
                 AND l.base IS NOT NULL
           ORDER BY l.month""",
        person_id,
    )
    return [ContributionMonth(Month.of(row["month"]), row["base"]) for row in rows]


async def pension_enrolment(conn: asyncpg.Connection, person_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT region, base, status FROM enrolments WHERE person_id = $1 AND programme = 'pension'", person_id,
    )


async def figure_rows(conn: asyncpg.Connection, region: str) -> list[tuple[int, Decimal | None, Decimal | None, date]]:
    """Every version of the region's yearly figures: (year, average wage, interest rate, from)."""
    rows = await conn.fetch(
        """SELECT year, average_wage, account_interest_rate, effective_from FROM pension_figures
           WHERE region = $1 ORDER BY year, effective_from""",
        region,
    )
    return [(row["year"], row["average_wage"], row["account_interest_rate"], row["effective_from"]) for row in rows]


async def insert_figure(conn: asyncpg.Connection, region: str, year: int, effective_from: date,
                        average_wage: Decimal | None, interest_rate: Decimal | None) -> bool:
    """Store a version of a year's figures; False when that version exists already."""
    inserted = await conn.fetchval(
        """INSERT INTO pension_figures (region, year, effective_from, average_wage, account_interest_rate)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT (region, year, effective_from) DO NOTHING RETURNING true""",
        region, year, effective_from, average_wage, interest_rate,
    )
    return bool(inserted)
