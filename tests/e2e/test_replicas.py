"""Two replicas of every service share the work, and losing one loses nothing.

The four services run as two processes each (the launcher's ``replicas``), on a database of
their own on the session's embedded PostgreSQL and on the session's broker under their own
topic prefix. A bounded stream of applications, then of payments, goes to both replicas of
each service in turn; in the middle of each stream one replica of every service is SIGKILLed
(the first during the applications, the second during the payments) and started again.
Afterwards every effect exists exactly once — one application, two enrolments, one bill, one
payment and one voucher per person, and one notice of each kind — and each consumer applied
each person's events in the order they were written.
"""

from __future__ import annotations

import asyncio
import itertools
import signal
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import pytest

from shared.settings import SERVICE_NAMES
from tooling.devstack import free_port
from tooling.journey import (
    Caseworker,
    JourneyError,
    Operator,
    Resident,
    a_resident_id_number,
    billing_date_for,
    sample_files,
    today_in_region,
)
from tooling.journey import Platform as PlatformClient
from tooling.launcher import Platform, _is_ready, instance_name

pytestmark = pytest.mark.e2e

REPLICAS = 2
RESIDENTS = 8
PREFIX = "replicas."
DATABASE = "shebao_replicas"
STREAM_PAUSE_S = 0.25  # between two requests of a stream: the stream outlasts a kill and restart
READY_TIMEOUT_S = 180  # eight service processes starting on two busy cores
SETTLE_TIMEOUT_S = 120
EXPECTED_NOTICES = {"application_received": 1, "enrolment_active": 2, "bill_issued": 1, "payment_received": 1}


@dataclass
class ReplicaClient(PlatformClient):
    """The journey driver, sending each request to the next replica of the service that is in
    rotation; a replica about to be killed is taken out of rotation first."""

    replica_ports: dict[str, list[int]] = field(default_factory=dict)
    out_of_rotation: set[int] = field(default_factory=set)
    _turn: itertools.count = field(default_factory=itertools.count)

    def url(self, service: str, path: str) -> str:
        live = [port for port in self.replica_ports[service] if port not in self.out_of_rotation]
        return f"http://127.0.0.1:{live[next(self._turn) % len(live)]}{path}"


@pytest.fixture(scope="module")
def replicated(infrastructure):
    infrastructure.postgres.create_database(DATABASE)
    state_dir = Path(tempfile.mkdtemp(prefix="shebao-replicas-"))
    platform = Platform(
        state_dir=state_dir,
        database_url=infrastructure.postgres.url(DATABASE),
        bootstrap_servers=infrastructure.bootstrap_servers,
        topic_prefix=PREFIX,
        ports={service: free_port() for service in SERVICE_NAMES},
        replicas=REPLICAS,
        replica_ports={service: [free_port() for _ in range(REPLICAS - 1)] for service in SERVICE_NAMES},
        extra_env={
            "SHEBAO_KAFKA_SESSION_TIMEOUT_MS": "2000",
            "SHEBAO_KAFKA_HEARTBEAT_INTERVAL_MS": "500",
            "SHEBAO_OUTBOX_POLL_INTERVAL_S": "0.2",
            "SHEBAO_CONSUMER_RETRY_BACKOFF_S": "0.05",
            "SHEBAO_DOCUMENTS_STORAGE_DIR": str(state_dir / "documents"),
            "SHEBAO_NOTIFICATIONS_SINK_DIR": str(state_dir / "sinks"),
        },
    )
    platform.start_infrastructure()
    platform.start_services()
    try:
        platform.wait_until_ready(timeout_s=READY_TIMEOUT_S)
        yield platform
    finally:
        platform.stop()


@pytest.fixture
def client(replicated) -> ReplicaClient:
    return ReplicaClient(ports=dict(replicated.ports), timeout_s=60.0,
                         replica_ports={s: replicated.http_ports(s) for s in SERVICE_NAMES})


def kill_and_restart(platform: Platform, client: ReplicaClient, replica: int) -> None:
    """SIGKILL replica ``replica`` of every service at once, then start each again and put it
    back in rotation once it answers ``/readyz``."""
    ports = {service: platform.http_port(service, replica) for service in SERVICE_NAMES}
    client.out_of_rotation.update(ports.values())
    time.sleep(0.5)  # requests already sent to it are answered; its consumers and relay are mid-work
    for service in SERVICE_NAMES:
        platform.processes[instance_name(service, replica)].send_signal(signal.SIGKILL)
    for service in SERVICE_NAMES:
        platform.processes.pop(instance_name(service, replica)).wait(30)
    time.sleep(1.0)  # the group notices the lost member; the relay lock is free again
    for service in SERVICE_NAMES:
        platform.start_service(service, replica)
    deadline = time.monotonic() + READY_TIMEOUT_S
    pending = dict(ports)
    while pending:
        for service, port in list(pending.items()):
            process = platform.processes[instance_name(service, replica)]
            assert process.poll() is None, f"{service} replica {replica} exited with {process.returncode}"
            if _is_ready(port):
                del pending[service]
                client.out_of_rotation.discard(port)
        assert time.monotonic() < deadline, f"not ready again: {sorted(pending)}"
        time.sleep(0.2)


def stream(items: list, send, during) -> list:
    """Send ``items`` one after another (``send`` each) on a thread, paced, while ``during()``
    runs here once the first quarter has gone; returns what ``send`` returned, in order."""
    started = threading.Event()

    def run() -> list:
        results = []
        for index, item in enumerate(items):
            if index == max(1, len(items) // 4):
                started.set()
            results.append(send(item))
            time.sleep(STREAM_PAUSE_S)
        started.set()
        return results

    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(run)
        assert started.wait(120), "the stream did not start"
        during()
        return future.result(timeout=600)


def pay(client: ReplicaClient, person_id: uuid.UUID, amount: str) -> dict:
    """One payment; resent with the same channel transaction id on a transport error (the
    channel's retry: billing answers it with the payment already recorded)."""
    body = {"person_id": str(person_id), "amount": amount, "channel": "unionpay",
            "channel_txn_id": f"TXN-{uuid.uuid4().hex[:16]}", "paid_at": time_now_iso()}
    for _attempt in range(10):
        try:
            response = httpx.post(client.url("billing", "/v1/payments"), json=body, timeout=60,
                                  headers=client.headers("channel", "unionpay"))
        except httpx.TransportError:
            time.sleep(0.5)
            continue
        if response.status_code in (200, 201):
            return response.json()
        raise JourneyError(f"payment refused: {response.status_code} {response.text}")
    raise JourneyError("payment not answered after 10 attempts")


def time_now_iso() -> str:
    from shared.periods import now_utc

    return now_utc().isoformat()


def test_two_replicas_of_every_service_lose_nothing_and_do_nothing_twice(replicated, client):
    residents = [Resident(client, a_resident_id_number()) for _ in range(RESIDENTS)]

    # applications, while the first replica of every service is killed and started again
    stream(residents, lambda r: r.apply(["pension", "medical_employee"], "7162.00"),
           lambda: kill_and_restart(replicated, client, 1))

    caseworker = Caseworker(client)
    for resident in residents:
        required = {item["material"] for item in resident.dossier()["materials"]}
        for material, file in sample_files().items():
            if material in required:
                resident.upload(material, file)
        caseworker.review_all(resident.application_id)
    for resident in residents:
        resident.wait_for_enrollments("active", 2)
        resident.wait_until_billing_knows_me(2)

    start_month = residents[0].enrollments()[0]["start_month"]
    Operator(client).billing_run(billing_date_for(start_month, today_in_region(client)))
    bills = {resident.person_id: resident.wait_for_bills(1) for resident in residents}

    # payments, while the second replica of every service is killed and started again
    payments = stream(residents, lambda r: pay(client, r.person_id, bills[r.person_id][0]["total"]),
                      lambda: kill_and_restart(replicated, client, 2))

    for resident in residents:
        for template, count in EXPECTED_NOTICES.items():
            resident.wait_for_notice(template, count)
    wait_until_quiet(replicated)

    for resident, payment in zip(residents, payments, strict=True):
        person = resident.person_id
        applications = resident.as_me("GET", "enrollment", f"/v1/persons/{person}/applications")["applications"]
        assert len(applications) == 1
        assert sorted(e["programme"] for e in resident.enrollments()) == ["medical_employee", "pension"]
        [bill] = resident.bills()
        assert bill["status"] == "paid"
        vouchers = resident.as_me("GET", "billing", f"/v1/persons/{person}/vouchers")["vouchers"]
        assert [v["voucher_no"] for v in vouchers] == [payment["voucher_no"]]
        seen = Counter(notice["template"] for notice in resident.inbox())
        assert {template: seen[template] for template in EXPECTED_NOTICES} == EXPECTED_NOTICES

    counts = asyncio.run(effect_counts(replicated.database_url, [r.person_id for r in residents]))
    assert counts["bills"] == {r.person_id: 1 for r in residents}
    assert counts["payments"] == {r.person_id: 1 for r in residents}
    assert counts["vouchers"] == {r.person_id: 1 for r in residents}
    assert counts["duplicate_notices"] == []
    assert counts["out_of_order"] == []
    assert counts["consumed"] > 0


def wait_until_quiet(platform: Platform, timeout_s: float = SETTLE_TIMEOUT_S) -> None:
    """Until every outbox is sent and no inbox has grown for two seconds."""
    async def totals() -> tuple:
        conn = await asyncpg.connect(platform.database_url)
        try:
            pending = sum([await conn.fetchval(f"SELECT count(*) FROM {s}.outbox WHERE status = 'pending'")
                           for s in SERVICE_NAMES])
            consumed = tuple([await conn.fetchval(f"SELECT count(*) FROM {s}.inbox") for s in SERVICE_NAMES])
            return pending, consumed
        finally:
            await conn.close()

    deadline = time.monotonic() + timeout_s
    last, quiet_since = None, time.monotonic()
    while True:
        pending, consumed = asyncio.run(totals())
        if consumed != last:
            last, quiet_since = consumed, time.monotonic()
        if pending == 0 and time.monotonic() - quiet_since >= 2.0:
            return
        if time.monotonic() > deadline:
            raise JourneyError(f"not quiet after {timeout_s} s: {pending} pending, inboxes {consumed}")
        time.sleep(0.3)


async def effect_counts(database_url: str, persons: list[uuid.UUID]) -> dict:
    """Rows per person of each effect, notices written twice, and events a consumer applied in
    another order than their producer wrote them for the same key."""
    conn = await asyncpg.connect(database_url)
    try:
        def per_person(rows) -> dict:
            return {row["person_id"]: row["n"] for row in rows}

        bills = per_person(await conn.fetch(
            "SELECT person_id, count(*) AS n FROM billing.bills WHERE person_id = ANY($1) GROUP BY 1", persons))
        payments = per_person(await conn.fetch(
            "SELECT person_id, count(*) AS n FROM billing.payments WHERE person_id = ANY($1) GROUP BY 1", persons))
        vouchers = per_person(await conn.fetch(
            "SELECT p.person_id, count(*) AS n FROM billing.vouchers v JOIN billing.payments p USING (payment_id)"
            " WHERE p.person_id = ANY($1) GROUP BY 1", persons))
        notices = await conn.fetch(
            "SELECT person_id, template, count(*) AS n FROM notifications.notifications"
            " WHERE person_id = ANY($1) GROUP BY 1, 2", persons)
        duplicates = [dict(row) for row in notices if row["n"] > EXPECTED_NOTICES.get(row["template"], 1)]
        out_of_order, consumed = [], 0
        for producer in ("enrollment", "documents", "billing"):
            for consumer in SERVICE_NAMES:
                if consumer == producer:
                    continue
                rows = await conn.fetch(
                    f"""SELECT o.partition_key, o.seq, i.kafka_partition, i.kafka_offset
                        FROM {producer}.outbox o JOIN {consumer}.inbox i USING (event_id)
                        ORDER BY o.partition_key, o.seq""")
                consumed += len(rows)
                for key, group in itertools.groupby(rows, key=lambda row: row["partition_key"]):
                    applied = [(row["kafka_partition"], row["kafka_offset"]) for row in group]
                    if applied != sorted(applied) or len({p for p, _ in applied}) != 1:
                        out_of_order.append((producer, consumer, key, applied))
        return {"bills": bills, "payments": payments, "vouchers": vouchers,
                "duplicate_notices": duplicates, "out_of_order": out_of_order,
                "consumed": consumed}
    finally:
        await conn.close()


def test_replica_ports_are_distinct_and_printed_names_follow_the_replica(replicated):
    ports = [port for service in SERVICE_NAMES for port in replicated.http_ports(service)]
    assert len(set(ports)) == len(ports) == REPLICAS * len(SERVICE_NAMES)
    assert sorted(replicated.processes) == sorted(
        instance_name(s, k) for s in SERVICE_NAMES for k in range(1, REPLICAS + 1))
