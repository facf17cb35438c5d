"""SQL of certificates of contribution: the months they certify, their numbers, the kept ones."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg


@dataclass(frozen=True)
class StoredCertificate:
    certificate_no: str
    certificate_id: uuid.UUID
    person_id: uuid.UUID
    region: str
    document: dict[str, Any]
    signature: str
    algorithm: str
    key_id: str
    issued_at: datetime


_COLUMNS = "certificate_no, certificate_id, person_id, region, document, signature, algorithm, key_id, issued_at"


async def lines_in_span(conn: asyncpg.Connection, person_id: uuid.UUID, first: date, last: date,
                        programmes: list[str]) -> list[asyncpg.Record]:
    """The person's billed months of ``programmes`` from ``first`` to ``last``, with their bill's state."""
    return await conn.fetch(
        """SELECT l.programme, l.month, l.base, l.amount, b.status AS bill_status, b.settled_at
           FROM bill_lines l JOIN bills b ON b.bill_id = l.bill_id
           WHERE b.person_id = $1 AND l.programme = ANY($4::text[]) AND l.month BETWEEN $2 AND $3
                 AND NOT l.voided
           ORDER BY l.programme, l.month""",
        person_id, first, last, programmes,
    )


async def next_certificate_number(conn: asyncpg.Connection, region: str, year: int) -> int:
    return await conn.fetchval(
        """INSERT INTO certificate_counters (region, year, last_no) VALUES ($1, $2, 1)
           ON CONFLICT (region, year) DO UPDATE SET last_no = certificate_counters.last_no + 1
           RETURNING last_no""",
        region, year,
    )


async def insert_certificate(conn: asyncpg.Connection, stored: StoredCertificate, *, first: date, last: date,
                             programmes: list[str], language: str) -> None:
    await conn.execute(
        f"""INSERT INTO certificates ({_COLUMNS}, first_month, last_month, programmes, language)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)""",
        stored.certificate_no, stored.certificate_id, stored.person_id, stored.region, stored.document,
        stored.signature, stored.algorithm, stored.key_id, stored.issued_at, first, last, programmes, language,
    )


async def certificate(conn: asyncpg.Connection, certificate_no: str) -> StoredCertificate | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM certificates WHERE certificate_no = $1", certificate_no)
    return StoredCertificate(**dict(row)) if row else None


async def certificates_of(conn: asyncpg.Connection, person_id: uuid.UUID) -> list[StoredCertificate]:
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM certificates WHERE person_id = $1 ORDER BY issued_at DESC, certificate_no DESC",
        person_id,
    )
    return [StoredCertificate(**dict(row)) for row in rows]
