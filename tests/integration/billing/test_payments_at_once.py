"""A payment is read without locks and written by one statement that checks its payer is still as
read (``operations/payments.py``, ``_record_at_once``): whatever changed the payer in between — a
payment, a credit, a change committed while the statement waited for the account's lock — the
statement writes nothing, and the payment reads its payer again; one that keeps losing takes the
payer's locks."""

from __future__ import annotations

import asyncio
import dataclasses
from decimal import Decimal

import pytest

from services.billing.repository import payments as repo
from shared.unit_of_work import AT_ONCE_ATTEMPTS
from tests.integration.billing.story import an_active_enrolment, billing_run, bills_of, events, pay
from tests.integration.harness import commit_later

pytestmark = pytest.mark.integration


def reads_of_the_payer(monkeypatch, then=None) -> list:
    """``read_payer``'s calls, as (channel transaction, payer read); after the first, ``then`` is run
    (a change to the payer)."""
    calls = []
    read = repo.read_payer

    async def counted(conn, person_id, channel, channel_txn_id):
        payer = await read(conn, person_id, channel, channel_txn_id)
        calls.append((channel_txn_id, payer))
        if len(calls) == 1 and then is not None:
            await then()
        return payer

    monkeypatch.setattr(repo, "read_payer", counted)
    return calls


async def test_a_payment_recorded_after_the_read_is_seen_and_the_bill_is_paid_once(billing, monkeypatch):
    person = await an_active_enrolment(billing)
    await billing_run(billing, "2025-06-25")  # July: 1432.40
    first: dict = {}

    async def another_payment_of_the_whole_bill():
        first.update(await pay(billing, person, "1432.40"))

    reads = reads_of_the_payer(monkeypatch, then=another_payment_of_the_whole_bill)

    second = await pay(billing, person, "100.00")

    # the second payment read its payer again after its statement found the payer changed
    assert [txn for txn, _ in reads] == [second["channel_txn_id"], first["channel_txn_id"], second["channel_txn_id"]]
    assert [part["principal"] for part in first["applied"]] == ["1432.40"]
    assert (second["applied"], second["credit_added"], second["credit_balance"]) == ([], "100.00", "100.00")
    [bill] = await bills_of(billing, person)
    assert (bill["status"], bill["outstanding"]) == ("paid", "0.00")
    assert len(await events(billing, "PremiumPaid", person)) == 2
    async with billing.pool.acquire() as conn:
        assert await conn.fetchval("SELECT sum(principal) FROM payment_allocations a JOIN payments p USING "
                                   "(payment_id) WHERE p.person_id = $1", person.person_id) == Decimal("1432.40")


async def test_a_change_committed_while_the_statement_waits_for_the_account_is_seen(billing, monkeypatch):
    """The statement's own snapshot is taken before it waits for the account's lock; the payer's
    state is taken after it (``payer_state_now``), so a credit committed meanwhile is seen."""
    person = await an_active_enrolment(billing)
    await billing_run(billing, "2025-06-25")
    holder = await billing.pool.acquire()
    committed = asyncio.Event()

    async def credit_added_under_the_accounts_lock():
        await holder.execute("BEGIN")
        await holder.execute("UPDATE person_accounts SET credit_balance = credit_balance + 5 WHERE person_id = $1",
                             person.person_id)

        commit_later(holder, committed)

    reads = reads_of_the_payer(monkeypatch, then=credit_added_under_the_accounts_lock)
    try:
        paid = await pay(billing, person, "1500.00")
    finally:
        await committed.wait()
        await billing.pool.release(holder)

    assert len(reads) == 2
    assert reads[1][1].account.credit_balance == reads[0][1].account.credit_balance + 5
    assert (paid["credit_added"], paid["credit_balance"]) == ("67.60", "72.60")  # 1500 − 1432.40, and the 5
    async with billing.pool.acquire() as conn:
        assert await conn.fetchval("SELECT credit_balance FROM person_accounts WHERE person_id = $1",
                                   person.person_id) == Decimal("72.60")


async def test_a_payment_whose_payer_keeps_changing_takes_the_payers_locks(billing, monkeypatch):
    person = await an_active_enrolment(billing)
    await billing_run(billing, "2025-06-25")
    read = repo.read_payer
    reads = []

    async def never_as_it_is(conn, person_id, channel, channel_txn_id):
        reads.append(await read(conn, person_id, channel, channel_txn_id))
        return dataclasses.replace(reads[-1], state="the state of some other moment")

    monkeypatch.setattr(repo, "read_payer", never_as_it_is)

    paid = await pay(billing, person, "1432.40")

    assert len(reads) == AT_ONCE_ATTEMPTS
    assert [part["principal"] for part in paid["applied"]] == ["1432.40"]
    assert len(await events(billing, "PremiumPaid", person)) == 1
    async with billing.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM payments WHERE person_id = $1", person.person_id) == 1
