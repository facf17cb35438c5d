"""A reference analytics consumer: premiums collected per month, programme and region, in DuckDB.

It uses only what Shebao publishes for analysts (docs/events.md): ``shebao events export``
brings the new ``PremiumDue`` and ``PremiumPaid`` events into a Parquet lake (resumable: each
run adds what arrived since the last), and DuckDB builds from the lake:

- ``bill_lines``: every line of every bill (person, region, programme, month covered, amount);
- ``bill_payments``: the principal and late fee each payment applied to each bill;
- ``paid_lines``: the lines of bills paid in full, i.e. the premiums collected;
- ``collections``: ``paid_lines`` summed per month covered, programme and region.

A bill counts as collected once the principal applied to it reaches its total less the credit
applied at issue: the rule of billing's own statement (a month is paid once its bill is
settled), so a person's ``paid_lines`` add up to the statement's ``total_paid`` per programme.
Events are read at least once: every table keeps one row per event id.

    .venv/bin/python examples/analytics/collections.py --lake exports/lake --db exports/collections.duckdb

With ``make run`` going it needs nothing else (the CLI finds the platform); the usual
``KAFKA_BOOTSTRAP_SERVERS`` / ``SHEBAO_TOPIC_PREFIX`` point it elsewhere.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import duckdb

SHEBAO = [sys.executable, "-m", "tooling.cli"]
EVENTS = ("PremiumDue", "PremiumPaid")

SCHEMA = """
CREATE OR REPLACE TABLE bills (event_id VARCHAR, bill_id VARCHAR, person_id VARCHAR, region VARCHAR,
    total DECIMAL(14, 2), credit_applied DECIMAL(14, 2), due_date DATE);
CREATE OR REPLACE TABLE bill_lines (event_id VARCHAR, bill_id VARCHAR, person_id VARCHAR, region VARCHAR,
    programme VARCHAR, month VARCHAR, amount DECIMAL(14, 2));
CREATE OR REPLACE TABLE bill_payments (event_id VARCHAR, payment_id VARCHAR, person_id VARCHAR,
    paid_at TIMESTAMPTZ, bill_id VARCHAR, principal DECIMAL(14, 2), late_fee DECIMAL(14, 2));
"""

# one row per event id: an export may hold an event twice (at-least-once)
BILLS = """
INSERT INTO bills SELECT DISTINCT ON (event_id) event_id, bill_id, person_id, region, total,
    coalesce(credit_applied, 0), due_date
FROM read_parquet('{lake}/PremiumDue/*.parquet') ORDER BY event_id;
INSERT INTO bill_lines SELECT b.event_id, b.bill_id, b.person_id, b.region, l.programme, l.month, l.amount
FROM (SELECT DISTINCT ON (event_id) * FROM read_parquet('{lake}/PremiumDue/*.parquet') ORDER BY event_id) AS b,
     unnest(b.lines) AS t(l);
"""
PAYMENTS = """
INSERT INTO bill_payments SELECT p.event_id, p.payment_id, p.person_id, p.paid_at, a.bill_id, a.principal, a.late_fee
FROM (SELECT DISTINCT ON (event_id) * FROM read_parquet('{lake}/PremiumPaid/*.parquet') ORDER BY event_id) AS p,
     unnest(p.applied) AS t(a);
"""
VIEWS = """
CREATE OR REPLACE TABLE paid_lines AS
    SELECT l.* FROM bill_lines l JOIN bills b USING (bill_id)
    WHERE (SELECT coalesce(sum(principal), 0) FROM bill_payments p WHERE p.bill_id = b.bill_id)
          >= b.total - b.credit_applied;

CREATE OR REPLACE VIEW collections AS
    SELECT month, programme, region, sum(amount) AS collected, count(DISTINCT person_id) AS persons
    FROM paid_lines GROUP BY ALL ORDER BY ALL;
"""


def export(lake: Path) -> dict:
    """Bring the new billing events into the Parquet lake with the CLI; its JSON report."""
    done = subprocess.run([*SHEBAO, "events", "export", "--format", "parquet", "--out", str(lake), "--json",
                           *(arg for event in EVENTS for arg in ("--type", event))],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"shebao events export failed: {done.stderr.strip()}")
    return json.loads(done.stdout)


def build(lake: Path, database: Path) -> duckdb.DuckDBPyConnection:
    """(Re)build every table of ``database`` from the lake; the open connection."""
    connection = duckdb.connect(str(database))
    connection.execute(SCHEMA)
    for event, inserts in (("PremiumDue", BILLS), ("PremiumPaid", PAYMENTS)):
        if any((lake / event).glob("*.parquet")):  # none yet on a new platform: the tables stay empty
            connection.execute(inserts.format(lake=lake.as_posix()))
    connection.execute(VIEWS)
    return connection


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lake", type=Path, default=Path("exports/lake"), help="the Parquet lake (a directory)")
    parser.add_argument("--db", type=Path, default=Path("exports/collections.duckdb"), help="the DuckDB file")
    parser.add_argument("--no-export", action="store_true", help="only rebuild from the lake as it is")
    args = parser.parse_args(argv)
    args.db.parent.mkdir(parents=True, exist_ok=True)
    if not args.no_export:
        report = export(args.lake)
        print(f"exported {report['reading']['kept']} new billing event(s)", file=sys.stderr)
    connection = build(args.lake, args.db)
    rows = connection.execute("SELECT * FROM collections").fetchall()
    for month, programme, region, collected, persons in rows:
        print(f"{month}  {programme:<18} {region}  {collected:>14}  ({persons} person(s))")
    if not rows:
        print("no premiums collected yet")
    connection.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
