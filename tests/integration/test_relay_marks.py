"""The relay's marks and where it reads from (migration 007), on the real broker and database:
marking a row sent touches no index; ``pending_from`` moves forward once every row before it is
final, never past a row whose transaction is still open, and back for rows made pending again."""

from __future__ import annotations

import uuid

import pytest

from tooling.ops import outbox as outbox_ops

from .harness import a_withdrawal, eventually

pytestmark = pytest.mark.integration


async def pending_from(runtime) -> int:
    async with runtime.pool.acquire() as conn:
        return await conn.fetchval("SELECT pending_from FROM outbox_relay")


async def seq_of(runtime, event) -> int:
    async with runtime.pool.acquire() as conn:
        return await conn.fetchval("SELECT seq FROM outbox WHERE event_id = $1", event.id)


async def test_marking_rows_sent_is_a_heap_only_update(pair):
    events = [a_withdrawal() for _ in range(200)]
    for start in range(0, len(events), 50):
        await pair.write(events[start:start + 50])
    await eventually(lambda: pair.effects_at_least(len(events)))

    async def marks() -> tuple[int, int] | None:
        async with pair.producer.pool.acquire() as conn:
            await conn.execute("SELECT pg_stat_force_next_flush()")
            row = await conn.fetchrow("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables "
                                      "WHERE schemaname = current_schema() AND relname = 'outbox'")
        return (row["n_tup_upd"], row["n_tup_hot_upd"]) if row["n_tup_upd"] >= len(events) else None

    updated, heap_only = await eventually(marks)
    assert heap_only == updated


async def test_pending_from_waits_for_an_open_transaction_and_its_row_is_sent_when_it_commits(pair):
    late = a_withdrawal()
    async with pair.producer.pool.acquire() as writer:
        late_transaction = writer.transaction()
        await late_transaction.start()
        await pair.producer.outbox.add_events(writer, [late])
        late_seq = await writer.fetchval("SELECT seq FROM outbox WHERE event_id = $1", late.id)

        after = [a_withdrawal() for _ in range(30)]
        for event in after:  # numbered after the open one, committed before it
            await pair.write([event])
        await eventually(lambda: pair.effects_at_least(len(after)))
        for _ in range(5):  # passes enough to settle every number but the open transaction's
            await pair.producer.relay.publish_pending()
        assert pair.producer.relay.horizon.settled < late_seq
        assert await pending_from(pair.producer) <= late_seq
        assert late.id not in await pair.effect_ids()

        await late_transaction.commit()
    await eventually(lambda: pair.has_effect_of(late.id))

    last_seq = await seq_of(pair.producer, after[-1])

    async def caught_up() -> bool:
        await pair.producer.relay.publish_pending()
        return await pending_from(pair.producer) == last_seq + 1

    await eventually(caught_up)


async def test_a_rolled_back_number_does_not_hold_pending_from(pair):
    async with pair.producer.pool.acquire() as conn:
        rolled_back = conn.transaction()
        await rolled_back.start()
        await pair.producer.outbox.add_events(conn, [a_withdrawal()])
        await rolled_back.rollback()
    event = a_withdrawal()
    await pair.write([event])
    await eventually(lambda: pair.has_effect_of(event.id))
    seq = await seq_of(pair.producer, event)

    async def past_it() -> bool:
        await pair.producer.relay.publish_pending()
        return await pending_from(pair.producer) == seq + 1

    await eventually(past_it)


async def test_republishing_moves_pending_from_back_to_the_rows_made_pending(pair, infrastructure, unique_name):
    events = [a_withdrawal(uuid.uuid4()) for _ in range(3)]
    await pair.write(events)
    await eventually(lambda: pair.effects_at_least(3))
    first_seq = await seq_of(pair.producer, events[0])

    async def moved_past() -> bool:
        await pair.producer.relay.publish_pending()
        return await pending_from(pair.producer) > first_seq + 2

    await eventually(moved_past)
    async with pair.producer.pool.acquire() as conn:
        sent_at = await conn.fetchval("SELECT min(sent_at) FROM outbox")
    settings = pair.producer.settings
    again = await outbox_ops.republish(settings, f"{unique_name}_enr", sent_at)

    assert again.count == 3

    async def sent_again() -> bool:  # the consumer applies them once: their marks tell
        async with pair.producer.pool.acquire() as conn:
            return await conn.fetchval("SELECT count(*) FROM outbox WHERE event_id = ANY($1::uuid[]) "
                                       "AND status = 'sent' AND attempts = 2", [event.id for event in events]) == 3

    await eventually(sent_again)
