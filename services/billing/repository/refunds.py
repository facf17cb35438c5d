"""SQL of refunds: the payments credit goes back to, the refunds and their vouchers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg

from services.billing.domain.refunds import RefundPart, RefundSource
from services.billing.repository.payments import StoredVoucher


@dataclass(frozen=True)
class StoredRefund:
    person_id: uuid.UUID
    requested_amount: Decimal | None
    result: dict[str, Any]


async def refund_by_request(conn: asyncpg.Connection, person_id: uuid.UUID, request_id: str) -> StoredRefund | None:
    row = await conn.fetchrow(
        "SELECT person_id, requested_amount, result FROM refunds WHERE person_id = $1 AND request_id = $2",
        person_id, request_id,
    )
    return StoredRefund(**dict(row)) if row else None


async def refund_sources(conn: asyncpg.Connection, person_id: uuid.UUID) -> list[RefundSource]:
    """The person's payments with the credit each left and what was refunded on each."""
    rows = await conn.fetch(
        """SELECT p.payment_id, p.channel, p.channel_txn_id, p.paid_at, p.amount, p.credit_added,
                  coalesce((SELECT sum(r.amount) FROM refund_parts r WHERE r.payment_id = p.payment_id), 0)
                      AS refunded
           FROM payments p WHERE p.person_id = $1""",
        person_id,
    )
    return [RefundSource(**dict(row)) for row in rows]


async def insert_refund(
    conn: asyncpg.Connection, *, refund_id: uuid.UUID, person_id: uuid.UUID, request_id: str,
    requested_amount: Decimal | None, amount: Decimal, reason: str, requested_by: str, voucher_no: str,
    issued_at: datetime, result: dict[str, Any], parts: tuple[RefundPart, ...],
) -> None:
    await conn.execute(
        """INSERT INTO refunds (refund_id, person_id, request_id, requested_amount, amount, reason, requested_by,
                                voucher_no, issued_at, result)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
        refund_id, person_id, request_id, requested_amount, amount, reason, requested_by, voucher_no, issued_at,
        result,
    )
    await conn.executemany(
        "INSERT INTO refund_parts (refund_id, payment_id, channel, channel_txn_id, amount) VALUES ($1, $2, $3, $4, $5)",
        [(refund_id, part.payment_id, part.channel, part.channel_txn_id, part.amount) for part in parts],
    )


async def take_credit(conn: asyncpg.Connection, person_id: uuid.UUID, amount: Decimal) -> Decimal:
    """Take ``amount`` off the person's credit (the table's check refuses going below zero)."""
    return await conn.fetchval(
        "UPDATE person_accounts SET credit_balance = credit_balance - $2 WHERE person_id = $1 RETURNING credit_balance",
        person_id, amount,
    )


async def insert_refund_voucher(conn: asyncpg.Connection, voucher: StoredVoucher, refund_id: uuid.UUID,
                                issued_at: datetime) -> None:
    await conn.execute(
        """INSERT INTO vouchers (voucher_no, refund_id, person_id, region, document, signature, algorithm, key_id,
                                 issued_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
        voucher.voucher_no, refund_id, voucher.person_id, voucher.region, voucher.document, voucher.signature,
        voucher.algorithm, voucher.key_id, issued_at,
    )


# the refunds of the person $1, newest first, as answered when they were made
REFUNDS_OF_PERSON = "SELECT result FROM refunds WHERE person_id = $1 ORDER BY issued_at DESC, refund_id"


async def refunds_of(conn: asyncpg.Connection, person_id: uuid.UUID) -> list[dict[str, Any]]:
    """The person's refunds, newest first, as answered when they were made."""
    rows = await conn.fetch(REFUNDS_OF_PERSON, person_id)
    return [row["result"] for row in rows]
