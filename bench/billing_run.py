"""Throughput of the billing run, on the embedded PostgreSQL (fsync off).

Seeds N active enrolments (pension + medical for N/2 persons, Beijing and Shanghai; a
quarter of the Beijing persons pay quarterly), then times

(a) one billing run (``run_billing``): bills, lines, PremiumDue envelopes in the outbox,
    enrolments moved on — chunked, set-based, as the service runs it;
(b) raw ``INSERT … SELECT`` statements writing the same numbers of bill, line and event
    rows from the same enrolments into tables shaped like ours (same keys and indexes),
    in one transaction: no policies, no locks, no envelopes.

Prints both, bills/s and the ratio. With ``--repeat N`` the rounds run one after another, each
on fresh data, and the median ratio is printed with its range: on a shared machine whose speed
drifts from one minute to the next, one pair is not a figure. Never fails on a time.
PostgreSQL runs with ``--shared-buffers`` (default 1GB), as a server sized for a region's
working set: at 1M enrolments bills, lines, outbox and their indexes outgrow the embedded
development server's 128MB, and both (a) and (b) read through the operating system's cache.

Usage: python bench/billing_run.py [--enrolments 1000000] [--batch-size 1000] [--workers 3]
                                   [--shared-buffers 1GB] [--repeat 1] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.figures import spread  # noqa: E402
from services.billing.app import SERVICE  # noqa: E402
from services.billing.operations.billing_run import run_billing  # noqa: E402
from services.billing.settings import BillingSettings  # noqa: E402
from shared.db import apply_migrations, connect, create_pool  # noqa: E402
from shared.outbox import Outbox  # noqa: E402
from shared.runtime import tune_garbage_collection  # noqa: E402
from shared.unit_of_work import UnitsOfWork  # noqa: E402
from tooling.devstack import EmbeddedPostgres  # noqa: E402

SCHEMA = "billing"
AS_OF = date(2025, 6, 25)

SEED = """
WITH people AS (
    SELECT n, md5('person' || n)::uuid AS person_id,
           CASE WHEN n % 2 = 0 THEN '110000' ELSE '310000' END AS region,
           CASE WHEN n % 8 = 0 THEN 'quarterly' ELSE 'monthly' END AS frequency
    FROM generate_series(1, $1::int) AS n),
accounts AS (
    INSERT INTO person_accounts (person_id, region) SELECT person_id, region FROM people)
INSERT INTO enrolments (enrollment_id, person_id, region, programme, base, frequency, start_month,
                        next_cycle_start, policy_from)
SELECT md5(p.person_id::text || programme)::uuid, p.person_id, p.region, programme, 7000 + (p.n % 20000),
       p.frequency, date '2025-07-01', date '2025-07-01', date '2025-07-01'
FROM people p, unnest(ARRAY['pension', 'medical_employee']) AS programme
"""

RAW = """
CREATE TABLE raw_lines (LIKE bill_lines INCLUDING ALL);
CREATE TABLE raw_bills (LIKE bills INCLUDING ALL);
CREATE TABLE raw_events (LIKE outbox INCLUDING ALL);
INSERT INTO raw_lines (enrollment_id, month, bill_id, programme, base, rate, amount, policy_from)
SELECT e.enrollment_id, (e.start_month + make_interval(months => i))::date, md5(e.person_id::text)::uuid,
       e.programme, e.base, 0.20, round(e.base * 0.20, 2), e.start_month
FROM enrolments e,
     generate_series(0, CASE e.frequency WHEN 'quarterly' THEN 2 ELSE 0 END) AS i;
INSERT INTO raw_bills (bill_id, person_id, region, first_month, months, programmes, principal, due_date,
                       grace_days, late_fee_daily_rate, back_payment_allowed, issued_on, accrued_through)
SELECT bill_id, min(e.person_id::text)::uuid, '110000', date '2025-07-01', '{2025-07}', '{pension}', sum(amount),
       date '2025-07-15', 0, 0.0005, true, date '2025-06-25', date '2025-07-15'
FROM raw_lines l JOIN enrolments e USING (enrollment_id) GROUP BY bill_id;
INSERT INTO raw_events (event_id, event_type, topic, partition_key, envelope)
SELECT gen_random_uuid(), 'PremiumDue', 'shebao.billing.v1', person_id::text,
       convert_to(json_build_object('bill_id', bill_id, 'person_id', person_id, 'total', principal::text,
                                    'due_date', due_date)::text, 'UTF8')
FROM raw_bills;
"""


async def seed(database_url: str, enrolments: int) -> None:
    conn = await connect(database_url, SCHEMA)
    try:
        await conn.execute(SEED.replace("$1::int", str(enrolments // 2)))
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def raw_insert_select(database_url: str) -> tuple[float, int]:
    conn = await connect(database_url, SCHEMA)
    try:
        started = time.perf_counter()
        async with conn.transaction():
            await conn.execute(RAW)
        elapsed = time.perf_counter() - started
        rows = await conn.fetchval("SELECT (SELECT count(*) FROM raw_lines) + (SELECT count(*) FROM raw_bills) "
                                   "+ (SELECT count(*) FROM raw_events)")
        return elapsed, rows
    finally:
        await conn.close()


async def billing(database_url: str, batch_size: int, workers: int) -> tuple[float, object, int]:
    settings = BillingSettings(service=SCHEMA, database_url=database_url, billing_batch_size=batch_size,
                               billing_workers=workers)
    pool = await create_pool(database_url, SCHEMA, min_size=1, max_size=settings.billing_workers + 2)
    service = SimpleNamespace(units=UnitsOfWork(pool, Outbox("")), settings=settings)
    try:
        started = time.perf_counter()
        report = await run_billing(service, AS_OF)
        elapsed = time.perf_counter() - started
        async with pool.acquire() as conn:
            events = await conn.fetchval("SELECT count(*) FROM outbox WHERE event_type = 'PremiumDue'")
        return elapsed, report, events
    finally:
        await pool.close()


def round_database(number: int) -> str:
    """The database of round ``number`` of this process (a test's PostgreSQL is shared)."""
    return f"shebao_bench_{os.getpid()}_{number}"


async def one_round(postgres: EmbeddedPostgres, number: int, args: argparse.Namespace) -> dict:
    """One round on a database of its own: seed, (a) the billing run, (b) the raw statements; then
    the database is dropped and the server checkpoints, so that no round pays for the writes and
    the vacuum of the one before it."""
    database = round_database(number)
    postgres.create_database(database)
    database_url = postgres.local_url(database)
    try:
        await apply_migrations(database_url, SCHEMA, SERVICE.migrations_dir)
        print(f"round {number}: seeding {args.enrolments:,} active enrolments ...", flush=True)
        await seed(database_url, args.enrolments)
        run_s, report, events = await billing(database_url, args.batch_size, args.workers)
        raw_s, raw_rows = await raw_insert_select(database_url)
    finally:
        postgres.drop_database(database)
        postgres.checkpoint()
    written = report.bills + report.lines + events
    print(f"(a) billing run:        {run_s:8.2f} s  {report.bills:,} bills, {report.lines:,} lines, "
          f"{events:,} PremiumDue  = {written:,} rows  ->  {report.bills / run_s:,.0f} bills/s")
    print(f"(b) raw INSERT ... SELECT: {raw_s:6.2f} s  {raw_rows:,} rows  ->  {raw_rows / raw_s:,.0f} rows/s")
    print(f"ratio (a)/(b): {run_s / raw_s:.2f}x   (aim: <= 2.5x)", flush=True)
    return {"run_s": run_s, "raw_s": raw_s, "bills": report.bills, "lines": report.lines, "events": events}


def summarize(rounds: list[dict]) -> dict:
    """Each round's seconds and ratio (the run against the raw statements of its own round), and
    the medians with their range (``ratio``, ``run_s``, ``raw_s``: median, min, max)."""
    ratios = [round_["run_s"] / round_["raw_s"] for round_ in rounds]
    return {
        "rounds": [{**round_, "run_s": round(round_["run_s"], 2), "raw_s": round(round_["raw_s"], 2)}
                   for round_ in rounds],
        "ratios": [round(ratio, 2) for ratio in ratios],
        "ratio": spread(ratios, 2),
        "run_s": spread([round_["run_s"] for round_ in rounds], 2),
        "raw_s": spread([round_["raw_s"] for round_ in rounds], 2),
    }


async def main_async(args: argparse.Namespace) -> dict:
    root = Path(tempfile.mkdtemp(prefix="shebao-bench-billing-"))
    postgres = EmbeddedPostgres(root / "postgres", durable=False, shared_buffers=args.shared_buffers)
    postgres.start(root / "postgres.log")
    try:
        tune_garbage_collection(BillingSettings().gc_young_threshold)  # as the service's process does at start
        rounds = [await one_round(postgres, number, args) for number in range(1, args.repeat + 1)]
    finally:
        postgres.stop()
        shutil.rmtree(root, ignore_errors=True)  # a million enrolments leave gigabytes of data
    figures = summarize(rounds)
    ratio = figures["ratio"]
    print(f"\nratio (a)/(b): median {ratio['median']:.2f}x over {len(rounds)} round(s) "
          f"({', '.join(f'{value:.2f}' for value in figures['ratios'])}; range {ratio['min']:.2f}–{ratio['max']:.2f})"
          f"   aim: <= 2.5x   workers {args.workers}, chunks of {args.batch_size}, "
          f"shared_buffers {args.shared_buffers}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--enrolments", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=BillingSettings().billing_batch_size,
                        help="enrolments per transaction of the run (whole persons)")
    parser.add_argument("--workers", type=int, default=BillingSettings().billing_workers,
                        help="connections working on chunks side by side")
    parser.add_argument("--shared-buffers", default="1GB", help="PostgreSQL's shared_buffers (the dev server: 128MB)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="rounds, each on fresh data; the median ratio and its range are printed")
    parser.add_argument("--json", type=Path, help="also write the figures of every round to this file")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat takes 1 or more")
    # on the event loop the service runs its billing run on (uvicorn picks uvloop when installed)
    figures = uvloop.run(main_async(args))
    if args.json is not None:
        args.json.write_text(json.dumps({"enrolments": args.enrolments, "workers": args.workers,
                                         "batch_size": args.batch_size, "shared_buffers": args.shared_buffers,
                                         **figures}, indent=2))


if __name__ == "__main__":
    main()
