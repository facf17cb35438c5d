"""``shebao events export`` and ``events tail`` on the real broker: chosen topics, types, time
window and person; JSON Lines and Parquet (money as decimal); resumable from the offsets it
recorded; personal data masked unless a caseworker's token of the region is shown."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pyarrow.dataset as ds
import pytest

from shared.auth import mint_token
from shared.events import (
    ApplicationSubmitted,
    Contact,
    PremiumDue,
    PremiumPaid,
    all_topics,
    make_envelope,
    topic_for,
)
from shared.events.catalog import AppliedPayment, BillLine
from shared.identity import person_id_for
from shared.settings import get_settings
from tests.integration.harness import publish_raw
from tooling.devstack import ensure_topics
from tooling.journey import a_resident_id_number

pytestmark = pytest.mark.integration

PHONE = "13912345678"


def an_application(person_id: uuid.UUID, region: str = "110000"):
    return make_envelope(ApplicationSubmitted(
        application_id=uuid.uuid4(), person_id=person_id, region=region, programmes=("pension",),
        declared_base=Decimal("7162.00"), frequency="monthly",
        contact=Contact(phone=PHONE, email="li.lei@example.com", language="zh-CN")), subject="a", region=region)


def a_bill(person_id: uuid.UUID, bill_id: uuid.UUID):
    return make_envelope(PremiumDue(
        bill_id=bill_id, person_id=person_id, region="110000", months=("2026-12",),
        lines=(BillLine(programme="pension", month="2026-12", base=Decimal("7162.00"), rate=Decimal("0.2"),
                        amount=Decimal("1432.40")),),
        total=Decimal("1432.40"), due_date=datetime(2026, 12, 15).date()), subject=str(bill_id), region="110000")


def a_payment(person_id: uuid.UUID, bill_id: uuid.UUID):
    return make_envelope(PremiumPaid(
        payment_id=uuid.uuid4(), person_id=person_id, amount=Decimal("1432.40"), channel="bank",
        channel_txn_id=f"T{uuid.uuid4().hex[:8]}", paid_at=datetime.now(UTC), voucher_no="110000-2026-00000001",
        applied=(AppliedPayment(bill_id=bill_id, principal=Decimal("1432.40"), late_fee=Decimal("0.00")),),
        credit_balance=Decimal("0.00")), subject="p", region="110000")


async def publish(infrastructure, prefix: str, envelopes) -> None:
    for envelope in envelopes:
        await publish_raw(infrastructure.bootstrap_servers, topic_for(envelope.source, prefix),
                          envelope.to_json_bytes(), envelope.partition_key(),
                          [("ce_type", envelope.type.encode()), ("ce_id", str(envelope.id).encode()),
                           ("ce_source", envelope.source.encode())])


@pytest.fixture
async def history(infrastructure, operator):
    """Two residents: one applied, was billed and paid; the other applied. Plus one poison record."""
    await ensure_topics(infrastructure.bootstrap_servers, all_topics(operator.prefix), 3)
    id_number = a_resident_id_number()
    li, other, bill = person_id_for(id_number), uuid.uuid4(), uuid.uuid4()
    envelopes = [an_application(li), an_application(other), a_bill(li, bill), a_payment(li, bill)]
    await publish(infrastructure, operator.prefix, envelopes)
    await publish_raw(infrastructure.bootstrap_servers, topic_for("billing", operator.prefix), b"{ not json", b"x")
    return {"id_number": id_number, "li": li, "envelopes": envelopes}


def lines_of(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_export_writes_every_event_as_published_with_personal_data_masked(operator, history, tmp_path):
    out = tmp_path / "events.jsonl"

    outcome = await operator("events", "export", "--out", str(out), "--json")

    exported = lines_of(out)
    assert outcome.code == 0, outcome.err
    assert sorted(e["id"] for e in exported) == sorted(str(e.id) for e in history["envelopes"])
    assert outcome.json()["reading"] == {**outcome.json()["reading"], "read": 5, "kept": 4, "invalid": 1}
    paid = next(e for e in exported if e["type"] == "PremiumPaid")
    assert paid["data"]["amount"] == "1432.40"  # money stays a decimal string
    contacts = [e["data"]["contact"] for e in exported if e["type"] == "ApplicationSubmitted"]
    assert all(PHONE not in json.dumps(c) and "li.lei@example.com" not in json.dumps(c) for c in contacts)
    assert all(c["phone"].endswith("5678") for c in contacts)


async def test_export_resumes_from_the_offsets_it_recorded_without_repeating(operator, history, tmp_path):
    out = tmp_path / "events.jsonl"

    first = await operator("events", "export", "--out", str(out), "--limit", "2", "--json")
    second = await operator("events", "export", "--out", str(out), "--json")
    third = await operator("events", "export", "--out", str(out), "--json")

    assert (first.json()["reading"]["read"], second.json()["reading"]["read"], third.json()["reading"]["read"]) == \
        (2, 3, 0)
    assert first.json()["complete"] is False
    ids = [e["id"] for e in lines_of(out)]
    assert sorted(ids) == sorted(str(e.id) for e in history["envelopes"])  # each once


async def test_export_refuses_to_resume_an_export_of_other_events(operator, history, tmp_path):
    out = tmp_path / "events.jsonl"
    await operator("events", "export", "--out", str(out), "--type", "PremiumPaid")

    outcome = await operator("events", "export", "--out", str(out), "--type", "PremiumDue")

    assert outcome.code == 1
    assert "belongs to an export of other events" in outcome.err


async def test_export_chooses_by_type_time_window_and_person(operator, history, tmp_path):
    li_number = history["id_number"]
    now = datetime.now(UTC)

    by_type = await operator("events", "export", "--out", str(tmp_path / "a.jsonl"), "--type", "PremiumPaid",
                             "--type", "PremiumDue")
    by_person = await operator("events", "export", "--out", str(tmp_path / "b.jsonl"), "--person", li_number)
    in_window = await operator("events", "export", "--out", str(tmp_path / "c.jsonl"), "--topic", "enrollment",
                               "--since", (now - timedelta(hours=1)).isoformat(), "--until", now.isoformat())
    out_of_window = await operator("events", "export", "--out", str(tmp_path / "d.jsonl"),
                                   "--since", (now + timedelta(hours=1)).isoformat())

    assert {by_type.code, by_person.code, in_window.code, out_of_window.code} == {0}
    assert sorted(e["type"] for e in lines_of(tmp_path / "a.jsonl")) == ["PremiumDue", "PremiumPaid"]
    assert {e["data"]["person_id"] for e in lines_of(tmp_path / "b.jsonl")} == {str(history["li"])}
    assert len(lines_of(tmp_path / "b.jsonl")) == 3
    assert [e["type"] for e in lines_of(tmp_path / "c.jsonl")] == ["ApplicationSubmitted"] * 2
    assert not (tmp_path / "d.jsonl").exists() or lines_of(tmp_path / "d.jsonl") == []


async def test_parquet_has_a_table_per_event_type_with_money_as_decimal(operator, history, tmp_path):
    out = tmp_path / "lake"

    first = await operator("events", "export", "--out", str(out), "--format", "parquet", "--limit", "3")
    second = await operator("events", "export", "--out", str(out), "--format", "parquet")

    assert first.code == second.code == 0, first.err + second.err
    bills = ds.dataset(out / "PremiumDue", format="parquet").to_table().to_pylist()
    paid = ds.dataset(out / "PremiumPaid", format="parquet").to_table()
    applications = ds.dataset(out / "ApplicationSubmitted", format="parquet").to_table().to_pylist()
    assert paid.schema.field("amount").type == paid.schema.field("credit_balance").type
    assert str(paid.schema.field("amount").type) == "decimal128(14, 2)"
    assert paid.to_pylist()[0]["amount"] == Decimal("1432.40")
    assert paid.to_pylist()[0]["applied"][0]["principal"] == Decimal("1432.40")
    assert bills[0]["lines"][0]["rate"] == Decimal("0.2") and bills[0]["due_date"].isoformat() == "2026-12-15"
    assert len(applications) == 2 and all(PHONE not in row["contact"]["phone"] for row in applications)
    assert len({p.name for p in out.glob("*/part-*.parquet")}) == 2  # one part per run


async def test_tail_follows_from_the_beginning_filtered_and_unmasks_only_for_a_caseworker_of_the_region(
        operator, history, monkeypatch):
    settings = get_settings()
    caseworker = mint_token(sub="caseworker-1", role="caseworker", region="110000", secret=settings.jwt_secret,
                            issuer=settings.jwt_issuer)
    elsewhere = mint_token(sub="caseworker-2", role="caseworker", region="310000", secret=settings.jwt_secret,
                           issuer=settings.jwt_issuer)
    ops = mint_token(sub="ops-1", role="ops", region="110000", secret=settings.jwt_secret,
                     issuer=settings.jwt_issuer)
    tail = ("events", "tail", "--from-beginning", "--type", "ApplicationSubmitted", "--limit", "2", "--json")

    masked = await operator(*tail)
    shown = await operator(*tail, "--personal-data", "--token", caseworker)
    other_region = await operator(*tail, "--personal-data", "--token", elsewhere)
    refused = await operator(*tail, "--personal-data", "--token", ops)
    monkeypatch.delenv("SHEBAO_TOKEN", raising=False)
    no_token = await operator(*tail, "--personal-data")

    assert masked.code == shown.code == other_region.code == 0
    assert PHONE not in masked.out and len(masked.out.splitlines()) == 2
    assert shown.out.count(PHONE) == 2
    assert PHONE not in other_region.out
    assert refused.code == no_token.code == 1
    assert "may not see personal data" in refused.err and "--token" in no_token.err


async def test_tail_by_person_stops_when_idle(operator, history):
    outcome = await operator("events", "tail", "--from-beginning", "--person", str(history["li"]), "--idle-exit", "2")

    assert outcome.code == 0, outcome.err
    assert [line.split()[1] for line in outcome.out.splitlines()] == ["ApplicationSubmitted", "PremiumDue",
                                                                       "PremiumPaid"]


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["events", "export", "--out", "x", "--type", "PremiumPayed"], "unknown event type(s): PremiumPayed"),
        (["events", "tail", "--limit", "0"], "--limit must be positive"),
        (["events", "export", "--out", "x", "--since", "2026-01-02T00:00Z", "--until", "2026-01-01T00:00Z"],
         "--until must be after --since"),
        (["events", "export"], "--out"),
    ],
)
async def test_wrong_usage_exits_2(operator, argv, complaint):
    outcome = await operator(*argv)

    assert outcome.code == 2
    assert complaint in outcome.err
