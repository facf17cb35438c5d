"""HTTP load at a fixed arrival rate (open model) against the whole platform, and a bare
FastAPI + asyncpg insert on the same machine as the baseline.

Open model: request i is sent at ``start + i / rate`` whether or not earlier ones have
answered, so a slow platform shows as latency and errors, never as a lower offered rate.
The mix is a due date's: residents applying (POST /v1/applications), reading their bills
and statements (GET), and a payment channel posting payments (POST /v1/payments).

Without ``--ports`` it starts its own platform (the launcher's, on a throw-away embedded
PostgreSQL and broker, fsync off); with ``--ports`` it drives a running ``make run``.
The first ``--warmup`` seconds of the load are counted apart. Prints per-route p50/p95/p99,
errors (by status) and the achieved rate, and, with its own platform, each process's CPU
(``bench/process_cpu.py``) and what a request cost; ``--only KIND`` sends one kind of request
alone; ``--timeline`` prints each route's p99 second by second; ``--json FILE`` writes the
figures. Bounded: ``--warmup`` + ``--duration`` seconds of sending, then at most ``--timeout``
for answers. Never fails on a time. Figures on a shared 2-core machine are noisy: run it 3 times.

Usage: python bench/http_load.py [--rate 200] [--duration 20] [--warmup 3] [--only KIND]
                                 [--replicas 1] [--timeline] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.http_client import Connections, PreparedRequest, ProtocolError, prepare  # noqa: E402
from bench.process_cpu import CpuMeter, busy_share, cost_per_request  # noqa: E402
from shared.auth import mint_token  # noqa: E402
from shared.identity import person_id_for  # noqa: E402
from shared.periods import now_utc  # noqa: E402
from shared.runtime import tune_garbage_collection  # noqa: E402
from shared.settings import SERVICE_NAMES, Settings  # noqa: E402
from tooling.devstack import EmbeddedPostgres, free_port, wait_for_port  # noqa: E402
from tooling.journey import a_resident_id_number  # noqa: E402
from tooling.launcher import Platform, service_of  # noqa: E402

# share of each kind of request in the mix (applications and payments at the same rate)
MIX = (("POST /v1/applications", 0.35), ("POST /v1/payments", 0.35), ("GET bills", 0.15),
       ("GET statement", 0.15))
APPLICATIONS_SHARE = dict(MIX)["POST /v1/applications"]  # the bare baseline's rate: the applications'
# ``--only KIND``: one kind of request alone, to say what each costs
KINDS = {"applications": "POST /v1/applications", "payments": "POST /v1/payments", "bills": "GET bills",
         "statements": "GET statement"}


@dataclass
class Route:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def summary(self, seconds: float) -> dict:
        ok = self.statuses.get("2xx", 0)
        lat = sorted(self.latencies_ms)
        return {"requests": sum(self.statuses.values()), "ok": ok,
                "errors": sum(n for s, n in self.statuses.items() if s != "2xx"),
                "statuses": dict(self.statuses), "achieved_per_s": round(ok / seconds, 1),
                "p50_ms": _pct(lat, 50), "p95_ms": _pct(lat, 95), "p99_ms": _pct(lat, 99)}


def _pct(values: list[float], pct: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 1)
    return round(statistics.quantiles(values, n=100, method="inclusive")[pct - 1], 1)


WARMUP = "(warm-up, all routes)"


class Timeline:
    """Each route's answers by the second of the load they were sent in: whether a tail comes
    from the first seconds (pools and caches filling) or from episodes mid-run (a process short of
    CPU, a pool all taken), which one p99 over the whole run cannot tell apart."""

    def __init__(self) -> None:
        self._seconds: dict[int, dict[str, Route]] = defaultdict(lambda: defaultdict(Route))

    def note(self, second: int, route: str, latency_ms: float, status: str) -> None:
        row = self._seconds[second][route]
        row.latencies_ms.append(latency_ms)
        row.statuses[status] += 1

    def routes(self) -> dict[str, Route]:
        """Each route's answers over the whole load, every second together."""
        whole: dict[str, Route] = defaultdict(Route)
        for routes in self._seconds.values():
            for name, row in routes.items():
                whole[name].latencies_ms += row.latencies_ms
                for status, count in row.statuses.items():
                    whole[name].statuses[status] += count
        return whole

    def summary(self) -> list[dict]:
        """One row a second: requests sent in it, their errors, each route's p99 (ms)."""
        return [self._row(second, {name: row.summary(1.0) for name, row in sorted(routes.items())})
                for second, routes in sorted(self._seconds.items())]

    @staticmethod
    def _row(second: int, routes: dict[str, dict]) -> dict:
        return {"second": second, "requests": sum(route["requests"] for route in routes.values()),
                "errors": sum(route["errors"] for route in routes.values()),
                "p99_ms": {name: route["p99_ms"] for name, route in routes.items()}}


async def open_model(rate: float, timeout_s: float, requests: list[PreparedRequest],
                     warmup: int = 0, timeline: Timeline | None = None) -> tuple[dict, float]:
    """Send ``requests[i]`` at ``start + i / rate``; returns per-route figures and the sending time.

    The first ``warmup`` requests are sent the same way but counted apart, under WARMUP: the
    measured ones then meet servers whose pools, connections and caches a steady stream keeps
    open, and the generator's own connections already made. ``timeline`` also gets every answer
    by the second it was sent in (the warm-up's first)."""
    timeline = timeline or Timeline()
    connections = Connections()

    async def one(request: PreparedRequest, route: str) -> None:
        sent = time.perf_counter()
        try:
            code = await asyncio.wait_for(connections.send(request), timeout_s)
            status = "2xx" if 200 <= code < 300 else str(code)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ProtocolError,
                ValueError) as error:
            status = type(error).__name__
        timeline.note(int(sent - start), route, (time.perf_counter() - sent) * 1000, status)

    tasks = []
    start = time.perf_counter()
    try:
        for i, request in enumerate(requests):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(request, WARMUP if i < warmup else request.route)))
        sending = time.perf_counter() - start - warmup / rate
        await asyncio.wait(tasks, timeout=timeout_s + 5)
    finally:
        connections.close()
    return {name: route.summary(warmup / rate if name == WARMUP else sending)
            for name, route in sorted(timeline.routes().items())}, sending


def prepared(make_request, count: int) -> list[PreparedRequest]:
    """``count`` requests of ``make_request(i)`` (route, method, url, httpx-style keywords), made
    before the clock starts: tokens minted and bodies serialised outside the measurement."""
    requests = []
    for i in range(count):
        route, method, url, keywords = make_request(i)
        requests.append(prepare(route, method, url, json_body=keywords.get("json"), headers=keywords.get("headers")))
    return requests


class Mix:
    """The due-date mix against the platform's ports (one list of replica ports per service)."""

    def __init__(self, ports: dict[str, list[int]], billed: list[uuid.UUID], region: str = "110000",
                 known_persons: set[uuid.UUID] | None = None, only: str | None = None) -> None:
        settings = Settings()
        self.only = only  # one of KINDS' values, or the whole mix
        self.ports, self.region, self.secret, self.issuer = ports, region, settings.jwt_secret, settings.jwt_issuer
        self.applied: list[uuid.UUID] = []
        self._id_numbers: set[str] = set()
        self._known_persons = known_persons or set()  # persons the platform has already (an earlier run's)
        self.billed = billed  # persons with an account and an open bill: reads and payments go to them
        self._channel = self._token("channel", "unionpay")

    def _token(self, role: str, sub: str) -> dict:
        token = mint_token(sub=sub, role=role, region=self.region, secret=self.secret, issuer=self.issuer)
        return {"Authorization": f"Bearer {token}"}

    def _url(self, service: str, path: str, i: int) -> str:
        ports = self.ports[service]
        return f"http://127.0.0.1:{ports[i % len(ports)]}{path}"

    def application(self, i: int):
        id_number = self._new_applicant()
        person = person_id_for(id_number)
        self.applied.append(person)
        body = {"id_number": id_number, "name": "Li Hua", "phone": "13812345678", "email": None, "language": "en",
                "region": self.region, "programmes": ["pension", "medical_employee"], "declared_base": "7162.00",
                "frequency": "monthly"}
        return ("POST /v1/applications", "POST", self._url("enrollment", "/v1/applications", i),
                {"json": body, "headers": self._token("resident", str(person))})

    def _new_applicant(self) -> str:
        """A resident ID number not used yet, in this run or by a person the platform knows: the same
        person twice is refused (422), and random numbers collide about once in a thousand
        applications (more against a running platform that earlier runs filled)."""
        while ((id_number := a_resident_id_number()) in self._id_numbers
               or person_id_for(id_number) in self._known_persons):
            pass
        self._id_numbers.add(id_number)
        return id_number

    def __call__(self, i: int):
        kind = self.only or self._kind_in_mix(i)
        if kind == "POST /v1/applications" or not self.billed:
            return self.application(i)
        person = self.billed[i % len(self.billed)]
        if kind == "POST /v1/payments":
            body = {"person_id": str(person), "amount": "100.00", "channel": "unionpay",
                    "channel_txn_id": f"TXN-{uuid.uuid4().hex[:16]}", "paid_at": now_utc().isoformat()}
            return (kind, "POST", self._url("billing", "/v1/payments", i), {"json": body, "headers": self._channel})
        path = f"/v1/persons/{person}/bills" if kind == "GET bills" else f"/v1/persons/{person}/statement"
        return (kind, "GET", self._url("billing", path, i), {"headers": self._token("resident", str(person))})

    @staticmethod
    def _kind_in_mix(i: int) -> str:
        """The kind of request ``i``: spread evenly over the run in MIX's shares."""
        fraction, acc = (i * 0.6180339887) % 1.0, 0.0
        for name, share in MIX:
            acc += share
            if fraction < acc:
                return name
        return MIX[-1][0]


BASELINE_APP = textwrap.dedent('''
    import os, uuid
    import asyncpg
    from fastapi import FastAPI
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(app):
        app.state.pool = await asyncpg.create_pool(os.environ["BASELINE_DSN"], min_size=2, max_size=10)
        async with app.state.pool.acquire() as conn:
            await conn.execute("CREATE TABLE IF NOT EXISTS baseline (id uuid PRIMARY KEY, body jsonb NOT NULL)")
        yield
        await app.state.pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.post("/v1/applications", status_code=202)
    async def apply(body: dict) -> dict:
        new_id = uuid.uuid4()
        async with app.state.pool.acquire() as conn:
            await conn.execute("INSERT INTO baseline (id, body) VALUES ($1, $2::jsonb)", new_id,
                               __import__("json").dumps(body))
        return {"application_id": str(new_id)}
''')


async def baseline(rate: float, duration_s: float, timeout_s: float, database_url: str, warmup_s: float = 0) -> dict:
    """The bare FastAPI + asyncpg insert at the applications' rate, one uvicorn process."""
    work = Path(tempfile.mkdtemp(prefix="shebao-http-baseline-"))
    (work / "baseline_app.py").write_text(BASELINE_APP)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "baseline_app:app", "--port", str(port), "--log-level", "warning",
         "--timeout-graceful-shutdown", "5"],
        cwd=work, env={**os.environ, "BASELINE_DSN": database_url},
    )
    try:
        wait_for_port(port, 60, server)
        body = {"name": "Li Hua", "programmes": ["pension"], "declared_base": "7162.00"}
        requests = prepared(lambda i: ("baseline POST", "POST", f"http://127.0.0.1:{port}/v1/applications",
                                       {"json": body}), int(rate * (warmup_s + duration_s)))
        figures, _ = await open_model(rate, timeout_s, requests, int(rate * warmup_s))
        return figures["baseline POST"]
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(work, ignore_errors=True)


def start_platform(replicas: int):
    state = Path(tempfile.mkdtemp(prefix="shebao-http-load-"))
    platform = Platform(state_dir=state, durable=False, replicas=replicas, output_dir=state / "logs",
                        ports={service: free_port() for service in SERVICE_NAMES},
                        replica_ports={s: [free_port() for _ in range(replicas - 1)] for s in SERVICE_NAMES})
    platform.start_infrastructure()
    platform.start_services()
    platform.wait_until_ready(timeout_s=180)
    return platform


SEED_BILLED = """
WITH people AS (
    SELECT n, md5('http-load-person' || n || $2::text)::uuid AS person_id FROM generate_series(1, $1::int) AS n),
accounts AS (
    INSERT INTO billing.person_accounts (person_id, region) SELECT person_id, '110000' FROM people)
INSERT INTO billing.enrolments (enrollment_id, person_id, region, programme, base, frequency, start_month,
                                next_cycle_start, policy_from)
SELECT md5(p.person_id::text || programme)::uuid, p.person_id, '110000', programme, 7000 + (p.n % 20000),
       'monthly', $3::date, $3::date, $3::date
FROM people p, unnest(ARRAY['pension', 'medical_employee']) AS programme
RETURNING person_id
"""


async def seed_billed_persons(database_url: str, ports: dict[str, list[int]], count: int) -> list[uuid.UUID]:
    """``count`` persons with an account and enrolments in billing, then billed by one billing run
    through the API: the residents who read their bills and pay them during the load."""
    import asyncpg

    from shared.periods import Month, business_date
    from tooling.journey import billing_date_for

    today = business_date(now_utc())
    start = Month.parse(f"{today:%Y-%m}").first_day
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(SEED_BILLED, count, uuid.uuid4().hex, start)
    finally:
        await conn.close()
    token = mint_token(sub="ops-1", role="ops", region="110000", secret=Settings().jwt_secret,
                       issuer=Settings().jwt_issuer)
    async with httpx.AsyncClient(timeout=120) as client:
        response = await client.post(f"http://127.0.0.1:{ports['billing'][0]}/v1/ops/billing-run",
                                     json={"as_of": str(billing_date_for(f"{start:%Y-%m}", today))},
                                     headers={"Authorization": f"Bearer {token}"})
        response.raise_for_status()
    return sorted({row["person_id"] for row in rows})


async def known_persons(database_url: str) -> set[uuid.UUID]:
    """The persons enrollment knows already: a running platform keeps earlier runs' applicants."""
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        return {row["person_id"] for row in await conn.fetch("SELECT person_id FROM enrollment.persons")}
    finally:
        await conn.close()


async def wait_for_policies(mix: Mix, timeout_s: float = 60) -> None:
    """Enrollment offers the region's programmes once billing's policies reached it."""
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(timeout=10) as client:
        while time.monotonic() < deadline:
            _, method, url, kwargs = mix.application(0)
            response = await client.request(method, url, **kwargs)
            if response.status_code == 202:
                return
            await asyncio.sleep(0.5)
    raise TimeoutError("enrollment never offered the region's programmes")


def print_table(result: dict, show_timeline: bool = False) -> None:
    print(f"\nHTTP load, offered {result['rate']}/s for {result['duration_s']} s, "
          f"{result['replicas']} replica(s) per service")
    print(f"{'route':<24}{'sent':>7}{'ok':>7}{'err':>6}{'ok/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    rows = {**result["routes"], "baseline POST (bare)": result.get("baseline") or {},
            f"warm-up ({result.get('warmup_s', 0)} s)": result.get("warmup") or {}}
    for name, row in rows.items():
        if row:
            print(f"{name:<24}{row['requests']:>7}{row['ok']:>7}{row['errors']:>6}{row['achieved_per_s']:>8}"
                  f"{row['p50_ms']!s:>9}{row['p95_ms']!s:>9}{row['p99_ms']!s:>9}")
    for name, row in result["routes"].items():
        if row["errors"]:
            print(f"  {name}: {row['statuses']}")
    if result.get("cpu"):
        print_cpu(result["cpu"])
    if show_timeline:
        print_timeline(result["timeline"])


def print_cpu(cpu: dict) -> None:
    print(f"\nCPU from /proc over {cpu['seconds']} s (the load and {cpu['drain_s']} s of draining), "
          f"{cpu['requests']} requests")
    print(f"{'process':<16}{'idle core %':>12}{'loaded core %':>15}{'ms a request':>14}")
    for group, cost in cpu["ms_per_request"].items():
        print(f"{group:<16}{cpu['idle_core_share'][group] * 100:>12.1f}{cpu['core_share'][group] * 100:>15.1f}"
              f"{cost:>14.2f}")
    print(f"{'platform':<16}{'':>12}{sum(cpu['core_share'].values()) * 100:>15.1f}"
          f"{cpu['platform_ms_per_request']:>14.2f}")
    print(f"{'generator':<16}{'':>12}{cpu['generator_core_share'] * 100:>15.1f}")


def print_timeline(timeline: list[dict]) -> None:
    routes = sorted({name for row in timeline for name in row["p99_ms"]})
    print("\nBy the second each request was sent in (the warm-up's first): p99 ms of each route")
    print(f"{'second':>6}{'sent':>6}{'err':>5}" + "".join(f"{name:>24}" for name in routes))
    for row in timeline:
        print(f"{row['second']:>6}{row['requests']:>6}{row['errors']:>5}"
              + "".join(f"{row['p99_ms'].get(name) or '-':>24}" for name in routes))


QUIET_CHECK = " + ".join(
    f"(SELECT count(*) FROM {schema}.outbox WHERE status = 'pending')" for schema in SERVICE_NAMES
) + " + (SELECT count(*) FROM notifications.deliveries WHERE status IN ('pending', 'sending')" \
    " AND next_attempt_at <= now())"


async def wait_until_quiet(database_url: str, timeout_s: float = 180) -> float:
    """Wait until the seeding's consequences (bills, their notices and deliveries) have gone through
    every service, so that the load is not measured on top of that backlog; returns the seconds waited."""
    import asyncpg

    started = time.monotonic()
    conn = await asyncpg.connect(database_url)
    try:
        quiet_polls = 0
        while quiet_polls < 3 and time.monotonic() - started < timeout_s:
            quiet_polls = quiet_polls + 1 if await conn.fetchval(f"SELECT {QUIET_CHECK}") == 0 else 0
            await asyncio.sleep(1)
    finally:
        await conn.close()
    return round(time.monotonic() - started, 1)


def platform_meter(platform) -> CpuMeter | None:
    """A CPU meter over the platform the bench started: each service's replicas, PostgreSQL (the
    postmaster and its backends), the broker. None against a running platform (``--ports``)."""
    if platform is None:
        return None
    groups: dict[str, list[int]] = defaultdict(list)
    for instance, process in platform.processes.items():
        groups[service_of(instance)].append(process.pid)
    for name, part in (("postgres", platform.postgres), ("broker", platform.broker)):
        if part is not None and part.process is not None:
            groups[name].append(part.process.pid)
    return CpuMeter(dict(groups))


async def idle_share(meter: CpuMeter, seconds: float = 5.0) -> dict[str, float]:
    """What the quiet platform keeps busy (relays, consumers and the broker polling)."""
    before = meter.read()
    await asyncio.sleep(seconds)
    return busy_share(before, meter.read())


async def measure_cpu(meter: CpuMeter, database_url: str, load) -> tuple[dict, dict]:
    """Run ``load`` and wait until what it set off downstream has gone through; returns the load's
    result and the CPU figures: per group the share of a core while loaded and draining, and the
    milliseconds a request cost with the idle share taken off."""
    idle = await idle_share(meter)
    before, started_cpu = meter.read(), time.process_time()
    result = await load()
    drained = await wait_until_quiet(database_url)
    after = meter.read()
    requests = sum(route["requests"] for route in result[0].values())
    cost = cost_per_request(idle, before, after, requests)
    cpu = {"seconds": round(after.at - before.at, 1), "drain_s": drained, "requests": requests,
           "idle_core_share": {g: round(v, 3) for g, v in idle.items()},
           "core_share": {g: round(v, 3) for g, v in busy_share(before, after).items()},
           "ms_per_request": {g: round(v, 2) for g, v in cost.items()},
           "platform_ms_per_request": round(sum(cost.values()), 2),
           "generator_core_share": round((time.process_time() - started_cpu) / (after.at - before.at), 3)}
    return result, cpu


async def main_async(args, platform, ports: dict[str, list[int]]) -> dict:
    database_url = args.database_url or platform.database_url
    billed = await seed_billed_persons(database_url, ports, args.billed)
    mix = Mix(ports, billed, known_persons=await known_persons(database_url), only=KINDS.get(args.only))
    await wait_for_policies(mix)
    settled = await wait_until_quiet(database_url)
    print(f"the seeding's backlog went through in {settled} s; the load starts now", flush=True)
    warmup = int(args.rate * args.warmup)
    requests = prepared(mix, warmup + int(args.rate * args.duration))
    # the generator's own collections out of the measurement: a full one over the prepared requests
    # took 187 ms here, and every request in flight looked that much slower
    tune_garbage_collection(Settings().gc_young_threshold)

    timeline = Timeline()

    async def load():
        return await open_model(args.rate, args.timeout, requests, warmup, timeline)

    meter = platform_meter(platform)
    cpu = None
    if meter is not None and meter.available:
        (routes, sending), cpu = await measure_cpu(meter, database_url, load)
    else:
        routes, sending = await load()
    result = {"rate": args.rate, "duration_s": args.duration, "warmup_s": args.warmup, "sending_s": round(sending, 2),
              "settled_s": settled, "replicas": args.replicas, "mix": args.only or "due date",
              "warmup": routes.pop(WARMUP, None), "routes": routes, "cpu": cpu, "timeline": timeline.summary()}
    if not args.no_baseline:
        result["baseline"] = await run_baseline(args, platform)
    return result


async def run_baseline(args, platform) -> dict:
    """The bare insert at the applications' share of the rate, on the bench's PostgreSQL or a
    throw-away one (against a running platform its database is not ours to add tables to)."""
    async def at(database_url: str) -> dict:
        return await baseline(args.rate * APPLICATIONS_SHARE, args.duration, args.timeout, database_url, args.warmup)

    if platform is not None:
        return await at(platform.database_url)
    pg_root = Path(tempfile.mkdtemp(prefix="shebao-http-pg-"))
    pg = EmbeddedPostgres(pg_root / "pg", durable=False)
    pg.start()
    try:
        return await at(pg.url("postgres"))
    finally:
        pg.stop()
        shutil.rmtree(pg_root, ignore_errors=True)


def keep_logs_if_failed(platform: Platform, result: dict | None) -> None:
    """The services' output is kept (and its place printed) when the run failed or a request did."""
    rows = [] if result is None else [*result["routes"].values(), result.get("warmup") or {"errors": 0}]
    failed = result is None or any(row["errors"] for row in rows)
    if failed and platform.output_dir is not None and platform.output_dir.exists():
        kept = Path(tempfile.mkdtemp(prefix="shebao-http-load-logs-"))
        shutil.copytree(platform.output_dir, kept, dirs_exist_ok=True)
        print(f"the services' output: {kept}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second, all routes together")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of sending (bounded)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds a request may take")
    parser.add_argument("--warmup", type=float, default=3.0,
                        help="seconds of the same load sent first and counted apart (0: none)")
    parser.add_argument("--replicas", type=int, default=1, help="replicas per service of the platform started")
    parser.add_argument("--ports", help="a running platform: enrollment,documents,billing,notifications ports"
                                        " (replicas joined by +), e.g. 8101,8102,8103+8203,8104")
    parser.add_argument("--database-url", help="the running platform's database (with --ports), for seeding")
    parser.add_argument("--billed", type=int, default=500, help="persons seeded with a bill to read and pay")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--only", choices=sorted(KINDS), help="send this kind of request alone, not the mix (to"
                                                             " read what each costs in CPU)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--timeline", action="store_true", help="also print each route's p99 by the second its"
                                                                " requests were sent in (always in --json)")
    args = parser.parse_args(argv)
    if not 0 < args.duration <= 600 or not 0 < args.rate <= 5000 or not 0 <= args.warmup <= 60:
        parser.error("--duration must be in (0, 600], --rate in (0, 5000] and --warmup in [0, 60]")
    platform = None
    if args.ports and not args.database_url:
        parser.error("--ports needs --database-url (the persons who read and pay are seeded there)")
    if args.ports:
        ports = {s: [int(p) for p in group.split("+")] for s, group in zip(SERVICE_NAMES, args.ports.split(","),
                                                                            strict=True)}
    else:
        platform = start_platform(args.replicas)
        ports = {s: platform.http_ports(s) for s in SERVICE_NAMES}
    result = None
    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:  # the generator's own share of the cores
            result = runner.run(main_async(args, platform, ports))
    finally:
        if platform is not None:
            platform.stop()
            keep_logs_if_failed(platform, result)
            shutil.rmtree(platform.state_dir, ignore_errors=True)
    result["measured_at"] = now_utc().isoformat()
    print_table(result, args.timeline)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
