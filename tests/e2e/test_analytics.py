"""The reference analytics consumer (examples/analytics/collections.py) agrees with billing: for
each resident of the journey, the premiums it counts as collected per programme are the
``total_paid`` of billing's own statement, and its monthly collections add up the same."""

from __future__ import annotations

import importlib.util
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

import pytest

from shared.periods import DEFAULT_TZ
from tests.e2e.conftest import E2E_PREFIX
from tooling.journey import Operator, PaymentChannel, billing_date_for, enrol_resident, today_in_region

pytestmark = pytest.mark.e2e

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "analytics" / "collections.py"


def load_example():
    spec = importlib.util.spec_from_file_location("collections_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_collections_per_programme_equal_billings_statements(platform, client, clock, tmp_path, monkeypatch):
    payer, enrollments = enrol_resident(client, say=lambda _: None)
    debtor, _ = enrol_resident(client, say=lambda _: None)
    Operator(client).billing_run(billing_date_for(enrollments[0]["start_month"], today_in_region(client)))
    [bill] = payer.wait_for_bills(1)
    debtor.wait_for_bills(1)
    paid_at = datetime.combine(date.fromisoformat(bill["due_date"]), time(10, 0), tzinfo=DEFAULT_TZ)
    clock.advance_to(paid_at)
    PaymentChannel(client).pay(payer.person_id, Decimal(bill["outstanding"]), paid_at=paid_at)
    statements = {payer.person_id: client.wait_for("the payment in the statement", lambda: _with_payment(payer)),
                  debtor.person_id: debtor.statement()}
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", platform.bootstrap_servers)
    monkeypatch.setenv("SHEBAO_TOPIC_PREFIX", E2E_PREFIX)
    example = load_example()

    assert example.main(["--lake", str(tmp_path / "lake"), "--db", str(tmp_path / "c.duckdb")]) == 0

    database = example.duckdb.connect(str(tmp_path / "c.duckdb"))
    for person_id, statement in statements.items():
        counted = dict(database.execute("SELECT programme, sum(amount) FROM paid_lines WHERE person_id = ? "
                                        "GROUP BY 1", [str(person_id)]).fetchall())
        expected = {p["programme"]: Decimal(p["total_paid"]) for p in statement["programmes"]
                    if Decimal(p["total_paid"])}
        assert counted == expected, person_id
    assert not any(Decimal(p["total_paid"]) for p in statements[debtor.person_id]["programmes"])
    by_month = database.execute(
        "SELECT sum(collected) FROM collections WHERE region = '110000' AND month = ?", [bill["first_month"]]
    ).fetchone()[0]
    assert by_month >= Decimal(bill["total"])  # this bill, and any other paid for that month in the session


def _with_payment(resident) -> dict | None:
    statement = resident.statement()
    return statement if any(Decimal(p["total_paid"]) for p in statement["programmes"]) else None
